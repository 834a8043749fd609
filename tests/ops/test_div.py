"""DIV (float32) end to end: against LiteRT under broadcasting and with a fused activation,
division by zero giving the IEEE results in reference and C alike, the export round trip,
the ONNX import of a division by an activation against onnxruntime, and PTQ refusing it
(TFLM's int8 DIV is not reproduced)."""

import numpy as np
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper

from edgec.export import to_tflite_bytes
from edgec.frontends.onnx import load_onnx
from edgec.frontends.tflite import load_tflite
from edgec.ir import Tensor, interpret
from tests.lower.harness import check_against_reference, needs_gcc, single_node_graph
from tests.ops import assert_float_matches_litert, float_data
from tests.tflite_builder import TFLiteBuilder


def _model(a_shape, b_shape, activation="NONE"):
    b = TFLiteBuilder()
    x, y = b.tensor("a", a_shape, "float32"), b.tensor("b", b_shape, "float32")
    out = b.tensor("out", tuple(np.broadcast_shapes(a_shape, b_shape)), "float32")
    b.op("DIV", [x, y], [out], fused_activation_function=activation)
    return b.build(inputs=[x, y], outputs=[out])


@pytest.mark.parametrize("shapes,activation", [(((2, 3, 8), (2, 3, 8)), "NONE"),
                                               (((1, 4, 4, 3), (3,)), "RELU6"),
                                               (((2, 5, 6), (1, 5, 1)), "RELU")])
def test_float_matches_litert(shapes, activation):
    rng = np.random.default_rng(len(shapes[1]))
    a, b = shapes
    assert_float_matches_litert(_model(a, b, activation), [float_data(rng, a),
                                                           float_data(rng, b)])


def test_division_by_zero_gives_ieee_results():
    graph = load_tflite(_model((4,), (4,)))
    got = interpret(graph, [np.array([1, -1, 0, 2], np.float32), np.zeros(4, np.float32)])
    np.testing.assert_array_equal(got[graph.outputs[0]], [np.inf, -np.inf, np.nan, np.inf])


def test_export_round_trips():
    graph = load_tflite(_model((2, 8), (1, 8), "RELU"))
    again = load_tflite(to_tflite_bytes(graph))
    rng = np.random.default_rng(1)
    xs = [float_data(rng, (2, 8)), float_data(rng, (1, 8))]
    assert [(n.op, n.attrs["activation"]) for n in again.nodes] == [("DIV", "RELU")]
    np.testing.assert_array_equal(interpret(again, xs)[again.outputs[0]],
                                  interpret(graph, xs)[graph.outputs[0]])


def _onnx_div(const_dividend=None) -> bytes:
    inputs = [helper.make_tensor_value_info("y", TensorProto.FLOAT, [3, 1])]
    inits = []
    if const_dividend is None:
        inputs.insert(0, helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3, 4]))
    else:
        inits.append(helper.make_tensor("x", TensorProto.FLOAT, [4], const_dividend))
    graph = helper.make_graph([helper.make_node("Div", ["x", "y"], ["z"])], "div", inputs,
                              [helper.make_tensor_value_info("z", TensorProto.FLOAT, None)],
                              initializer=inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]
                             ).SerializeToString()


@pytest.mark.parametrize("const_dividend", [None, [1.0, -2.0, 0.5, 3.0]])
def test_onnx_division_by_an_activation_matches_onnxruntime(const_dividend):
    data = _onnx_div(const_dividend)
    graph = load_onnx(data)
    assert [n.op for n in graph.nodes] == ["DIV"]
    rng = np.random.default_rng(2)
    feed = {"y": float_data(rng, (3, 1)) + 3.0}
    if const_dividend is None:
        feed["x"] = float_data(rng, (2, 3, 4))
    got = interpret(graph, feed)[graph.outputs[0]]
    np.testing.assert_allclose(got, ort.InferenceSession(data).run(None, feed)[0], rtol=1e-6)


def test_post_training_quantization_keeps_div_float():
    """edgec does not reproduce TFLM's int8 DIV yet: PTQ leaves DIV float32 between
    DEQUANTIZE and QUANTIZE."""
    from edgec.quantize import quantize_graph

    graph = load_tflite(_model((1, 8), (1, 8)))
    samples = {n: np.random.default_rng(1).normal(size=(4, 1, 8)).astype(np.float32) + 3
               for n in graph.inputs}
    q = quantize_graph(graph, samples, io="int8")
    assert [n.op for n in q.nodes] == ["DEQUANTIZE", "DEQUANTIZE", "DIV", "QUANTIZE"]
    assert q.tensors[q.nodes[2].outputs[0]].dtype == "float32"


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("kernel-cache")


@needs_gcc
def test_c_kernel_matches_reference(cache_dir):
    rng = np.random.default_rng(5)
    graph = single_node_graph("DIV", [Tensor("a", (2, 3, 7), "float32"),
                                      Tensor("b", (1, 3, 1), "float32")],
                              [Tensor("y", (2, 3, 7), "float32")])
    check_against_reference(graph, cache_dir, rng, sanitize=True)
