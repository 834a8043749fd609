"""LEAKY_RELU end to end: the int8 reference on every code against TFLite Micro (alphas
below and above 1, output scales both sides of the input's), float against LiteRT and
onnxruntime (ONNX LeakyRelu), the export round trip, PTQ against TFLM, and the C kernels."""

import numpy as np
import pytest
from onnx import TensorProto, helper

from edgec.export import to_tflite_bytes
from edgec.frontends.onnx import load_onnx
from edgec.frontends.tflite import load_tflite
from edgec.ir import interpret
from tests.ops import assert_float_matches_litert, every_code, float_data
from tests.refs import assert_matches_tflm
from tests.tflite_builder import TFLiteBuilder


def _model(shape, in_q, out_q, alpha):
    b = TFLiteBuilder()
    tensors = [b.tensor(n, shape, "float32") if q is None else
               b.tensor(n, shape, "int8", scale=q[0], zero_point=q[1])
               for n, q in (("x", in_q), ("y", out_q))]
    b.op("LEAKY_RELU", [tensors[0]], [tensors[1]], alpha=alpha)
    return b.build(inputs=[tensors[0]], outputs=[tensors[1]])


@pytest.mark.parametrize("seed", range(8))
def test_int8_every_code_matches_tflm(seed):
    rng = np.random.default_rng(seed)
    in_s = float(np.float32(10 ** rng.uniform(-3, 0)))
    in_q = (in_s, int(rng.integers(-128, 128)))
    out_q = (float(np.float32(in_s * rng.uniform(0.3, 3.0))), int(rng.integers(-128, 128)))
    alpha = float(np.float32(rng.choice([0.01, 0.2, 0.3, 1.5, -0.5])))
    assert_matches_tflm(_model((2, 128), in_q, out_q, alpha), [every_code(rng)])


@pytest.mark.parametrize("alpha", [0.01, 0.2])
def test_float_matches_litert(alpha):
    rng = np.random.default_rng(4)
    assert_float_matches_litert(_model((3, 50), None, None, alpha), [float_data(rng, (3, 50))])


def test_onnx_leaky_relu_matches_onnxruntime():
    import onnxruntime as ort

    node = helper.make_node("LeakyRelu", ["x"], ["y"], alpha=0.15)
    graph_proto = helper.make_graph(
        [node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 5, 5])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3, 5, 5])])
    model = helper.make_model(graph_proto, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    data = model.SerializeToString()
    graph = load_onnx(data)
    assert "LEAKY_RELU" in [n.op for n in graph.nodes]
    x = np.random.default_rng(7).standard_normal((1, 3, 5, 5)).astype(np.float32)
    expected = ort.InferenceSession(data, providers=["CPUExecutionProvider"]).run(None, {"x": x})
    np.testing.assert_allclose(interpret(graph, [x])[graph.outputs[0]], expected[0],
                               rtol=1e-6, atol=1e-7)


def test_export_round_trips():
    graph = load_tflite(_model((2, 128), (0.05, 3), (0.04, -20), 0.2))
    again = load_tflite(to_tflite_bytes(graph))
    assert [(n.op, n.attrs["alpha"]) for n in again.nodes] == [("LEAKY_RELU", np.float32(0.2))]
    x = every_code(np.random.default_rng(2))
    np.testing.assert_array_equal(interpret(again, [x])[again.outputs[0]],
                                  interpret(graph, [x])[graph.outputs[0]])


def test_post_training_quantization_and_tflm_agree():
    from edgec.quantize import quantize_graph

    graph = load_tflite(_model((1, 64), None, None, 0.1))
    rng = np.random.default_rng(3)
    samples = (rng.standard_normal((16, 1, 64)) * 3).astype(np.float32)
    q = quantize_graph(graph, {graph.inputs[0]: samples}, io="int8")
    assert [n.op for n in q.nodes] == ["LEAKY_RELU"]
    assert_matches_tflm(to_tflite_bytes(q), [every_code(rng, (4, 64))[:1]])
