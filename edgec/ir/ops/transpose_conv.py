"""TRANSPOSE_CONV: the gradient of a strided CONV_2D, NHWC input, OHWI weights, optional bias.

Input pixel ``(iy, ix)`` adds ``x[iy, ix, :] @ w[o, ky, kx, :]`` to output pixel
``(iy * sh + ky * dh - top, ix * sw + kx * dw - left)`` for every tap ``(ky, kx)``; taps that
land outside the output add nothing. ``pads`` = (top, left, bottom, right) crop the full
``((H - 1) * sh + (KH - 1) * dh + 1, ...)`` result (dilations: ONNX only); ``output_padding`` (rows, columns) then
adds rows and columns at the bottom and right that no tap reaches (ONNX's attribute; TFLite
output shapes past the full result): they get only the bias.

int8 follows TFLite Micro's ``reference_integer_ops::TransposeConv``: ``(x - input_zp) * w``
summed in int32 (weights symmetric, zero point ignored), plus the int32 bias, per-channel
``MultiplyByQuantizedMultiplier`` with the multipliers of CONV_2D
(``PopulateConvolutionQuantizationParams``), plus output zero point, clamped by the fused
activation. Integer sums do not depend on their order, so the scatter above and a gather
(what the C kernel does) agree bit for bit.

Float: the same sums in float64 rounded once to float32, plus bias, fused clamp (TFLite sums
in float32 in scatter order: the results agree within float rounding).
"""

from __future__ import annotations

import numpy as np

from edgec.ir.ops._requant import optional_bias, requantize_int8
from edgec.ir.quant import apply_float_activation, conv_multipliers, wrap32
from edgec.ir.registry import define_op, kernel

ATTRS = {"strides": (1, 1), "dilations": (1, 1), "pads": (0, 0, 0, 0), "output_padding": (0, 0),
         "activation": "NONE"}


def transpose_conv_out_size(size: int, kernel: int, stride: int, before: int, after: int,
                            extra: int = 0, dilation: int = 1) -> int:
    """Output length along one axis: the full ``(size - 1) * stride + (kernel - 1) *
    dilation + 1`` less the pads, plus ``extra`` (output padding)."""
    return (size - 1) * stride + (kernel - 1) * dilation + 1 - before - after + extra


def _shape(node, ins):
    x, w = ins[0], ins[1]
    (sh, sw), (top, left, bottom, right) = node.attrs["strides"], node.attrs["pads"]
    (eh, ew), (dh, dw) = node.attrs["output_padding"], node.attrs["dilations"]
    return [(x.shape[0],
             transpose_conv_out_size(x.shape[1], w.shape[1], sh, top, bottom, eh, dh),
             transpose_conv_out_size(x.shape[2], w.shape[2], sw, left, right, ew, dw),
             w.shape[0])]


def _macs(node, ins, outs):
    x, w = ins[0], ins[1]
    return int(np.prod(x.shape[:3])) * w.shape[0] * w.shape[1] * w.shape[2] * w.shape[3]


define_op("TRANSPOSE_CONV", attrs=dict(ATTRS), infer_shapes=_shape, macs=_macs,
          doc="transposed 2-D convolution, NHWC x OHWI -> NHWC; inputs (x, weights, bias?); "
              "pads (top, left, bottom, right) crop the full result, output_padding (rows, "
              "columns) extends it at the bottom and right",
          weight_axis=0, min_inputs=2, ranks=(4, 4), requantizes=True)


def scatter_sum(x: np.ndarray, w: np.ndarray, attrs, out_hw) -> np.ndarray:
    """float64 ``[N, OH, OW, O]`` sums of ``x`` (NHWC, float64) scattered through OHWI ``w``."""
    n, h, wd, _ = x.shape
    o, kh, kw, _ = w.shape
    (sh, sw), (dh, dw), (top, left) = attrs["strides"], attrs["dilations"], attrs["pads"][:2]
    full_h = max((h - 1) * sh + (kh - 1) * dh + 1, top + out_hw[0])
    full_w = max((wd - 1) * sw + (kw - 1) * dw + 1, left + out_hw[1])
    full = np.zeros((n, full_h, full_w, o), np.float64)
    for ky in range(kh):
        for kx in range(kw):
            tap = x @ w[:, ky, kx, :].astype(np.float64).T
            y0, x0 = ky * dh, kx * dw
            full[:, y0:y0 + (h - 1) * sh + 1:sh, x0:x0 + (wd - 1) * sw + 1:sw, :] += tap
    return full[:, top:top + out_hw[0], left:left + out_hw[1], :]


@kernel("TRANSPOSE_CONV", "int8")
def transpose_conv_int8(call):
    x_q, w_q, y_q = call.in_q(0), call.in_q(1), call.out_q()
    w, bias = call.inputs[1], optional_bias(call)
    out_hw = call.out_tensors[0].shape[1:3]
    # float64 is exact: |products| < 2**15 and far fewer than 2**38 of them per output.
    x = call.inputs[0].astype(np.float64) - x_q.zp
    acc = wrap32(scatter_sum(x, w, call.attrs, out_hw)
                 .astype(np.int64))
    if bias is not None:
        acc = wrap32(acc + bias.astype(np.int64))
    mult, shift = conv_multipliers(x_q.s, w_q.scale, y_q.s)
    return [requantize_int8(acc, mult, shift, y_q, call.attrs["activation"])]


@kernel("TRANSPOSE_CONV", "float32")
def transpose_conv_float(call):
    w, bias = call.inputs[1], optional_bias(call)
    out_hw = call.out_tensors[0].shape[1:3]
    acc = scatter_sum(call.inputs[0].astype(np.float64), w, call.attrs, out_hw)
    if bias is not None:
        acc = acc + bias.astype(np.float64)
    return [apply_float_activation(acc.astype(np.float32), call.attrs["activation"])]
