"""The DSP kernels' compile-time pieces: the one-multiply requantization and weight layouts."""

from __future__ import annotations

import numpy as np
import pytest

from edgec.ir.quant import multiply_by_quantized_multiplier, quantize_multipliers
from edgec.lower.dsp import layout
from edgec.lower.dsp.requant import FAST_MAX_RIGHT, requant_table

INT32_MIN, INT32_MAX = -(1 << 31), (1 << 31) - 1


def _fast_form(acc: np.ndarray, row: np.ndarray) -> np.ndarray:
    """What ``edgec_scale_fast`` computes before saturation, in Python integers."""
    m, shift_minus_one, low, high = (int(v) for v in row)
    rounding = (high << 32) | (low & 0xFFFFFFFF)
    out = []
    for a in acc.tolist():
        n = a * m + rounding - ((1 << 31) if a < 0 else 0)
        assert -(1 << 63) <= n < (1 << 63)
        out.append((n >> 32) >> shift_minus_one)
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
