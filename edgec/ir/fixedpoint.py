"""gemmlowp's ``FixedPoint<int32, IntegerBits>`` arithmetic in numpy, bit for bit.

A fixed-point value here is just its raw int32 (held in int64 arrays, as in ``quant.py``);
the number of integer bits is a plain Python int the caller passes along, the way gemmlowp
carries it in the type. A raw value ``r`` with ``k`` integer bits means ``r / 2**(31 - k)``.

gemmlowp's plain ``+``, ``-`` and unary minus wrap on overflow in practice (the C code the
compilers emit); ``wrap32`` reproduces that. Fixed-point multiplication is
``SaturatingRoundingDoublingHighMul`` and the integer bits of the factors add up.

These are the building blocks of TFLite Micro's int8 SOFTMAX, LOGISTIC and TANH.
"""

from __future__ import annotations

import math

import numpy as np

from edgec.ir.quant import (INT32_MAX, INT32_MIN, rounding_divide_by_pot,
                            saturating_rounding_doubling_high_mul, tflite_round, wrap32)

# Q0.31 constants, named after the real numbers they stand for (gemmlowp's raw values).
_EXP_MINUS_ONE_EIGHTH = 1895147668
_ONE_THIRD = 715827883
# exp(-2**e) in Q0.31 for the barrel shifter of exp_on_negative_values, e = -2 .. 4.
_EXP_BARREL = ((-2, 1672461947), (-1, 1302514674), (0, 790015084), (1, 290630308),
               (2, 39332535), (3, 720401), (4, 242))
# Newton-Raphson starting point for 1/(1+x) in Q2.29: 48/17 and -32/17.
_48_OVER_17 = 1515870810
_NEG_32_OVER_17 = -1010580540
_F2_ONE = 1 << 29


def fp_mul(a, b) -> np.ndarray:
    """FixedPoint product: the integer bits of the result are the sum of the factors'."""
    return saturating_rounding_doubling_high_mul(a, b)


def one(integer_bits: int) -> int:
    """The raw value of 1.0 (``INT32_MAX`` when there are no integer bits)."""
    return INT32_MAX if integer_bits == 0 else 1 << (31 - integer_bits)


def rounding_half_sum(a, b) -> np.ndarray:
    """gemmlowp ``RoundingHalfSum``: (a + b) / 2, ties away from zero."""
    total = np.asarray(a, np.int64) + np.asarray(b, np.int64)
    total = total + np.where(total >= 0, 1, -1)
    half = np.abs(total) // 2  # C division truncates toward zero
    return np.where(total < 0, -half, half)


def saturating_rounding_multiply_by_pot(x, exponent: int) -> np.ndarray:
    """Multiply by ``2**exponent``: saturating for a left shift, rounding for a right shift."""
    x = np.asarray(x, np.int64)
    if exponent == 0:
        return x
    if exponent < 0:
        return rounding_divide_by_pot(x, -exponent)
    threshold = (1 << (31 - exponent)) - 1
    shifted = x << exponent
    return np.where(x > threshold, INT32_MAX, np.where(x < -threshold, INT32_MIN, shifted))


def rescale(x, src_integer_bits: int, dst_integer_bits: int) -> np.ndarray:
    """gemmlowp ``Rescale``: the same real value with a different number of integer bits."""
    return saturating_rounding_multiply_by_pot(x, src_integer_bits - dst_integer_bits)


def _exp_on_interval_minus_quarter_to_zero(a: np.ndarray) -> np.ndarray:
    """exp(a) for Q0.31 ``a`` in [-1/4, 0): a 4th-order Taylor expansion around -1/8."""
    x = wrap32(a + (1 << 28))  # x = a + 1/8
    x2 = fp_mul(x, x)
    x3 = fp_mul(x2, x)
    x4 = fp_mul(x2, x2)
    x4_over_4 = rounding_divide_by_pot(x4, 2)
    poly = rounding_divide_by_pot(
        wrap32(fp_mul(wrap32(x4_over_4 + x3), _ONE_THIRD) + x2), 1)
    return wrap32(_EXP_MINUS_ONE_EIGHTH + fp_mul(_EXP_MINUS_ONE_EIGHTH, wrap32(x + poly)))


def exp_on_negative_values(a, integer_bits: int) -> np.ndarray:
    """gemmlowp ``exp_on_negative_values``: exp(a) in Q0.31 for ``a`` <= 0 with the given
    integer bits. exp of the fractional part modulo 1/4 comes from a polynomial; each set bit
    of the rest multiplies by a constant exp(-2**k)."""
    a = np.asarray(a, np.int64)
    fractional_bits = 31 - integer_bits
    quarter = 1 << (fractional_bits - 2)
    a_mod_quarter_minus_quarter = wrap32((a & (quarter - 1)) - quarter)
    result = _exp_on_interval_minus_quarter_to_zero(
        rescale(a_mod_quarter_minus_quarter, integer_bits, 0))
    remainder = wrap32(a_mod_quarter_minus_quarter - a)
    for exponent, multiplier in _EXP_BARREL:
        if integer_bits > exponent:
            bit = (remainder >> (fractional_bits + exponent)) & 1
            result = np.where(bit != 0, fp_mul(result, multiplier), result)
    if integer_bits > 5:
        # Below -32 the result underflows to exactly zero.
        result = np.where(a < -(1 << (36 - integer_bits)), 0, result)
    return np.where(a == 0, INT32_MAX, result)


def _newton_reciprocal_q2(half_denominator: np.ndarray) -> np.ndarray:
    """1 / half_denominator in Q2.29 for a Q0.31 half_denominator in [1/2, 1): three
    Newton-Raphson steps from the 48/17 - 32/17 * d estimate."""
    x = wrap32(_48_OVER_17 + fp_mul(half_denominator, _NEG_32_OVER_17))
    for _ in range(3):
        one_minus_dx = wrap32(_F2_ONE - fp_mul(half_denominator, x))
        x = wrap32(x + rescale(fp_mul(x, one_minus_dx), 4, 2))
    return x


def one_over_one_plus_x_for_x_in_0_1(a) -> np.ndarray:
    """gemmlowp ``one_over_one_plus_x_for_x_in_0_1``: 1 / (1 + a) in Q0.31, ``a`` in Q0.31."""
    half_denominator = rounding_half_sum(a, INT32_MAX)
    # x holds 1/(2*half_denominator) = 2/(1+a) in Q2.29; halving is exact as Q1.30.
    return rescale(_newton_reciprocal_q2(half_denominator), 1, 0)


def one_minus_x_over_one_plus_x_for_x_in_0_1(a) -> np.ndarray:
    """gemmlowp ``one_minus_x_over_one_plus_x_for_x_in_0_1``: (1 - a) / (1 + a) in Q0.31."""
    half_denominator = rounding_half_sum(a, INT32_MAX)
    x = _newton_reciprocal_q2(half_denominator)
    return rescale(wrap32(x - _F2_ONE), 2, 0)


def tanh(a, integer_bits: int) -> np.ndarray:
    """gemmlowp ``tanh``: tanh(a) in Q0.31 via (1 - exp(-2|a|)) / (1 + exp(-2|a|))."""
    a = np.asarray(a, np.int64)
    negative = a < 0
    n = np.where(negative, a, wrap32(-a))
    # exp(2n): doubling is exact by reading the same raw value with one more integer bit.
    t = one_minus_x_over_one_plus_x_for_x_in_0_1(exp_on_negative_values(n, integer_bits + 1))
    return np.where(a == 0, 0, np.where(negative, wrap32(-t), t))


def logistic(a, integer_bits: int) -> np.ndarray:
    """gemmlowp ``logistic``: 1 / (1 + exp(-a)) in Q0.31, computed on |a| and mirrored."""
    a = np.asarray(a, np.int64)
    positive = a > 0
    abs_a = np.where(positive, a, wrap32(-a))
    if_positive = one_over_one_plus_x_for_x_in_0_1(
        exp_on_negative_values(wrap32(-abs_a), integer_bits))
    if_negative = wrap32(INT32_MAX - if_positive)
    return np.where(a == 0, 1 << 30, np.where(positive, if_positive, if_negative))


def count_leading_zeros32(x) -> np.ndarray:
    """Leading zero bits of ``x`` read as uint32 (32 for zero), like ``__builtin_clz``."""
    u = np.asarray(x, np.int64) & 0xFFFFFFFF
    # float64 holds every uint32 exactly, so frexp's exponent is the bit length.
    return 32 - np.frexp(u.astype(np.float64))[1].astype(np.int64)


def input_radius(integer_bits: int, left_shift: int, total_signed_bits: int = 31) -> int:
    """TFLite ``CalculateInputRadius``: the largest input magnitude that, multiplied by
    ``2**left_shift``, still fits a fixed-point value with ``integer_bits`` integer bits."""
    max_rescaled = (1.0 * ((1 << integer_bits) - 1) * (1 << (total_signed_bits - integer_bits))
                    / (1 << left_shift))
    return math.floor(max_rescaled)


def q4_input_params(input_scale: float) -> tuple[int, int, int]:
    """TFLM's int8 LOGISTIC/TANH Prepare: ``(multiplier, left_shift, range_radius)`` mapping
    ``x - zero_point`` to Q4.27. TFLM takes ``frexp`` directly instead of ``QuantizeMultiplier``;
    for a float32 scale both agree, as the mantissa times 2**31 is an integer below 2**31."""
    mantissa, left_shift = math.frexp(input_scale * float(1 << (31 - 4)))
    multiplier = tflite_round(mantissa * (1 << 31))
    return multiplier, left_shift, input_radius(4, left_shift)


def get_reciprocal(x, x_integer_bits: int) -> tuple[np.ndarray, np.ndarray]:
    """TFLite ``GetReciprocal`` for positive ``x`` with ``x_integer_bits``: returns
    ``(scale, num_bits_over_unit)`` with 1/x = scale (Q0.31) / 2**num_bits_over_unit."""
    x = np.asarray(x, np.int64)
    headroom_plus_one = count_leading_zeros32(x)
    num_bits_over_unit = x_integer_bits - headroom_plus_one
    normalized = ((x & 0xFFFFFFFF) << headroom_plus_one) & 0xFFFFFFFF
    shifted_minus_one = wrap32(normalized - (1 << 31))
    return one_over_one_plus_x_for_x_in_0_1(shifted_minus_one), num_bits_over_unit


def saturating_add(a, b) -> np.ndarray:
    """TFLite ``SaturatingAddNonGemmlowp`` on int32 values."""
    return np.clip(np.asarray(a, np.int64) + np.asarray(b, np.int64), INT32_MIN, INT32_MAX)


def saturating_sub(a, b) -> np.ndarray:
    """TFLite ``SaturatingSub`` on int32 values."""
    return np.clip(np.asarray(a, np.int64) - np.asarray(b, np.int64), INT32_MIN, INT32_MAX)


# Q0.31 constants of TFLite's log_x_for_x_greater_than_or_equal_to_1 (common.h).
_LOG_2 = 1488522236
_SQRT_SQRT_HALF = 1805811301
_SQRT_HALF = 1518500250
_ONE_QUARTER = 536870912
_ALPHA_N = 117049297  # 11/240 * 2**(1/4)
_ALPHA_D = 127690142  # 1/20 * 2**(1/4)
_ALPHA_I = 1057819769  # 2 / 2**(1/4) - 2**(1/4)
_ALPHA_F = 638450708  # 1/4 * 2**(1/4)


def log_x_for_x_ge_1(x, input_integer_bits: int, output_integer_bits: int) -> np.ndarray:
    """TFLite ``log_x_for_x_greater_than_or_equal_to_1<Out, In>``: ln(x) with
    ``output_integer_bits``, for raw ``x`` with ``input_integer_bits``. The power of two comes
    from the leading zeros (two candidates, around x and x * sqrt(1/2)), the rest from a
    rational approximation on [2**-1/4, 2**1/4) accumulated with one extra integer bit."""
    accum_bits = output_integer_bits + 1
    z_a = np.asarray(x, np.int64)
    shifted_quarter = rescale(_ONE_QUARTER, 0, accum_bits)

    def pot(v, e):  # SaturatingRoundingMultiplyByPOTParam with an elementwise exponent >= 0
        v, e = np.broadcast_arrays(np.asarray(v, np.int64), np.asarray(e, np.int64))
        threshold = (np.int64(1) << np.maximum(31 - e, 0)) - 1
        shifted = v << e
        return np.where(e == 0, v, np.where(v > threshold, INT32_MAX,
                                            np.where(v < -threshold, INT32_MIN, shifted)))

    z_a_headroom_plus_1 = count_leading_zeros32(z_a)
    r_a_tmp = pot(z_a, z_a_headroom_plus_1 - 1)
    r_a = pot(fp_mul(r_a_tmp, _SQRT_HALF), 1)
    z_a_pow_2_adj = saturating_add(
        pot(input_integer_bits - z_a_headroom_plus_1, 31 - accum_bits), shifted_quarter)
    z_b = fp_mul(z_a, _SQRT_HALF)
    z_b_headroom = count_leading_zeros32(z_b) - 1
    r_b = pot(z_a, z_b_headroom)
    z_b_pow_2_adj = saturating_sub(
        pot(input_integer_bits - z_b_headroom, 31 - accum_bits), shifted_quarter)
    r = np.minimum(r_a, r_b)
    z_pow_2_adj = np.maximum(z_a_pow_2_adj, z_b_pow_2_adj)

    p = rounding_half_sum(r, _SQRT_SQRT_HALF)
    q = wrap32(r - _SQRT_SQRT_HALF)
    q = wrap32(q + q)
    common_sq = fp_mul(q, q)
    num = wrap32(fp_mul(q, r) + fp_mul(fp_mul(q, common_sq), _ALPHA_N))
    denom_minus_one = wrap32(
        fp_mul(p, wrap32(wrap32(_ALPHA_I + q) + fp_mul(_ALPHA_D, common_sq)))
        + fp_mul(_ALPHA_F, q))
    recip_denom = one_over_one_plus_x_for_x_in_0_1(denom_minus_one)
    num_scaled = rescale(num, 0, accum_bits)
    total = wrap32(fp_mul(z_pow_2_adj, _LOG_2) + fp_mul(num_scaled, recip_denom))
    return rescale(total, accum_bits, output_integer_bits)
