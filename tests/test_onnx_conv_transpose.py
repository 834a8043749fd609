"""ONNX ConvTranspose -> TRANSPOSE_CONV: float (2-D and 1-D, pads, output_padding, auto_pad,
dilations) within 1e-5 of onnxruntime; QDQ (per-channel int8 weights on axis 1) imports as an
int8 TRANSPOSE_CONV within one output step of onnxruntime, and builds and verifies on the host."""

import numpy as np
import pytest
from onnx import helper

from edgec.errors import EdgecError
from edgec.frontends.onnx import load_onnx
from edgec.ir import interpret
from tests.test_onnx_frontend import _check, _const, _model, _ops

RNG = np.random.default_rng(11)

CASES = [  # input shape (N, C, *spatial), weight shape (C, O, *kernel), attributes
    ((1, 3, 5, 4), (3, 2, 3, 3), dict(strides=[2, 2], pads=[1, 1, 1, 1], output_padding=[1, 1])),
    ((1, 2, 4, 4), (2, 3, 2, 3), dict(strides=[1, 2], auto_pad="SAME_UPPER")),
    ((2, 2, 3, 3), (2, 2, 3, 2), dict(strides=[2, 1], dilations=[2, 2], pads=[0, 1, 2, 0])),
    ((1, 4, 9), (4, 3, 5), dict(strides=[2], pads=[2, 1], output_padding=[1])),
]


@pytest.mark.parametrize("case", range(len(CASES)))
def test_float_conv_transpose_matches_onnxruntime(case):
    x_shape, w_shape, attrs = CASES[case]
    w = RNG.standard_normal(w_shape).astype(np.float32) * 0.5
    b = RNG.standard_normal(w_shape[1]).astype(np.float32)
    nodes = [helper.make_node("ConvTranspose", ["x", "w", "b"], ["c"], **attrs),
             helper.make_node("Relu", ["c"], ["y"])]
    graph = _check(_model(nodes, {"x": list(x_shape)}, ["y"], [_const("w", w), _const("b", b)]),
                   x_shape)
    assert "TRANSPOSE_CONV" in _ops(graph)


def test_grouped_conv_transpose_matches_onnxruntime_and_uneven_groups_are_refused():
    w = RNG.standard_normal((4, 3, 3, 2)).astype(np.float32)
    b = RNG.standard_normal(6).astype(np.float32)
    node = helper.make_node("ConvTranspose", ["x", "w", "b"], ["y"], group=2, strides=[2, 1],
                            pads=[1, 0, 0, 1])
    graph = _check(_model([node], {"x": [1, 4, 3, 5]}, ["y"], [_const("w", w), _const("b", b)]),
                   (1, 4, 3, 5))
    assert _ops(graph).count("TRANSPOSE_CONV") == 2 and "STRIDED_SLICE" in _ops(graph)
    data = _model([helper.make_node("ConvTranspose", ["x", "w"], ["y"], group=3)],
                  {"x": [1, 4, 3, 3]}, ["y"], [_const("w", w[:, :1])])
    with pytest.raises(EdgecError, match="group=3"):
        load_onnx(data)


def _qdq_model() -> bytes:
    """x -Q-> DQ -> ConvTranspose(int8 weights per output channel, int32 bias) -Q-> DQ -> y."""
    w = RNG.integers(-127, 128, (3, 4, 3, 3)).astype(np.int8)
    w_scale = (RNG.random(4) * 0.02 + 0.01).astype(np.float32)
    b = RNG.integers(-500, 500, 4).astype(np.int32)
    consts = [_const("xs", np.float32(0.05)), _const("xz", np.int8(3)), _const("w", w),
              _const("ws", w_scale), _const("wz", np.zeros(4, np.int8)), _const("b", b),
              _const("bs", np.float32(0.05) * w_scale), _const("bz", np.zeros(4, np.int32)),
              _const("ys", np.float32(0.1)), _const("yz", np.int8(-7))]
    nodes = [helper.make_node("QuantizeLinear", ["x", "xs", "xz"], ["xq"]),
             helper.make_node("DequantizeLinear", ["xq", "xs", "xz"], ["xd"]),
             helper.make_node("DequantizeLinear", ["w", "ws", "wz"], ["wd"], axis=1),
             helper.make_node("DequantizeLinear", ["b", "bs", "bz"], ["bd"], axis=0),
             helper.make_node("ConvTranspose", ["xd", "wd", "bd"], ["c"], strides=[2, 2],
                              pads=[1, 1, 0, 0]),
             helper.make_node("QuantizeLinear", ["c", "ys", "yz"], ["yq"]),
             helper.make_node("DequantizeLinear", ["yq", "ys", "yz"], ["y"])]
    return _model(nodes, {"x": [1, 3, 4, 5]}, ["y"], consts, opset=13)


def test_qdq_conv_transpose_is_int8_and_within_one_step_of_onnxruntime(tmp_path):
    import onnxruntime as ort

    from edgec.verify import verify

    data = _qdq_model()
    graph = load_onnx(data)
    node = next(n for n in graph.nodes if n.op == "TRANSPOSE_CONV")
    assert graph.tensors[node.inputs[0]].dtype == "int8"
    assert graph.tensors[node.inputs[1]].quant.axis == 0
    x = RNG.standard_normal((1, 3, 4, 5)).astype(np.float32)
    expected = ort.InferenceSession(data, providers=["CPUExecutionProvider"]).run(
        None, {"x": x})[0]
    np.testing.assert_allclose(interpret(graph, x)["y"], expected, atol=0.1 + 1e-6)
    path = tmp_path / "qdq_convtranspose.onnx"
    path.write_bytes(data)
    result = verify(path, count=2)
    assert result.ok, result.message




def _qdq_1d_model(op: str) -> bytes:
    """x -Q-> DQ -> Conv or ConvTranspose on (N, C, W), int8 per-channel weights -Q-> DQ."""
    shape = (4, 3, 5) if op == "Conv" else (3, 4, 5)
    w = RNG.integers(-127, 128, shape).astype(np.int8)
    ws = (RNG.random(4) * 0.02 + 0.01).astype(np.float32)
    consts = [_const("xs", np.float32(0.05)), _const("xz", np.int8(3)), _const("w", w),
              _const("ws", ws), _const("wz", np.zeros(4, np.int8)),
              _const("ys", np.float32(0.1)), _const("yz", np.int8(-7))]
    nodes = [helper.make_node("QuantizeLinear", ["x", "xs", "xz"], ["xq"]),
             helper.make_node("DequantizeLinear", ["xq", "xs", "xz"], ["xd"]),
             helper.make_node("DequantizeLinear", ["w", "ws", "wz"], ["wd"],
                              axis=0 if op == "Conv" else 1),
             helper.make_node(op, ["xd", "wd"], ["c"], strides=[2], pads=[2, 1]),
             helper.make_node("QuantizeLinear", ["c", "ys", "yz"], ["yq"]),
             helper.make_node("DequantizeLinear", ["yq", "ys", "yz"], ["y"])]
    return _model(nodes, {"x": [1, 3, 16]}, ["y"], consts, opset=13)


@pytest.mark.parametrize("op", ["Conv", "ConvTranspose"])
def test_qdq_1d_window_runs_in_int8(op, tmp_path):
    import onnxruntime as ort

    from edgec.verify import verify

    data = _qdq_1d_model(op)
    graph = load_onnx(data)
    ir_op = "CONV_2D" if op == "Conv" else "TRANSPOSE_CONV"
    node = next(n for n in graph.nodes if n.op == ir_op)
    assert graph.tensors[node.inputs[0]].dtype == "int8"
    assert graph.tensors[node.outputs[0]].quant.zp == -7
    x = RNG.standard_normal((1, 3, 16)).astype(np.float32)
    expected = ort.InferenceSession(data, providers=["CPUExecutionProvider"]).run(
        None, {"x": x})[0]
    np.testing.assert_allclose(interpret(graph, x)["y"], expected, atol=0.1 + 1e-6)
    path = tmp_path / "qdq_1d.onnx"
    path.write_bytes(data)
    result = verify(path, count=2)
    assert result.ok, result.message
