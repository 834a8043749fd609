"""ONNX models the node suite and real exporters produce that once crashed or were refused
with a misleading message: each now imports exactly (checked against onnxruntime) or is
refused naming the real cause."""

import numpy as np
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from edgec.errors import EdgecError
from edgec.frontends.onnx import load_onnx
from edgec.ir import interpret

RNG = np.random.default_rng(11)


def _model(nodes, inputs, outputs, consts=(), ir_version=8, opset=17) -> bytes:
    graph = helper.make_graph(
        nodes, "test",
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, s) for n, s in inputs.items()],
        [helper.make_tensor_value_info(
            n, TensorProto.BOOL if n == "mask" else TensorProto.FLOAT, None) for n in outputs],
        initializer=[numpy_helper.from_array(np.asarray(v), k) for k, v in consts])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = ir_version
    return model.SerializeToString()


def _check_vs_ort(data: bytes, x: np.ndarray) -> None:
    graph = load_onnx(data)
    got = list(interpret(graph, {graph.inputs[0]: x}).values())
    want = ort.InferenceSession(data).run(None, {graph.inputs[0]: x})
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("bias_shape", [(3, 5), (3, 1), (1, 5), (5,)])
def test_gemm_bias_of_any_broadcast_shape(bias_shape):
    w = RNG.standard_normal((4, 5)).astype(np.float32)
    c = RNG.standard_normal(bias_shape).astype(np.float32)
    data = _model([helper.make_node("Gemm", ["x", "w", "c"], ["y"], beta=0.5)], {"x": [3, 4]},
                  ["y"], [("w", w), ("c", c)])
    _check_vs_ort(data, RNG.standard_normal((3, 4)).astype(np.float32))


def test_identity_model_keeps_its_output_name():
    data = _model([helper.make_node("Identity", ["x"], ["y"])], {"x": [2, 3]}, ["y"])
    graph = load_onnx(data)
    assert graph.outputs == ["y"]
    _check_vs_ort(data, RNG.standard_normal((2, 3)).astype(np.float32))


def test_unused_dropout_mask_is_dropped():
    node = helper.make_node("Dropout", ["x"], ["y", "mask"])
    data = _model([node, helper.make_node("Relu", ["y"], ["z"])], {"x": [2, 3]}, ["z"])
    _check_vs_ort(data, RNG.standard_normal((2, 3)).astype(np.float32))


def test_dropout_in_training_mode_is_refused():
    node = helper.make_node("Dropout", ["x", "r", "t"], ["y"])
    consts = [("r", np.float32(0.3)), ("t", np.array(True))]
    with pytest.raises(EdgecError, match="training mode with ratio 0.3: its mask is random"):
        load_onnx(_model([node], {"x": [2, 3]}, ["y"], consts))


def test_dropout_training_mode_with_zero_ratio_is_identity():
    node = helper.make_node("Dropout", ["x", "r", "t"], ["y"])
    consts = [("r", np.float32(0.0)), ("t", np.array(True))]
    x = RNG.standard_normal((2, 3)).astype(np.float32)
    graph = load_onnx(_model([node], {"x": [2, 3]}, ["y"], consts))
    np.testing.assert_array_equal(interpret(graph, x)["y"], x)


def test_dropout_mask_output_is_a_constant_of_trues():
    node = helper.make_node("Dropout", ["x"], ["y", "mask"])
    graph = load_onnx(_model([node], {"x": [2, 3]}, ["y", "mask"]))
    x = RNG.standard_normal((2, 3)).astype(np.float32)
    got = interpret(graph, x)
    np.testing.assert_array_equal(got["y"], x)
    assert got["mask"].dtype == np.uint8 and got["mask"].shape == (2, 3) and got["mask"].all()


def test_training_mode_batch_norm_keeps_its_extra_outputs():
    bn = helper.make_node("BatchNormalization", ["x", "s", "b", "m", "v"],
                          ["y", "rm", "rv"], training_mode=1)
    ones = np.ones(3, np.float32)
    data = _model([bn], {"x": [1, 3, 2, 2]}, ["y", "rm", "rv"],
                  [("s", ones), ("b", ones), ("m", ones), ("v", ones)])
    assert load_onnx(data).outputs == ["y", "rm", "rv"]


def test_ir3_initializers_not_listed_as_inputs():
    w = RNG.standard_normal((4, 3, 3, 3)).astype(np.float32)
    node = helper.make_node("Conv", ["x", "w"], ["y"], pads=[1, 1, 1, 1])
    data = _model([node], {"x": [1, 3, 6, 6]}, ["y"], [("w", w)], ir_version=3, opset=8)
    _check_vs_ort(data, RNG.standard_normal((1, 3, 6, 6)).astype(np.float32))


def test_zero_size_tensors_are_refused():
    node = helper.make_node("Reshape", ["x", "s"], ["y"], allowzero=1)
    data = _model([node], {"x": [2, 6]}, ["y"], [("s", np.array([3, 4, 0], np.int64))])
    with pytest.raises(EdgecError) as err:
        load_onnx(data)
    assert "bug" not in str(err.value)


@pytest.mark.parametrize("op,extra", [
    ("Conv", dict(strides=[2], dilations=[2], pads=[2, 1])),
    ("Conv", dict(group=4, pads=[1, 1])),
    ("MaxPool", dict(kernel_shape=[3], strides=[2], pads=[1, 1])),
    ("AveragePool", dict(kernel_shape=[3], pads=[1, 1], count_include_pad=1)),
])
def test_1d_window_ops_on_ncw(op, extra):
    """PyTorch Conv1d / MaxPool1d / AvgPool1d exports: (N, C, W) runs as (N, C, 1, W)."""
    consts, inputs = [], ["x"]
    if op == "Conv":
        group = extra.get("group", 1)
        consts = [("w", RNG.standard_normal((4, 4 // group, 3)).astype(np.float32)),
                  ("b", RNG.standard_normal(4).astype(np.float32))]
        inputs = ["x", "w", "b"]
    data = _model([helper.make_node(op, inputs, ["y"], **extra)], {"x": [1, 4, 17]}, ["y"],
                  consts)
    graph = load_onnx(data)
    assert graph.tensors[graph.outputs[0]].shape == \
        ort.InferenceSession(data).run(None, {"x": np.zeros((1, 4, 17), np.float32)})[0].shape
    _check_vs_ort(data, RNG.standard_normal((1, 4, 17)).astype(np.float32))


@pytest.mark.parametrize("lo,hi", [(-0.5, 2.0), (-1.0, 1.0), (0.3, None), (None, -0.2),
                                   (1.0, -1.0)])
def test_clip_with_any_constant_range(lo, hi):
    consts = [(n, np.array(v, np.float32)) for n, v in (("lo", lo), ("hi", hi)) if v is not None]
    inputs = ["x", "lo" if lo is not None else "", "hi" if hi is not None else ""]
    node = helper.make_node("Clip", inputs, ["y"])
    data = _model([node], {"x": [2, 3, 4]}, ["y"], consts)
    _check_vs_ort(data, RNG.standard_normal((2, 3, 4)).astype(np.float32) * 2)


def test_sequence_and_optional_inputs_are_refused_naming_them():
    seq = helper.make_tensor_sequence_value_info("s", TensorProto.FLOAT, None)
    graph = helper.make_graph([helper.make_node("Identity", ["s"], ["t"])], "g", [seq],
                              [helper.make_tensor_sequence_value_info("t", TensorProto.FLOAT,
                                                                      None)])
    data = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    with pytest.raises(EdgecError, match="input 's' is a sequence, not a tensor"):
        load_onnx(data.SerializeToString())
