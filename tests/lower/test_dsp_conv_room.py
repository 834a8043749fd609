"""The size-mode row conv's room variants (``edgec.room``: bands of output rows, each band's
input rows widened together and each channel pair's weights once per band), the strided 1x1
rows (``xstep``) and the SMMLAR requantization of bounded sums, on the host against the
reference interpreter (the DSP C with the intrinsics' plain-C stand-ins)."""

from __future__ import annotations

import shutil
import subprocess

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


# Whole images with short windows (3 runs of 3 groups: three channels padded to four) whose
# runs all lie within LDRD's offset from the first: EDGEC_DOT3X2_WIDE_WINDOW; a stride.
WINDOW_GEOMETRIES = [
    (7, 14, 3, 6, 3, 3, (1, 1), (1, 1), (1, 1, 1, 1)),
    (9, 15, 4, 5, 3, 3, (1, 1), (1, 1), (0, 0, 0, 0)),
    (9, 19, 3, 4, 3, 3, (2, 2), (1, 1), (1, 1, 1, 1)),
]


@needs_gcc
@pytest.mark.parametrize("geometry", range(len(WINDOW_GEOMETRIES)))
def test_fixed_offset_window_matches_reference(tmp_path, cache_dir, geometry):
    rng = np.random.default_rng([geometry, 11])
    activation = ["RELU", "NONE", "RELU6"][geometry]
    graph = _window_graph(rng, WINDOW_GEOMETRIES[geometry], False, "", activation)
    result = _check(graph, tmp_path, cache_dir, seed=geometry)
    assert "EDGEC_DOT3X2_WIDE_WINDOW(rows[0]" in result.kernels[0].c_source


# Strided 1x1 convs on the row kernel (xstep): channels a multiple of four or padded to it,
# an odd input width (the last pixel read is the last column), a vertical stride alone.
STRIDED_POINTWISE = [
    (8, 8, 16, 6, 1, 1, (2, 2), (1, 1), (0, 0, 0, 0)),
    (7, 9, 8, 5, 1, 1, (2, 2), (1, 1), (0, 0, 0, 0)),
    (9, 11, 3, 4, 1, 1, (3, 2), (1, 1), (0, 0, 0, 0)),
    (6, 13, 12, 4, 1, 1, (1, 3), (1, 1), (0, 0, 0, 0)),
]


@needs_gcc
@pytest.mark.parametrize("geometry", range(len(STRIDED_POINTWISE)))
def test_strided_pointwise_rows_match_reference(tmp_path, cache_dir, geometry):
    rng = np.random.default_rng([geometry, 5])
    activation = ["NONE", "RELU", "RELU6", "NONE"][geometry]
    graph = _window_graph(rng, STRIDED_POINTWISE[geometry], False, "", activation)
    result = _check(graph, tmp_path, cache_dir, seed=geometry)
    assert "dsp_rows" in result.kernels[0].helpers  # the row kernel, not the pair kernel
    cin, sw = STRIDED_POINTWISE[geometry][2], STRIDED_POINTWISE[geometry][6][1]
    if sw > 1:  # each row widens the pixels it reads, sw apart
        assert f"src += {sw * cin}" in result.kernels[0].c_source


def test_left_padded_strided_pointwise_keeps_the_pair_kernel(cache_dir):
    rng = np.random.default_rng(6)
    graph = _window_graph(rng, (6, 6, 8, 4, 1, 1, (2, 2), (1, 1), (0, 1, 0, 1)), False, "",
                          "NONE")
    from edgec.lower import lower_graph
    from edgec.options import BuildOptions

    (kernel,) = lower_graph(graph, BuildOptions(target="mps2_an386", cache_dir=cache_dir,
                                                optimize="size"))
    assert "dsp_rows" not in kernel.helpers


def test_conv_acc_bound_is_the_largest_sum():
    """The bound equals the extreme sum over every int8 input (brute force on a tiny K)."""
    from itertools import product

    from edgec.lower.dsp.requant import conv_acc_bound

    rng = np.random.default_rng(7)
    w = rng.integers(-127, 128, (3, 3))
    bias = np.array([5, -70000, 123], np.int64)
    for zp in (-128, 0, 77, 127):
        xs = np.array(list(product([-128, 127], repeat=3)), np.int64) - zp
        sums = xs @ w.T + bias
        assert conv_acc_bound(w, bias, zp) == int(np.abs(sums).max())


@needs_gcc
@pytest.mark.parametrize("corner", ["", "extreme"])
def test_bounded_sums_take_the_smmlar_requantization(tmp_path, cache_dir, corner):
    """Row kernels whose sums stay below 2^30 requantize by SMMLAR (rq rows {m, K, r, 0});
    a bias next to INT32_MAX keeps the 64-bit form. Both exact."""
    rng = np.random.default_rng([len(corner), 8])
    graph = _window_graph(rng, (6, 13, 16, 6, 3, 3, (1, 1), (1, 1), (1, 1, 1, 1)), False,
                          corner, "RELU")
    result = _check(graph, tmp_path, cache_dir)
    text = (tmp_path / "m.c").read_text()
    assert ("edgec_scale_mmla_row" in result.kernels[0].c_source) == (corner == "")
    assert "EDGEC_DSP_ROWS_OUT" in text


@needs_gcc
@pytest.mark.parametrize("activation", ["NONE", "RELU6"])
def test_add_takes_the_literal_shift(tmp_path, cache_dir, activation):
    """The int8 ADD's SMMLAR form with its right shift as SSAT's literal; clamped only when
    the activation range is narrower than int8."""
    from tests.lower.test_dsp_kernels import _elementwise_graph

    rng = np.random.default_rng(9)
    graph = _elementwise_graph(rng, "ADD", (1, 6, 6, 8), (1, 6, 6, 8), "", activation)
    result = _check(graph, tmp_path, cache_dir)
    source = result.kernels[0].c_source
    assert "EDGEC_SSAT8(t0 >> " in source
    assert ("edgec_store_word" in source) == (activation == "RELU6")


@pytest.mark.skipif(shutil.which("arm-none-eabi-gcc") is None, reason="no Arm toolchain")
@pytest.mark.parametrize("opt", ["-O0", "-O2", "-Os"])
def test_banded_and_strided_rows_build_warning_free_for_the_m4(tmp_path, cache_dir,
                                                               monkeypatch, opt):
    """The banded rows (room2), a window at fixed offsets, a strided 1x1 conv and an int8
    ADD with the literal shift
    compile for the M4 without a warning, at -O0 too (the asm helpers' C forms), and
    under clang (its own register allocation: the C forms of the 14-register kernels)."""
    from edgec.lower.dsp import conv
    from tests.lower.test_dsp_kernels import ARM_FLAGS, ARM_SYSROOT, _elementwise_graph

    monkeypatch.setattr(conv, "WHOLE_BYTES", 0)
    rng = np.random.default_rng(10)
    cases = [(_window_graph(rng, BAND_GEOMETRIES[0], False, "", "RELU"), ("room2",)),
             (_window_graph(rng, WINDOW_GEOMETRIES[0], False, "", "RELU"), ()),
             (_window_graph(rng, STRIDED_POINTWISE[0], False, "", "NONE"), ()),
             (_elementwise_graph(rng, "ADD", (1, 6, 6, 8), (1, 6, 6, 8), "", "NONE"), ())]
    clang = shutil.which("clang") is not None and (ARM_SYSROOT / "include").is_dir()
    for index, (graph, prefer) in enumerate(cases):
        out = tmp_path / str(index)
        out.mkdir()
        _emit(graph, "mps2_an386", out, cache_dir, "size", prefer=prefer)
        commands = [["arm-none-eabi-gcc", *ARM_FLAGS, opt]]
        if clang and opt == "-O2":
            commands.append(["clang", "--target=arm-none-eabi", "-isystem",
                             str(ARM_SYSROOT / "include"), *ARM_FLAGS, opt])
        for command in commands:
            done = subprocess.run([*command, "-I", str(out), str(out / "m.c"), "-o",
                                   str(out / "m.o")], capture_output=True, text=True)
            assert done.returncode == 0, done.stderr
            assert done.stderr == ""


# 1x1 convs for speed mode's room1 (conv_pointwise3.c.j2): pixels a multiple of three, one
# and two left over; per-channel and per-tensor-like activations; 64 channels as KWS.
POINTWISE3_GEOMETRIES = [
    (5, 5, 64, 64, 1, 1, (1, 1), (1, 1), (0, 0, 0, 0)),
    (3, 3, 8, 6, 1, 1, (1, 1), (1, 1), (0, 0, 0, 0)),
    (2, 4, 4, 2, 1, 1, (1, 1), (1, 1), (0, 0, 0, 0)),
    (1, 1, 12, 4, 1, 1, (1, 1), (1, 1), (0, 0, 0, 0)),
]


@needs_gcc
@pytest.mark.parametrize("geometry", range(len(POINTWISE3_GEOMETRIES)))
def test_pointwise3_matches_reference(tmp_path, cache_dir, geometry):
    """Speed mode's room1 variant of a 1x1 conv: three pixels widened at a time, weights
    widened at compile time; a last chunk of one or two pixels (5x5: 25 = 8 * 3 + 1, 2x4:
    8 = 2 * 3 + 2, 1x1: one pixel alone)."""
    rng = np.random.default_rng([geometry, 17])
    activation = ["NONE", "RELU", "RELU6", "NONE"][geometry]
    graph = _window_graph(rng, POINTWISE3_GEOMETRIES[geometry], False, "", activation)
    result = _emit(graph, "mps2_an386", tmp_path, cache_dir, "speed", prefer=("room1",))
    kernel = result.kernels[0]
    assert kernel.form.startswith("dsp/conv_pointwise3.c.j2")
    assert kernel.scratch_bytes == 6 * POINTWISE3_GEOMETRIES[geometry][2]
    samples = random_inputs(graph, 3, geometry)
    for sample, outputs in zip(samples, run_harness(compile_host(result), graph, samples)):
        expected = interpret(graph, dict(zip(graph.inputs, sample)))
        for name, got in zip(graph.outputs, outputs):
            np.testing.assert_array_equal(got, expected[name])
