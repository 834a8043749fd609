"""ONNX Mod of plain integers (a decomposition into DIV, MUL, SUB and, for the divisor's sign,
comparisons and SELECT_V2): against onnxruntime in the reference and the generated C, every
sign combination, the type's minimum by -1, broadcasting and constant divisors; x mod 0.
Float Mod (fmod=1) as FMOD, C's fmod: against onnxruntime bit for bit in reference and C,
its special values, fmod=0 on floats refused, no PTQ nor TFLite export; on float64, float16
and bfloat16 in their own type, against onnx's reference bit for bit."""

import numpy as np
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from edgec.errors import EdgecError
from edgec.frontends.onnx import load_onnx
from edgec.ir import Tensor, interpret
from edgec.ir.floats import bits_of
from edgec.ir.ops.pow_fmod import FLOAT_DTYPES, OTHER_FLOAT_DTYPES
from tests.lower.harness import check_against_reference, needs_gcc, single_node_graph
from tests.onnx_node.runner import run_c

_TYPES = {"int8": TensorProto.INT8, "int32": TensorProto.INT32, "int64": TensorProto.INT64,
          "uint16": TensorProto.UINT16, "float32": TensorProto.FLOAT,
          "float64": TensorProto.DOUBLE, "float16": TensorProto.FLOAT16,
          "bfloat16": TensorProto.BFLOAT16}


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


def _float_operands(rng):
    x = rng.uniform(-20, 20, (3, 8)).astype(np.float32)
    y = rng.uniform(0.5, 6, (1, 8)).astype(np.float32)
    y[0, ::2] *= -1
    x[1, :] = y[0, :] * 3  # exact multiples: a zero of the dividend's sign
    x[2, :2] = [-0.0, 1e-30]
    return x, y


def test_float_mod_matches_onnxruntime_in_reference_and_c(tmp_path):
    x, y = _float_operands(np.random.default_rng(7))
    data = _model("float32", x.shape, y.shape, 1)
    expected = ort.InferenceSession(data).run(None, {"x": x, "y": y})[0]
    graph = load_onnx(data)
    assert [n.op for n in graph.nodes] == ["FMOD"]
    got = interpret(graph, {"x": x, "y": y})["z"]
    np.testing.assert_array_equal(got.view(np.int32), expected.view(np.int32))  # exact, signs
    outcome, why = run_c(data, [[x, y]], [[expected]], ["x", "y"], ["z"], tmp_path / "c")
    assert outcome == "pass", why


def test_float_mod_by_a_constant_divisor_and_special_values(tmp_path):
    """C's fmod at the edges: x mod 0 and inf mod y are NaN, x mod inf is x; the C kernel
    gives the same bits."""
    y = np.array([0.0, 2.5, np.inf, -3.0], np.float32)
    x = np.array([[5.0, -7.25, -4.0, np.inf], [-0.0, 7.5, 3.0, 7.0]], np.float32)
    data = _model("float32", x.shape, None, 1, y_const=y)
    want = np.fmod(x, y)
    got = interpret(load_onnx(data), x)["z"]
    np.testing.assert_array_equal(got, want)
    assert np.isnan(got[0, 0]) and np.isnan(got[0, 3]) and got[0, 2] == -4.0
    outcome, why = run_c(data, [[x]], [[want]], ["x"], ["z"], tmp_path / "c")
    assert outcome == "pass", why


def test_float_mod_with_the_divisors_sign_is_refused():
    data = _model("float32", (4,), (4,), 0)
    with pytest.raises(EdgecError, match="fmod=0") as e:
        load_onnx(data)
    assert "\n" not in str(e.value)


def test_fmod_stays_float_in_ptq_and_is_not_exported():
    from edgec.export import to_tflite_bytes
    from edgec.quantize import quantize_graph

    graph = load_onnx(_model("float32", (1, 8), (1, 8), 1))
    rng = np.random.default_rng(4)
    q = quantize_graph(graph, {n: rng.uniform(1, 3, (2, 1, 8)).astype(np.float32)
                               for n in graph.inputs}, io="int8")
    (fmod,) = [n for n in q.nodes if n.op == "FMOD"]
    assert {q.tensors[t].dtype for t in fmod.inputs + fmod.outputs} == {"float32"}
    with pytest.raises(EdgecError) as e:
        to_tflite_bytes(graph)
    assert "\n" not in str(e.value) and "FMOD" in str(e.value)


def _bits(a: np.ndarray) -> np.ndarray:
    return bits_of(a) if a.dtype.name in ("float16", "bfloat16") else a.view(np.int64)


@pytest.mark.parametrize("dtype", OTHER_FLOAT_DTYPES)
def test_other_float_mod_keeps_its_type_and_matches_onnx_in_reference_and_c(dtype, tmp_path):
    """float64 / float16 / bfloat16 Mod (fmod=1) is one FMOD in that type; its remainder is
    exact, so reference and C equal onnx's reference bit for bit, signed zeros, x mod 0 and
    inf mod y (NaN), x mod inf (x) and a constant divisor included."""
    from onnx.reference import ReferenceEvaluator

    x, y = _float_operands(np.random.default_rng(11))
    x[2, 2:6] = [np.inf, 5.0, -3.5, 7.0]
    y[0, 3:5] = [0.0, np.inf]
    x, y = x.astype(dtype), y.astype(dtype)
    for const in (False, True):
        data = _model(dtype, x.shape, y.shape, 1, y_const=y if const else None)
        feeds = {"x": x} if const else {"x": x, "y": y}
        graph = load_onnx(data)
        assert [n.op for n in graph.nodes] == ["FMOD"]
        assert graph.tensors[graph.nodes[0].outputs[0]].dtype == dtype
        (want,) = ReferenceEvaluator(data).run(None, feeds)
        got = interpret(graph, feeds)["z"]
        assert got.dtype == want.dtype
        nan = np.isnan(want.astype(np.float64))
        np.testing.assert_array_equal(np.isnan(got.astype(np.float64)), nan)
        assert nan.any() and (got.astype(np.float64)[2, 4] == x.astype(np.float64)[2, 4])
        np.testing.assert_array_equal(_bits(got)[~nan], _bits(want)[~nan])
        outcome, why = run_c(data, [list(feeds.values())], [[want]], list(feeds), ["z"],
                             tmp_path / f"c{const}")
        assert outcome == "pass", why


@needs_gcc
@pytest.mark.parametrize("dtype", FLOAT_DTYPES)  # the others: tests/lower/test_minifloat.py
def test_c_kernel_matches_reference(dtype, tmp_path):
    graph = single_node_graph("FMOD", [Tensor("a", (2, 3, 7), dtype),
                                       Tensor("b", (1, 3, 1), dtype)],
                              [Tensor("y", (2, 3, 7), dtype)])
    check_against_reference(graph, tmp_path, np.random.default_rng(6), sanitize=True)
