"""TRANSPOSE_CONV, int8 and float32, as a stride-1 convolution the CONV_2D rule already builds.

A transposed convolution is a plain convolution of the input spread out by the strides
(``s - 1`` empty rows and columns between pixels), padded by ``(K - 1) * d - pad`` and read by
the flipped (dilated) filter: output ``(oy, ox)`` gathers the input pixels whose taps land on it, which is
the scatter of the reference kernel read backwards. The spread input is a stage named ``pad``
(inlined like CONV_2D's padding): empty positions hold the "nothing" of the kernel (the input
zero point in int8, whose folded bias makes them contribute 0, as in CONV_2D; 0.0 in float).
The flipped weights are a derived constant ``<func>_w``; everything after the window sum
(bias folding, per-channel requantization, the fused clamp) is CONV_2D's, stage for stage.

Every output position still visits all ``KH * KW`` taps, most of them empty when the stride
is above 1: simple and exact, ``sh * sw`` times the MACs of the scatter.
"""

from __future__ import annotations

import numpy as np

from edgec.lower import consts
from edgec.lower.registry import Built, KernelPlan, Param, lowering_rule
from edgec.lower.rules._te import (clamp_float, const_param, named_constants, placeholder,
                                   requantized_int8, sum_fits_int32)
from edgec.lower.rules.conv import _schedule, _window_sum, accumulator_dtype
from edgec.lower.te_quant import fast_form


def _geometry(ctx):
    x, w, y = ctx.ins[0], ctx.ins[1], ctx.outs[0]
    return dict(x=x.shape, w=w.shape, y=y.shape, strides=(1, 1),
                dilations=tuple(ctx.attrs["dilations"]),
                depthwise=False, multiplier=1, up_strides=tuple(ctx.attrs["strides"]),
                pads=tuple(ctx.attrs["pads"]))


def _flipped(ctx) -> np.ndarray:
    """OHWI weights turned by 180 degrees in the window: the gather reads taps backwards."""
    return np.ascontiguousarray(consts.constant_input(ctx, 1, "weights")[:, ::-1, ::-1, :])


def _spread(g, x, fill, dtype: str):
    """The stage ``pad``: ``x`` spread by the strides and padded so that a stride-1 window
    of the flipped filter at output ``(oy, ox)`` covers exactly the pixels it gathers."""
    from tvm import te, tirx

    n, h, w, c = g["x"]
    _, kh, kw, _ = g["w"]
    (sh, sw), (top, left) = g["up_strides"], g["pads"][:2]
    (dh, dw) = g["dilations"]
    shape = (n, g["y"][1] + (kh - 1) * dh, g["y"][2] + (kw - 1) * dw, c)

    def axis(i, size, span, stride, before):
        u = i + (before - span)
        inside = tirx.all(tirx.likely(u >= 0), tirx.likely(u < (size - 1) * stride + 1))
        if stride > 1:
            inside = tirx.all(inside, tirx.floormod(u, stride) == 0)
        return inside, tirx.floordiv(u, stride) if stride > 1 else u

    def value(b, i, j, k):
        (ok_i, ii), (ok_j, jj) = (axis(i, h, (kh - 1) * dh, sh, top),
                                  axis(j, w, (kw - 1) * dw, sw, left))
        return tirx.if_then_else(tirx.all(ok_i, ok_j), x[b, ii, jj, k].astype(dtype), fill())

    return te.compute(shape, value, name="pad")


@lowering_rule("TRANSPOSE_CONV", "int8")
def transpose_conv_int8(ctx) -> KernelPlan:
    """int8 TRANSPOSE_CONV (TFLM ``reference_integer_ops::TransposeConv``)."""
    g = _geometry(ctx)
    w = _flipped(ctx)
    bias = consts.constant_input(ctx, 2, "bias")
    channels = g["y"][3]
    sums = w.astype(np.int64).reshape(channels, -1).sum(axis=1)
    quant = consts.conv_requant(ctx, channels)
    constants = {"w": w.astype(np.int8),
                 "bias": consts.folded_bias(bias, sums, int(quant["params"][0])), **quant}
    window = int(np.prod(g["w"][1:]))
    acc_dtype = accumulator_dtype(window)
    form = None
    if acc_dtype == "int32" and sum_fits_int32(window << 14, constants["bias"]):
        form = fast_form(quant["mult"], quant["shift"])

    def build() -> Built:
        x = placeholder(g["x"], "int8", "x")
        wt = placeholder(g["w"], "int8", "w")
        b, mult, shift = (placeholder((channels,), "int32", n) for n in ("bias", "mult", "shift"))
        prm = placeholder((4,), "int32", "params")
        xs = _spread(g, x, lambda: prm[0].astype(acc_dtype), acc_dtype)
        acc = _window_sum(g, xs, lambda *i: wt(*i), acc_dtype)
        y, stages = requantized_int8(acc, b, mult, shift, prm, 3, form)
        return Built([x, wt, b, mult, shift, prm, y], _schedule(stages, g))

    params = [Param("x", ctx.node.inputs[0]), const_param(ctx, "w")]
    params += [const_param(ctx, role) for role in ("bias", "mult", "shift", "params")]
    params.append(Param("y", ctx.node.outputs[0]))
    return KernelPlan(params, named_constants(ctx, constants), build=build,
                      key=(acc_dtype, form))


@lowering_rule("TRANSPOSE_CONV", "float32")
def transpose_conv_float(ctx) -> KernelPlan:
    """float32 TRANSPOSE_CONV, float32 accumulation."""
    g = _geometry(ctx)
    channels = g["y"][3]
    bias = consts.constant_input(ctx, 2, "bias")
    bias = np.zeros(channels, np.float32) if bias is None else bias.astype(np.float32)
    bounds = consts.activation_bounds(ctx.attrs["activation"])

    def build() -> Built:
        from tvm import te, tirx

        x = placeholder(g["x"], "float32", "x")
        wt = placeholder(g["w"], "float32", "w")
        b = placeholder((channels,), "float32", "bias")
        xs = _spread(g, x, lambda: tirx.const(0.0, "float32"), "float32")
        acc = _window_sum(g, xs, lambda *i: wt(*i), "float32")
        y = te.compute(g["y"], lambda *i: clamp_float(acc(*i) + b[i[3]], bounds), name="y")
        return Built([x, wt, b, y], _schedule([], g))

    params = [Param("x", ctx.node.inputs[0]), const_param(ctx, "w"), const_param(ctx, "bias"),
              Param("y", ctx.node.outputs[0])]
    constants = {"w": _flipped(ctx).astype(np.float32), "bias": bias}
    return KernelPlan(params, named_constants(ctx, constants), build=build)
