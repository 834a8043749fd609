"""DEPTHWISE_CONV_2D: NHWC input, ``[1, KH, KW, C*M]`` weights, optional bias, fused activation.

Output channel ``c * M + m`` filters input channel ``c`` with weight column ``c * M + m``
(``M`` = ``depth_multiplier``). int8 follows TFLite Micro's
``reference_integer_ops::DepthwiseConvPerChannel``: int32 sums of ``(x - input_zp) * w`` over
the taps inside the image (the weight zero point is ignored), plus bias, per-channel
``MultiplyByQuantizedMultiplier`` with conv's multipliers, plus output zero point, clamped.
"""

from __future__ import annotations

import numpy as np

from edgec.errors import EdgecError
from edgec.ir.ops._requant import (check_symmetric_int16, optional_bias, requantize_int8,
                                   requantize_int16)
from edgec.ir.ops._window import patches, window_output_shape
from edgec.ir.ops.conv_2d import WINDOW_ATTRS
from edgec.ir.quant import apply_float_activation, conv_multipliers, wrap32
from edgec.ir.registry import Channels, define_op, kernel


def _check_channels(node, x_shape, w_shape) -> int:
    m = node.attrs["depth_multiplier"]
    if w_shape[0] != 1 or w_shape[3] != x_shape[3] * m:
        raise EdgecError(
            f"node '{node.name}' (DEPTHWISE_CONV_2D): weights {list(w_shape)} do not fit "
            f"{x_shape[3]} input channels with depth_multiplier {m}",
            "depthwise weights are [1, KH, KW, channels * depth_multiplier]")
    return m


def _shape(node, ins):
    x, w = ins[0], ins[1]
    _check_channels(node, x.shape, w.shape)
    return [window_output_shape(x.shape, w.shape[1:3], node.attrs["strides"],
                                node.attrs["dilations"],
                                node.attrs["pads"], w.shape[3])]


def _macs(node, ins, outs):
    w = ins[1]
    return outs[0].size * w.shape[1] * w.shape[2]


define_op("DEPTHWISE_CONV_2D", attrs={**WINDOW_ATTRS, "depth_multiplier": 1},
          infer_shapes=_shape, macs=_macs,
          doc="depthwise 2-D convolution, NHWC x [1,KH,KW,C*M] -> NHWC; inputs (x, w, bias?)",
          channels=Channels.DEPTHWISE, weight_axis=3, int4_weights=True, min_inputs=2,
          ranks=(4, 4), requantizes=True, ternary_weights=True,
          dtypes=("float32", "int8", "int16"))


def _expanded_windows(call, fill) -> np.ndarray:
    """``[N, OH, OW, KH, KW, C*M]`` windows, input channel ``c`` repeated for each ``m``."""
    a = call.attrs
    x, w = call.inputs[0], call.inputs[1]
    m = _check_channels(call.node, x.shape, w.shape)
    cols = patches(x, w.shape[1:3], a["strides"], a["dilations"],
                   a["pads"], fill)
    return cols[..., np.repeat(np.arange(x.shape[3]), m)]


@kernel("DEPTHWISE_CONV_2D", "int8")
def depthwise_conv_2d_int8(call):
    x_q, w_q, y_q = call.in_q(0), call.in_q(1), call.out_q()
    w, bias = call.inputs[1], optional_bias(call)
    # Padding taps hold input_zp, so they add nothing once the offset is removed.
    cols = _expanded_windows(call, x_q.zp).astype(np.int64) - x_q.zp
    acc = wrap32(np.einsum("nhwijc,ijc->nhwc", cols, w[0].astype(np.int64)))
    if bias is not None:
        acc = wrap32(acc + bias.astype(np.int64))
    mult, shift = conv_multipliers(x_q.s, w_q.scale, y_q.s)
    return [requantize_int8(acc, mult, shift, y_q, call.attrs["activation"])]


@kernel("DEPTHWISE_CONV_2D", "int16")
def depthwise_conv_2d_int16(call):
    """16x8: as CONV_2D's int16 kernel with an int64 accumulator. A missing or int32 bias is
    refused, as LiteRT refuses it (TFLM reads an int32 one as int64 and crashes without)."""
    x_q, w_q, y_q = call.in_q(0), call.in_q(1), call.out_q()
    check_symmetric_int16(call.node, x_q, y_q)
    w, bias = call.inputs[1], optional_bias(call)
    if bias is None or bias.dtype != np.int64:
        found = "missing" if bias is None else bias.dtype
        raise EdgecError(f"DEPTHWISE_CONV_2D '{call.node.name}': a 16x8 depthwise convolution "
                         f"needs an int64 bias, this one is {found}",
                         "convert with TFLite's 16x8 mode defaults (int64 bias)")
    cols = _expanded_windows(call, x_q.zp).astype(np.int64) - x_q.zp
    acc = np.einsum("nhwijc,ijc->nhwc", cols, w[0].astype(np.int64))
    if bias is not None:
        acc = acc + bias.astype(np.int64)
    mult, shift = conv_multipliers(x_q.s, w_q.scale, y_q.s)
    return [requantize_int16(acc, mult, shift, y_q, call.attrs["activation"], True)]


@kernel("DEPTHWISE_CONV_2D", "float32")
def depthwise_conv_2d_float(call):
    w, bias = call.inputs[1], optional_bias(call)
    cols = _expanded_windows(call, 0.0).astype(np.float64)
    acc = np.einsum("nhwijc,ijc->nhwc", cols, w[0].astype(np.float64))
    if bias is not None:
        acc = acc + bias.astype(np.float64)
    return [apply_float_activation(acc.astype(np.float32), call.attrs["activation"])]
