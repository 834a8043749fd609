"""POW end to end: ONNX's Pow (run-time and constant exponents, broadcasting, every base /
exponent type pairing ONNX allows edgec to compute) against onnxruntime in the reference and
the generated C; the integer power's wrap-around and negative exponents; the exact fast paths
kept (x ** 2 as MUL, x ** 0.5 as SQRT); the TFLite export run in LiteRT (float32 and int32
POW; TFLite Micro has no POW kernel); a QDQ graph keeping POW in float between DEQUANTIZE and
QUANTIZE, and edgec's PTQ refusing it; float64 / float16 / bfloat16 bases in their own type."""

import numpy as np
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from edgec.errors import EdgecError
from edgec.export import to_tflite_bytes
from edgec.frontends.onnx import load_onnx
from edgec.frontends.tflite import load_tflite
from edgec.ir import Tensor, interpret
from edgec.ir.ops.pow_fmod import int_pow
from tests.lower.harness import check_against_reference, needs_gcc, single_node_graph
from tests.onnx_node.runner import matches, run_c
from tests.refs import run_litert
from tests.tflite_builder import TFLiteBuilder

_TYPES = {"float32": TensorProto.FLOAT, "int32": TensorProto.INT32,
          "int64": TensorProto.INT64, "uint8": TensorProto.UINT8, "int8": TensorProto.INT8,
          "float64": TensorProto.DOUBLE, "float16": TensorProto.FLOAT16,
          "bfloat16": TensorProto.BFLOAT16}


def _model(base: str, exponent: str, x_shape, y_shape, y_const=None) -> bytes:
    inputs = [helper.make_tensor_value_info("x", _TYPES[base], list(x_shape))]
    inits = []
    if y_const is None:
        inputs.append(helper.make_tensor_value_info("y", _TYPES[exponent], list(y_shape)))
    else:
        inits.append(numpy_helper.from_array(np.asarray(y_const, exponent), "y"))
    graph = helper.make_graph([helper.make_node("Pow", ["x", "y"], ["z"])], "pow", inputs,
                              [helper.make_tensor_value_info("z", _TYPES[base], None)], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 15)]
                             ).SerializeToString()


def _check(data: bytes, feed: dict, tmp_path, want=None) -> None:
    """edgec's reference and C equal onnxruntime's (or ``want``) on ``feed``."""
    want = ort.InferenceSession(data).run(None, feed)[0] if want is None else want
    graph = load_onnx(data)
    got = interpret(graph, feed)["z"]
    assert got.dtype == want.dtype and not matches(got, want), (got, want)
    outcome, why = run_c(data, [list(feed.values())], [[want]], list(feed), ["z"],
                         tmp_path / "c")
    assert outcome == "pass", why


def test_float_run_time_exponent_broadcasts(tmp_path):
    rng = np.random.default_rng(1)
    x = rng.uniform(0.1, 3.0, (2, 3, 4)).astype(np.float32)
    x[0, 0, :] = [-2.0, -2.0, 0.0, -0.0]  # negative base: integer exponents only, and zeros
    y = rng.uniform(-2.5, 2.5, (3, 1)).astype(np.float32)
    y[0, 0] = 3.0
    _check(_model("float32", "float32", x.shape, y.shape), {"x": x, "y": y}, tmp_path)


@pytest.mark.parametrize("exponent", [3.0, -1.0, [2.0, 2.0], [[0.5], [1.5]]])
def test_float_constant_exponents(exponent, tmp_path):
    x = np.random.default_rng(2).uniform(0.2, 4.0, (2, 2)).astype(np.float32)
    data = _model("float32", "float32", x.shape, None, y_const=exponent)
    assert [n.op for n in load_onnx(data).nodes] == ["POW"]
    _check(data, {"x": x}, tmp_path)


def test_fast_paths_stay_exact_ops():
    for exponent, ops in ((2.0, ["MUL"]), (0.5, ["SQRT"])):
        data = _model("float32", "float32", (4,), None, y_const=exponent)
        assert [n.op for n in load_onnx(data).nodes] == ops


@pytest.mark.parametrize("base,exponent", [("int32", "int32"), ("int64", "int64"),
                                           ("int32", "int64"), ("int64", "int32"),
                                           ("int32", "float32"), ("int64", "float32"),
                                           ("float32", "int32"), ("float32", "int64"),
                                           ])
def test_type_pairs_match_onnxruntime(base, exponent, tmp_path):
    rng = np.random.default_rng(len(base) + len(exponent))
    x = rng.integers(-6, 7, (3, 5)).astype(base)
    y = rng.integers(0, 6, (1, 5)).astype(exponent)
    _check(_model(base, exponent, x.shape, y.shape), {"x": x, "y": y}, tmp_path)


@pytest.mark.parametrize("dtype", ["int32", "int64"])
def test_integer_power_wraps_and_truncates_negative_exponents(dtype, tmp_path):
    bits = np.dtype(dtype).itemsize * 8
    x = np.array([3, -3, 7, 2, 2, 1, -1, -1, 0, 5, 0, 2], dtype)
    y = np.array([40, 41, 33, bits - 1, bits, -3, -3, -4, -1, -2, 0, 0], dtype)
    want = []
    for a, b in zip(x.tolist(), y.tolist()):
        if b < 0:
            want.append(1 if a == 1 else (-1) ** (-b) if a == -1 else 0)
        else:
            w = pow(a, b, 1 << bits)
            want.append(w - (1 << bits) if w >= 1 << (bits - 1) else w)
    want = np.array(want, dtype)
    np.testing.assert_array_equal(int_pow(x, y), want)
    _check(_model(dtype, dtype, x.shape, y.shape), {"x": x, "y": y}, tmp_path, want=want)


@pytest.mark.parametrize("dtype", ["float64", "float16", "bfloat16"])
def test_other_float_bases_keep_their_type(dtype, tmp_path):
    """float64 / float16 / bfloat16 Pow is one POW in that type: the power in float64
    rounded once to it (bit for bit in the reference; the C's ``pow`` on doubles passes the
    node tests' tolerance), near onnx's reference (numpy's power in the type); a constant
    exponent of another float type is converted at import."""
    from onnx.reference import ReferenceEvaluator

    from edgec.ir.floats import bits_of

    rng = np.random.default_rng(5)
    x = rng.uniform(0.1, 4.0, (2, 3, 4))
    x[0, 0, :] = [-2.0, -2.0, 0.0, -0.0]
    x[0, 1, :2] = [-2.0, 0.0]  # a non-integer exponent: NaN; a negative one: inf
    y = rng.uniform(-2.5, 2.5, (3, 1))
    y[:, 0] = [3.0, -0.75, 1.25]
    x, y = x.astype(dtype), y.astype(dtype)
    for data, feed in ((_model(dtype, dtype, x.shape, y.shape), {"x": x, "y": y}),
                       (_model(dtype, "float32", x.shape, None, y_const=[[1.5], [-0.5], [3.0]]),
                        {"x": x})):
        graph = load_onnx(data)
        assert [n.op for n in graph.nodes] == ["POW"]
        got = interpret(graph, feed)["z"]
        exponent = feed.get("y", np.float32([[1.5], [-0.5], [3.0]]).astype(dtype))
        with np.errstate(all="ignore"):
            want = np.power(x.astype(np.float64), exponent.astype(np.float64)).astype(dtype)
        assert got.dtype == want.dtype and np.isnan(got.astype(np.float64)).any()
        wide, ok = (bits_of(got), bits_of(want)) if dtype != "float64" else (got, want)
        keep = ~np.isnan(want.astype(np.float64))
        np.testing.assert_array_equal(wide[keep], ok[keep])
        (onnx_ref,) = ReferenceEvaluator(data).run(None, feed)
        assert not matches(got, np.asarray(onnx_ref).astype(dtype))
        outcome, why = run_c(data, [list(feed.values())], [[want]], list(feed), ["z"],
                             tmp_path / f"c{len(feed)}")
        assert outcome == "pass", why


def test_other_integer_bases_are_refused():
    with pytest.raises(EdgecError, match="raises int8 values") as e:
        load_onnx(_model("int8", "int8", (4,), (4,)))
    assert "\n" not in str(e.value)


def _tflite_pow(dtype: str, a_shape, b_shape) -> bytes:
    b = TFLiteBuilder()
    x, y = b.tensor("a", a_shape, dtype), b.tensor("b", b_shape, dtype)
    out = b.tensor("out", tuple(np.broadcast_shapes(a_shape, b_shape)), dtype)
    b.op("POW", [x, y], [out])
    return b.build(inputs=[x, y], outputs=[out])


def test_float_export_runs_in_litert():
    rng = np.random.default_rng(3)
    data = _model("float32", "float32", (2, 3, 4), (3, 1))
    x = rng.uniform(0.1, 3.0, (2, 3, 4)).astype(np.float32)
    y = rng.uniform(-2.0, 2.0, (3, 1)).astype(np.float32)
    graph = load_onnx(data)
    exported = to_tflite_bytes(graph)
    (got,) = run_litert(exported, [x, y])
    want = interpret(graph, {"x": x, "y": y})["z"]
    np.testing.assert_allclose(got, want, rtol=2e-6)
    assert [n.op for n in load_tflite(exported).nodes] == ["POW"]


def test_int32_tflite_pow_matches_litert():
    """TFLite's int32 POW imports and exports as edgec's where LiteRT defines it: exponents
    not negative (LiteRT refuses others), results in range (LiteRT converts ``std::pow``'s
    double to int32, undefined beyond it; edgec wraps), up to 3 ** 19, which float32 could
    not hold exactly."""
    model = _tflite_pow("int32", (2, 4), (1, 4))
    x = np.array([[3, -3, 2, 9], [-1, 0, 1, 6]], np.int32)
    y = np.array([[19, 5, 30, 9]], np.int32)
    (want,) = run_litert(model, [x, y])
    graph = load_tflite(model)
    np.testing.assert_array_equal(interpret(graph, [x, y])[graph.outputs[0]], want)
    (again,) = run_litert(to_tflite_bytes(graph), [x, y])
    np.testing.assert_array_equal(again, want)


def test_int64_pow_does_not_export():
    graph = load_onnx(_model("int64", "int64", (4,), (4,)))
    with pytest.raises(EdgecError) as e:
        to_tflite_bytes(graph)
    assert "\n" not in str(e.value) and "POW" in str(e.value)


def _qdq_pow() -> bytes:
    scale = numpy_helper.from_array(np.array(0.05, np.float32), "s")
    zero = numpy_helper.from_array(np.array(0, np.int8), "zp")
    e = numpy_helper.from_array(np.array(3.0, np.float32), "e")
    nodes = [helper.make_node("QuantizeLinear", ["x", "s", "zp"], ["xq"]),
             helper.make_node("DequantizeLinear", ["xq", "s", "zp"], ["xd"]),
             helper.make_node("Pow", ["xd", "e"], ["p"]),
             helper.make_node("QuantizeLinear", ["p", "s", "zp"], ["pq"]),
             helper.make_node("DequantizeLinear", ["pq", "s", "zp"], ["z"])]
    graph = helper.make_graph(nodes, "qdq", [helper.make_tensor_value_info(
        "x", TensorProto.FLOAT, [2, 8])], [helper.make_tensor_value_info(
            "z", TensorProto.FLOAT, None)], [scale, zero, e])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 15)]
                             ).SerializeToString()


def test_qdq_graph_keeps_pow_in_float():
    data = _qdq_pow()
    graph = load_onnx(data)
    pow_node = next(n for n in graph.nodes if n.op == "POW")
    assert graph.tensors[pow_node.inputs[0]].dtype == "float32"
    assert graph.tensors[pow_node.outputs[0]].dtype == "float32"
    x = np.linspace(-1.5, 1.5, 16, dtype=np.float32).reshape(2, 8)
    want = ort.InferenceSession(data).run(None, {"x": x})[0]
    np.testing.assert_allclose(interpret(graph, {"x": x})["z"], want, atol=0.05 + 1e-6)


def test_post_training_quantization_keeps_pow_float():
    """TFLM has no POW: PTQ runs it in float32 between DEQUANTIZE and QUANTIZE."""
    from edgec.quantize import quantize_graph

    graph = load_tflite(_tflite_pow("float32", (1, 8), (1, 8)))
    rng = np.random.default_rng(3)
    samples = {n: rng.uniform(0.5, 2.0, (4, 1, 8)).astype(np.float32) for n in graph.inputs}
    q = quantize_graph(graph, samples, io="int8")
    (pow_node,) = [n for n in q.nodes if n.op == "POW"]
    assert {q.tensors[t].dtype for t in pow_node.inputs + pow_node.outputs} == {"float32"}
    assert {n.op for n in q.nodes} >= {"DEQUANTIZE", "QUANTIZE"}


@needs_gcc
@pytest.mark.parametrize("dtype", ["float32", "int32", "int64"])
def test_c_kernel_matches_reference(dtype, tmp_path):
    graph = single_node_graph("POW", [Tensor("a", (2, 3, 7), dtype),
                                      Tensor("b", (1, 3, 1), dtype)],
                              [Tensor("y", (2, 3, 7), dtype)])
    check_against_reference(graph, tmp_path, np.random.default_rng(6), sanitize=True)
