"""HARD_SWISH end to end: the int8 reference on every code against TFLite Micro (both signs
of the "relu-ish" exponent), float against LiteRT and onnxruntime (ONNX HardSwish), the int8
export round trip. The C kernels: tests/lower/test_lut.py and test_unary.py."""

import numpy as np
import pytest
from onnx import TensorProto, helper

from edgec.errors import EdgecError
from edgec.export import to_tflite_bytes
from edgec.frontends.onnx import load_onnx
from edgec.frontends.tflite import load_tflite
from edgec.ir import interpret
from tests.ops import assert_float_matches_litert, every_code, float_data, unary_model
from tests.refs import assert_matches_tflm


def _quants(rng, in_scale: float):
    in_q = (float(np.float32(in_scale)), int(rng.integers(-128, 128)))
    out_q = (float(np.float32(in_scale * rng.uniform(0.2, 4.0))), int(rng.integers(-128, 128)))
    return in_q, out_q


@pytest.mark.parametrize("seed", range(8))
def test_int8_every_code_matches_tflm(seed):
    rng = np.random.default_rng(seed)
    # Input scales from 1e-3.5 to 10: the relu-ish multiplier shifts right below ~0.0117
    # and left above it.
    in_q, out_q = _quants(rng, 10 ** rng.uniform(-3.5, 1))
    assert_matches_tflm(unary_model("HARD_SWISH", (2, 128), in_q, out_q), [every_code(rng)])


@pytest.mark.parametrize("scale", [2.0 ** -7, 3.0 / 256, 0.1, 1.0])
def test_int8_round_scales_match_tflm(scale):
    rng = np.random.default_rng(5)
    model = unary_model("HARD_SWISH", (1, 4, 4, 16), (scale, -7), (scale / 2, 11))
    assert_matches_tflm(model, [every_code(rng, (1, 4, 4, 16))])


def test_int8_output_scale_below_what_tflm_accepts_is_refused():
    graph = load_tflite(unary_model("HARD_SWISH", (1, 8), (1.0, 0), (1.0 / 512, 0)))
    with pytest.raises(EdgecError, match="HARD_SWISH output scale"):
        interpret(graph, [np.zeros((1, 8), np.int8)])


@pytest.mark.parametrize("seed", range(2))
def test_float_matches_litert(seed):
    rng = np.random.default_rng(40 + seed)
    x = float_data(rng, (3, 50)) * 5
    x[0, :4] = [-3.0, 3.0, -50.0, 50.0]
    assert_float_matches_litert(unary_model("HARD_SWISH", (3, 50), None, None), [x])


def test_onnx_hardswish_matches_onnxruntime():
    import onnxruntime as ort

    node = helper.make_node("HardSwish", ["x"], ["y"])
    graph_proto = helper.make_graph(
        [node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3, 5, 5])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 3, 5, 5])])
    data = helper.make_model(graph_proto, opset_imports=[helper.make_opsetid("", 17)])
    data.ir_version = 8
    data = data.SerializeToString()
    graph = load_onnx(data)
    assert [n.op for n in graph.nodes] == ["HARD_SWISH"]
    x = (np.random.default_rng(7).standard_normal((2, 3, 5, 5)) * 4).astype(np.float32)
    expected = ort.InferenceSession(data, providers=["CPUExecutionProvider"]).run(None, {"x": x})
    np.testing.assert_allclose(interpret(graph, [x])[graph.outputs[0]], expected[0],
                               rtol=1e-6, atol=1e-6)


def test_export_round_trips():
    model = unary_model("HARD_SWISH", (2, 128), (0.05, 3), (0.04, -20))
    graph = load_tflite(model)
    again = load_tflite(to_tflite_bytes(graph))
    assert [n.op for n in again.nodes] == ["HARD_SWISH"]
    x = every_code(np.random.default_rng(2))
    np.testing.assert_array_equal(interpret(again, [x])[again.outputs[0]],
                                  interpret(graph, [x])[graph.outputs[0]])


def test_post_training_quantization_calibrates_the_output_and_tflm_agrees():
    from edgec.quantize import quantize_graph

    graph = load_tflite(unary_model("HARD_SWISH", (1, 64), None, None))
    rng = np.random.default_rng(3)
    samples = (rng.standard_normal((16, 1, 64)) * 3).astype(np.float32)
    q = quantize_graph(graph, {graph.inputs[0]: samples}, io="int8")
    (node,) = q.nodes
    y = q.tensors[node.outputs[0]]
    # Calibrated, not fixed: the output range is [-0.375, max(x)], zero point near the bottom.
    assert y.quant.zp < -100 and 0.01 < y.quant.s < 0.1
    x = q.tensors[node.inputs[0]]
    codes = every_code(rng, (4, 64))[:1]
    out = assert_matches_tflm(to_tflite_bytes(q), [codes])[0]
    real_x = x.quant.s * (codes.astype(np.float32) - x.quant.zp)
    real_y = y.quant.s * (out.astype(np.float32) - y.quant.zp)
    np.testing.assert_allclose(real_y, real_x * np.clip(real_x + 3, 0, 6) / 6,
                               atol=2 * y.quant.s)
