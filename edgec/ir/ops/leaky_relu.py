"""LEAKY_RELU, elementwise: ``x`` where ``x > 0``, else ``alpha * x``.

int8 follows TFLite Micro's ``reference_ops::QuantizeLeakyRelu`` with its Prepare-time
parameters (``leaky_relu_common.cc``): two multipliers, ``s_in / s_out`` (identity) and
``s_in * alpha / s_out`` (alpha), both computed in float32 and quantized by
``QuantizeMultiplier``. ``x - zp_in`` takes the identity multiplier when it is >= 0, the
alpha multiplier otherwise (``MultiplyByQuantizedMultiplier``), plus ``zp_out``, clamped.

Float: ``x > 0 ? x : x * alpha`` in float32 (TFLite's reference).
"""

from __future__ import annotations

import numpy as np

from edgec.ir.quant import multiply_by_quantized_multiplier, quantize_multiplier
from edgec.ir.registry import REQUIRED, Channels, define_op, kernel

define_op("LEAKY_RELU", attrs={"alpha": REQUIRED}, infer_shapes=lambda node, ins: [ins[0].shape],
          doc="elementwise x > 0 ? x : alpha * x", elementwise=True, channels=Channels.SAME,
          requantizes=True)


def leaky_relu_params(in_scale: float, out_scale: float, alpha: float):
    """TFLM's (identity multiplier, shift, alpha multiplier, shift)."""
    s_in, s_out = np.float32(in_scale), np.float32(out_scale)
    identity = quantize_multiplier(float(s_in / s_out))
    scaled = quantize_multiplier(float(s_in * np.float32(alpha) / s_out))
    return (*identity, *scaled)


@kernel("LEAKY_RELU", "int8")
def leaky_relu_int8(call):
    in_q, out_q = call.in_q(0), call.out_q()
    id_m, id_s, al_m, al_s = leaky_relu_params(in_q.s, out_q.s, call.node.attrs["alpha"])
    x = call.inputs[0].astype(np.int64) - in_q.zp
    out = np.where(x >= 0, multiply_by_quantized_multiplier(x, id_m, id_s),
                   multiply_by_quantized_multiplier(x, al_m, al_s)) + out_q.zp
    return [np.clip(out, -128, 127).astype(np.int8)]


@kernel("LEAKY_RELU", "float32")
def leaky_relu_float(call):
    x = call.inputs[0].astype(np.float32)
    return [np.where(x > 0, x, x * np.float32(call.node.attrs["alpha"])).astype(np.float32)]
