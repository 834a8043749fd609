"""The DSP kernels' compile-time pieces: the one-multiply requantization and weight layouts."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from edgec.ir.quant import multiply_by_quantized_multiplier, quantize_multipliers
from edgec.lower.dsp import layout
from edgec.lower.dsp.requant import FAST_MAX_RIGHT, MMLA_MAX_SUM, mmla_row, requant_table

INT32_MIN, INT32_MAX = -(1 << 31), (1 << 31) - 1


def _fast_form(acc: np.ndarray, row: np.ndarray) -> np.ndarray:
    """What ``edgec_scale_fast`` computes before saturation, in Python integers."""
    m, shift_minus_one, low, high = (int(v) for v in row)
    rounding = (high << 32) | (low & 0xFFFFFFFF)
    out = []
    for a in acc.tolist():
        n = a * m + rounding
        assert -(1 << 63) <= n < (1 << 63)
        # The C: the high word, less one when acc < 0 and the low word's bit 31 is clear.
        borrow = 1 if a < 0 and not (n >> 31) & 1 else 0
        out.append(((n >> 32) - borrow) >> shift_minus_one)
    return np.array(out, np.int64)


def _accumulators(rng, m: int, right: int) -> np.ndarray:
    """Random int32 values plus the rounding boundaries of both roundings."""
    edges = np.arange(-4, 5, dtype=np.int64) * (1 << (30 + right)) // max(m, 1)
    values = np.concatenate([rng.integers(INT32_MIN, INT32_MAX, 300), np.arange(-6, 7),
                             [INT32_MIN, INT32_MAX], edges + 1, edges, edges - 1])
    return values[(values >= INT32_MIN) & (values <= INT32_MAX)].astype(np.int64)


@pytest.mark.parametrize("seed", range(6))
def test_fast_form_equals_double_rounding(seed):
    rng = np.random.default_rng(seed)
    for _ in range(40):
        right = int(rng.integers(1, FAST_MAX_RIGHT + 1))
        m = int(rng.choice([1 << 30, INT32_MAX, int(rng.integers(1 << 30, 1 << 31))]))
        zp = int(rng.integers(-128, 128))
        table, fast = requant_table([m], [-right], zp)
        assert fast
        acc = _accumulators(rng, m, right)
        expected = multiply_by_quantized_multiplier(acc, m, -right) + zp
        np.testing.assert_array_equal(_fast_form(acc, table[0]), expected)


@pytest.mark.parametrize("shift", [0, 1, 5, -(FAST_MAX_RIGHT + 1)])
def test_other_shifts_take_the_exact_form(shift):
    table, fast = requant_table([1 << 30, 3 << 29], [-3, shift], 0)
    assert not fast
    np.testing.assert_array_equal(table[:, 1], [-3, shift])


def test_real_multipliers_round_trip_through_the_table():
    mult, shift = quantize_multipliers([0.0123, 0.3, 0.49])
    table, fast = requant_table(mult, shift, -7)
    assert fast
    np.testing.assert_array_equal(table[:, 0], mult)
    np.testing.assert_array_equal(table[:, 1], -shift - 1)


def _lanes(words: np.ndarray) -> np.ndarray:
    """int32 words back to their int16 halves, low half first."""
    return np.ascontiguousarray(words, "<i4").view("<i2").astype(np.int64)


def test_blocked_layout_interleaves_channels_in_sxtab16_lane_order():
    rows = np.arange(-30, 30).reshape(6, 10)  # 6 channels, K = 10 (padded to 12)
    halves = _lanes(layout.blocked(rows, 4))
    first_group = halves[:16].reshape(4, 4)  # channels 0..3, values 0..3
    np.testing.assert_array_equal(first_group, rows[:4, [0, 2, 1, 3]])
    tail = halves[4 * 12:].reshape(2, 3, 4)  # channels 4, 5 one after another
    np.testing.assert_array_equal(tail[:, 2, :], [[r[8], 0, r[9], 0] for r in rows[4:]])


def test_depthwise_layout_groups_channels_tap_by_tap():
    w = np.arange(-50, 40).reshape(1, 3, 5, 6)[..., :6]  # 15 taps, 6 channels
    words = layout.depthwise(w)
    taps = w.reshape(15, 6)
    head = _lanes(words[:2 * 15]).reshape(15, 4)  # group 0: channels 0..3, tap by tap
    np.testing.assert_array_equal(head, taps[:, [0, 2, 1, 3]])
    np.testing.assert_array_equal(words[2 * 15:], taps[:, 4:].T.reshape(-1))


# The C helper itself (the host branch of _intrinsics.h.j2, whose arithmetic the Cortex-M4
# branch shares; only SSAT and BFI differ and the QEMU op grid and model runs check those):
# reads rq rows and accumulators from stdin, writes edgec_scale_fast of each.
_SCALE_MAIN = r"""
#include <stdint.h>
#include <stdio.h>
#include <string.h>
%s
int main(void)
{
    int32_t head[5];
    static int32_t acc[1 << 22], out[1 << 22];
    while (fread(head, sizeof head, 1, stdin) == 1) {
        const int32_t n = head[4];
        edgec_out_range o;
        int32_t i;
        memset(&o, 0, sizeof o);
        if (n > (1 << 22) || fread(acc, sizeof acc[0], (size_t)n, stdin) != (size_t)n) {
            return 1;
        }
        for (i = 0; i < n; ++i) {
#if defined(MMLA) && defined(NONNEG)
            out[i] = edgec_scale_mmla_nonneg(2 * acc[i], head[0], head[1], head[2]);
#elif defined(MMLA)
            out[i] = edgec_scale_mmla(2 * acc[i], head[0], head[1], head[2]);
#elif defined(NONNEG)
            out[i] = edgec_scale_fast_nonneg(acc[i], head, &o);
#else
            out[i] = edgec_scale_fast(acc[i], head, &o);
#endif
        }
        fwrite(out, sizeof out[0], (size_t)n, stdout);
    }
    return 0;
}
"""


def _compile_scale_main(folder, *defines) -> Path:
    from edgec.lower.templates import helper_source
    from tests.lower.harness import WARNINGS
    if shutil.which("gcc") is None:
        pytest.skip("gcc not installed")
    (folder / "main.c").write_text(_SCALE_MAIN % helper_source(["dsp"]))
    subprocess.run(["gcc", *WARNINGS, "-O2", *defines, "-o", str(folder / "main"),
                    str(folder / "main.c")], check=True)
    return folder / "main"


@pytest.fixture(scope="module")
def scale_fast_exe(tmp_path_factory):
    return _compile_scale_main(tmp_path_factory.mktemp("scale_fast"))


@pytest.fixture(scope="module")
def scale_nonneg_exe(tmp_path_factory):
    return _compile_scale_main(tmp_path_factory.mktemp("scale_nonneg"), "-DNONNEG")


@pytest.fixture(scope="module")
def scale_mmla_nonneg_exe(tmp_path_factory):
    return _compile_scale_main(tmp_path_factory.mktemp("scale_mmla_nonneg"), "-DMMLA",
                               "-DNONNEG")


@pytest.fixture(scope="module")
def scale_mmla_exe(tmp_path_factory):
    return _compile_scale_main(tmp_path_factory.mktemp("scale_mmla"), "-DMMLA")


def _run_scale_fast(exe, cases) -> list[np.ndarray]:
    """``edgec_scale_fast`` of every (rq row, accumulators) case, run in one process."""
    data = b"".join(np.concatenate([row, [acc.size]]).astype("<i4").tobytes()
                    + acc.astype("<i4").tobytes() for row, acc in cases)
    raw = subprocess.run([str(exe)], input=data, capture_output=True, check=True).stdout
    out, pos = [], 0
    for _, acc in cases:
        out.append(np.frombuffer(raw, "<i4", acc.size, pos).astype(np.int64))
        pos += 4 * acc.size
    return out


def _reference(acc, m, right, zp):
    return np.clip(multiply_by_quantized_multiplier(acc, m, -right) + zp, -128, 127)


@pytest.mark.parametrize("seed", range(4))
def test_scale_fast_c_helper_equals_reference_on_random_and_edge_accumulators(scale_fast_exe,
                                                                               seed):
    rng = np.random.default_rng(100 + seed)
    cases, expected = [], []
    for _ in range(60):
        right = int(rng.integers(1, FAST_MAX_RIGHT + 1))
        m = int(rng.choice([1 << 30, INT32_MAX, int(rng.integers(1 << 30, 1 << 31))]))
        zp = int(rng.integers(-128, 128))
        table, fast = requant_table([m], [-right], zp)
        assert fast
        acc = np.concatenate([_accumulators(rng, m, right),
                              rng.integers(-(1 << (right + 9)), 1 << (right + 9), 20000)])
        cases.append((table[0], acc))
        expected.append(_reference(acc, m, right, zp))
    for got, want in zip(_run_scale_fast(scale_fast_exe, cases), expected):
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("right", [1, 2, 7, 10])
def test_scale_fast_c_helper_is_exact_for_every_accumulator_in_the_unsaturated_band(
        scale_fast_exe, right):
    """Every int32 accumulator whose result is not saturated (plus a margin on both sides),
    for multipliers at both ends of their range: exhaustive where rounding can differ."""
    cases, expected = [], []
    for m, zp in [(1 << 30, -128), (INT32_MAX, 127), (0x5A827999, 0), (0x40000001, -3)]:
        reach = (300 << (31 + right)) // m  # |acc| beyond which the output saturates
        acc = np.arange(-reach, reach + 1, dtype=np.int64)
        acc = acc[(acc >= INT32_MIN) & (acc <= INT32_MAX)]
        table, _ = requant_table([m], [-right], zp)
        cases.append((table[0], acc))
        expected.append(_reference(acc, m, right, zp))
    for got, want in zip(_run_scale_fast(scale_fast_exe, cases), expected):
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("nonneg", [False, True])
@pytest.mark.parametrize("seed", range(3))
def test_scale_mmla_equals_reference_for_doubled_sums(scale_mmla_exe, scale_mmla_nonneg_exe,
                                                      seed, nonneg):
    """The ADD kernel's SMMLAR form: every accumulator of the unsaturated band (exhaustive
    for small shifts), plus random ones over all of |acc| < 2**30 and the band's edges;
    ``nonneg`` without the sign correction, equal after a clamp at the zero point."""
    rng = np.random.default_rng(200 + seed)
    cases, expected = [], []
    for _ in range(30):
        right = int(rng.integers(1, FAST_MAX_RIGHT + 1))
        m = int(rng.choice([1 << 30, INT32_MAX, int(rng.integers(1 << 30, 1 << 31))]))
        zp = int(rng.integers(-128, 128))
        reach = min((300 << (31 + right)) // m, 1 << 16)
        acc = np.concatenate([np.arange(-reach, reach + 1), _accumulators(rng, m, right),
                              rng.integers(-MMLA_MAX_SUM + 1, MMLA_MAX_SUM, 5000),
                              [-MMLA_MAX_SUM + 1, MMLA_MAX_SUM - 1]]).astype(np.int64)
        acc = acc[np.abs(acc) < MMLA_MAX_SUM]
        cases.append((mmla_row(m, -right, zp), acc))
        expected.append(_reference(acc, m, right, zp))
    exe = scale_mmla_nonneg_exe if nonneg else scale_mmla_exe
    for got, want, (row, _) in zip(_run_scale_fast(exe, cases), expected, cases):
        if nonneg:  # equal once clamped to a floor at the zero point (row[1] >> row[2])
            floor = int(row[1]) >> int(row[2])
            got, want = np.maximum(got, floor), np.maximum(want, floor)
        np.testing.assert_array_equal(got, want)


def test_mmla_row_needs_the_fast_form():
    assert mmla_row(1 << 30, 0, 0) is None and mmla_row(1 << 29, -3, 0) is None
    np.testing.assert_array_equal(mmla_row(3 << 29, -4, -5), [3 << 29, 8 - 5 * 16, 4, 0])


@pytest.mark.parametrize("seed", range(3))
def test_scale_fast_nonneg_equals_reference_above_a_floor_at_the_zero_point(scale_nonneg_exe,
                                                                            seed):
    """Without the sign correction the results differ from the reference only where both are
    at most the zero point: equal once clamped to a floor at (or above) it."""
    rng = np.random.default_rng(300 + seed)
    cases, expected, floors = [], [], []
    for _ in range(40):
        right = int(rng.integers(1, FAST_MAX_RIGHT + 1))
        m = int(rng.choice([1 << 30, INT32_MAX, int(rng.integers(1 << 30, 1 << 31))]))
        zp = int(rng.integers(-128, 128))
        reach = min((300 << (31 + right)) // m, 1 << 16)
        acc = np.concatenate([np.arange(-reach, reach + 1), _accumulators(rng, m, right),
                              rng.integers(INT32_MIN, INT32_MAX, 2000)]).astype(np.int64)
        table, fast = requant_table([m], [-right], zp)
        cases.append((table[0], acc))
        expected.append(_reference(acc, m, right, zp))
        floors.append(zp)
    outs = _run_scale_fast(scale_nonneg_exe, cases)
    for got, want, floor, (_, acc) in zip(outs, expected, floors, cases):
        np.testing.assert_array_equal(np.maximum(got, floor), np.maximum(want, floor))
        assert np.all(got[acc >= 0] == want[acc >= 0])
