"""LOG_SOFTMAX (float32): against LiteRT, the export round trip, ONNX LogSoftmax (any axis)
against onnxruntime, PTQ refusing it, and the C kernel against the reference."""

import numpy as np
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper

from edgec.errors import EdgecError
from edgec.export import to_tflite_bytes
from edgec.frontends.onnx import load_onnx
from edgec.frontends.tflite import load_tflite
from edgec.ir import Tensor, interpret
from tests.lower.harness import check_against_reference, needs_gcc, single_node_graph
from tests.ops import assert_float_matches_litert, float_data, unary_model


def test_float_matches_litert_and_round_trips():
    rng = np.random.default_rng(2)
    x = float_data(rng, (4, 3, 17)) * 30
    x[0, 0, :] = 1000.0  # equal large logits: log(1/17) each, no overflow
    model = unary_model("LOG_SOFTMAX", x.shape, None, None)
    assert_float_matches_litert(model, [x])
    again = load_tflite(to_tflite_bytes(load_tflite(model)))
    assert [n.op for n in again.nodes] == ["LOG_SOFTMAX"]


@pytest.mark.parametrize("axis", [-1, 0, 1])
def test_onnx_log_softmax_matches_onnxruntime(axis):
    graph_def = helper.make_graph(
        [helper.make_node("LogSoftmax", ["x"], ["y"], axis=axis)], "ls",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [3, 5, 6])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)])
    data = helper.make_model(graph_def, opset_imports=[helper.make_opsetid("", 17)]
                             ).SerializeToString()
    x = float_data(np.random.default_rng(axis + 5), (3, 5, 6)) * 10
    expected = ort.InferenceSession(data).run(None, {"x": x})[0]
    np.testing.assert_allclose(interpret(load_onnx(data), x)["y"], expected,
                               rtol=1e-5, atol=1e-5)


def test_post_training_quantization_refuses_log_softmax():
    from edgec.quantize import quantize_graph

    graph = load_tflite(unary_model("LOG_SOFTMAX", (1, 8), None, None))
    with pytest.raises(EdgecError, match="LOG_SOFTMAX, which edgec's post-training"):
        quantize_graph(graph, {graph.inputs[0]: np.ones((2, 1, 8), np.float32)}, io="int8")


@needs_gcc
def test_c_kernel_matches_reference(tmp_path):
    graph = single_node_graph("LOG_SOFTMAX", [Tensor("x", (5, 33), "float32")],
                              [Tensor("y", (5, 33), "float32")])
    check_against_reference(graph, tmp_path, np.random.default_rng(4), sanitize=True)
