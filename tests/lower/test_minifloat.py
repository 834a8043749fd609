"""The C of the other float formats (edgec.ir.floats) against the reference: the generic
minifloat decoder on every bit pattern of every format, the encoder on ties, subnormals,
overflow (saturating, to Inf, to NaN), NaN and -0, and MAXIMUM/MINIMUM on float16, bfloat16
and float64 (NaN, Inf, signed zeros); FMOD and POW on them (broadcast); float8 E8M0's encoder
in every round_mode."""

from __future__ import annotations

import numpy as np
import pytest

from edgec.ir import Tensor, interpret
from edgec.ir.floats import E8M0_ROUND_MODES, MINIFLOATS, bits_of
from edgec.ir.ops.pow_fmod import OTHER_FLOAT_DTYPES
from edgec.lower import lower_graph
from edgec.options import BuildOptions
from tests.lower.harness import needs_gcc, run_kernel, single_node_graph
from tests.ops.test_floats import _edge_values, _same


def _cast_graph(src: str, dst: str, n: int, saturate: bool):
    return single_node_graph("CAST", [Tensor("x", (n,), src)], [Tensor("y", (n,), dst)],
                             {} if saturate else {"saturate": False})


@needs_gcc
@pytest.mark.parametrize("fmt", list(MINIFLOATS))
def test_c_decodes_every_bit_pattern_as_the_reference(cache_dir, fmt):
    """``edgec_mf_decode`` (CAST minifloat -> float64 and -> float32) on all 2^bits codes."""
    x = np.arange(2 ** MINIFLOATS[fmt].bits, dtype=MINIFLOATS[fmt].storage).view(fmt)
    for dst in ("float64", "float32"):
        graph = _cast_graph(fmt, dst, x.size, True)
        (kernel,) = lower_graph(graph, BuildOptions(cache_dir=cache_dir))
        _same(run_kernel(kernel, graph, {"x": x})["y"], interpret(graph, {"x": x})["y"])


@needs_gcc
@pytest.mark.parametrize("saturate", [True, False])
@pytest.mark.parametrize("src", ["float64", "float32"])
@pytest.mark.parametrize("fmt", list(MINIFLOATS))
def test_c_encodes_as_the_reference(cache_dir, fmt, src, saturate):
    """``edgec_mf_encode``: ties to even, subnormals, overflow (saturating or to Inf/NaN),
    NaN, -0 (FNUZ has none), on edge values plus every midpoint between neighbouring codes
    and the doubles next to it."""
    codes = np.arange(2 ** MINIFLOATS[fmt].bits, dtype=MINIFLOATS[fmt].storage).view(fmt)
    with np.errstate(invalid="ignore"):  # the NaN codes
        wide = codes.astype(np.float64)
    values = np.sort(np.unique(wide[np.isfinite(wide)]))
    if values.size > 4000:  # 16-bit formats: the subnormal and top ends, a sample between
        pick = np.random.default_rng(9).choice(values.size - 2000, 2000, replace=False)
        values = np.unique(np.concatenate([values[:1000], values[-1000:],
                                           values[1000:][pick]]))
    mids = (values[:-1] + values[1:]) / 2
    x = np.concatenate([_edge_values("float64"), mids, np.nextafter(mids, np.inf),
                        np.nextafter(mids, -np.inf), values])
    if src == "float32":
        x = x[(np.abs(x) <= float(np.finfo(np.float32).max)) | ~np.isfinite(x)]
    x = x.astype(src)
    graph = _cast_graph(src, fmt, x.size, saturate)
    (kernel,) = lower_graph(graph, BuildOptions(cache_dir=cache_dir))
    got = run_kernel(kernel, graph, {"x": x})["y"]
    want = interpret(graph, {"x": x})["y"]
    _same(got, want)
    if fmt == "float4_e2m1fn":  # no NaN: both give ml_dtypes' zero for it
        nan = np.isnan(x.astype(np.float64))
        np.testing.assert_array_equal(bits_of(got)[nan], bits_of(want)[nan])


@needs_gcc
@pytest.mark.parametrize("op", ["MAXIMUM", "MINIMUM"])
@pytest.mark.parametrize("dtype", ["float16", "bfloat16", "float64"])
def test_max_min_other_floats_c_matches_reference(cache_dir, op, dtype):
    rng = np.random.default_rng(3)
    a = np.concatenate([rng.standard_normal(30), [np.nan, np.inf, -np.inf, 0.0, -0.0, 1.0]])
    b = np.concatenate([rng.standard_normal(30), [1.0, np.nan, 5.0, -0.0, 0.0, -np.inf]])
    a, b = a.astype(dtype), b.astype(dtype)
    graph = single_node_graph(op, [Tensor("a", a.shape, dtype), Tensor("b", b.shape, dtype)],
                              [Tensor("y", a.shape, dtype)])
    want = interpret(graph, {"a": a, "b": b})["y"]
    np.testing.assert_array_equal(np.isnan(want.astype(np.float64)),
                                  np.isnan(a.astype(np.float64)) | np.isnan(b.astype(np.float64)))
    (kernel,) = lower_graph(graph, BuildOptions(cache_dir=cache_dir))
    _same(run_kernel(kernel, graph, {"a": a, "b": b})["y"], want)




@needs_gcc
@pytest.mark.parametrize("dtype", OTHER_FLOAT_DTYPES)
def test_fmod_other_floats_c_matches_reference(cache_dir, dtype):
    """FMOD (``fmod`` on doubles; ``fmodf`` between decode and encode for float16 /
    bfloat16) under broadcasting: bit for bit, NaN, Inf, zero divisors and signed zeros."""
    rng = np.random.default_rng(12)
    a = rng.uniform(-50, 50, (2, 3, 7))
    a[0, 0, :5] = [np.nan, np.inf, -0.0, 0.0, -12.5]
    b = rng.uniform(0.25, 9, (1, 3, 1)) * np.array([1, -1, 1]).reshape(1, 3, 1)
    b[0, 2, 0] = 0.0
    a, b = a.astype(dtype), b.astype(dtype)
    graph = single_node_graph("FMOD", [Tensor("a", a.shape, dtype), Tensor("b", b.shape, dtype)],
                              [Tensor("y", a.shape, dtype)])
    want = interpret(graph, {"a": a, "b": b})["y"]
    with np.errstate(invalid="ignore"):
        exact = np.fmod(a.astype(np.float64), b.astype(np.float64))
    _same(want, exact.astype(dtype))  # the remainder is exact in the format
    (kernel,) = lower_graph(graph, BuildOptions(cache_dir=cache_dir))
    assert ("fmod(" in kernel.body) == (dtype == "float64")
    _same(run_kernel(kernel, graph, {"a": a, "b": b})["y"], want)


@needs_gcc
@pytest.mark.parametrize("dtype", OTHER_FLOAT_DTYPES)
def test_pow_other_floats_c_matches_reference(cache_dir, dtype):
    """POW (``pow`` on doubles, rounded once into float16 / bfloat16) under broadcasting:
    float64 within an ulp of numpy's power (C's ``pow`` is not correctly rounded), float16 /
    bfloat16 bit for bit; NaN for a negative base to a non-integer exponent, inf for 0 to a
    negative one, overflow to inf."""
    rng = np.random.default_rng(14)
    a = rng.uniform(0.05, 6, (2, 3, 7))
    a[0, :, :4] = [[-2.0, 0.0, -0.0, 1.0]] * 3
    a[1, 0, 0] = 300.0
    b = rng.uniform(-3, 3, (1, 3, 1))
    b[0, :, 0] = [3.0, -1.5, 2.5]
    a, b = a.astype(dtype), b.astype(dtype)
    graph = single_node_graph("POW", [Tensor("a", a.shape, dtype), Tensor("b", b.shape, dtype)],
                              [Tensor("y", a.shape, dtype)])
    want = interpret(graph, {"a": a, "b": b})["y"]
    wide = want.astype(np.float64)
    assert np.isnan(wide).any() and np.isinf(wide).any()
    (kernel,) = lower_graph(graph, BuildOptions(cache_dir=cache_dir))
    assert "pow(" in kernel.body and "powf(" not in kernel.body
    got = run_kernel(kernel, graph, {"a": a, "b": b})["y"]
    if dtype == "float64":
        np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
        finite = np.isfinite(want)
        np.testing.assert_array_equal(got[~finite & ~np.isnan(want)],
                                      want[~finite & ~np.isnan(want)])
        np.testing.assert_array_max_ulp(got[finite], want[finite], maxulp=1)
    else:
        _same(got, want)


@needs_gcc
@pytest.mark.parametrize("saturate", [True, False])
@pytest.mark.parametrize("round_mode", list(E8M0_ROUND_MODES))
@pytest.mark.parametrize("src", ["float32", "float64", "float16"])
def test_c_e8m0_encodes_as_the_reference(cache_dir, src, round_mode, saturate):
    """``edgec_e8m0_encode`` (CAST to float8 E8M0) in each ONNX round_mode, with and without
    saturate: powers of two and the values around them, the midpoints 1.5 * 2^e (nearest
    rounds them up), float32 subnormals (2^-127 exactly stays), the top exponent (0xFE
    rounding up: NaN or saturated), negatives (the sign is ignored), NaN, Inf, zero."""
    e = np.arange(-149, 128, dtype=np.float64)
    powers = np.exp2(e)
    x = np.concatenate([powers, powers * 1.5, powers * 1.25, powers * 1.75,
                        np.nextafter(powers * 1.5, 0), -powers * 1.5, _edge_values("float64"),
                        np.random.default_rng(13).standard_normal(200) * 1e3])
    if src != "float64":
        x = x[(np.abs(x) <= float(np.finfo(src).max)) | ~np.isfinite(x)]
    x = x.astype(src)
    graph = single_node_graph("CAST", [Tensor("x", x.shape, src)],
                              [Tensor("y", x.shape, "float8_e8m0fnu")],
                              {"saturate": saturate, "round_mode": round_mode})
    want = interpret(graph, {"x": x})["y"]
    (kernel,) = lower_graph(graph, BuildOptions(cache_dir=cache_dir))
    got = run_kernel(kernel, graph, {"x": x})["y"]
    np.testing.assert_array_equal(bits_of(got), bits_of(want))  # NaN is the one 0xFF
