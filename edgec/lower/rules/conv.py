"""CONV_2D and DEPTHWISE_CONV_2D, int8 and float32: NHWC input, weights as in the IR.

int8: the kernel multiplies raw int8 inputs by the weights, the input zero point being folded
into the bias in Python (``consts.folded_bias``); padding taps hold the input zero point
(a parameter), which makes them contribute nothing, as TFLite skips them. Requantization is
per output channel; scalar parameters are ``params = [input zp, output zp, act min, act max]``.
The accumulator is int32 unless the window is so large that it could overflow (then int64; the
final sum is wrapped to int32 like TFLite's). int4 weights (W4A8) take the same int8 kernel,
reading them packed two per byte (``_int4``).
"""

from __future__ import annotations

import numpy as np

from edgec.errors import EdgecError
from edgec.lower import consts
from edgec.lower.registry import Built, KernelPlan, Param, lowering_rule
from edgec.lower.rules import _int4
from edgec.lower.rules._te import (clamp_float, const_param, int16_accumulator,
                                   int16_requant_params,
                                   int16_requant_plan_parts, named_constants, padded,
                                   placeholder, requantized_int8, requantized_int16,
                                   sum_fits_int32)
from edgec.lower.te_quant import fast_form
from edgec.lower.tir import attach, inline


def accumulator_dtype(window: int) -> str:
    """int32 when ``window`` products of two int8 values (|p| <= 2**14) cannot overflow it."""
    return "int32" if window * (1 << 14) < (1 << 31) else "int64"


def _geometry(ctx, depthwise: bool):
    x, w, y = ctx.ins[0], ctx.ins[1], ctx.outs[0]
    a = ctx.attrs
    return dict(x=x.shape, w=w.shape, y=y.shape, strides=tuple(a["strides"]),
                dilations=tuple(a["dilations"]), pads=tuple(a["pads"]), depthwise=depthwise,
                multiplier=y.shape[3] // x.shape[3] if depthwise else 1)


def _window_sum(g, xpad, w, dtype: str):
    """The accumulator stage ``acc``: sum over the window (and input channels for CONV_2D);
    ``w(o, kh, kw, c)`` reads one weight."""
    from tvm import te

    kh_n, kw_n = g["w"][1], g["w"][2]
    (sh, sw), (dh, dw), m = g["strides"], g["dilations"], g["multiplier"]
    kh, kw = te.reduce_axis((0, kh_n), "kh"), te.reduce_axis((0, kw_n), "kw")
    if g["depthwise"]:
        def tap(n, i, j, o):
            c = o if m == 1 else o // m
            return xpad[n, i * sh + kh * dh, j * sw + kw * dw, c] * w(0, kh, kw, o).astype(dtype)
        return te.compute(g["y"], lambda *i: te.sum(tap(*i), axis=[kh, kw]), name="acc")
    ci = te.reduce_axis((0, g["w"][3]), "ci")
    per_in = g["w"][3]
    per_out = g["y"][3] // (g["x"][3] // per_in)  # output channels per group

    def channel(o):  # the input channel read with ``ci`` by output channel ``o``
        return ci if per_in == g["x"][3] else (o // per_out) * per_in + ci

    def conv_tap(n, i, j, o):
        return xpad[n, i * sh + kh * dh, j * sw + kw * dw, channel(o)] \
            * w(o, kh, kw, ci).astype(dtype)
    return te.compute(g["y"], lambda *i: te.sum(conv_tap(*i), axis=[kh, kw, ci]), name="acc")


def channel_block(g) -> int:
    """Output channels computed together: CONV_2D reads each input value once for this many
    accumulators; DEPTHWISE_CONV_2D channels share no input, so one at a time."""
    if g["depthwise"]:
        return 1
    return next(b for b in (4, 2, 1) if g["y"][3] % b == 0)


def _schedule(stages: list[str], g):
    """Padding inlined (its bound tests are ``likely``, so LoopPartition splits the output rows
    and columns into border and test-free interior loops); ``block`` output channels share
    one pass over the window, their accumulators innermost and unrolled (small window loops
    are unrolled by the pipeline, ``edgec.lower.tir``)."""
    block = channel_block(g)

    def schedule(sch):
        inline(sch, "pad")
        _, oi = sch.split(sch.get_loops(sch.get_sblock("y"))[3], [None, block])
        sch.unroll(oi)
        attach(sch, "y", 4, *stages)
        attach(sch, "y", 3, "acc")
        acc = sch.get_sblock("acc")
        # Below the channel block: its accumulator loop (absent when block is 1), then the
        # window loops (absent when their extent is 1).
        loops = sch.get_loops(acc)[4:]
        if block > 1:
            if len(loops) > 1:
                sch.reorder(*loops[1:], loops[0])
            sch.unroll(loops[0])
        if len(loops) > (block > 1):
            sch.decompose_reduction(acc, sch.get_loops(acc)[4])
    return schedule


def _int8_plan(ctx, depthwise: bool) -> KernelPlan:
    g = _geometry(ctx, depthwise)
    w = consts.constant_input(ctx, 1, "weights").astype(np.int64)
    bias = consts.constant_input(ctx, 2, "bias")
    channels = g["y"][3]
    sums = w.sum(axis=(0, 1, 2)) if depthwise else w.reshape(channels, -1).sum(axis=1)
    quant = consts.conv_requant(ctx, channels)
    constants = {**_int4.packed_constants(ctx, w),
                 "bias": consts.folded_bias(bias, sums, int(quant["params"][0])), **quant}
    int4 = _int4.packed_bits(ctx)
    window = int(np.prod(g["w"][1:3])) * (1 if depthwise else g["w"][3])
    acc_dtype = accumulator_dtype(window)
    form = None
    if acc_dtype == "int32" and sum_fits_int32(window << 14, constants["bias"]):
        form = fast_form(quant["mult"], quant["shift"])

    def build() -> Built:
        x = placeholder(g["x"], "int8", "x")
        wt, weight = _int4.weight_input(g["w"], "int8", int4)
        b, mult, shift = (placeholder((channels,), "int32", n) for n in ("bias", "mult", "shift"))
        prm = placeholder((4,), "int32", "params")
        xpad = padded(x, g["pads"], lambda: prm[0].astype(acc_dtype), acc_dtype)
        acc = _window_sum(g, xpad, weight, acc_dtype)
        y, stages = requantized_int8(acc, b, mult, shift, prm, 3, form)
        return Built([x, wt, b, mult, shift, prm, y], _schedule(stages, g))

    return KernelPlan(_int4.requantized_params(ctx), named_constants(ctx, constants), build=build,
                      key=(acc_dtype, form), access="raster")


def _float_plan(ctx, depthwise: bool) -> KernelPlan:
    g = _geometry(ctx, depthwise)
    channels = g["y"][3]
    bias = consts.constant_input(ctx, 2, "bias")
    bias = np.zeros(channels, np.float32) if bias is None else bias.astype(np.float32)
    bounds = consts.activation_bounds(ctx.attrs["activation"])

    def build() -> Built:
        from tvm import te, tirx

        x = placeholder(g["x"], "float32", "x")
        wt, weight = _int4.weight_input(g["w"], "float32", 0)
        b = placeholder((channels,), "float32", "bias")
        xpad = padded(x, g["pads"], lambda: tirx.const(0.0, "float32"), "float32")
        acc = _window_sum(g, xpad, weight, "float32")
        y = te.compute(g["y"], lambda *i: clamp_float(acc(*i) + b[i[3]], bounds), name="y")
        return Built([x, wt, b, y], _schedule([], g))

    params = [Param("x", ctx.node.inputs[0]), Param("w", ctx.node.inputs[1]),
              const_param(ctx, "bias"), Param("y", ctx.node.outputs[0])]
    return KernelPlan(params, {f"{ctx.func_name}_bias": bias}, build=build, access="raster")


@lowering_rule("CONV_2D", "int8")
def conv_2d_int8(ctx) -> KernelPlan:
    """int8 CONV_2D (TFLM ``ConvPerChannel``), int8 or int4 weights."""
    return _int8_plan(ctx, depthwise=False)


@lowering_rule("DEPTHWISE_CONV_2D", "int8")
def depthwise_conv_2d_int8(ctx) -> KernelPlan:
    """int8 DEPTHWISE_CONV_2D (TFLM ``DepthwiseConvPerChannel``): out channel c*M+m reads c;
    int8 or int4 weights."""
    return _int8_plan(ctx, depthwise=True)


def _int16_plan(ctx, depthwise: bool) -> KernelPlan:
    """16x8: int16 inputs times int8 weights summed in int64 (int32 where the weights bound
    the sum below 2**31: ``_te.int16_accumulator``), requantized by TFLite's int64
    ``MultiplyByQuantizedMultiplier`` (``_te.requantized_int16``)."""
    from edgec.ir.ops._requant import check_symmetric_int16

    check_symmetric_int16(ctx.node, ctx.ins[0].quant, ctx.outs[0].quant)
    bias = consts.constant_input(ctx, 2, "bias")
    if depthwise and (bias is None or bias.dtype != np.int64):
        raise EdgecError(f"DEPTHWISE_CONV_2D '{ctx.node.name}': a 16x8 depthwise convolution "
                         "needs an int64 bias", "convert with TFLite's 16x8 mode defaults "
                         "(int64 bias)")
    g = _geometry(ctx, depthwise)
    w = consts.constant_input(ctx, 1, "weights").astype(np.int64)
    channels = g["y"][3]
    sums = w.sum(axis=(0, 1, 2)) if depthwise else w.reshape(channels, -1).sum(axis=1)
    constants, int32_bias = int16_requant_plan_parts(ctx, channels, sums)
    bias_dtype = "int32" if int32_bias else "int64"
    rows = np.moveaxis(w, 3, 0).reshape(channels, -1) if depthwise else w.reshape(channels, -1)
    acc_dtype = int16_accumulator(rows)

    def build() -> Built:
        from tvm import tirx

        x = placeholder(g["x"], "int16", "x")
        wt = placeholder(g["w"], "int8", "w")
        b = placeholder((channels,), bias_dtype, "bias")
        mult, shift = (placeholder((channels,), "int32", n) for n in ("mult", "shift"))
        prm = placeholder((3,), "int32", "params")
        xpad = padded(x, g["pads"], lambda: tirx.const(0, acc_dtype), acc_dtype)
        acc = _window_sum(g, xpad, lambda *i: wt[i], acc_dtype)
        y, stages = requantized_int16(acc, b, mult, shift, prm, 3, int32_bias)
        return Built([x, wt, b, mult, shift, prm, y], _schedule(stages, g))

    return KernelPlan(int16_requant_params(ctx), named_constants(ctx, constants), build=build,
                      key=("16x8", acc_dtype, bias_dtype))


@lowering_rule("CONV_2D", "int16")
def conv_2d_int16(ctx) -> KernelPlan:
    """16x8 CONV_2D (TFLM ``ConvPerChannel`` on int16, int64 bias)."""
    return _int16_plan(ctx, depthwise=False)


@lowering_rule("DEPTHWISE_CONV_2D", "int16")
def depthwise_conv_2d_int16(ctx) -> KernelPlan:
    """16x8 DEPTHWISE_CONV_2D (TFLM ``DepthwiseConvPerChannel`` on int16, int64 bias)."""
    return _int16_plan(ctx, depthwise=True)


@lowering_rule("CONV_2D", "float32")
def conv_2d_float(ctx) -> KernelPlan:
    """float32 CONV_2D, float32 accumulation."""
    return _float_plan(ctx, depthwise=False)


@lowering_rule("DEPTHWISE_CONV_2D", "float32")
def depthwise_conv_2d_float(ctx) -> KernelPlan:
    """float32 DEPTHWISE_CONV_2D, float32 accumulation."""
    return _float_plan(ctx, depthwise=True)
