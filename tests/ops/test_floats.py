"""float64 and the minifloats (edgec.ir.floats): CAST's reference against onnx's reference
implementation (every pair of float formats, edge values and every minifloat bit pattern),
float8/float4 QDQ, STRING refused. The C: tests/lower/test_minifloat.py."""

from __future__ import annotations

import ml_dtypes
import numpy as np
import onnx
import pytest
from onnx import helper
from onnx.reference import ReferenceEvaluator

from edgec.errors import EdgecError
from edgec.frontends.onnx import load_onnx
from edgec.ir import interpret
from edgec.ir.floats import MINIFLOATS, OTHER_FLOATS, bits_of

FLOATS = ("float32", *OTHER_FLOATS)
FLOAT8 = tuple(d for d in MINIFLOATS if d.startswith("float8"))


def _elem(dtype: str) -> int:
    return helper.np_dtype_to_tensor_dtype(np.dtype(dtype))


def _edge_values(src: str) -> np.ndarray:
    """NaN, +-Inf, +-0, every format's largest value and the points around it (overflow,
    rounding down to it), ties between neighbours of every format (round half to even),
    subnormals, and random values over many magnitudes, all exact in ``src``."""
    vals = [np.nan, np.inf, -np.inf, 0.0, -0.0, 1.0, -1.0, 1e-30, -1e-30, 65504.0, 65520.0,
            70000.0, 3.4e38, -3.4e38, 1e300]
    for d in MINIFLOATS:
        top = float(ml_dtypes.finfo(d).max)
        tiny = float(ml_dtypes.finfo(d).smallest_subnormal)
        eps = float(ml_dtypes.finfo(d).eps)
        vals += [top, -top, top * (1 + eps / 4), top * (1 + eps / 2), top * (1 + eps), top * 2,
                 tiny, tiny / 2, tiny * 1.5, tiny / 4, -tiny * 2.5, 1 + eps / 2, 1 + eps * 1.5,
                 -(1 + eps / 2), 3 * tiny / 2]
    rng = np.random.default_rng(7)
    vals += list(rng.standard_normal(64) * np.exp2(rng.integers(-30, 30, 64)))
    x = np.array(vals, np.float64)
    x = x[(np.abs(x) <= float(np.finfo(np.float32).max)) | ~np.isfinite(x)] \
        if src != "float64" else x
    return x.astype(src)


def _same(got: np.ndarray, want: np.ndarray) -> None:
    """Bit-exact equality, NaN payloads aside (any NaN matches any NaN)."""
    assert got.dtype == want.dtype and got.shape == want.shape
    with np.errstate(invalid="ignore"):  # NaN bit patterns
        g64, w64 = got.astype(np.float64), want.astype(np.float64)
    np.testing.assert_array_equal(np.isnan(g64), np.isnan(w64))
    keep = ~np.isnan(w64)
    if got.dtype.name in MINIFLOATS:
        np.testing.assert_array_equal(bits_of(got)[keep], bits_of(want)[keep])
    else:
        np.testing.assert_array_equal(got.view(f"uint{got.dtype.itemsize * 8}")[keep],
                                      want.view(f"uint{want.dtype.itemsize * 8}")[keep])


def _cast_model(src: str, dst: str, n: int, saturate: int = 1) -> onnx.ModelProto:
    graph = helper.make_graph(
        [helper.make_node("Cast", ["x"], ["y"], to=_elem(dst), saturate=saturate)], "cast",
        [helper.make_tensor_value_info("x", _elem(src), (n,))],
        [helper.make_tensor_value_info("y", _elem(dst), (n,))])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 21)])


PAIRS = [(s, d) for s in ("float32", "float64", "float16") for d in FLOATS if s != d] + [
    (s, d) for s in MINIFLOATS for d in ("float32", "float16", "float64", "int8", "int32")] + [
    ("int32", d) for d in OTHER_FLOATS] + [("bfloat16", "float8_e4m3fn")]


@pytest.mark.parametrize("saturate", [1, 0])
@pytest.mark.parametrize("src,dst", PAIRS)
def test_cast_reference_matches_the_onnx_reference(src, dst, saturate):
    if src in MINIFLOATS:  # every bit pattern
        x = np.arange(2 ** MINIFLOATS[src].bits, dtype=MINIFLOATS[src].storage).view(src)
    elif src == "int32":
        x = np.array([0, 1, -1, 7, 448, 449, 65519, 65520, -2**31, 2**31 - 1, 17, 1 << 24 | 1],
                     np.int32)
    else:
        x = _edge_values(src)
    if dst.startswith("int") and src in MINIFLOATS:  # ONNX leaves NaN/Inf/overflow undefined
        wide = x.astype(np.float64)
        x = x[np.isfinite(wide) & (np.abs(wide) < np.iinfo(dst).max)]
    model = _cast_model(src, dst, x.size, saturate)
    got = interpret(load_onnx(model.SerializeToString()), {"x": x})["y"]
    (want,) = ReferenceEvaluator(model).run(None, {"x": x})
    _same(got, np.asarray(want))


def test_cast_reference_edge_cases():
    """Spot values of ONNX's Cast table (saturation, Inf, NaN, ties, FNUZ zero)."""
    from edgec.ir.ops.cast import cast_values

    x = np.array([np.inf, -np.inf, 1e6, 464.0, 465.0, -0.0, np.nan], np.float32)
    e4m3 = cast_values(x, "float8_e4m3fn", True).astype(np.float32)
    np.testing.assert_array_equal(e4m3[:6], [448, -448, 448, 448, 448, -0.0])
    raw = cast_values(x, "float8_e4m3fn", False).astype(np.float32)
    assert np.isnan(raw[[0, 1, 2, 4, 6]]).all() and raw[3] == 448  # 464 ties to even 448
    e5m2 = cast_values(x, "float8_e5m2", False).astype(np.float32)
    assert e5m2[0] == np.inf and e5m2[2] == np.inf
    assert bits_of(cast_values(x[5:6], "float8_e5m2fnuz"))[0] == 0  # no -0 in FNUZ
    assert cast_values(np.float32([1 + 2 ** -11]), "float16")[0] == 1.0  # tie to even
    assert cast_values(np.float32([1 + 3 * 2 ** -11]), "float16")[0] == 1 + 2 ** -9


@pytest.mark.parametrize("fmt", ["float8_e4m3fn", "float8_e5m2", "float4_e2m1fn"])
def test_float_qdq_matches_the_onnx_reference(fmt):
    """QuantizeLinear to fmt then DequantizeLinear back (constant scale, zero point 0)."""
    scale = onnx.numpy_helper.from_array(np.array(0.37, np.float32), "s")
    zp = onnx.numpy_helper.from_array(np.zeros((), fmt), "zp")
    graph = helper.make_graph(
        [helper.make_node("QuantizeLinear", ["x", "s", "zp"], ["q"]),
         helper.make_node("DequantizeLinear", ["q", "s", "zp"], ["y"])], "qdq",
        [helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, (40,))],
        [helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, (40,))], [scale, zp])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 23)])
    x = (np.random.default_rng(5).standard_normal(40) * 60).astype(np.float32)
    got = interpret(load_onnx(model.SerializeToString()), {"x": x})["y"]
    (want,) = ReferenceEvaluator(model).run(None, {"x": x})
    _same(got, want)


def test_string_inputs_are_refused_in_one_line():
    graph = helper.make_graph(
        [helper.make_node("Cast", ["x"], ["y"], to=onnx.TensorProto.FLOAT)], "s",
        [helper.make_tensor_value_info("x", onnx.TensorProto.STRING, (2,))],
        [helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, (2,))])
    with pytest.raises(EdgecError, match="holds strings") as err:
        load_onnx(helper.make_model(graph).SerializeToString())
    assert "\n" not in str(err.value)


def _e8m0_inputs(src: str) -> np.ndarray:
    """Powers of two and the values around them (1.25, 1.5, 1.75 times, just below 1.5),
    float32 subnormals, negatives, the top exponent, NaN, Inf, zeros, random values."""
    powers = np.exp2(np.arange(-149, 128, dtype=np.float64))
    x = np.concatenate([powers, powers * 1.25, powers * 1.5, powers * 1.75,
                        np.nextafter(powers * 1.5, 0), -powers * 1.5, _edge_values("float64")])
    if src != "float64":
        x = x[(np.abs(x) <= float(np.finfo(src).max)) | ~np.isfinite(x)]
    return x.astype(src)


@pytest.mark.parametrize("saturate", [1, 0])
@pytest.mark.parametrize("round_mode", ["up", "down", "nearest"])
@pytest.mark.parametrize("src", ["float32", "float16", "float64", "bfloat16"])
def test_cast_to_e8m0_matches_the_onnx_reference(src, round_mode, saturate):
    """Cast to FLOAT8E8M0 (opset 25) with each round_mode and saturate: bit for bit as onnx's
    reference (the float32 exponent field rounded; NaN/Inf to 0xFF; the sign ignored)."""
    x = _e8m0_inputs(src)
    graph = helper.make_graph(
        [helper.make_node("Cast", ["x"], ["y"], to=onnx.TensorProto.FLOAT8E8M0,
                          saturate=saturate, round_mode=round_mode)], "cast",
        [helper.make_tensor_value_info("x", _elem(src), (x.size,))],
        [helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT8E8M0, (x.size,))])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 25)])
    ir = load_onnx(model.SerializeToString())
    got = interpret(ir, {"x": x})["y"]
    (want,) = ReferenceEvaluator(model).run(None, {"x": x})
    assert got.dtype.name == "float8_e8m0fnu"
    np.testing.assert_array_equal(bits_of(got), np.asarray(want).view(np.uint8))


def test_e8m0_reference_spot_values():
    """ONNX's Cast table for E8M0 and its round modes on a few values."""
    from edgec.ir.floats import to_e8m0

    x = np.float32([0.0, 0.124, 1.0, 1.1, 1.5, 1.4, 3.0, -3.0, np.nan, np.inf, 3e38, 2 ** -127])
    up = bits_of(to_e8m0(x))
    # 2^-127 is a float32 subnormal with a fraction: "up" gives 2^-126 (onnx's reference)
    np.testing.assert_array_equal(up, [0, 124, 127, 128, 128, 128, 129, 129, 255, 255, 254, 1])
    nearest = bits_of(to_e8m0(x, round_mode="nearest"))
    np.testing.assert_array_equal(nearest[[1, 3, 4, 5, 6, 11]], [124, 127, 128, 127, 129, 0])
    down = bits_of(to_e8m0(x, round_mode="down"))
    np.testing.assert_array_equal(down[[1, 3, 6, 10]], [123, 127, 128, 254])
    assert bits_of(to_e8m0(x[10:11], saturate=False))[0] == 255  # beyond 2^127: NaN
    decoded = np.arange(256, dtype=np.uint8).view("float8_e8m0fnu").astype(np.float64)
    assert decoded[0] == 2.0 ** -127 and decoded[127] == 1.0 and np.isnan(decoded[255])


def test_e8m0_bad_round_mode_and_tflite_export_are_refused():
    from edgec.export import to_tflite_bytes

    def model(round_mode):
        graph = helper.make_graph(
            [helper.make_node("Cast", ["x"], ["y"], to=onnx.TensorProto.FLOAT8E8M0,
                              round_mode=round_mode)], "cast",
            [helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, (4,))],
            [helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT8E8M0, (4,))])
        return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 25)])

    with pytest.raises(EdgecError, match="round_mode") as err:
        load_onnx(model("sideways").SerializeToString())
    assert "\n" not in str(err.value) and "nearest" in str(err.value)
    with pytest.raises(EdgecError, match="float8_e8m0fnu") as err:
        to_tflite_bytes(load_onnx(model("down").SerializeToString()))
    assert "\n" not in str(err.value)
