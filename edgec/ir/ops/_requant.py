"""The int8 output stage shared by convolution-like kernels (conv, depthwise, fully connected):
int32 accumulator -> ``MultiplyByQuantizedMultiplier`` -> + output zero point -> fused clamp."""

from __future__ import annotations

import numpy as np

from edgec.ir.int16 import requantize_conv_int16
from edgec.ir.quant import activation_range, multiply_by_quantized_multiplier


def requantize_int8(acc: np.ndarray, multiplier, shift, out_q, activation: str) -> np.ndarray:
    """Scale int32 accumulators (last axis = channel when per-channel) to clamped int8."""
    out = multiply_by_quantized_multiplier(acc, multiplier, shift) + out_q.zp
    lo, hi = activation_range(activation, out_q.s, out_q.zp)
    return np.clip(out, lo, hi).astype(np.int8)


def requantize_int16(acc: np.ndarray, multiplier, shift, out_q, activation: str,
                     accumulate_int64: bool) -> np.ndarray:
    """The 16x8 output stage: accumulators (bias added) -> int16, clamped by the fused
    activation (``edgec.ir.int16.requantize_conv_int16``; the zero point is 0)."""
    out = requantize_conv_int16(acc, multiplier, shift, accumulate_int64) + out_q.zp
    lo, hi = activation_range(activation, out_q.s, out_q.zp, "int16")
    return np.clip(out, lo, hi).astype(np.int16)


def check_symmetric_int16(node, in_q, out_q) -> None:
    """16x8 CONV_2D and DEPTHWISE_CONV_2D: TFLM's int16 kernels ignore the zero points (LiteRT
    requires them to be 0), so a non-zero one is refused rather than guessed."""
    from edgec.errors import EdgecError

    if in_q.zp != 0 or out_q.zp != 0:
        raise EdgecError(f"{node.op} '{node.name}': 16x8 zero points must be 0, found input "
                         f"{in_q.zp} and output {out_q.zp}",
                         "int16 activations are symmetric in TFLite's 16x8 mode")


def int64_accumulator(call) -> bool:
    """Whether a 16x8 conv-like node accumulates in int64: TFLM does unless its bias is int32."""
    bias = optional_bias(call)
    return bias is None or bias.dtype != np.int32


def optional_bias(call) -> np.ndarray | None:
    """The third input of a conv-like node, or None when absent."""
    return call.inputs[2] if len(call.inputs) > 2 else None
