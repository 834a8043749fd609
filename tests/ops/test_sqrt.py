"""SQRT (float32): against LiteRT, NaN below zero, the export round trip, the ONNX Sqrt
import against onnxruntime, PTQ refusing it, and the C kernel against the reference."""

import numpy as np
import onnxruntime as ort
from onnx import TensorProto, helper

from edgec.export import to_tflite_bytes
from edgec.frontends.onnx import load_onnx
from edgec.frontends.tflite import load_tflite
from edgec.ir import Tensor, interpret
from tests.lower.harness import check_against_reference, needs_gcc, single_node_graph
from tests.ops import assert_float_matches_litert, float_data, unary_model


def test_float_matches_litert():
    rng = np.random.default_rng(8)
    x = np.abs(float_data(rng, (3, 40))) * 50
    x[0, :3] = [0.0, 1e-30, 3.4e38]
    assert_float_matches_litert(unary_model("SQRT", (3, 40), None, None), [x])


def test_negative_values_give_nan_and_export_round_trips():
    graph = load_tflite(unary_model("SQRT", (4,), None, None))
    x = np.array([-1.0, 0.0, 4.0, np.inf], np.float32)
    np.testing.assert_array_equal(interpret(graph, x)[graph.outputs[0]], [np.nan, 0, 2, np.inf])
    again = load_tflite(to_tflite_bytes(graph))
    assert [n.op for n in again.nodes] == ["SQRT"]


def test_onnx_sqrt_matches_onnxruntime():
    graph_def = helper.make_graph(
        [helper.make_node("Sqrt", ["x"], ["y"])], "sqrt",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)])
    data = helper.make_model(graph_def, opset_imports=[helper.make_opsetid("", 17)]
                             ).SerializeToString()
    x = np.abs(float_data(np.random.default_rng(1), (2, 3, 4)))
    graph = load_onnx(data)
    np.testing.assert_array_equal(interpret(graph, x)["y"],
                                  ort.InferenceSession(data).run(None, {"x": x})[0])


def test_post_training_quantization_keeps_sqrt_float():
    """TFLM's SQRT is float only: PTQ leaves it float32 between DEQUANTIZE and QUANTIZE, and
    TFLM runs the exported model as edgec does."""
    from edgec.quantize import quantize_graph
    from tests.quantize.test_ptq_tflm import assert_tflm_agrees

    graph = load_tflite(unary_model("SQRT", (1, 8), None, None))
    samples = np.random.default_rng(0).uniform(0, 5, (4, 1, 8)).astype(np.float32)
    q = quantize_graph(graph, {graph.inputs[0]: samples}, io="int8")
    assert [n.op for n in q.nodes] == ["DEQUANTIZE", "SQRT", "QUANTIZE"]
    assert_tflm_agrees(q, samples)


@needs_gcc
def test_c_kernel_matches_reference(tmp_path):
    graph = single_node_graph("SQRT", [Tensor("x", (3, 17), "float32")],
                              [Tensor("y", (3, 17), "float32")])
    check_against_reference(graph, tmp_path, np.random.default_rng(4), sanitize=True)
