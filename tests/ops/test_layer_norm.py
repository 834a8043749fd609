"""ONNX LayerNormalization (a decomposition into MEAN, SUB, MUL, ADD, SQRT, DIV as ONNX's
function body): against onnxruntime in the reference and the generated C, with and without
bias, every axis, and the optional Mean / InvStdDev outputs."""

import numpy as np
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from edgec.errors import EdgecError
from edgec.frontends.onnx import load_onnx
from edgec.ir import interpret
from tests.onnx_node.runner import run_c


def _model(shape, axis, bias=True, outputs=("y",), stash_type=1) -> bytes:
    rng = np.random.default_rng(axis + 7)
    norm_shape = shape[axis % len(shape):]
    inits = [numpy_helper.from_array(rng.uniform(0.5, 2, norm_shape).astype(np.float32), "s")]
    if bias:
        inits.append(numpy_helper.from_array(rng.uniform(-1, 1, norm_shape).astype(np.float32),
                                             "b"))
    node = helper.make_node("LayerNormalization", ["x", "s"] + (["b"] if bias else []),
                            list(outputs), axis=axis, epsilon=1e-3, stash_type=stash_type)
    graph = helper.make_graph(
        [node], "ln", [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(shape))],
        [helper.make_tensor_value_info(o, TensorProto.FLOAT, None) for o in outputs], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]
                             ).SerializeToString()


@pytest.mark.parametrize("axis,bias,outputs", [
    (-1, True, ("y",)), (1, False, ("y",)), (0, True, ("y",)),
    (-1, True, ("y", "mean", "inv_std"))])
def test_matches_onnxruntime_in_reference_and_c(axis, bias, outputs, tmp_path):
    shape = (2, 5, 12)
    data = _model(shape, axis, bias, outputs)
    x = np.random.default_rng(1).normal(3, 2, shape).astype(np.float32)
    expected = ort.InferenceSession(data).run(None, {"x": x})
    got = interpret(load_onnx(data), x)
    for name, want in zip(outputs, expected):
        np.testing.assert_allclose(got[name], want, rtol=1e-5, atol=1e-5)
    outcome, why = run_c(data, [[x]], [expected], ["x"], list(outputs), tmp_path / "c")
    assert outcome == "pass", why


def test_other_stash_type_is_refused():
    with pytest.raises(EdgecError, match="stash_type 1"):
        load_onnx(_model((2, 4), -1, stash_type=0))
