"""LOG_SOFTMAX over the last axis: TFLite's LOG_SOFTMAX, ONNX's LogSoftmax.

float32, per row as TFLite's float ``reference_ops::LogSoftmax``: ``x - max - log(sum(exp(x -
max)))`` (the sum accumulated in float64 here, in float32 by TFLite and the C kernel; both
within a few ulp).

int8 follows TFLite Micro's ``log_softmax.cc`` + ``reference_ops::LogSoftmaxQuantized``. The
output quantization is fixed: scale 16/256, zero point 127 (Prepare refuses anything else), so
outputs cover [-15.9375, 0]. Prepare: ``PreprocessLogSoftmaxScalingExp(beta=1, input_scale,
5)`` gives the Q5.26 input multiplier and left shift (``QuantizeMultiplierGreaterThanOne`` of
``min(input_scale * 2**26, 2**31 - 1)``) and the reverse scaling divisor and shift
(``QuantizeMultiplierSmallerThanOneExp(2**(31 - left_shift) / multiplier)``);
``diff_min = -CalculateInputRadius(5, left_shift)``. Eval, per row: the differences to the row
maximum at or above ``diff_min`` go through ``MultiplyByQuantizedMultiplier`` into Q5.26,
gemmlowp's ``exp_on_negative_values``, and are summed in Q12.19; ``log_sum`` is
``log_x_for_x_greater_than_or_equal_to_1<5>`` of the sum (Q5.26). A difference above
``max(diff_min - 1, MultiplyByQuantizedMultiplier(log_sum + INT32_MIN, reverse divisor,
reverse shift))`` outputs ``RoundingDivideByPOT(diff_q5 - log_sum, 22) + 127`` clamped to int8,
any other -128. TFLM has no int16 LOG_SOFTMAX."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from edgec.errors import EdgecError
from edgec.ir import fixedpoint as fp
from edgec.ir.quant import (INT32_MIN, multiply_by_quantized_multiplier, quantize_multiplier,
                            rounding_divide_by_pot, wrap32)
from edgec.ir.registry import Ptq, define_op, kernel

INPUT_INTEGER_BITS = 5
ACCUMULATION_INTEGER_BITS = 12
OUTPUT_INTEGER_BITS = 4
OUTPUT_QUANT = (16.0 / 256.0, 127)  # TFLM's kOutputScale, kOutputZeroPoint

define_op("LOG_SOFTMAX", infer_shapes=lambda node, ins: [ins[0].shape],
          doc="log of the softmax over the last axis", dtypes=("float32", "int8"),
          ptq=Ptq.FIXED, fixed_quant=OUTPUT_QUANT, requantizes=True)


@dataclass(frozen=True)
class LogSoftmaxParams:
    """TFLM's ``LogSoftmaxOpData`` for int8."""

    input_multiplier: int
    input_left_shift: int
    reverse_scaling_divisor: int
    reverse_scaling_shift: int  # <= 0: MultiplyByQuantizedMultiplier's shift
    diff_min: int


def log_softmax_params(input_scale: float, what: str = "LOG_SOFTMAX") -> LogSoftmaxParams:
    """``PreprocessLogSoftmaxScalingExp(1.0, input_scale, 5)`` and ``diff_min``."""
    real = min(float(np.float32(input_scale)) * (1 << (31 - INPUT_INTEGER_BITS)),
               float((1 << 31) - 1))
    if real <= 1.0:
        raise EdgecError(f"{what}: input scale {input_scale:g} is too small for TFLite Micro's "
                         "int8 LOG_SOFTMAX", "the input scale must exceed 2**-26")
    multiplier, left_shift = quantize_multiplier(real)
    divisor, divisor_shift = quantize_multiplier((1 << (31 - left_shift)) / float(multiplier))
    return LogSoftmaxParams(multiplier, left_shift, divisor, divisor_shift,
                            -fp.input_radius(INPUT_INTEGER_BITS, left_shift))


def check_output_quant(quant, what: str) -> None:
    """TFLM's Prepare: the int8 output has scale exactly 16/256 and zero point 127."""
    if quant is None or not quant.per_tensor or float(quant.s) != OUTPUT_QUANT[0] \
            or int(quant.zp) != OUTPUT_QUANT[1]:
        raise EdgecError(f"{what}: int8 output quantization is {quant}, TFLite Micro requires "
                         "scale 16/256 and zero point 127",
                         "requantize the model's LOG_SOFTMAX output")


@kernel("LOG_SOFTMAX", "int8")
def log_softmax_int8(call):
    what = f"LOG_SOFTMAX '{call.node.name}'"
    check_output_quant(call.out_q(), what)
    p = log_softmax_params(float(call.in_q(0).s), what)
    x = call.inputs[0].astype(np.int64)
    diff = x - x.max(axis=-1, keepdims=True)
    diff_q5 = multiply_by_quantized_multiplier(diff, p.input_multiplier, p.input_left_shift)
    exps = fp.rescale(fp.exp_on_negative_values(diff_q5, INPUT_INTEGER_BITS), 0,
                      ACCUMULATION_INTEGER_BITS)
    sum_of_exps = wrap32(np.where(diff >= p.diff_min, exps, 0).sum(axis=-1, keepdims=True))
    log_sum = fp.log_x_for_x_ge_1(sum_of_exps, ACCUMULATION_INTEGER_BITS, INPUT_INTEGER_BITS)
    adjusted_diff_min = np.maximum(p.diff_min - 1, multiply_by_quantized_multiplier(
        wrap32(log_sum + INT32_MIN), p.reverse_scaling_divisor, p.reverse_scaling_shift))
    out = rounding_divide_by_pot(wrap32(diff_q5 - log_sum),
                                 31 - INPUT_INTEGER_BITS - OUTPUT_INTEGER_BITS) + 127
    return [np.where(diff > adjusted_diff_min, np.clip(out, -128, 127), -128).astype(np.int8)]


@kernel("LOG_SOFTMAX", "float32")
def log_softmax_float(call):
    x = call.inputs[0].astype(np.float32)
    shifted = x - x.max(axis=-1, keepdims=True)
    with np.errstate(over="ignore", invalid="ignore"):
        total = np.exp(shifted.astype(np.float64)).sum(axis=-1, keepdims=True)
        log_sum = np.log(total).astype(np.float32)
    return [(shifted - log_sum).astype(np.float32)]
