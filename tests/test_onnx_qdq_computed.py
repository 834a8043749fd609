"""QuantizeLinear/DequantizeLinear computed as they are (``edgec.frontends.onnx_qdq``): the
integers leave or enter the graph (uint8/uint16 edges, int16 with a zero point, per-axis and
blocked parameters, the sub-byte int4/uint4/int2/uint2), so they are float ops and a CAST,
not quantization annotations. Checked against ONNX's reference runtime, exactly, in the
reference interpreter and in the host C."""

import ml_dtypes
import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper
from onnx.reference import ReferenceEvaluator

from edgec.frontends.onnx import load_onnx
from edgec.ir import interpret
from edgec.ir.ops.cast import cast_values
from tests.lower.harness import needs_gcc
from tests.onnx_node.runner import run_c

# Exact halves (round half to even), saturating values and ordinary ones, as quotients of 0.5.
X = np.array([[0.0, 0.25, 0.75, 1.25, -0.25, -0.75, -1.25, 1.0],
              [3.0, -3.0, 100.0, -100.0, 1e6, -1e6, 0.1, -0.6]], np.float32)
NP = {TensorProto.UINT8: np.uint8, TensorProto.INT8: np.int8, TensorProto.UINT16: np.uint16,
      TensorProto.INT16: np.int16, TensorProto.INT32: np.int32,
      TensorProto.INT4: ml_dtypes.int4, TensorProto.UINT4: ml_dtypes.uint4,
      TensorProto.INT2: ml_dtypes.int2, TensorProto.UINT2: ml_dtypes.uint2}


def _model(node, x_type, x_shape, y_type, consts) -> bytes:
    graph = helper.make_graph(
        [node], "qdq", [helper.make_tensor_value_info("x", x_type, x_shape)],
        [helper.make_tensor_value_info("y", y_type, None)],
        [numpy_helper.from_array(np.asarray(v), k) for k, v in consts])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 25)])
    model.ir_version = 11
    return model.SerializeToString()


def _check(data: bytes, x: np.ndarray, tmp_path) -> None:
    """The reference interpreter and the host C equal ONNX's reference runtime exactly."""
    want = ReferenceEvaluator(onnx.load_model_from_string(data)).run(None, {"x": x})[0]
    got = interpret(load_onnx(data), {"x": x})["y"]
    assert np.array_equal(np.asarray(got).astype(np.float64), want.astype(np.float64))
    status, detail = run_c(data, [[x]], [[want]], ["x"], ["y"], tmp_path / "c")
    assert status == "pass", detail


def _quantize(zp_type, zp, axis=1, block_size=0, scale=np.float32(0.5)):
    node = helper.make_node("QuantizeLinear", ["x", "s", "z"], ["y"], axis=axis,
                            **({"block_size": block_size} if block_size else {}))
    return _model(node, TensorProto.FLOAT, X.shape, zp_type,
                  [("s", scale), ("z", np.asarray(zp).astype(NP[zp_type]))])


@needs_gcc
@pytest.mark.parametrize("zp_type,zp", [
    (TensorProto.UINT8, 128), (TensorProto.INT8, -3), (TensorProto.UINT16, 30000),
    (TensorProto.INT16, 256), (TensorProto.INT4, 1), (TensorProto.UINT4, 8),
    (TensorProto.INT2, 0), (TensorProto.UINT2, 1)],
    ids=["uint8", "int8", "uint16", "int16", "int4", "uint4", "int2", "uint2"])
def test_quantize_linear_to_a_graph_output(zp_type, zp, tmp_path):
    """Rounds half to even and saturates to the type's range, whatever the type."""
    data = _quantize(zp_type, zp)
    graph = load_onnx(data)
    assert "CAST" in {n.op for n in graph.nodes}
    _check(data, X, tmp_path)


@needs_gcc
def test_quantize_linear_per_axis_and_blocked(tmp_path):
    scale = np.array([0.5, 0.25], np.float32)
    _check(_quantize(TensorProto.INT8, np.array([1, -2]), axis=0, scale=scale), X, tmp_path)
    blocks = np.array([[0.5, 0.25, 1.0], [2.0, 0.125, 0.5]], np.float32)  # 8 columns by 3
    zps = np.array([[0, 1, -1], [2, 0, 1]])
    _check(_quantize(TensorProto.INT4, zps, block_size=3, scale=blocks), X, tmp_path / "b")


def _dequantize(x_type, zp, axis=1, block_size=0, scale=np.float32(0.5), shape=X.shape):
    node = helper.make_node("DequantizeLinear", ["x", "s", "z"], ["y"], axis=axis,
                            **({"block_size": block_size} if block_size else {}))
    return _model(node, x_type, shape, TensorProto.FLOAT,
                  [("s", scale), ("z", np.asarray(zp).astype(NP[x_type]))])


@needs_gcc
@pytest.mark.parametrize("x_type,zp", [
    (TensorProto.UINT8, 128), (TensorProto.INT16, -1024), (TensorProto.INT32, 7),
    (TensorProto.INT4, -2), (TensorProto.UINT2, 1)],
    ids=["uint8", "int16", "int32", "int4", "uint2"])
def test_dequantize_linear_of_a_graph_input(x_type, zp, tmp_path):
    info = ml_dtypes.iinfo(NP[x_type]) if x_type in (TensorProto.INT4, TensorProto.UINT2) \
        else np.iinfo(NP[x_type])
    low, high = max(int(info.min), -300), min(int(info.max), 300)
    x = np.linspace(low, high, X.size).round().reshape(X.shape).astype(NP[x_type])
    _check(_dequantize(x_type, zp), x, tmp_path)


@needs_gcc
def test_dequantize_linear_per_axis_of_an_int8_input(tmp_path):
    """An int8 graph input dequantized per axis (before: refused as a fake quantization
    without its QuantizeLinear)."""
    x = np.arange(-8, 8, dtype=np.int8).reshape(X.shape)
    data = _dequantize(TensorProto.INT8, np.array([3, -1]), axis=0,
                       scale=np.array([0.5, 0.125], np.float32))
    _check(data, x, tmp_path)


def test_per_axis_fake_quantization_inside_a_model_stays_quantize_pairs():
    """A per-axis QuantizeLinear read only by its DequantizeLinear is still run as the
    per-channel QUANTIZE/DEQUANTIZE pairs (test_onnx_per_axis_qdq), not computed."""
    from tests.test_onnx_per_axis_qdq import _model as per_axis_model
    ops = {n.op for n in load_onnx(per_axis_model(np.int8, 1)).nodes}
    assert {"QUANTIZE", "DEQUANTIZE"} <= ops and "CAST" not in ops


@pytest.mark.parametrize("dtype,bits,signed", [("int4", 4, True), ("uint4", 4, False),
                                               ("int2", 2, True), ("uint2", 2, False)])
def test_cast_to_sub_byte_integers_wraps_as_onnx(dtype, bits, signed):
    """Integers wrap modulo 2^bits; floats are truncated (as to int32) first."""
    values = np.arange(-40, 40)
    low = values & ((1 << bits) - 1)
    want = (low ^ (1 << (bits - 1))) - (1 << (bits - 1)) if signed else low
    assert np.array_equal(cast_values(values.astype(np.int32), dtype), want)
    floats = values.astype(np.float32) + np.float32(0.75) * np.sign(values)
    assert np.array_equal(cast_values(floats, dtype), want)
    assert cast_values(values.astype(np.int32), dtype).dtype == ("int8" if signed else "uint8")


@needs_gcc
def test_run_time_scale_and_zero_point(tmp_path):
    """Scales and zero points fed at run time (per tensor, per axis, blocked): the same float
    ops, with the zero point cast to float32, per-axis ones reshaped to their axis and blocked
    ones repeated (a MUL by ones) to the input's shape."""
    def model(op, x_type, zp_type, s_shape):
        blocked = {"axis": 1, "block_size": 4} if s_shape == (2, 2) else {"axis": 0}
        graph = helper.make_graph(
            [helper.make_node(op, ["x", "s", "z"], ["y"], **blocked)], "qdq",
            [helper.make_tensor_value_info("x", x_type, X.shape),
             helper.make_tensor_value_info("s", TensorProto.FLOAT, s_shape),
             helper.make_tensor_value_info("z", zp_type, s_shape)],
            [helper.make_tensor_value_info("y", TensorProto.UNDEFINED, None)])
        m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 25)])
        m.ir_version = 11
        return m.SerializeToString()

    cases = [("QuantizeLinear", TensorProto.FLOAT, TensorProto.UINT8, (), X,
              np.float32(0.5), np.uint8(128)),
             ("QuantizeLinear", TensorProto.FLOAT, TensorProto.INT4, (2,), X,
              np.array([0.5, 0.25], np.float32), np.array([1, -1], ml_dtypes.int4)),
             ("DequantizeLinear", TensorProto.INT16, TensorProto.INT16, (2,),
              np.arange(-8, 8, dtype=np.int16).reshape(X.shape) * 1000,
              np.array([0.5, 0.125], np.float32), np.array([-1024, 3], np.int16)),
             ("QuantizeLinear", TensorProto.FLOAT, TensorProto.INT8, (2, 2), X,
              np.array([[0.5, 0.25], [2.0, 0.125]], np.float32),
              np.array([[0, 1], [-2, 3]], np.int8))]
    for k, (op, x_type, zp_type, s_shape, x, s, z) in enumerate(cases):
        data = model(op, x_type, zp_type, s_shape)
        feeds = {"x": x, "s": np.asarray(s), "z": np.asarray(z)}
        want = ReferenceEvaluator(onnx.load_model_from_string(data)).run(None, feeds)[0]
        got = interpret(load_onnx(data), feeds)["y"]
        assert np.array_equal(np.asarray(got).astype(np.float64), want.astype(np.float64)), op
        status, detail = run_c(data, [list(feeds.values())], [[want]], list(feeds), ["y"],
                               tmp_path / str(k))
        assert status == "pass", detail
