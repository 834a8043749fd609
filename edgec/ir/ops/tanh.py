"""TANH, elementwise.

int8 follows TFLite Micro's ``reference_integer_ops::Tanh``: ``x - zero_point`` is mapped to
Q4.27 as for LOGISTIC; inputs at or beyond the range radius saturate to -128 / 127; otherwise
gemmlowp's ``tanh`` gives a Q0.31 result, rounded to 1/128 steps. TFLM takes the output to be
scale 1/128, zero point 0 without checking it; so does this kernel.

int16 follows ``reference_integer_ops::Tanh`` on int16: tanh(x) = 2 sigmoid(2x) - 1 from
TFLite's sigmoid table (``edgec.ir.int16``); output Q0.15.

Float: ``std::tanh`` in float32.
"""

from __future__ import annotations

import numpy as np

from edgec.ir import fixedpoint as fp
from edgec.ir import int16
from edgec.ir.quant import multiply_by_quantized_multiplier, rounding_divide_by_pot
from edgec.ir.registry import Channels, Ptq, define_op, kernel

define_op("TANH", infer_shapes=lambda node, ins: [ins[0].shape], doc="elementwise tanh",
          elementwise=True, channels=Channels.SAME, ptq=Ptq.FIXED, fixed_quant=(1.0 / 128.0, 0),
          requantizes=True, fixed_quant_int16=(1.0 / 32768.0, 0),
          dtypes=("float32", "int8", "int16"))


@kernel("TANH", "int8")
def tanh_int8(call):
    mult, shift, radius = fp.q4_input_params(call.in_q(0).s)
    x = call.inputs[0].astype(np.int64) - call.in_q(0).zp
    q4 = multiply_by_quantized_multiplier(x, mult, shift)
    y = np.clip(rounding_divide_by_pot(fp.tanh(q4, 4), 31 - 7), -128, 127)
    y = np.where(x <= -radius, -128, np.where(x >= radius, 127, y))
    return [y.astype(np.int8)]


@kernel("TANH", "int16")
def tanh_int16(call):
    int16.check_q015(call.node, call.in_q(0), call.out_q())
    mult, shift = int16.lut_input_params(call.in_q(0).s, (0, 1))
    return [int16.tanh_int16(call.inputs[0], mult, shift)]


@kernel("TANH", "float32")
def tanh_float(call):
    return [np.tanh(call.inputs[0].astype(np.float32)).astype(np.float32)]
