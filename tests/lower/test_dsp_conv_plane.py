"""The one-input-channel CONV_2D DSP kernel (``edgec/lower/dsp/conv_plane.py``, size mode) on
the host with the intrinsic stand-ins, bit-exact against the reference interpreter under
AddressSanitizer and UBSan: KWS's first layer, kernel widths 1 to 4 (odd ones padded with a
zero tap), strides 2 and 4 across, every row split (one pixel, pairs, a triple and pairs, a
loop of triples), paddings, per-tensor weights, every activation. The asm micro-kernels run
on QEMU in the op grid (``tests/cortexm/op_grid.py``: ``CONV_2D/int8 conv-plane<g>``) and in
KWS's ``edgec verify``; the M4 builds at -O0/-O2/-Os and with clang are checked warning-free
in ``test_dsp_kernels.py``.
"""

from __future__ import annotations

import numpy as np
import pytest

from edgec.ir import interpret
from edgec.lower import lower_graph
from edgec.lower.dsp import conv_plane
from edgec.options import BuildOptions
from tests.lower.harness import needs_gcc, run_kernel
from tests.lower.test_dsp_kernels import _window_graph

TARGET = "mps2_an386"
ACTIVATIONS = ["NONE", "RELU", "RELU6", "RELU_N1_TO_1"]
CORNERS = ["", "tiny", "huge", "extreme"]  # "huge": per-tensor weight scales
# (H, W, 1, O, KH, KW, strides, dilations, pads), as test_dsp_kernels.CONV_GEOMETRIES
PLANE_GEOMETRIES = [
    (49, 10, 1, 64, 10, 4, (2, 2), (1, 1), (4, 1, 5, 1)),  # KWS's first layer: rows 3 + 2
    (12, 9, 1, 6, 3, 3, (1, 2), (1, 1), (1, 1, 1, 1)),  # kw 3 padded to 4
    (9, 8, 1, 4, 3, 2, (2, 2), (1, 1), (0, 0, 1, 0)),  # one pair of taps a kernel row
    (7, 13, 1, 2, 2, 1, (1, 4), (1, 1), (0, 0, 0, 0)),  # kw 1 at stride 4
    (6, 4, 1, 4, 5, 4, (1, 2), (1, 1), (0, 0, 0, 0)),  # one output column
    (8, 10, 1, 8, 2, 4, (2, 2), (1, 1), (0, 0, 0, 0)),  # rows of 4: two pairs
    (5, 14, 1, 6, 3, 4, (1, 2), (1, 1), (0, 1, 0, 1)),  # rows of 7: a triple, two pairs
    (10, 18, 1, 6, 4, 4, (2, 2), (1, 1), (1, 1, 2, 1)),  # rows of 9: a loop of triples
]
# Shapes the plane kernel declines (two channels, an odd cout, an odd stride across, kw 5,
# dilation): the other size-mode kernels take them, still bit-exact.
DECLINED = [
    (9, 8, 2, 4, 3, 2, (2, 2), (1, 1), (1, 1, 1, 0)),
    (9, 8, 1, 5, 3, 2, (2, 2), (1, 1), (1, 1, 1, 0)),
    (9, 8, 1, 4, 3, 2, (1, 1), (1, 1), (1, 1, 1, 0)),
    (9, 12, 1, 4, 3, 5, (2, 2), (1, 1), (1, 2, 1, 2)),
    (9, 12, 1, 4, 3, 3, (2, 2), (2, 2), (1, 1, 1, 1)),
]


def _is_plane(kernel) -> bool:
    return "int16 values (x - zp, zero padding)" in kernel.body


def _check(graph, kernel, rng) -> None:
    for _ in range(2):
        x = rng.integers(-128, 128, graph.tensors["x"].shape).astype(np.int8)
        expected = interpret(graph, {"x": x})["y"]
        actual = run_kernel(kernel, graph, {"x": x}, sanitize=True)["y"]
        np.testing.assert_array_equal(actual, expected)


def plane_graph(rng, geometry: int, corner: str = ""):
    """A one-node int8 CONV_2D graph of PLANE_GEOMETRIES[geometry] (random scales, zero
    points, bias), for the op grid too."""
    return _window_graph(rng, PLANE_GEOMETRIES[geometry], False, corner,
                         ACTIVATIONS[geometry % 4])


@needs_gcc
@pytest.mark.parametrize("corner", CORNERS)
@pytest.mark.parametrize("geometry", range(len(PLANE_GEOMETRIES)))
def test_plane_conv_matches_reference(cache_dir, geometry, corner):
    rng = np.random.default_rng([geometry, len(corner), 21])
    graph = plane_graph(rng, geometry, corner)
    (kernel,) = lower_graph(graph, BuildOptions(target=TARGET, cache_dir=cache_dir,
                                                optimize="size"))
    assert _is_plane(kernel)
    assert kernel.access == ""  # channel pairs outermost: not raster order
    _check(graph, kernel, rng)


@needs_gcc
@pytest.mark.parametrize("geometry", range(len(DECLINED)))
def test_other_shapes_keep_the_other_kernels(cache_dir, geometry):
    rng = np.random.default_rng([geometry, 22])
    graph = _window_graph(rng, DECLINED[geometry], False, "", ACTIVATIONS[geometry % 4])
    (kernel,) = lower_graph(graph, BuildOptions(target=TARGET, cache_dir=cache_dir,
                                                optimize="size"))
    assert not _is_plane(kernel) and "dsp" in kernel.helpers
    _check(graph, kernel, rng)


@pytest.mark.parametrize("optimize", ["speed", "ram"])
def test_size_mode_only(cache_dir, optimize):
    """Speed mode keeps its int16-weight kernel, ram mode its smaller scratch."""
    graph = plane_graph(np.random.default_rng(3), 0)
    (kernel,) = lower_graph(graph, BuildOptions(target=TARGET, cache_dir=cache_dir,
                                                optimize=optimize))
    assert not _is_plane(kernel)


def test_row_blocks_and_schedule():
    assert conv_plane.row_blocks(1) == [1]
    assert conv_plane.row_blocks(4) == [2, 2]
    assert conv_plane.row_blocks(5) == [3, 2]
    assert conv_plane.row_blocks(7) == [3, 2, 2]
    assert conv_plane.row_blocks(9) == [3, 3, 3]
    # stride 2, two tap pairs: pixel p's second word is pixel p + 1's first, loaded once
    assert conv_plane.schedule(3, 4, 2) == [(0, [(0, 0)]), (2, [(0, 1), (1, 0)]),
                                            (4, [(1, 1), (2, 0)]), (6, [(2, 1)])]


def test_weight_words_widen_to_pairs():
    """SXTB16 of a word gives its first pair, SXTB16 ROR #8 the second (as the kernel
    widens them), in the order channel o's pairs, then channel o + 1's, row by row."""
    rng = np.random.default_rng(4)
    w = rng.integers(-128, 128, (4, 3, 3)).astype(np.int8)
    words = conv_plane.weights(w, 4).view(np.uint32)
    b = words.view(np.uint8).reshape(-1, 4).view(np.int8).astype(np.int64)
    pairs = np.stack([b[:, [0, 2]], b[:, [1, 3]]], axis=1).reshape(2, 3, 2, 2, 2)
    taps = np.zeros((4, 3, 4), np.int64)
    taps[..., :3] = w
    # [channel pair, row, channel, pair j, tap in pair]
    np.testing.assert_array_equal(pairs, taps.reshape(2, 2, 3, 2, 2).transpose(0, 2, 1, 3, 4))
