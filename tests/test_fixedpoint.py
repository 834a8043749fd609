"""gemmlowp fixed-point arithmetic (edgec.ir.fixedpoint): corner values derived by hand,
exact symmetries, and accuracy against float math. Bit-exactness against TFLite Micro is
checked end to end by the SOFTMAX, LOGISTIC and TANH op tests, which sweep every int8 input."""

import numpy as np
import pytest

from edgec.ir import fixedpoint as fp
from edgec.ir.quant import INT32_MAX, INT32_MIN


def test_rounding_half_sum_rounds_halves_away_from_zero_without_overflow():
    a = np.array([1, -1, 3, -3, INT32_MAX, INT32_MIN, INT32_MAX])
    b = np.array([2, -2, 3, -3, INT32_MAX, INT32_MIN, INT32_MIN])
    assert fp.rounding_half_sum(a, b).tolist() == [2, -2, 3, -3, INT32_MAX, INT32_MIN, -1]


def test_saturating_multiply_by_pot_saturates_left_and_rounds_right():
    x = np.array([1 << 29, (1 << 30) - 1, 1 << 30, -(1 << 30), -(1 << 30) - 1,
                  INT32_MAX, INT32_MIN])
    assert fp.saturating_rounding_multiply_by_pot(x, 1).tolist() == [
        1 << 30, (1 << 31) - 2, INT32_MAX, INT32_MIN, INT32_MIN, INT32_MAX, INT32_MIN]
    assert fp.saturating_rounding_multiply_by_pot(np.array([5, -5, 6, -6]), -2).tolist() == \
        [1, -1, 2, -2]  # 1.25 -> 1, 1.5 -> 2 (halves away from zero)
    assert fp.rescale(np.array([1 << 20]), 4, 4).tolist() == [1 << 20]


def test_fixed_point_product_saturates_only_for_min_times_min():
    assert fp.fp_mul(INT32_MIN, INT32_MIN) == INT32_MAX
    assert fp.fp_mul(INT32_MIN, INT32_MAX) == -INT32_MAX
    assert fp.fp_mul(1 << 30, 1 << 30) == 1 << 29  # 0.5 * 0.5 in Q0.31


@pytest.mark.parametrize("integer_bits", [0, 1, 4, 5, 6, 12])
def test_exp_of_zero_is_one_and_of_min_is_tiny(integer_bits):
    out = fp.exp_on_negative_values(np.array([0, INT32_MIN]), integer_bits)
    assert out[0] == INT32_MAX
    # exp(-2**integer_bits) in Q0.31, within the function's error.
    assert abs(out[1] - np.exp(-2.0 ** integer_bits) * 2 ** 31) <= 512


def test_exp_below_minus_32_is_clamped_to_zero_with_more_than_5_integer_bits():
    """The barrel shifter handles the bits for 1/4 .. 16; the bit for 32 is left to the clamp.
    -32.5 would otherwise come out as exp(-0.5)."""
    half, minus_32 = 1 << 24, -(1 << 30)  # 0.5 and -32 with 6 integer bits (25 fractional)
    out = fp.exp_on_negative_values(np.array([-half, minus_32 - half]), 6)
    assert abs(out[0] - np.exp(-0.5) * 2 ** 31) < 600
    assert out[1] == 0


@pytest.mark.parametrize("integer_bits", [0, 3, 5, 8])
def test_exp_accuracy(integer_bits):
    a = -np.random.default_rng(integer_bits).integers(0, 1 << 31, 20000)
    exact = np.exp(a / 2.0 ** (31 - integer_bits)) * 2 ** 31
    assert np.max(np.abs(fp.exp_on_negative_values(a, integer_bits) - exact)) < 600


def test_newton_raphson_divisions_accuracy():
    x = np.random.default_rng(1).integers(0, 1 << 31, 20000)
    real = x / 2 ** 31
    assert np.max(np.abs(fp.one_over_one_plus_x_for_x_in_0_1(x) - 2 ** 31 / (1 + real))) < 8
    assert np.max(np.abs(fp.one_minus_x_over_one_plus_x_for_x_in_0_1(x)
                         - 2 ** 31 * (1 - real) / (1 + real))) < 16


def test_logistic_and_tanh_corners_and_symmetries():
    assert fp.logistic(np.array([0]), 4)[0] == 1 << 30
    assert fp.tanh(np.array([0]), 4)[0] == 0
    assert fp.tanh(np.array([INT32_MIN, INT32_MAX]), 4).tolist() == [-INT32_MAX, INT32_MAX]
    a = np.random.default_rng(2).integers(1, 1 << 31, 5000)
    assert np.array_equal(fp.logistic(a, 4) + fp.logistic(-a, 4), np.full(a.shape, INT32_MAX))
    assert np.array_equal(fp.tanh(-a, 4), -fp.tanh(a, 4))


def test_logistic_and_tanh_accuracy():
    a = np.random.default_rng(3).integers(INT32_MIN, INT32_MAX, 20000)
    real = a / 2.0 ** 27  # Q4.27
    assert np.max(np.abs(fp.logistic(a, 4) - 2 ** 31 / (1 + np.exp(-real)))) < 200
    assert np.max(np.abs(fp.tanh(a, 4) - 2 ** 31 * np.tanh(real))) < 400


def test_count_leading_zeros_reads_uint32():
    x = np.array([0, 1, 2, (1 << 19), INT32_MAX, -1, INT32_MIN])
    assert fp.count_leading_zeros32(x).tolist() == [32, 31, 30, 12, 1, 0, 0]


def test_get_reciprocal_normalises_into_one_over_one_plus_x():
    # 1.0 and 3.0 with 12 integer bits (Q12.19).
    scale, bits = fp.get_reciprocal(np.array([1 << 19, 3 << 19]), 12)
    assert bits.tolist() == [0, 1]
    assert abs(scale[0] - INT32_MAX) <= 8
    assert abs(scale[1] / 2 ** 31 / 2 ** bits[1] - 1 / 3) < 1e-8


def test_input_radius_and_q4_params():
    # CalculateInputRadius(4, 0): 15 * 2**27, floor of the exact double.
    assert fp.input_radius(4, 0) == 15 << 27
    assert fp.input_radius(5, 31) == 0  # 31 * 2**26 / 2**31 < 1
    # Scale 0.5: 0.5 * 2**27 = frexp 0.5 * 2**27, so multiplier 2**30 and left shift 27. The
    # radius ignores the mantissa: 15 codes (7.5), conservatively inside the Q4 range (16).
    assert fp.q4_input_params(0.5) == (1 << 30, 27, 15)
