"""TANH, elementwise.

int8 follows TFLite Micro's ``reference_integer_ops::Tanh``: ``x - zero_point`` is mapped to
Q4.27 as for LOGISTIC; inputs at or beyond the range radius saturate to -128 / 127; otherwise
gemmlowp's ``tanh`` gives a Q0.31 result, rounded to 1/128 steps. TFLM takes the output to be
scale 1/128, zero point 0 without checking it; so does this kernel.

Float: ``std::tanh`` in float32.
"""

from __future__ import annotations

import numpy as np

from edgec.ir import fixedpoint as fp
from edgec.ir.quant import multiply_by_quantized_multiplier, rounding_divide_by_pot
from edgec.ir.registry import Channels, Ptq, define_op, kernel

define_op("TANH", infer_shapes=lambda node, ins: [ins[0].shape], doc="elementwise tanh",
          elementwise=True, channels=Channels.SAME, ptq=Ptq.FIXED, fixed_quant=(1.0 / 128.0, 0),
          requantizes=True)


@kernel("TANH", "int8")
def tanh_int8(call):
    mult, shift, radius = fp.q4_input_params(call.in_q(0).s)
    x = call.inputs[0].astype(np.int64) - call.in_q(0).zp
    q4 = multiply_by_quantized_multiplier(x, mult, shift)
    y = np.clip(rounding_divide_by_pot(fp.tanh(q4, 4), 31 - 7), -128, 127)
    y = np.where(x <= -radius, -128, np.where(x >= radius, 127, y))
    return [y.astype(np.int8)]


@kernel("TANH", "float32")
def tanh_float(call):
    return [np.tanh(call.inputs[0].astype(np.float32)).astype(np.float32)]
