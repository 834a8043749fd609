"""SOFTMAX over the last axis, with ``beta``.

int8 input follows TFLite Micro's quantized ``reference_ops::Softmax``: per row, the
difference to the row maximum is scaled by ``beta * input_scale`` into Q5.26
(``PreprocessSoftmaxScaling``, 5 integer bits); differences below ``diff_min``
(``CalculateInputRadius``) count as exp = 0. gemmlowp's ``exp_on_negative_values`` gives each
exp in Q0.31; their sum is kept in Q12.19, inverted with ``GetReciprocal``, and each output is
``exp * (1/sum)`` shifted down to the output type. Output int8 (scale 1/256, zero point -128)
or int16 (scale 1/65536, zero point -32768), as TFLM requires.

int16 input (output int16, scale 1/32768, zero point 0) follows ``SoftmaxInt16``: the
difference to the row maximum scaled so that [-65535, 0] is [-10, 0], exp from a 513-entry
table, the sum's reciprocal from a 1/(1 + x) table (``edgec.ir.int16.softmax_luts``).

Float follows TFLM's float softmax: ``exp((x - max) * beta) / sum`` in float32.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from edgec.errors import EdgecError
from edgec.ir import fixedpoint as fp
from edgec.ir import int16
from edgec.ir.quant import quantize_multiplier, rounding_divide_by_pot, wrap32
from edgec.ir.registry import Ptq, define_op, kernel

SCALED_DIFF_INTEGER_BITS = 5
ACCUMULATION_INTEGER_BITS = 12
# What TFLM's Prepare accepts for each output type: (zero point, scale, tolerance on scale).
OUTPUT_QUANT = {"int8": (-128, 1.0 / 256, 0.0), "int16": (-32768, 1.0 / 65536, 0.001 / 65536)}

define_op("SOFTMAX", attrs={"beta": 1.0}, infer_shapes=lambda node, ins: [ins[0].shape],
          doc="softmax over the last axis: exp(beta * x) / sum",
          ptq=Ptq.FIXED, fixed_quant=(1.0 / 256.0, -128), requantizes=True, retypes=True,
          fixed_quant_int16=(1.0 / 32768.0, 0), dtypes=("float32", "int8", "int16"))


@dataclass(frozen=True)
class SoftmaxParams:
    """TFLM's int8 softmax parameters: Q5.26 input multiplier/left shift and diff_min."""

    input_multiplier: int
    input_left_shift: int
    diff_min: int


def softmax_params(beta: float, input_scale: float) -> SoftmaxParams:
    """``PreprocessSoftmaxScaling`` (double rounding build) and ``diff_min``."""
    beta = float(np.float32(beta))  # TfLiteSoftmaxParams holds beta as a float
    max_real = float((1 << 31) - 1)
    real = min(beta * input_scale * (1 << (31 - SCALED_DIFF_INTEGER_BITS)), max_real)
    if real <= 1.0:
        raise EdgecError(f"SOFTMAX beta * input scale = {beta * input_scale:g} is too small "
                         "for TFLite Micro's int8 softmax", "the input scale must exceed 2**-26")
    multiplier, shift = quantize_multiplier(real)
    return SoftmaxParams(multiplier, shift,
                         -fp.input_radius(SCALED_DIFF_INTEGER_BITS, shift))


def _check_output(call) -> str:
    out = call.out_tensors[0]
    if out.dtype not in OUTPUT_QUANT:
        raise EdgecError(f"SOFTMAX '{call.node.name}' with int8 input writes {out.dtype}",
                         "int8 input needs an int8 or int16 output")
    zp, scale, tol = OUTPUT_QUANT[out.dtype]
    q = out.quant
    if q is None or q.zp != zp or abs(q.s - np.float32(scale)) > tol:
        raise EdgecError(f"SOFTMAX '{call.node.name}' output quantization is {q}, "
                         f"TFLite Micro requires scale {scale:g}, zero point {zp}",
                         "requantize the model's softmax output")
    return out.dtype


@kernel("SOFTMAX", "int8")
def softmax_int8(call):
    out_dtype = _check_output(call)
    p = softmax_params(call.attrs["beta"], call.in_q(0).s)
    x = call.inputs[0].astype(np.int64)
    diff = x - x.max(axis=-1, keepdims=True)
    live = diff >= p.diff_min
    # MultiplyByQuantizedMultiplierGreaterThanOne: shift left, then the high multiply.
    scaled = fp.fp_mul(wrap32(diff << p.input_left_shift), p.input_multiplier)
    exps = fp.exp_on_negative_values(scaled, SCALED_DIFF_INTEGER_BITS)
    terms = fp.rescale(exps, 0, ACCUMULATION_INTEGER_BITS)
    sums = wrap32(np.where(live, terms, 0).sum(axis=-1, keepdims=True))
    scale, bits_over_unit = fp.get_reciprocal(sums, ACCUMULATION_INTEGER_BITS)
    info = np.iinfo(out_dtype)
    exponent = bits_over_unit + 31 - info.bits
    unsat = rounding_divide_by_pot(fp.fp_mul(scale, exps), exponent)
    out = np.clip(unsat + info.min, info.min, info.max)
    return [np.where(live, out, info.min).astype(out_dtype)]


def softmax_int16_params(beta: float, input_scale: float) -> tuple[int, int]:
    """TFLM's int16 input multiplier and shift: ``input_scale * beta / (10 / 65535)``."""
    return quantize_multiplier(float(np.float32(input_scale)) * float(np.float32(beta))
                               / (10.0 / 65535.0))


def softmax_int16_rows(x: np.ndarray, mult: int, shift: int) -> np.ndarray:
    """``SoftmaxInt16`` over the last axis of int16 ``x``."""
    from edgec.ir.quant import multiply_by_quantized_multiplier

    exp_lut, recip_lut = int16.softmax_luts()
    x = x.astype(np.int64)
    diff = x - x.max(axis=-1, keepdims=True)
    scaled = multiply_by_quantized_multiplier(diff, mult, shift) + 32767
    exps = int16.lut_lookup(np.clip(scaled, -32768, 32767), exp_lut)
    sums = wrap32(exps.sum(axis=-1, keepdims=True))
    headroom = fp.count_leading_zeros32(sums)
    shifted = ((sums << (headroom - 1)) + (1 << 13)) >> 14
    centred = np.clip(shifted - ((1 << 15) + (1 << 16)), -32768, 32767)
    recip = int16.lut_lookup(centred, recip_lut)
    right = 31 - headroom
    out = (exps * recip + (np.int64(1) << (right - 1))) >> right
    return np.clip(out, 0, 32767).astype(np.int16)


@kernel("SOFTMAX", "int16")
def softmax_int16(call):
    int16.check_q015(call.node, call.in_q(0), call.out_q())
    mult, shift = softmax_int16_params(call.attrs["beta"], call.in_q(0).s)
    return [softmax_int16_rows(call.inputs[0], mult, shift)]


@kernel("SOFTMAX", "float32")
def softmax_float(call):
    x = call.inputs[0].astype(np.float32)
    beta = np.float32(call.attrs["beta"])
    e = np.exp((x - x.max(axis=-1, keepdims=True)) * beta)
    total = e.astype(np.float64).sum(axis=-1, keepdims=True).astype(np.float32)
    return [(e / total).astype(np.float32)]
