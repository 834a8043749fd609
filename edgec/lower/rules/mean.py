"""MEAN over axes, int8 and float32.

int8 follows ``edgec.ir.ops.mean`` (TFLM ``QuantizedMeanOrSum``): the int32 sum of raw values
minus ``input_zp * count`` (wrapped), MultiplyByQuantizedMultiplier with the multiplier
pre-divided by ``count``, plus the output zero point, clamped to int8;
``params = [input zp, output zp, multiplier, shift]``. The output keeps the order of the kept
dimensions, so one flat layout serves ``keep_dims`` either way.
"""

from __future__ import annotations

import numpy as np

from edgec.ir.ops.mean import reduced_axes
from edgec.ir.quant import mean_multiplier
from edgec.lower import consts
from edgec.lower.registry import Built, KernelPlan, Param, lowering_rule
from edgec.lower.rules._te import const_param, placeholder
from edgec.lower.te_quant import c64, clamp_int8, i64, mbqm, wrap32
from edgec.lower.tir import attach, init_before


def _geometry(ctx):
    shape = ctx.ins[0].shape
    axes = reduced_axes(ctx.node, len(shape))
    kept = [d for d in range(len(shape)) if d not in axes]
    count = 1
    for a in axes:
        count *= shape[a]
    return shape, axes, kept, count


def _sum_stage(x, shape, axes, kept, dtype: str):
    """``acc`` over the kept dimensions (one dummy dimension when none is kept)."""
    from tvm import te

    reduce = {a: te.reduce_axis((0, shape[a]), f"r{a}") for a in axes}
    out_shape = tuple(shape[d] for d in kept) or (1,)

    def total(*i):
        index = [reduce[d] if d in reduce else i[kept.index(d)] for d in range(len(shape))]
        return te.sum(x[tuple(index)].astype(dtype), axis=list(reduce.values()))

    return te.compute(out_shape, total, name="acc"), out_shape


def _schedule(out_rank: int, stages: list[str]):
    def schedule(sch):
        attach(sch, "y", out_rank - 1, *stages, "acc")
        init_before(sch, "acc", out_rank)
    return schedule


@lowering_rule("MEAN", "int8", "int16")
def mean_int8(ctx) -> KernelPlan:
    """int8 / int16 MEAN (TFLM ``QuantizedMeanOrSum``)."""
    x_q, y_q = ctx.ins[0].quant, ctx.outs[0].quant
    return quantized_sum_plan(ctx, mean_multiplier(x_q.s, y_q.s, _geometry(ctx)[3]))


def quantized_sum_plan(ctx, requant: tuple[int, int]) -> KernelPlan:
    """TFLM ``QuantizedMeanOrSum`` with the multiplier and shift ``requant`` (MEAN's is
    pre-divided by the count, SUM's is not)."""
    dtype = ctx.dtype
    lo, hi = (int(v) for v in (np.iinfo(dtype).min, np.iinfo(dtype).max))
    shape, axes, kept, count = _geometry(ctx)
    x_q, y_q = ctx.ins[0].quant, ctx.outs[0].quant
    mult, shift = consts.requant_arrays(*requant, 1, ctx.node.name)
    params = consts.int32_array([x_q.zp, y_q.zp, mult[0], shift[0]])

    def build() -> Built:
        from tvm import te

        x = placeholder(shape, dtype, "x")
        prm = placeholder((4,), "int32", "params")
        acc, out_shape = _sum_stage(x, shape, axes, kept, "int32")
        q, names = mbqm(out_shape, lambda *i: wrap32(i64(acc(*i)) - i64(prm[0]) * c64(count)),
                        lambda *i: prm[2], lambda *i: prm[3], "rq")
        y = te.compute(out_shape, lambda *i: clamp_int8(q(*i) + i64(prm[1]), c64(lo), c64(hi),
                                                        dtype), name="y")
        return Built([x, prm, y], _schedule(len(out_shape), names))

    return KernelPlan([Param("x", ctx.node.inputs[0]), const_param(ctx, "params"),
                       Param("y", ctx.node.outputs[0])],
                      {f"{ctx.func_name}_params": params}, build=build)


def float_sum_plan(ctx, divide: bool) -> KernelPlan:
    """float32 sum over the axes, divided by the count when ``divide`` (MEAN; SUM is not)."""
    shape, axes, kept, count = _geometry(ctx)

    def build() -> Built:
        from tvm import te, tirx

        x = placeholder(shape, "float32", "x")
        acc, out_shape = _sum_stage(x, shape, axes, kept, "float32")
        if divide:
            y = te.compute(out_shape, lambda *i: acc(*i) / tirx.const(float(count), "float32"),
                           name="y")
        else:
            y = te.compute(out_shape, lambda *i: acc(*i), name="y")
        return Built([x, y], _schedule(len(out_shape), []))

    return KernelPlan([Param("x", ctx.node.inputs[0]), Param("y", ctx.node.outputs[0])],
                      build=build)


@lowering_rule("MEAN", "float32")
def mean_float(ctx) -> KernelPlan:
    """float32 MEAN: float32 sum over the axes divided by the count."""
    return float_sum_plan(ctx, divide=True)
