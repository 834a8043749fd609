"""Per-axis QuantizeLinear/DequantizeLinear on activations (a 1-D scale and zero point with
``axis``): per-channel fake quantization in float (one QUANTIZE/DEQUANTIZE pair per channel
on STRIDED_SLICEs, joined by CONCATENATION; ``edgec.frontends.onnx_qdq``), bit-identical
with onnxruntime and verified on the host; per-axis integers used as they are are computed
(``test_onnx_qdq_computed``)."""

import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper

from edgec.frontends.onnx import load_onnx
from edgec.ir import interpret
from edgec.verify import verify

SHAPE = (1, 3, 5, 6)


def _model(zp_dtype, axis: int, output_integers: bool = False) -> bytes:
    """Conv, then per-axis QuantizeLinear/DequantizeLinear of its output on ``axis``, Relu."""
    rng = np.random.default_rng(axis % 4 + len(np.dtype(zp_dtype).name))
    channels = (4, 4, 5, 6)[axis]
    low, high = (-20, 20) if zp_dtype == np.int8 else (100, 150)
    inits = [numpy_helper.from_array((rng.standard_normal((4, 3, 3, 3)) * 0.3)
                                     .astype(np.float32), "w"),
             numpy_helper.from_array(rng.uniform(0.01, 0.05, channels).astype(np.float32), "s"),
             numpy_helper.from_array(rng.integers(low, high, channels).astype(zp_dtype), "z")]
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"], pads=[1, 1, 1, 1]),
             helper.make_node("QuantizeLinear", ["c", "s", "z"], ["q"], axis=axis),
             helper.make_node("DequantizeLinear", ["q", "s", "z"], ["d"], axis=axis),
             helper.make_node("Relu", ["d"], ["y"])]
    outputs = [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)]
    if output_integers:
        outputs.append(helper.make_tensor_value_info("q", TensorProto.INT8, None))
    graph = helper.make_graph(
        nodes, "per_axis", [helper.make_tensor_value_info("x", TensorProto.FLOAT, SHAPE)],
        outputs, inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    return model.SerializeToString()


@pytest.mark.parametrize("zp_dtype", [np.int8, np.uint8], ids=["int8", "uint8"])
@pytest.mark.parametrize("axis", [1, 2, -1])
def test_per_axis_fake_quantization_is_bit_identical_with_onnxruntime(zp_dtype, axis, tmp_path):
    import onnxruntime as ort

    data = _model(zp_dtype, axis)
    graph = load_onnx(data)
    channels = SHAPE[axis] if axis != 1 else 4
    assert sum(n.op == "QUANTIZE" for n in graph.nodes) == channels
    assert graph.tensors[next(n for n in graph.nodes if n.op == "CONV_2D").outputs[0]].dtype \
        == "float32"
    session = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    for seed in range(3):
        x = np.random.default_rng(seed).standard_normal(SHAPE).astype(np.float32)
        expected = session.run(None, {"x": x})[0]
        got = interpret(graph, [x])[graph.outputs[0]]
        assert np.array_equal(got, expected)
        assert len(np.unique(got)) > 20  # the quantization steps differ per channel
    path = tmp_path / "per_axis.onnx"
    path.write_bytes(data)
    result = verify(path, count=2)
    assert result.ok, result.message


def test_per_axis_integers_as_an_output_are_computed():
    """A per-axis QuantizeLinear whose integers are a graph output is computed as ONNX does
    (float ops and a CAST, ``test_onnx_qdq_computed``); both outputs equal onnxruntime's."""
    import onnxruntime as ort

    data = _model(np.int8, 1, output_integers=True)
    graph = load_onnx(data)
    assert "CAST" in {n.op for n in graph.nodes}
    session = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    x = np.random.default_rng(0).standard_normal(SHAPE).astype(np.float32)
    got = interpret(graph, [x])
    for name, want in zip(graph.outputs, session.run(None, {"x": x})):
        assert np.array_equal(got[name], want), name
