"""TFLite's int16 activation arithmetic (the 16x8 mode) in numpy, bit for bit.

16x8 models hold activations in int16 with zero point 0 (symmetric), weights in int8 and the
biases of CONV_2D, DEPTHWISE_CONV_2D and FULLY_CONNECTED in int64. What differs from int8:

- conv-like ops accumulate in int64 (int32 when the bias is int32) and requantize with
  TFLite's *int64* ``MultiplyByQuantizedMultiplier``: the multiplier is first reduced to 16
  bits (``(m + 2**15) >> 16``, saturating at 0x7FFF) and the product shifted once, rounding
  half up (``multiply_by_quantized_multiplier_int64``);
- LOGISTIC and TANH interpolate one shared 256-entry table of ``sigmoid(i / 24)`` in 0.16
  (``sigmoid_table``), after scaling the input to 1/(3 * 4096) steps (``lut_input_params``);
- SOFTMAX looks up two 513-entry int16 tables with linear interpolation (``lut_int16``,
  ``lut_lookup``): exp on [-10, 0] and 1 / (1 + x) on [0, 1].
Everything else (ADD, MUL, pools, MEAN, QUANTIZE) is int8's algorithm with int16 bounds.
"""

from __future__ import annotations

import math

import numpy as np

from edgec.ir.quant import tflite_round, wrap32

INT16_MIN = -(1 << 15)
INT16_MAX = (1 << 15) - 1
LUT_STEPS = 512  # a 513-entry table: 512 segments and the end point


def multiply_by_quantized_multiplier_int64(x, multiplier, shift) -> np.ndarray:
    """TFLite ``MultiplyByQuantizedMultiplier(int64_t x, ...)``: one rounding with the
    multiplier reduced to 16 bits; the result is cast to int32 (wraps). Broadcasts."""
    reduced, total = reduced_multiplier(multiplier, shift)
    return wrap32((np.asarray(x, np.int64) * reduced + (np.int64(1) << (total - 1))) >> total)


def reduced_multiplier(multiplier, shift) -> tuple[np.ndarray, np.ndarray]:
    """The int64 ``MultiplyByQuantizedMultiplier``'s 16-bit multiplier (rounded, saturating
    at 0x7FFF) and total right shift ``15 - shift``, as C kernels precompute them."""
    m = np.asarray(multiplier, np.int64)
    reduced = np.where(m < 0x7FFF0000, (m + (1 << 15)) >> 16, 0x7FFF)
    return reduced, 15 - np.asarray(shift, np.int64)


def requantize_conv_int16(acc, multiplier, shift, accumulate_int64: bool) -> np.ndarray:
    """The 16x8 conv-like requantization of accumulators ``acc`` (bias added): the int64 form
    with int64 accumulation, else TFLite's int32 (double rounding) form after an int32 wrap."""
    from edgec.ir.quant import multiply_by_quantized_multiplier

    if accumulate_int64:
        return multiply_by_quantized_multiplier_int64(acc, multiplier, shift)
    return multiply_by_quantized_multiplier(wrap32(acc), multiplier, shift)


# Where TFLite's ``sigmoid_table_uint16`` is one above ``round(65536 * sigmoid(i / 24))``
# (its generator is not published; tests/ops/test_int16.py checks LOGISTIC and TANH against
# TFLM at every table segment).
_TABLE_ONE_ABOVE = (4, 8, 12, 14, 15, 16, 17, 19, 20, 21, 22, 25, 27, 28, 29, 30, 31, 33, 34,
                    35, 37, 39, 40, 41, 43, 44, 45, 46, 49, 50, 54, 62, 63, 64, 66, 82, 86, 93,
                    100, 103, 112, 116, 135, 255)


def sigmoid_table() -> np.ndarray:
    """TFLite's ``sigmoid(i / 24)`` in unsigned 0.16 for i = 0..255, shared by int16
    LOGISTIC and TANH."""
    i = np.arange(256, dtype=np.float64)
    table = np.round(65536.0 / (1.0 + np.exp(-i / 24.0))).astype(np.int64)
    table[list(_TABLE_ONE_ABOVE)] += 1
    return table


def checked_log2(x: float) -> tuple[bool, int]:
    """TFLite ``CheckedLog2`` in float32: ``(is a power of two within 1e-3, rounded log2)``."""
    log2 = np.float32(math.log(np.float32(x))) * (np.float32(1.0) / np.float32(math.log(2.0)))
    rounded = np.float32(tflite_round(float(log2)))
    return bool(abs(np.float32(log2 - rounded)) < np.float32(1e-3)), int(rounded)


def lut_input_params(input_scale: float, pot_shifts: tuple[int, ...]) -> tuple[int, int]:
    """TFLM's int16 LOGISTIC / TANH Prepare: ``(input_multiplier, input_left_shift)``.
    A power-of-two scale whose shift ``12 + log2(scale)`` is in ``pot_shifts`` (0 for
    LOGISTIC, 0 or 1 for TANH) gives multiplier 0 (the kernel then multiplies by
    ``3 << shift``); otherwise ``scale * 3 * 4096`` doubled until above 32767 / 2, truncated."""
    pot, log2 = checked_log2(input_scale)
    left_shift = 12 + log2
    if pot and left_shift in pot_shifts:
        return 0, left_shift
    multiplier = float(np.float32(input_scale)) * 4096.0 * 3.0
    left_shift = 0
    while multiplier <= 32767.0 / 2.0 and left_shift <= 30:
        left_shift += 1
        multiplier *= 2.0
    return int(multiplier), left_shift


def check_q015(node, in_q, out_q) -> None:
    """TFLM's int16 LOGISTIC / TANH / SOFTMAX Prepare checks: zero points 0 and an output
    scale of 2**-15 (Q0.15)."""
    from edgec.errors import EdgecError

    pot, log2 = checked_log2(out_q.s) if out_q is not None else (False, 0)
    if in_q is None or out_q is None or in_q.zp != 0 or out_q.zp != 0 or not pot or log2 != -15:
        raise EdgecError(f"{node.op} '{node.name}' int16 quantization is {in_q} -> {out_q}; "
                         "TFLite Micro requires zero points 0 and output scale 1/32768",
                         "quantize the model with TFLite's 16x8 mode or edgec quantize "
                         "--activations int16")


def _scaled_input(x, multiplier: int, left_shift: int) -> np.ndarray:
    if multiplier == 0:
        multiplier, left_shift = 3 << left_shift, 0
    rounding = (1 << (left_shift - 1)) if left_shift > 0 else 0
    return (np.asarray(x, np.int64) * multiplier + rounding) >> left_shift


def _interpolate(abs_x: np.ndarray, fraction_bits: int, saturated: int) -> np.ndarray:
    """The sigmoid table read at ``abs_x / 2**fraction_bits``, interpolated linearly with
    ``fraction_bits`` bits, in 0.(16 + fraction_bits); ``saturated`` from index 255 on."""
    table = sigmoid_table()
    index = abs_x >> fraction_bits
    safe = np.minimum(index, 254)
    low, high = table[safe], table[safe + 1]
    frac = abs_x & ((1 << fraction_bits) - 1)
    return np.where(index >= 255, saturated, (low << fraction_bits) + frac * (high - low))


def logistic_int16(x, multiplier: int = 0, left_shift: int = 0) -> np.ndarray:
    """TFLM ``reference_integer_ops::Logistic`` on int16: output in Q0.15."""
    v = _scaled_input(x, multiplier, left_shift)
    r = _interpolate(np.abs(v), 9, 0x7FFF << 10)
    r = np.where(v >= 0, r + (1 << 9), (1 << 25) - r + (1 << 9) - 1)
    return (r >> 10).astype(np.int16)


def tanh_int16(x, multiplier: int = 0, left_shift: int = 0) -> np.ndarray:
    """TFLM ``reference_integer_ops::Tanh`` on int16 (tanh(x) = 2 sigmoid(2x) - 1): Q0.15."""
    v = _scaled_input(x, multiplier, left_shift)
    r = _interpolate(np.abs(v), 8, 0xFFFF << 8)
    r = np.where(v >= 0, r - (1 << 23) + (1 << 7), -r + (1 << 23) + (1 << 7) - 1)
    r = wrap32(r) >> 8
    return (((r + (1 << 15)) & 0xFFFF) - (1 << 15)).astype(np.int16)  # C's cast


def lut_int16(fn, input_scale: float, input_zp: int, output_scale: float,
              output_zp: int) -> np.ndarray:
    """TFLite ``LUTPopulateInt16<float>``: 513 int16 samples of ``fn`` over the int16 input
    range, each lowered by half the error of linear interpolation at the segment's midpoint.
    float32 arithmetic throughout, as TFLite's; ``fn`` maps a float32 to a float32."""
    f = np.float32
    in_min = f(f(input_scale) * f(INT16_MIN - input_zp))
    in_max = f(f(input_scale) * f(INT16_MAX - input_zp))
    out_min = f(f(output_scale) * f(INT16_MIN - output_zp))
    out_max = f(f(output_scale) * f(INT16_MAX - output_zp))
    step = f(f(in_max - in_min) / f(LUT_STEPS))
    half_step = f(step / f(2))
    inv = f(f(65536.0) / f(out_max - out_min))

    def rnd(v):
        return f(tflite_round(float(v)))

    lut = np.empty(LUT_STEPS + 1, np.int16)
    for i in range(LUT_STEPS):
        start = f(in_min + f(f(i) * step))
        val = fn(start)
        mid = fn(f(start + half_step))
        nxt = fn(f(in_min + f(f(i + 1) * step)))
        sample = rnd(f(val * inv))
        mid_interp = rnd(f(f(f(nxt * inv) + sample) / f(2)))
        mid_err = f(mid_interp - rnd(f(mid * inv)))
        bias = rnd(f(mid_err / f(2)))
        lut[i] = int(min(max(f(sample - bias), f(INT16_MIN)), f(INT16_MAX)))
    lut[LUT_STEPS] = int(min(max(rnd(f(fn(in_max) * inv)), f(INT16_MIN)), f(INT16_MAX)))
    return lut


def lut_lookup(value, lut: np.ndarray) -> np.ndarray:
    """TFLite ``LUTLookup`` for int16: the 9 high bits index, the 7 low bits interpolate."""
    value = np.asarray(value, np.int64)
    index = 256 + (value >> 7)
    base = lut.astype(np.int64)[index]
    slope = lut.astype(np.int64)[index + 1] - base
    out = base + ((slope * (value & 0x7F) + 64) >> 7)
    return ((out + (1 << 15)) & 0xFFFF) - (1 << 15)


def _expf(v):
    return np.float32(math.exp(float(v)))


def _one_over_one_plus(v):
    return np.float32(np.float32(1.0) / np.float32(np.float32(1.0) + v))


def softmax_luts() -> tuple[np.ndarray, np.ndarray]:
    """TFLM's int16 SOFTMAX tables: exp on [-10, 0] and 1 / (1 + x) on [0, 1], both with
    outputs in 2/65535 steps (fixed, independent of the tensors' scales)."""
    span = float(INT16_MAX - INT16_MIN)
    exp_lut = lut_int16(_expf, 10.0 / span, INT16_MAX, 2.0 / span, 0)
    recip_lut = lut_int16(_one_over_one_plus, 1.0 / span, INT16_MIN, 2.0 / span, 0)
    return exp_lut, recip_lut
