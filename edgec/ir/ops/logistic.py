"""LOGISTIC: 1 / (1 + exp(-x)), elementwise.

int8 follows TFLite Micro's ``reference_integer_ops::Logistic``: ``x - zero_point`` is mapped
to Q4.27 (``MultiplyByQuantizedMultiplier`` with the Prepare-time multiplier); inputs at or
beyond the range radius saturate to -128 / 127; otherwise gemmlowp's ``logistic`` gives a
Q0.31 result, rounded to 1/256 steps and offset by -128. TFLM requires output zero point -128
and takes the output scale to be 1/256 without checking it; so does this kernel.

int16 follows ``reference_integer_ops::Logistic`` on int16: the input scaled to 1/(3 * 4096)
steps, then TFLite's sigmoid table interpolated (``edgec.ir.int16``); output Q0.15.

Float follows TFLM's ``reference_ops::Logistic``: 1 above 16.619047, exp(x) below -9,
else 1 / (1 + exp(-x)), in float32.
"""

from __future__ import annotations

import numpy as np

from edgec.errors import EdgecError
from edgec.ir import fixedpoint as fp
from edgec.ir import int16
from edgec.ir.quant import multiply_by_quantized_multiplier, rounding_divide_by_pot
from edgec.ir.registry import Channels, Ptq, define_op, kernel

define_op("LOGISTIC", infer_shapes=lambda node, ins: [ins[0].shape],
          doc="elementwise sigmoid 1 / (1 + exp(-x))", elementwise=True,
          channels=Channels.SAME, ptq=Ptq.FIXED, fixed_quant=(1.0 / 256.0, -128),
          requantizes=True, fixed_quant_int16=(1.0 / 32768.0, 0),
          dtypes=("float32", "int8", "int16"))

_CUTOFF_UPPER = np.float32(16.619047164916992188)
_CUTOFF_LOWER = np.float32(-9.0)


@kernel("LOGISTIC", "int8")
def logistic_int8(call):
    out_q = call.out_q()
    if out_q is None or out_q.zp != -128:
        raise EdgecError(f"LOGISTIC '{call.node.name}' output quantization is {out_q}; "
                         "TFLite Micro requires zero point -128 (scale 1/256)",
                         "requantize the model's logistic output")
    mult, shift, radius = fp.q4_input_params(call.in_q(0).s)
    x = call.inputs[0].astype(np.int64) - call.in_q(0).zp
    q4 = multiply_by_quantized_multiplier(x, mult, shift)
    y = rounding_divide_by_pot(fp.logistic(q4, 4), 31 - 8) - 128
    y = np.clip(y, -128, 127)
    y = np.where(x <= -radius, -128, np.where(x >= radius, 127, y))
    return [y.astype(np.int8)]


@kernel("LOGISTIC", "int16")
def logistic_int16(call):
    int16.check_q015(call.node, call.in_q(0), call.out_q())
    mult, shift = int16.lut_input_params(call.in_q(0).s, (0,))
    return [int16.logistic_int16(call.inputs[0], mult, shift)]


@kernel("LOGISTIC", "float32")
def logistic_float(call):
    x = call.inputs[0].astype(np.float32)
    # Both branches are computed everywhere; exp overflows only where it is not selected.
    with np.errstate(over="ignore"):
        middle = np.float32(1) / (np.float32(1) + np.exp(-x))
        y = np.where(x > _CUTOFF_UPPER, np.float32(1),
                     np.where(x < _CUTOFF_LOWER, np.exp(x), middle))
    return [y.astype(np.float32)]
