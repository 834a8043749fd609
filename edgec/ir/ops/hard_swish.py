"""HARD_SWISH, elementwise: ``x * relu6(x + 3) / 6``.

int8 follows TFLite Micro's ``reference_ops::HardSwish`` with its Prepare-time parameters
(``hard_swish_common.cc``), all in 16-bit fixed point:

- ``x - zero_point`` is shifted left by 7 bits ("hires" input, scale ``s_in / 128``);
- multiplied (``SaturatingRoundingDoublingHighMul``, int16) by the output multiplier
  ``(s_in / 128) / s_out`` (float32 division; ``QuantizeMultiplier`` then rounded to 16 bits
  by ``DownScaleInt32ToInt16Multiplier``; its exponent must be <= 0), giving the value on
  the output scale before the final shift;
- the "relu-ish" factor: the hires input rescaled so that 3.0 is 32768, by the multiplier
  ``(s_in / 128) / (3 / 32768)`` with a saturating left shift in two steps (all but one bit
  before the multiply, one after) or a rounding right shift; then mapped from [-1, 1] to
  [0, 1] as ``(v + 32768) >> 1``;
- the two multiplied with the truncating ``SaturatingDoublingHighMul``, shifted right by the
  output exponent (rounding), plus the output zero point, clamped to int8.

Float: ``x * min(6, max(0, x + 3)) / 6`` in float32 (TFLite's order of operations).
"""

from __future__ import annotations

import numpy as np

from edgec.errors import EdgecError
from edgec.ir.quant import quantize_multiplier, rounding_divide_by_pot
from edgec.ir.registry import Channels, define_op, kernel

define_op("HARD_SWISH", infer_shapes=lambda node, ins: [ins[0].shape],
          doc="elementwise x * relu6(x + 3) / 6", elementwise=True, channels=Channels.SAME,
          requantizes=True)

_I16_MIN, _I16_MAX = -(1 << 15), (1 << 15) - 1


def _wrap16(x) -> np.ndarray:
    return ((np.asarray(x, np.int64) + (1 << 15)) & 0xFFFF) - (1 << 15)


def _high_mul16(a, b, rounding: bool) -> np.ndarray:
    """int16 doubling high multiply, saturating -32768 * -32768; rounding to nearest
    (gemmlowp ``SaturatingRoundingDoublingHighMul``) or toward zero (TFLite's
    ``SaturatingDoublingHighMul``)."""
    a, b = np.asarray(a, np.int64), np.asarray(b, np.int64)
    ab = a * b
    if rounding:
        ab = ab + np.where(ab >= 0, 1 << 14, 1 - (1 << 14))
    q = np.abs(ab) >> 15
    result = _wrap16(np.where(ab < 0, -q, q))
    return np.where((a == b) & (a == _I16_MIN), _I16_MAX, result)


def _saturating_left_shift16(x, amount: int) -> np.ndarray:
    return np.clip(np.asarray(x, np.int64) * (1 << amount), _I16_MIN, _I16_MAX)


def _int16_multiplier(real: float) -> tuple[int, int]:
    """``QuantizeMultiplier`` then ``DownScaleInt32ToInt16Multiplier``: (q16, exponent)."""
    q, exponent = quantize_multiplier(real)
    offset = 1 << 15
    q16 = _I16_MAX if q >= (1 << 31) - 1 - offset else (q + offset) >> 16
    return q16, exponent


def hard_swish_params(in_scale: float, out_scale: float) -> tuple[int, int, int, int]:
    """TFLM's ``HardSwishParams``: (output q16, output exponent, reluish q16, reluish exp)."""
    hires = np.float32(1.0 / 128.0) * np.float32(in_scale)
    out_q16, out_exp = _int16_multiplier(float(hires / np.float32(out_scale)))
    if out_exp > 0:
        raise EdgecError(f"HARD_SWISH output scale {out_scale:g} is too small for input "
                         f"scale {in_scale:g}: TFLite Micro needs s_in / 128 < s_out",
                         "quantize the output with a larger scale")
    relu_q16, relu_exp = _int16_multiplier(float(hires / np.float32(3.0 / 32768.0)))
    return out_q16, out_exp, relu_q16, relu_exp


@kernel("HARD_SWISH", "int8")
def hard_swish_int8(call):
    in_q, out_q = call.in_q(0), call.out_q()
    out_q16, out_exp, relu_q16, relu_exp = hard_swish_params(in_q.s, out_q.s)
    hires = (call.inputs[0].astype(np.int64) - in_q.zp) * (1 << 7)
    preshift = _high_mul16(hires, out_q16, rounding=True)
    relu = hires
    if relu_exp > 0:
        relu = _saturating_left_shift16(relu, relu_exp - 1)
    relu = _high_mul16(relu, relu_q16, rounding=True)
    if relu_exp > 0:
        relu = _saturating_left_shift16(relu, 1)
    if relu_exp < 0:
        relu = rounding_divide_by_pot(relu, -relu_exp)
    relu = (relu + (1 << 15)) >> 1
    out = rounding_divide_by_pot(_high_mul16(relu, preshift, rounding=False), -out_exp)
    out = _wrap16(out + out_q.zp)
    return [np.clip(out, -128, 127).astype(np.int8)]


@kernel("HARD_SWISH", "float32")
def hard_swish_float(call):
    x = call.inputs[0].astype(np.float32)
    six = np.float32(6)
    return [(x * np.minimum(six, np.maximum(np.float32(0), x + np.float32(3))) / six)
            .astype(np.float32)]
