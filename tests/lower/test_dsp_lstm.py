"""The DSP integer LSTM (``edgec/lower/dsp/lstm.py``, ``dsp/lstm.c.j2``) on the host with the
intrinsics' plain-C stand-ins against the reference interpreter, int8 and 16x8 bit-exact:
odd feature and hidden sizes (padded reductions, hidden not a multiple of four), batches,
time-major, clipping, zero points; the cases it declines; the ARM build (-O2, -Os, -O0)."""

import shutil
import subprocess

import numpy as np
import pytest

from edgec.frontends.tflite import load_tflite
from tests.lower.test_dsp_kernels import (ARM_FLAGS, ARM_SYSROOT, DSP_TARGET, _emit, _is_dsp,
                                          check_dsp_on_host)
from tests.lower.harness import needs_gcc
from tests.ops.test_lstm import BUILT, BUILT_16X8, build_lstm

pytestmark = needs_gcc

# hidden 5, 3, 7, 13, 16, 1; features 4, 3, 9, 17, 8, 1: reductions not a multiple of 4 or 8
SHAPES = [dict(features=3, hidden=3), dict(features=9, hidden=7, batch=2, h_zp=17),
          dict(features=17, hidden=13, time_major=True, batch=3, steps=4),
          dict(features=8, hidden=16, steps=6, h_zp=0), dict(features=1, hidden=1, steps=3),
          dict(features=12, hidden=20, cell_clip=0.5, cell_scale=2.0 ** -13)]
INT8_CASES = BUILT + SHAPES
INT16_CASES = BUILT_16X8[:4] + [{k: v for k, v in s.items() if k != "h_zp"} | dict(
    x_scale=3e-4, h_scale=1 / 32768) for s in SHAPES]


@pytest.mark.parametrize("optimize", ["speed", "size"])
@pytest.mark.parametrize("case", range(len(INT8_CASES)))
def test_int8_lstm_dsp_matches_reference(tmp_path, cache_dir, case, optimize):
    graph = load_tflite(build_lstm(np.random.default_rng([case, 8]), **INT8_CASES[case]))
    check_dsp_on_host(graph, tmp_path, cache_dir, case, optimize)


@pytest.mark.parametrize("optimize", ["speed", "size"])
@pytest.mark.parametrize("case", range(len(INT16_CASES)))
def test_16x8_lstm_dsp_matches_reference(tmp_path, cache_dir, case, optimize):
    graph = load_tflite(build_lstm(np.random.default_rng([case, 16]), dtype="int16",
                                   **INT16_CASES[case]))
    check_dsp_on_host(graph, tmp_path, cache_dir, case, optimize)


def test_wide_16x8_sums_keep_the_portable_kernel(tmp_path, cache_dir):
    """16x8 sums that could leave int32 (1100 features): TFLM's int64 sums, portable."""
    graph = load_tflite(build_lstm(np.random.default_rng(3), dtype="int16", **BUILT_16X8[4]))
    result = _emit(graph, DSP_TARGET, tmp_path, cache_dir, "speed")
    assert not any(_is_dsp(k) for k in result.kernels)


@pytest.mark.parametrize("optimize", ["speed", "size"])
@pytest.mark.parametrize("dtype", ["int8", "int16"])
@pytest.mark.parametrize("level", ["-O2", "-Os", "-O0"])
def test_lstm_dsp_compiles_for_cortex_m4(tmp_path, cache_dir, dtype, level, optimize):
    """The real intrinsics and asm: -Wall -Wextra -Werror clean with arm-none-eabi-gcc (and
    clang where installed) at every level the asm helpers distinguish."""
    gcc = shutil.which("arm-none-eabi-gcc")
    if gcc is None:
        pytest.skip("arm-none-eabi-gcc not installed")
    graph = load_tflite(build_lstm(np.random.default_rng(1), dtype=dtype, features=9,
                                   hidden=7, batch=2))
    result = _emit(graph, DSP_TARGET, tmp_path, cache_dir, optimize)
    assert all(_is_dsp(k) for k in result.kernels)
    compilers = [[gcc]]
    if shutil.which("clang") and (ARM_SYSROOT / "include").is_dir():
        compilers.append(["clang", "--target=arm-none-eabi", "-isystem",
                          str(ARM_SYSROOT / "include")])
    for cc in compilers:
        done = subprocess.run([*cc, *ARM_FLAGS, level, "-I", str(tmp_path),
                               str(tmp_path / "m.c"), "-o", str(tmp_path / "m.o")],
                              capture_output=True, text=True)
        assert done.returncode == 0 and done.stderr == "", done.stderr


@pytest.mark.parametrize("case", [4, 7])  # hidden 3 and 16 (the rows-of-one-gate loop)
@pytest.mark.parametrize("dtype", ["int8", "int16"])
def test_generic_requantization_forms(tmp_path, cache_dir, monkeypatch, dtype, case):
    """Where no edgec_lstm_mbqm row applies (sums too wide for the SMMLAR form), the gates
    and the cell update keep the portable requantizations: still bit-exact."""
    from edgec.lower.dsp import lstm as dsp_lstm

    monkeypatch.setattr(dsp_lstm, "_gate_rows", lambda *args: None)
    monkeypatch.setattr(dsp_lstm, "_cell_rows", lambda *args: None)
    shape = INT8_CASES[case] if dtype == "int8" else INT16_CASES[case]
    graph = load_tflite(build_lstm(np.random.default_rng(11), dtype=dtype, **shape))
    check_dsp_on_host(graph, tmp_path, cache_dir / "generic", 11, "speed")
    text = (tmp_path / "m.c").read_text()
    assert "_gq" not in text and "edgec_mbqm_left(forget" in text


def _smmlar(a, b, k):
    return k + ((a * b + (1 << 31)) >> 32)


def test_mbqm_rows_equal_tflite_requantization():
    """edgec_lstm_mbqm's rows (Python model of the C) against TFLite's int32 and 16x8 int64
    requantizations, at the bounds the rule accepts and across left and right shifts."""
    from edgec.ir.int16 import multiply_by_quantized_multiplier_int64, reduced_multiplier
    from edgec.ir.quant import multiply_by_quantized_multiplier
    from edgec.lower.dsp.lstm import _mbqm64_row, _mbqm_row

    rng = np.random.default_rng(0)
    checked = 0
    for _ in range(300):
        mult = int(rng.integers(1 << 30, 1 << 31))
        shift = int(rng.integers(-20, 5))
        bound = int(rng.integers(1, 1 << 29)) >> max(shift, 0)
        accs = np.array([0, 1, -1, bound, -bound, *rng.integers(-bound, bound + 1, 40)],
                        np.int64)
        row = _mbqm_row(mult, shift, bound)
        if row is not None:
            m, f, k, d, r = row
            got = [(_smmlar(int(a) * f, m, k) + ((int(a) * f >> 31) & d)) >> r for a in accs]
            assert got == multiply_by_quantized_multiplier(accs, mult, shift).tolist()
            checked += 1
        reduced, total = (int(v[0]) for v in reduced_multiplier([mult], [shift]))
        row = _mbqm64_row(reduced, total, bound)
        if row is not None:
            m, f, _, _, _ = row
            got = [_smmlar(int(a) * f, m, 0) for a in accs]
            assert got == multiply_by_quantized_multiplier_int64(accs, mult, shift).tolist()
            checked += 1
    assert checked > 300
