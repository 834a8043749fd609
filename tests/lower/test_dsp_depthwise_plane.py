"""The plane DEPTHWISE_CONV_2D DSP kernel (``edgec/lower/dsp/depthwise_plane.py``) on the host
with the intrinsic stand-ins, bit-exact against the reference interpreter: random shapes,
scales, zero points, paddings, strides and activations; out of place and in place (the output
given the input's pointer), under AddressSanitizer and UBSan.
"""

from __future__ import annotations

import numpy as np
import pytest

from edgec.ir import Tensor, interpret
from edgec.ir.ops._window import window_output_shape
from edgec.lower import consts, lower_graph, node_lowerer
from edgec.lower.dsp import depthwise_plane
from edgec.lower.rules._te import sum_fits_int32
from edgec.options import BuildOptions
from tests.lower.harness import needs_gcc, run_kernel, single_node_graph
from tests.lower.quantgen import act_q, bias_tensor, weight_tensor

TARGET = "mps2_an386"
ACTIVATIONS = ["NONE", "RELU", "RELU6", "RELU_N1_TO_1"]
CORNERS = ["", "tiny", "huge", "extreme"]
SEEDS = range(24)
# (h, w, c, strides, pads) for the op grid on QEMU (tests/cortexm/op_grid.py) and here: KWS's
# layer (in place, the whole plane), stride 2 with the whole plane, then with the ring of
# three rows: a KWS-like layer, stride 2 SAME and VALID, rows wider than the unrolled limit
# (the C loop over pairs), an odd last pixel at stride 2, one column.
PLANE_GEOMETRIES = [
    (25, 5, 64, (1, 1), (1, 1, 1, 1)),
    (10, 9, 48, (2, 2), (0, 0, 1, 1)),
    (25, 5, 16, (1, 1), (1, 1, 1, 1)),
    (9, 7, 13, (2, 2), (0, 0, 1, 1)),
    (8, 6, 5, (2, 2), (0, 0, 0, 0)),
    (6, 40, 3, (1, 1), (1, 1, 1, 1)),
    (7, 35, 6, (2, 2), (1, 1, 1, 1)),
    (5, 1, 4, (1, 1), (1, 1, 1, 1)),
]


def _random_geometry(rng):
    """(h, w, c, strides, pads): SAME or VALID or asymmetric pads, stride 1 or 2."""
    s = int(rng.integers(1, 3))
    h, w = (int(v) for v in rng.integers(1, 12, 2))
    c = int(rng.integers(1, 20))
    kind = rng.integers(0, 3)
    if kind == 0:  # VALID
        h, w = max(h, 3), max(w, 3)
        pads = (0, 0, 0, 0)
    elif kind == 1:  # TFLite SAME
        oh, ow = -(-h // s), -(-w // s)
        ph, pw = max((oh - 1) * s + 3 - h, 0), max((ow - 1) * s + 3 - w, 0)
        pads = (ph // 2, pw // 2, ph - ph // 2, pw - pw // 2)
    else:  # anything that leaves a window
        pads = tuple(int(v) for v in rng.integers(0, 3, 4))
        h, w = max(h, 3 - pads[0] - pads[2]), max(w, 3 - pads[1] - pads[3])
    return h, w, c, (s, s), pads


def depthwise_graph(rng, geometry, corner: str = "", activation: str = "NONE"):
    """A one-node int8 3x3 DEPTHWISE_CONV_2D graph (random scales and zero points)."""
    h, w, c, strides, pads = geometry
    attrs = dict(strides=strides, dilations=(1, 1), pads=pads, activation=activation,
                 depth_multiplier=1)
    y_shape = window_output_shape((1, h, w, c), (3, 3), strides, (1, 1), pads, c)
    x = Tensor("x", (1, h, w, c), "int8", quant=act_q(rng))
    wt = weight_tensor(rng, "w", (1, 3, 3, c), 3, per_channel=corner != "huge")
    b = bias_tensor(rng, "b", c, corner)
    y = Tensor("y", y_shape, "int8", quant=act_q(rng, corner))
    return single_node_graph("DEPTHWISE_CONV_2D", [x, wt, b], [y], attrs)


def _is_plane(kernel) -> bool:
    return "dsp_plane" in kernel.helpers


def _bias_fits(graph) -> bool:
    """Whether the bias with the input zero point folded in keeps the sums in int32 (else
    the plane kernel declines the node)."""
    w, b = graph.tensors["w"].data.astype(np.int64), graph.tensors["b"].data
    folded = consts.folded_bias(b, w.sum(axis=(0, 1, 2)), graph.tensors["x"].quant.zp)
    return sum_fits_int32(depthwise_plane.TAP_BOUND, folded)


def _check(graph, kernel, rng, in_place: bool) -> None:
    x = rng.integers(-128, 128, graph.tensors["x"].shape).astype(np.int8)
    expected = interpret(graph, {"x": x})["y"]
    actual = run_kernel(kernel, graph, {"x": x}, sanitize=True,
                        in_place="x" if in_place else None)["y"]
    np.testing.assert_array_equal(actual, expected)


@needs_gcc
@pytest.mark.parametrize("seed", SEEDS)
def test_plane_kernel_matches_reference(cache_dir, seed):
    rng = np.random.default_rng([seed, 15])
    geometry = _random_geometry(rng)
    graph = depthwise_graph(rng, geometry, CORNERS[seed % 4], ACTIVATIONS[seed // 4 % 4])
    (kernel,) = lower_graph(graph, BuildOptions(target=TARGET, cache_dir=cache_dir,
                                                optimize="speed"))
    assert _is_plane(kernel) == _bias_fits(graph), geometry
    same = graph.tensors["x"].shape == graph.tensors["y"].shape and geometry[3] == (1, 1)
    assert kernel.in_place == (["x"] if same and _is_plane(kernel) else [])
    _check(graph, kernel, rng, in_place=False)
    if same:
        _check(graph, kernel, rng, in_place=True)


@needs_gcc
@pytest.mark.parametrize("geometry", range(len(PLANE_GEOMETRIES)))
def test_plane_geometries(cache_dir, geometry):
    rng = np.random.default_rng([geometry, 17])
    graph = depthwise_graph(rng, PLANE_GEOMETRIES[geometry], "", ACTIVATIONS[geometry % 4])
    (kernel,) = lower_graph(graph, BuildOptions(target=TARGET, cache_dir=cache_dir,
                                                optimize="speed"))
    assert _is_plane(kernel)
    assert ("ring of the three plane rows" in kernel.body) == (geometry >= 2)
    _check(graph, kernel, rng, in_place=False)
    if kernel.in_place:
        _check(graph, kernel, rng, in_place=True)


@needs_gcc
@pytest.mark.parametrize("optimize", ["speed", "size"])
@pytest.mark.parametrize("seed", range(8))
def test_in_place_variant_on_dsp_targets(cache_dir, seed, optimize):
    """The memory variant the build asks for (``edgec.ram``) is the DSP plane kernel."""
    rng = np.random.default_rng([seed, 16])
    h, w, c = (int(v) for v in rng.integers(1, 30, 3))
    graph = depthwise_graph(rng, (h, w, c, (1, 1), (1, 1, 1, 1)), CORNERS[seed % 4],
                            ACTIVATIONS[seed % 4])
    lower = node_lowerer(graph, BuildOptions(target=TARGET, cache_dir=cache_dir,
                                             optimize=optimize))
    kernel = lower(0, ("in_place",))  # the in-place variant alone
    assert _is_plane(kernel) == _bias_fits(graph)
    assert kernel.in_place == (["x"] if _bias_fits(graph) else [])  # the portable one too
    _check(graph, kernel, rng, in_place=bool(kernel.in_place))


def test_hosts_take_the_portable_in_place_variant(cache_dir):
    """``in_place:dsp`` is tried only on targets with the DSP extension."""
    rng = np.random.default_rng(3)
    graph = depthwise_graph(rng, (6, 5, 8, (1, 1), (1, 1, 1, 1)))
    host = node_lowerer(graph, BuildOptions(target="host", cache_dir=cache_dir))(0, ("in_place",))
    dsp = node_lowerer(graph, BuildOptions(target=TARGET, cache_dir=cache_dir))(0, ("in_place",))
    assert host.in_place == dsp.in_place == ["x"]
    assert not _is_plane(host) and _is_plane(dsp)


@pytest.mark.parametrize("optimize", ["speed", "size", "ram"])
def test_out_of_place_shapes_take_the_plane_kernel_in_speed_mode_only(cache_dir, optimize):
    """In place, the plane kernel is taken in every mode; out of place (stride 2) only in
    speed mode, where the raster kernel is its memory variant (``raster:dsp``, edgec.ram)."""
    rng = np.random.default_rng(5)
    options = BuildOptions(target=TARGET, cache_dir=cache_dir, optimize=optimize)
    same = depthwise_graph(rng, (8, 6, 16, (1, 1), (1, 1, 1, 1)))
    half = depthwise_graph(rng, (8, 6, 16, (2, 2), (0, 0, 1, 1)))
    (kernel,) = lower_graph(same, options)
    assert _is_plane(kernel) and kernel.in_place == ["x"]
    (kernel,) = lower_graph(half, options)
    assert _is_plane(kernel) == (optimize == "speed") and kernel.in_place == []
    assert kernel.access == ("" if optimize == "speed" else "raster")
    for graph in (same, half):  # the memory variant: the raster kernel, if plane is taken
        (kernel,) = lower_graph(graph, options)
        variant = node_lowerer(graph, options)(0, ("raster", "in_place"))
        assert variant.access == "raster" and not _is_plane(variant)
        assert (variant.body != kernel.body) == _is_plane(kernel)
