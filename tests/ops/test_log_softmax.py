"""LOG_SOFTMAX: int8 against TFLite Micro on every code at input scales reaching each
cut-off, the TensorFlow converter's int8 model, PTQ's fixed output quantization; float32
against LiteRT, the export round trip, ONNX LogSoftmax (any axis) against onnxruntime; the C
kernels against the reference."""

import numpy as np
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper

from edgec.errors import EdgecError
from edgec.export import to_tflite_bytes
from edgec.frontends.onnx import load_onnx
from edgec.frontends.tflite import load_tflite
from edgec.ir import Tensor, interpret
from edgec.ir import QuantParams
from tests.lower.harness import check_against_reference, needs_gcc, single_node_graph
from tests.ops import assert_float_matches_litert, every_code, float_data, int8_data, unary_model
from tests.refs import assert_matches_tflm, run_tflm

OUT_Q = (16 / 256, 127)  # TFLM's fixed int8 output quantization
# Input scales from where no difference is cut (255 * 0.002 < 1) to where all but the
# row maximum are (a difference of 1 code is beyond exp(-32)).
SCALES = [0.002, 0.0391, 0.1, 0.35, 1.7, 9.0, 60.0]


@pytest.mark.parametrize("scale", SCALES)
def test_int8_matches_tflm_on_every_code(scale):
    rng = np.random.default_rng(int(scale * 1000))
    for depth in (1, 2, 8, 9, 256):
        x = every_code(rng, (256 // depth, depth)) if 256 % depth == 0 \
            else int8_data(rng, (20, depth))
        zp = int(rng.integers(-128, 128))
        model = unary_model("LOG_SOFTMAX", x.shape, (scale, zp), OUT_Q)
        assert_matches_tflm(model, [x])
    # rows of ties and rows with one large value
    x = np.full((4, 50), -128, np.int8)
    x[1] = 127
    x[2, 7] = 127
    x[3, ::2] = 100
    assert_matches_tflm(unary_model("LOG_SOFTMAX", x.shape, (scale, -3), OUT_Q), [x])


def test_int8_outputs_approximate_the_float_result():
    x = every_code(np.random.default_rng(0), (8, 32))
    scale, zp = 0.05, 10
    got = run_tflm(unary_model("LOG_SOFTMAX", x.shape, (scale, zp), OUT_Q), [x])[0]
    real = (x.astype(np.float64) - zp) * scale
    expected = real - real.max(-1, keepdims=True)
    expected -= np.log(np.exp(expected).sum(-1, keepdims=True))
    np.testing.assert_allclose((got.astype(np.float64) - 127) / 16, np.maximum(expected, -16),
                               atol=1 / 16)


def test_int8_refuses_another_output_quantization():
    from tests.refs import run_edgec_tflite

    model = unary_model("LOG_SOFTMAX", (2, 8), (0.1, 0), (1 / 256, -128))
    with pytest.raises(EdgecError, match="scale 16/256 and zero point 127"):
        run_edgec_tflite(model, [np.zeros((2, 8), np.int8)])


def test_int8_round_trips_through_export():
    model = unary_model("LOG_SOFTMAX", (3, 16), (0.2, 4), OUT_Q)
    again = to_tflite_bytes(load_tflite(model))
    x = int8_data(np.random.default_rng(3), (3, 16))
    assert_matches_tflm(again, [x])


@pytest.mark.slow
def test_int8_converter_model_matches_tflm():
    """The TensorFlow converter's full-integer model of Dense -> tf.nn.log_softmax."""
    tf = pytest.importorskip("tensorflow")
    tf.keras.utils.set_random_seed(0)
    inp = tf.keras.Input((6, 12), batch_size=1)
    out = tf.keras.layers.Lambda(tf.nn.log_softmax)(tf.keras.layers.Dense(12)(inp))
    conv = tf.lite.TFLiteConverter.from_keras_model(tf.keras.Model(inp, out))
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    rng = np.random.default_rng(0)
    conv.representative_dataset = lambda: ([rng.standard_normal((1, 6, 12)).astype(
        np.float32) * 3] for _ in range(32))
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    conv.inference_input_type = conv.inference_output_type = tf.int8
    model = conv.convert()
    graph = load_tflite(model)
    (node,) = [n for n in graph.nodes if n.op == "LOG_SOFTMAX"]
    q = graph.tensors[node.outputs[0]].quant
    assert graph.tensors[node.inputs[0]].dtype == "int8" and (float(q.s), q.zp) == OUT_Q
    for _ in range(4):
        assert_matches_tflm(model, [int8_data(rng, (1, 6, 12))])


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


def test_post_training_quantization_gives_the_fixed_output():
    from edgec.quantize import quantize_graph
    from tests.quantize.test_ptq_tflm import assert_tflm_agrees

    graph = load_tflite(unary_model("LOG_SOFTMAX", (1, 8), None, None))
    samples = np.random.default_rng(0).normal(size=(6, 1, 8)).astype(np.float32) * 2
    q = quantize_graph(graph, {graph.inputs[0]: samples}, io="int8")
    (node,) = q.nodes
    out_q = q.tensors[node.outputs[0]].quant
    assert node.op == "LOG_SOFTMAX" and (float(out_q.s), out_q.zp) == OUT_Q
    assert_tflm_agrees(q, samples)


@needs_gcc
def test_c_kernel_matches_reference(tmp_path):
    graph = single_node_graph("LOG_SOFTMAX", [Tensor("x", (5, 33), "float32")],
                              [Tensor("y", (5, 33), "float32")])
    check_against_reference(graph, tmp_path, np.random.default_rng(4), sanitize=True)


@needs_gcc
@pytest.mark.parametrize("scale", [0.002, 0.1, 1.7, 60.0])
def test_int8_c_kernel_matches_reference(tmp_path, scale):
    for shape in [(5, 33), (3, 1), (2, 300)]:
        graph = single_node_graph(
            "LOG_SOFTMAX", [Tensor("x", shape, "int8", quant=QuantParams(np.float32(scale), 5))],
            [Tensor("y", shape, "int8", quant=QuantParams(np.float32(OUT_Q[0]), OUT_Q[1]))])
        check_against_reference(graph, tmp_path, np.random.default_rng(4), sanitize=True)
