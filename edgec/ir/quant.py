"""TFLite's integer arithmetic in numpy, bit for bit.

These are the building blocks of TFLite Micro's reference kernels (double rounding, the default
build): ``QuantizeMultiplier``, ``SaturatingRoundingDoublingHighMul``, ``RoundingDivideByPOT``
and ``MultiplyByQuantizedMultiplier``. Arrays hold int32 values in int64 storage so that
intermediate products never overflow in numpy; ``wrap32`` gives C's two's-complement int32
wrap where TFLite's C++ would wrap.
"""

from __future__ import annotations

import math

import numpy as np

INT32_MIN = -(1 << 31)
INT32_MAX = (1 << 31) - 1


def tflite_round(x: float) -> int:
    """``std::round``: halves away from zero. Exact: ``floor(|x| + 0.5)`` would round
    0.49999999999999994 up, because the sum itself rounds to 1.0."""
    whole = math.trunc(x)
    return whole + (int(math.copysign(1, x)) if abs(x - whole) >= 0.5 else 0)


def round_half_away(x) -> np.ndarray:
    """Elementwise ``std::round``, exactly (truncate, then look at the exact remainder;
    ``floor(|x| + 0.5)`` rounds wrongly for 0.49999997 and odd integers above 2**23)."""
    x = np.asarray(x, np.float64)
    whole = np.trunc(x)
    return whole + np.where(np.abs(x - whole) >= 0.5, np.sign(x), 0.0)


def quantize_multiplier(real: float) -> tuple[int, int]:
    """TFLite ``QuantizeMultiplier``: ``real ~= q * 2**(shift - 31)``, q in [2**30, 2**31)."""
    if real == 0.0:
        return 0, 0
    frac, shift = math.frexp(real)
    q = tflite_round(frac * (1 << 31))
    if q == (1 << 31):
        q //= 2
        shift += 1
    if shift < -31:
        return 0, 0
    return q, shift


def quantize_multipliers(reals) -> tuple[np.ndarray, np.ndarray]:
    """``quantize_multiplier`` over an iterable, as two int64 arrays."""
    pairs = [quantize_multiplier(float(r)) for r in np.atleast_1d(reals)]
    return (np.array([p[0] for p in pairs], np.int64), np.array([p[1] for p in pairs], np.int64))


def wrap32(x) -> np.ndarray:
    """Two's-complement wrap of int64 values to the int32 range."""
    x = np.asarray(x, dtype=np.int64)
    return ((x + (1 << 31)) & 0xFFFFFFFF) - (1 << 31)


def _trunc_div(x: np.ndarray, d: int) -> np.ndarray:
    """C integer division (truncation toward zero) of int64 ``x`` by positive ``d``."""
    q = np.abs(x) // d
    return np.where(x < 0, -q, q)


def saturating_rounding_doubling_high_mul(a, b) -> np.ndarray:
    """gemmlowp ``SaturatingRoundingDoublingHighMul`` on int32 values."""
    a = np.asarray(a, dtype=np.int64)
    b = np.asarray(b, dtype=np.int64)
    ab = a * b
    nudge = np.where(ab >= 0, 1 << 30, 1 - (1 << 30))
    result = _trunc_div(ab + nudge, 1 << 31)
    overflow = (a == b) & (a == INT32_MIN)
    return np.where(overflow, INT32_MAX, result)


def rounding_divide_by_pot(x, exponent) -> np.ndarray:
    """gemmlowp ``RoundingDivideByPOT``: divide by 2**exponent, rounding half away from zero."""
    x = np.asarray(x, dtype=np.int64)
    exponent = np.asarray(exponent, dtype=np.int64)
    mask = (np.int64(1) << exponent) - 1
    remainder = x & mask
    threshold = (mask >> 1) + (x < 0)
    return (x >> exponent) + (remainder > threshold)


def multiply_by_quantized_multiplier(x, multiplier, shift) -> np.ndarray:
    """TFLite ``MultiplyByQuantizedMultiplier`` (double rounding). Broadcasts per channel."""
    x = np.asarray(x, dtype=np.int64)
    shift = np.asarray(shift, dtype=np.int64)
    left = np.maximum(shift, 0)
    right = np.maximum(-shift, 0)
    shifted = wrap32(x * (np.int64(1) << left))
    return rounding_divide_by_pot(saturating_rounding_doubling_high_mul(shifted, multiplier), right)


def quantize_value(value: float, scale: float, zero_point: int) -> int:
    """TFLite's activation-range quantize: ``zp + round(f / scale)`` in float32."""
    q = np.float32(value) / np.float32(scale)
    return zero_point + tflite_round(float(q))


def activation_range(activation: str, scale: float, zero_point: int, dtype: str = "int8"):
    """TFLite ``CalculateActivationRangeQuantized`` for a fused activation."""
    info = np.iinfo(dtype)
    qmin, qmax = int(info.min), int(info.max)
    if activation == "NONE":
        return qmin, qmax
    if activation == "RELU":
        return max(qmin, quantize_value(0.0, scale, zero_point)), qmax
    if activation == "RELU6":
        return (max(qmin, quantize_value(0.0, scale, zero_point)),
                min(qmax, quantize_value(6.0, scale, zero_point)))
    if activation == "RELU_N1_TO_1":
        return (max(qmin, quantize_value(-1.0, scale, zero_point)),
                min(qmax, quantize_value(1.0, scale, zero_point)))
    raise ValueError(f"unknown fused activation {activation}")


FLOAT_ACTIVATIONS = {
    "NONE": (-np.inf, np.inf),
    "RELU": (0.0, np.inf),
    "RELU6": (0.0, 6.0),
    "RELU_N1_TO_1": (-1.0, 1.0),
}


def apply_float_activation(x: np.ndarray, activation: str) -> np.ndarray:
    """Clamp a float result by a fused activation."""
    lo, hi = FLOAT_ACTIVATIONS[activation]
    return np.clip(x, np.float32(lo), np.float32(hi)).astype(np.float32)


def conv_multipliers(input_scale: float, filter_scales: np.ndarray, output_scale: float):
    """Per-channel requantization as TFLM's ``PopulateConvolutionQuantizationParams``:
    ``(double)input_scale * (double)filter_scale / (double)output_scale``."""
    reals = [float(np.float32(input_scale)) * float(fs) / float(np.float32(output_scale))
             for fs in np.asarray(filter_scales, np.float32)]
    return quantize_multipliers(reals)


def mean_multiplier(input_scale: float, output_scale: float, count: int) -> tuple[int, int]:
    """TFLM's int8 MEAN requantization of a sum of ``count`` values (``QuantizedMeanOrSum``):
    ``QuantizeMultiplier(input_scale / output_scale)``, then the multiplier is pre-divided by
    ``count`` after a left shift of ``min(floor(log2 count), 32, 31 + shift)`` bits."""
    multiplier, shift = quantize_multiplier(float(np.float32(input_scale))
                                            / float(np.float32(output_scale)))
    extra = min(count.bit_length() - 1, 32, 31 + shift)
    return int((multiplier << extra) // count), shift - extra
