"""CONV_2D: NHWC input, OHWI weights, optional bias, fused activation.

int8 follows TFLite Micro's ``reference_integer_ops::ConvPerChannel``: int32 accumulation of
``(x - input_zp) * w`` (the weight zero point is ignored: TFLite weights are symmetric), plus
bias, per-channel ``MultiplyByQuantizedMultiplier``, plus output zero point, clamped by the
fused activation.
Padding taps contribute nothing (they are skipped, which equals padding with input_zp).

int16 (16x8: int16 activations, int8 weights) follows the same kernel with an int64
accumulator and int64 bias, requantized by the int64 ``MultiplyByQuantizedMultiplier``
(``edgec.ir.int16``); with an int32 bias TFLM accumulates in int32 and uses the int32 form.

Grouped convolution (TFLM's ``groups = input_depth / filter_input_depth``): weights
``[O, KH, KW, I / G]``; output channel ``o`` reads input channels ``g * I / G ..`` of its
group ``g = o / (O / G)``. ``G = 1`` is the plain convolution.
"""

from __future__ import annotations

import numpy as np

from edgec.ir.ops._requant import (check_symmetric_int16, int64_accumulator, optional_bias,
                                   requantize_int8, requantize_int16)
from edgec.ir.ops._window import patches, window_output_shape
from edgec.ir.quant import apply_float_activation, conv_multipliers, wrap32
from edgec.ir.registry import Channels, define_op, kernel

WINDOW_ATTRS = {"strides": (1, 1), "dilations": (1, 1), "pads": (0, 0, 0, 0), "activation": "NONE"}


def _shape(node, ins):
    x, w = ins[0], ins[1]
    return [window_output_shape(x.shape, w.shape[1:3], node.attrs["strides"],
                                node.attrs["dilations"],
                                node.attrs["pads"], w.shape[0])]


def _macs(node, ins, outs):
    w = ins[1]
    return outs[0].size * w.shape[1] * w.shape[2] * w.shape[3]


define_op("CONV_2D", attrs=dict(WINDOW_ATTRS), infer_shapes=_shape, macs=_macs,
          doc="2-D convolution, NHWC x OHWI -> NHWC; inputs (x, weights, bias?); "
              "filters of I / G channels make G groups",
          channels=Channels.LAYER, weight_axis=0, int4_weights=True, min_inputs=2,
          ranks=(4, 4), requantizes=True, ternary_weights=True,
          dtypes=("float32", "int8", "int16"))


def groups_of(x_channels: int, w_channels: int) -> int:
    """The number of groups of a CONV_2D reading ``x_channels`` with ``w_channels``-deep
    filters."""
    return x_channels // w_channels


def _grouped_sums(cols: np.ndarray, w: np.ndarray) -> np.ndarray:
    """float64 ``[N*OH*OW, O]`` window sums; ``cols`` is ``[N*OH*OW, KH, KW, I]``."""
    groups = groups_of(cols.shape[-1], w.shape[3])
    per_in, per_out = w.shape[3], w.shape[0] // groups
    parts = []
    for g in range(groups):
        c = cols[..., g * per_in:(g + 1) * per_in].reshape(cols.shape[0], -1)
        wg = w[g * per_out:(g + 1) * per_out].reshape(per_out, -1).astype(np.float64)
        parts.append(c @ wg.T)
    return np.concatenate(parts, axis=1)


def _windows(call, fill):
    a = call.attrs
    w = call.inputs[1]
    return patches(call.inputs[0], w.shape[1:3], a["strides"],
                   a["dilations"], a["pads"], fill)


@kernel("CONV_2D", "int8")
def conv_2d_int8(call):
    x_q, w_q, y_q = call.in_q(0), call.in_q(1), call.out_q()
    w, bias = call.inputs[1], optional_bias(call)
    cols = _windows(call, x_q.zp).astype(np.float64) - x_q.zp
    n, oh, ow = cols.shape[:3]
    # float64 matmul is exact here: |products| < 2**15 and far fewer than 2**38 terms.
    acc = _grouped_sums(cols.reshape(n * oh * ow, *cols.shape[3:]), w)
    acc = wrap32(acc.astype(np.int64))
    if bias is not None:
        acc = wrap32(acc + bias.astype(np.int64))
    mult, shift = conv_multipliers(x_q.s, w_q.scale, y_q.s)
    out = requantize_int8(acc, mult, shift, y_q, call.attrs["activation"])
    return [out.reshape(n, oh, ow, w.shape[0])]


@kernel("CONV_2D", "int16")
def conv_2d_int16(call):
    x_q, w_q, y_q = call.in_q(0), call.in_q(1), call.out_q()
    check_symmetric_int16(call.node, x_q, y_q)
    w, bias = call.inputs[1], optional_bias(call)
    cols = _windows(call, x_q.zp).astype(np.float64) - x_q.zp
    n, oh, ow = cols.shape[:3]
    # float64 is exact: |products| < 2**22 and far fewer than 2**31 terms.
    acc = _grouped_sums(cols.reshape(n * oh * ow, *cols.shape[3:]), w).astype(np.int64)
    if bias is not None:
        acc = acc + bias.astype(np.int64)
    mult, shift = conv_multipliers(x_q.s, w_q.scale, y_q.s)
    out = requantize_int16(acc, mult, shift, y_q, call.attrs["activation"],
                           int64_accumulator(call))
    return [out.reshape(n, oh, ow, w.shape[0])]


@kernel("CONV_2D", "float32")
def conv_2d_float(call):
    w, bias = call.inputs[1], optional_bias(call)
    cols = _windows(call, 0.0).astype(np.float64)
    n, oh, ow = cols.shape[:3]
    acc = _grouped_sums(cols.reshape(n * oh * ow, *cols.shape[3:]), w)
    if bias is not None:
        acc = acc + bias.astype(np.float64)
    out = acc.astype(np.float32).reshape(n, oh, ow, w.shape[0])
    return [apply_float_activation(out, call.attrs["activation"])]
