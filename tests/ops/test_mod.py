"""ONNX Mod of plain integers (a decomposition into DIV, MUL, SUB and, for the divisor's sign,
comparisons and SELECT_V2): against onnxruntime in the reference and the generated C, every
sign combination, the type's minimum by -1, broadcasting and constant divisors; x mod 0."""

import numpy as np
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from edgec.errors import EdgecError
from edgec.frontends.onnx import load_onnx
from edgec.ir import interpret
from tests.onnx_node.runner import run_c

_TYPES = {"int8": TensorProto.INT8, "int32": TensorProto.INT32, "int64": TensorProto.INT64,
          "uint16": TensorProto.UINT16, "float32": TensorProto.FLOAT}


def _model(dtype, x_shape, y_shape, fmod, y_const=None) -> bytes:
    inputs = [helper.make_tensor_value_info("x", _TYPES[dtype], list(x_shape))]
    inits = []
    if y_const is None:
        inputs.append(helper.make_tensor_value_info("y", _TYPES[dtype], list(y_shape)))
    else:
        inits.append(numpy_helper.from_array(y_const, "y"))
    graph = helper.make_graph([helper.make_node("Mod", ["x", "y"], ["z"], fmod=fmod)], "m",
                              inputs, [helper.make_tensor_value_info("z", _TYPES[dtype], None)],
                              inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]
                             ).SerializeToString()


def _operands(dtype, rng):
    info = np.iinfo(dtype)
    x = rng.integers(max(info.min, -50), min(int(info.max), 50) + 1, (3, 8)).astype(dtype)
    y = rng.integers(1, 9, (1, 8)).astype(dtype)
    if info.min < 0:
        y[0, ::2] *= -1
        x[0, :2] = info.min
        y[0, 1] = -1  # the type's minimum by -1 (C's % is undefined there)
    x[1, :] = y[0, :] * 3  # exact multiples: remainder 0
    return x, y


@pytest.mark.parametrize("fmod", [0, 1])
@pytest.mark.parametrize("dtype", ["int8", "int32", "int64", "uint16"])
def test_mod_matches_onnxruntime_in_reference_and_c(dtype, fmod, tmp_path):
    x, y = _operands(dtype, np.random.default_rng(len(dtype) + fmod))
    data = _model(dtype, x.shape, y.shape, fmod)
    expected = ort.InferenceSession(data).run(None, {"x": x, "y": y})[0]
    graph = load_onnx(data)
    np.testing.assert_array_equal(interpret(graph, {"x": x, "y": y})["z"], expected)
    outcome, why = run_c(data, [[x, y]], [[expected]], ["x", "y"], ["z"], tmp_path / "c")
    assert outcome == "pass", why


def test_mod_by_a_constant_divisor():
    y = np.array([3, -3, 7, -1], np.int32)
    x = np.arange(-10, 10, dtype=np.int32).reshape(5, 4)
    data = _model("int32", x.shape, None, 0, y_const=y)
    np.testing.assert_array_equal(interpret(load_onnx(data), x)["z"], np.mod(x, y))


def test_mod_by_zero_is_the_dividend():
    data = _model("int32", (4,), (4,), 0)
    x = np.array([-7, 7, 0, 5], np.int32)
    got = interpret(load_onnx(data), {"x": x, "y": np.zeros(4, np.int32)})["z"]
    np.testing.assert_array_equal(got, x)


def test_float_mod_is_refused():
    data = _model("float32", (4,), (4,), 1)
    with pytest.raises(EdgecError, match="computes on float tensors"):
        load_onnx(data)
