"""MY_OP, elementwise: what it computes, in one line.

int8 follows TFLite Micro's ``reference_integer_ops::MyOp`` with the parameters its Prepare
computes (name them: multipliers, shifts, which divisions are float32 and which double).
Float: the formula, in float32, in TFLite's order of operations.

This file is the template of docs/ADDING_AN_OP.md; modules starting with ``_`` are not
imported, so it registers nothing. Copy it to ``my_op.py`` and replace every MY_OP.
"""

from __future__ import annotations

import numpy as np

from edgec.ir.registry import Channels, Ptq, define_op, kernel

define_op(
    "MY_OP",
    attrs={},  # name -> default, or REQUIRED; nodes get the defaults when they are made
    infer_shapes=lambda node, ins: [ins[0].shape],
    doc="elementwise my_op(x)",
    elementwise=True,  # output element i from input element i only
    channels=Channels.SAME,  # channel c of the output comes from channel c of input 0
    ptq=Ptq.CALIBRATE,  # or FIXED with fixed_quant=(scale, zero_point), SAME_AS_INPUT, ...
)


@kernel("MY_OP", "int8")
def my_op_int8(call):
    in_q, out_q = call.in_q(0), call.out_q()
    x = call.inputs[0].astype(np.int64) - in_q.zp
    y = x  # the fixed-point steps of the TFLM kernel, vectorized
    return [np.clip(y + out_q.zp, -128, 127).astype(np.int8)]


@kernel("MY_OP", "float32")
def my_op_float(call):
    return [call.inputs[0].astype(np.float32)]
