"""PRELU, elementwise: ``x`` where ``x >= 0``, else ``alpha * x``; ``alpha`` (input 1) is a
tensor broadcast to ``x`` (numpy rules), usually one slope per channel.

int8 follows TFLite Micro's ``reference_ops::BroadcastPrelu4DSlow`` with the parameters its
Prepare computes (``prelu_common.cc``): ``QuantizeMultiplier(s_in / s_out)`` for the identity
and ``QuantizeMultiplier(s_in * s_alpha / s_out)`` for the slope, both reals in double. With
``v = x - zp_in``: ``v >= 0`` gives ``MBQM(v, identity)``, else
``MBQM(v * (alpha - zp_alpha), slope)``; plus ``zp_out``, clamped to int8.

Float: ``x >= 0 ? x : x * alpha`` in float32 (TFLite's reference; ONNX's ``PRelu`` agrees).
"""

from __future__ import annotations

import numpy as np

from edgec.ir.ops.elementwise import _shape
from edgec.ir.quant import multiply_by_quantized_multiplier, quantize_multiplier
from edgec.ir.registry import Channels, define_op, kernel

define_op("PRELU", infer_shapes=_shape, min_inputs=2, elementwise=True, requantizes=True,
          channels=Channels.CONST_OPERAND,
          doc="elementwise x >= 0 ? x : alpha * x, alpha (input 1) broadcast to x")


def prelu_params(in_scale: float, alpha_scale: float, out_scale: float):
    """TFLM's (identity multiplier, shift, slope multiplier, shift), reals in double."""
    s_in, s_a, s_out = (float(np.float32(s)) for s in (in_scale, alpha_scale, out_scale))
    return (*quantize_multiplier(s_in / s_out), *quantize_multiplier(s_in * s_a / s_out))


@kernel("PRELU", "int8")
def prelu_int8(call):
    in_q, a_q, out_q = call.in_q(0), call.in_q(1), call.out_q()
    id_m, id_s, al_m, al_s = prelu_params(in_q.s, a_q.s, out_q.s)
    x = call.inputs[0].astype(np.int64) - in_q.zp
    alpha = call.inputs[1].astype(np.int64) - a_q.zp
    x, alpha = np.broadcast_arrays(x, alpha)
    out = np.where(x >= 0, multiply_by_quantized_multiplier(x, id_m, id_s),
                   multiply_by_quantized_multiplier(x * alpha, al_m, al_s)) + out_q.zp
    return [np.clip(out, -128, 127).astype(np.int8)]


@kernel("PRELU", "float32")
def prelu_float(call):
    x, alpha = (v.astype(np.float32) for v in call.inputs[:2])
    return [np.where(x >= 0, x, x * alpha).astype(np.float32)]
