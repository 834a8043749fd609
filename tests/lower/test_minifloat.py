"""The C of the other float formats (edgec.ir.floats) against the reference: the generic
minifloat decoder on every bit pattern of every format, the encoder on ties, subnormals,
overflow (saturating, to Inf, to NaN), NaN and -0, and MAXIMUM/MINIMUM on float16, bfloat16
and float64 (NaN, Inf, signed zeros)."""

from __future__ import annotations

import numpy as np
import pytest

from edgec.ir import Tensor, interpret
from edgec.ir.floats import MINIFLOATS, bits_of
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


