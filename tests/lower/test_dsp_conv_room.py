"""The size-mode row conv's room variants (``edgec.room``: bands of output rows, each band's
input rows widened together and each channel pair's weights once per band), the strided 1x1
rows (``xstep``) and the SMMLAR requantization of bounded sums, on the host against the
reference interpreter (the DSP C with the intrinsics' plain-C stand-ins)."""

from __future__ import annotations

import numpy as np
import pytest

from edgec.ir import interpret
from edgec.verify import compile_host, random_inputs, run_harness
from tests.lower.harness import needs_gcc
from tests.lower.test_dsp_kernels import _emit, _window_graph


def _check(graph, out, cache_dir, prefer=(), seed=0):
    result = _emit(graph, "mps2_an386", out, cache_dir, "size", prefer=prefer)
    samples = random_inputs(graph, 3, seed)
    for sample, outputs in zip(samples, run_harness(compile_host(result), graph, samples)):
        expected = interpret(graph, dict(zip(graph.inputs, sample)))
        for name, got in zip(graph.outputs, outputs):
            np.testing.assert_array_equal(got, expected[name])
    return result


# (H, W, C, O, KH, KW, strides, dilations, pads): rows of 13 and 8 pixels (wide), strides,
# an odd channel, dilated across.
BAND_GEOMETRIES = [
    (12, 13, 16, 6, 3, 3, (1, 1), (1, 1), (1, 1, 1, 1)),
    (11, 13, 8, 7, 3, 3, (1, 1), (1, 1), (1, 1, 1, 1)),
    (17, 17, 8, 4, 3, 3, (2, 2), (1, 1), (1, 1, 1, 1)),
    (10, 14, 4, 4, 3, 3, (1, 1), (1, 2), (1, 2, 1, 2)),
]


@needs_gcc
@pytest.mark.parametrize("variant", ["room1", "room2", "room3", "room8"])
@pytest.mark.parametrize("geometry", range(len(BAND_GEOMETRIES)))
def test_banded_rows_match_reference(tmp_path, cache_dir, monkeypatch, geometry, variant):
    """Without the room variant the kernel keeps kh rows (WHOLE_BYTES 0 here: the test rows
    are small enough to be widened whole by default); room1 widens the whole image, the
    others bands of ceil(oh / k) rows (the last one shorter where k does not divide oh)."""
    from edgec.lower.dsp import conv

    monkeypatch.setattr(conv, "WHOLE_BYTES", 0)
    rng = np.random.default_rng([geometry, 3])
    activation = ["NONE", "RELU", "RELU6", "NONE"][geometry]
    graph = _window_graph(rng, BAND_GEOMETRIES[geometry], False, "", activation)
    plain = _emit(graph, "mps2_an386", tmp_path, cache_dir, "size").kernels[0]
    result = _check(graph, tmp_path, cache_dir, (variant,), geometry)
    text = (tmp_path / "m.c").read_text()
    assert ("widened once for the image" if variant == "room1"
            else "widened once for the band") in text
    assert result.kernels[0].scratch_bytes > plain.scratch_bytes
