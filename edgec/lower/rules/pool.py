"""AVERAGE_POOL_2D and MAX_POOL_2D, int8 and float32, taps outside the image skipped.

int8 follows TFLM's reference pooling (see ``edgec.ir.ops.pool_2d``): the average is the int32
sum over the taps inside the image divided by their count, rounding half away from zero with C
division; results are clamped to ``params = [act min, act max]``. The tap count depends only on
the geometry, so the C computes it from the output position.
"""

from __future__ import annotations

import numpy as np

from edgec.ir.ops.pool_2d import PLAIN_MAX_POOL
from edgec.ir.quant import activation_range
from edgec.lower import consts
from edgec.lower.registry import Built, KernelPlan, Param, lowering_rule
from edgec.lower.rules._te import clamp_float, const_param, named_constants, padded, placeholder
from edgec.lower.tir import attach, init_before, inline


def _window_reduce(ctx, xpad, reducer):
    """The stage ``acc``: ``reducer`` (te.sum or te.max) over each window of ``xpad``."""
    from tvm import te

    (fh, fw), (sh, sw) = ctx.attrs["filter"], ctx.attrs["strides"]
    dh, dw = ctx.attrs["dilations"]
    kh, kw = te.reduce_axis((0, fh), "kh"), te.reduce_axis((0, fw), "kw")
    return te.compute(ctx.outs[0].shape, lambda n, i, j, c: reducer(
        xpad[n, i * sh + kh * dh, j * sw + kw * dw, c], axis=[kh, kw]), name="acc")


def _taps_inside(start, size: int, taps: int, dilation: int):
    """How many of ``taps`` taps ``dilation`` apart from ``start`` fall in ``[0, size)``."""
    from tvm import tirx

    if dilation == 1:
        return tirx.min(start + taps, size) - tirx.max(start, 0)
    first = tirx.floordiv(tirx.max(-start, 0) + (dilation - 1), dilation)
    last = tirx.min(tirx.floordiv(size - 1 - start, dilation), taps - 1)
    return tirx.max(last - first + 1, 0)


def _tap_count(ctx, i, j):
    """How many taps of the window at output (i, j) fall inside the image (an int32 expr)."""
    (fh, fw), (sh, sw) = ctx.attrs["filter"], ctx.attrs["strides"]
    dh, dw = ctx.attrs["dilations"]
    top, left = ctx.attrs["pads"][:2]
    h, w = ctx.ins[0].shape[1:3]
    return _taps_inside(i * sh - top, h, fh, dh) * _taps_inside(j * sw - left, w, fw, dw)


def _schedule(sch):
    inline(sch, "pad")
    attach(sch, "y", 3, "acc")
    init_before(sch, "acc", 4)


def _plan(ctx, build, constants=None) -> KernelPlan:
    params = [Param("x", ctx.node.inputs[0])]
    if constants:
        params.append(const_param(ctx, "params"))
    params.append(Param("y", ctx.node.outputs[0]))
    return KernelPlan(params, named_constants(ctx, constants or {}), build=build,
                      access="raster")


def _int8_params(ctx) -> dict:
    y_q = ctx.outs[0].quant
    return {"params": consts.int32_array(activation_range(ctx.attrs["activation"], y_q.s, y_q.zp,
                                                          ctx.outs[0].dtype))}


@lowering_rule("AVERAGE_POOL_2D", "int8", "int16")
def average_pool_int8(ctx) -> KernelPlan:
    """int8 / int16 AVERAGE_POOL_2D (TFLM ``reference_integer_ops::AveragePool``)."""
    dtype = ctx.dtype
    # The reference kernel checks that input and output quantization agree.
    def build() -> Built:
        from tvm import te, tirx

        x = placeholder(ctx.ins[0].shape, dtype, "x")
        prm = placeholder((2,), "int32", "params")
        xpad = padded(x, ctx.attrs["pads"], lambda: tirx.const(0, "int32"), "int32")
        acc = _window_reduce(ctx, xpad, te.sum)

        def average(n, i, j, c):
            total, count = acc[n, i, j, c], _tap_count(ctx, i, j)
            half = tirx.truncdiv(count, 2)
            value = tirx.Select(total > 0, tirx.truncdiv(total + half, count),
                                tirx.truncdiv(total - half, count))
            return tirx.min(tirx.max(value, prm[0]), prm[1]).astype(dtype)

        y = te.compute(ctx.outs[0].shape, average, name="y")
        return Built([x, prm, y], _schedule)

    return _plan(ctx, build, _int8_params(ctx))


@lowering_rule("MAX_POOL_2D", "int8", "int16", *PLAIN_MAX_POOL)
def max_pool_int8(ctx) -> KernelPlan:
    """int8 / int16 MAX_POOL_2D (TFLM ``reference_integer_ops::MaxPool``); plain integers
    clamp to their type's range (no activation: the reference refuses one)."""
    dtype = ctx.outs[0].dtype
    lowest = int(np.iinfo(dtype).min)
    def build() -> Built:
        from tvm import te, tirx

        x = placeholder(ctx.ins[0].shape, dtype, "x")
        prm = placeholder((2,), "int32", "params")
        xpad = padded(x, ctx.attrs["pads"], lambda: tirx.const(lowest, "int32"), "int32")
        acc = _window_reduce(ctx, xpad, te.max)
        y = te.compute(ctx.outs[0].shape, lambda *i: tirx.min(
            tirx.max(acc(*i), prm[0]), prm[1]).astype(dtype), name="y")
        return Built([x, prm, y], _schedule)

    if ctx.outs[0].quant is None:
        info = np.iinfo(dtype)
        return _plan(ctx, build, {"params": consts.int32_array([info.min, info.max])})
    return _plan(ctx, build, _int8_params(ctx))


@lowering_rule("AVERAGE_POOL_2D", "float32")
def average_pool_float(ctx) -> KernelPlan:
    """float32 AVERAGE_POOL_2D: sum of the taps inside the image over their count."""
    bounds = consts.activation_bounds(ctx.attrs["activation"])

    def build() -> Built:
        from tvm import te, tirx

        x = placeholder(ctx.ins[0].shape, "float32", "x")
        xpad = padded(x, ctx.attrs["pads"], lambda: tirx.const(0.0, "float32"), "float32")
        acc = _window_reduce(ctx, xpad, te.sum)
        y = te.compute(ctx.outs[0].shape, lambda n, i, j, c: clamp_float(
            acc[n, i, j, c] / _tap_count(ctx, i, j).astype("float32"), bounds), name="y")
        return Built([x, y], _schedule)

    return _plan(ctx, build)


@lowering_rule("MAX_POOL_2D", "float32")
def max_pool_float(ctx) -> KernelPlan:
    """float32 MAX_POOL_2D over the taps inside the image."""
    bounds = consts.activation_bounds(ctx.attrs["activation"])

    def build() -> Built:
        from tvm import te, tirx

        x = placeholder(ctx.ins[0].shape, "float32", "x")
        xpad = padded(x, ctx.attrs["pads"], lambda: tirx.min_value("float32"), "float32")
        acc = _window_reduce(ctx, xpad, te.max)
        y = te.compute(ctx.outs[0].shape, lambda *i: clamp_float(acc(*i), bounds), name="y")
        return Built([x, y], _schedule)

    return _plan(ctx, build)
