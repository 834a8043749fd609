"""RELU and RELU6, elementwise.

int8 RELU follows TFLite Micro's ``ReluQuantized``: ``x - input_zp`` is requantized to the
output with ``MultiplyByQuantizedMultiplier`` (real multiplier ``s_in / s_out`` divided in
float32), plus the output zero point, clamped to [max(-128, output_zp), 127].

int8 RELU6 follows TFLM's ``Relu6Quantized``, which does not requantize: the raw input is
clamped to [input_zp, input_zp + round(6 / s_in)] (the upper bound itself clamped to int8).
The output tensor's quantization is not used, exactly as in TFLM.

int16 is the same code in TFLM with int16 bounds.

Float: ``max(x, 0)`` and ``min(max(x, 0), 6)`` with C's comparison semantics.
"""

from __future__ import annotations

import numpy as np

from edgec.ir.quant import multiply_by_quantized_multiplier, quantize_multiplier, tflite_round
from edgec.ir.registry import Channels, define_op, kernel

for _op, _what in (("RELU", "max(x, 0)"), ("RELU6", "min(max(x, 0), 6)")):
    define_op(_op, infer_shapes=lambda node, ins: [ins[0].shape], doc=f"elementwise {_what}",
              elementwise=True, channels=Channels.SAME, dtypes=("float32", "int8", "int16"))


def relu_params(in_q, out_q, dtype: str = "int8") -> tuple[int, int, int]:
    """int8 (int16) RELU's ``(multiplier, shift, act_min)``. The scale ratio is taken in double:
    TFLM's source divides in float32, but the builds we test against behave as double."""
    mult, shift = quantize_multiplier(in_q.s / out_q.s)
    return mult, shift, max(int(np.iinfo(dtype).min), out_q.zp)


def relu6_bounds(in_q, dtype: str = "int8") -> tuple[int, int]:
    """int8 (int16) RELU6's clamp in input units: TFLM's ``FloatToQuantizedType`` of 0 and 6."""
    info = np.iinfo(dtype)
    six = tflite_round(float(np.float32(6.0) / np.float32(in_q.s))) + in_q.zp
    return in_q.zp, min(max(six, int(info.min)), int(info.max))


@kernel("RELU", "int8", "int16")
def relu_int8(call):
    in_q, out_q, dtype = call.in_q(0), call.out_q(), call.out_tensors[0].dtype
    mult, shift, lo = relu_params(in_q, out_q, dtype)
    x = call.inputs[0].astype(np.int64) - in_q.zp
    out = multiply_by_quantized_multiplier(x, mult, shift) + out_q.zp
    return [np.clip(out, lo, np.iinfo(dtype).max).astype(dtype)]


@kernel("RELU6", "int8", "int16")
def relu6_int8(call):
    dtype = call.out_tensors[0].dtype
    lo, hi = relu6_bounds(call.in_q(0), dtype)
    return [np.clip(call.inputs[0], lo, hi).astype(dtype)]


@kernel("RELU", "float32")
def relu_float(call):
    x = call.inputs[0].astype(np.float32)
    return [np.where(x < 0, np.float32(0), x)]


@kernel("RELU6", "float32")
def relu6_float(call):
    x = call.inputs[0].astype(np.float32)
    return [np.where(x > 6, np.float32(6), np.where(x < 0, np.float32(0), x))]
