"""BATCH_MATMUL, int8 and float32: a TE reduction over the shared axis, batch axes read
under numpy broadcasting, either operand transposed by indexing (``adj_x`` / ``adj_y``).

int8: ``sum((x - zp_x) * (y - zp_y))`` in int32 (int64 when the depth could overflow it),
wrapped to int32 like TFLite's sum, then ``MultiplyByQuantizedMultiplier`` in int64
(``te_quant.mbqm``), plus the output zero point, clamped. ``params`` = [zp_x, zp_y, zp_out,
multiplier, shift].
"""

from __future__ import annotations

from edgec.ir.ops.batch_matmul import batch_matmul_multiplier
from edgec.lower import consts
from edgec.lower.registry import Built, KernelPlan, Param, lowering_rule
from edgec.lower.rules._te import const_param, named_constants, placeholder
from edgec.lower.te_quant import clamp_int8, i64, mbqm, wrap32
from edgec.lower.tir import attach


def _reader(tensor, out_rank: int, adj: bool):
    """``(batch indices, row, column) -> element`` of an operand, broadcasting its batch axes
    and swapping its last two when ``adj``."""
    shape = [int(d) for d in tensor.shape]
    lead = out_rank - 2 - (len(shape) - 2)

    def read(batch, r, c):
        index = [0 if d == 1 else batch[lead + k] for k, d in enumerate(shape[:-2])]
        return tensor[tuple(index + ([c, r] if adj else [r, c]))]
    return read


def _depth(ctx) -> int:
    x = ctx.ins[0].shape
    return int(x[-2] if ctx.attrs["adj_x"] else x[-1])


def _product(ctx, x, y, value):
    """The stage ``acc``: ``sum_k value(x[.., i, k], y[.., k, j])``."""
    from tvm import te

    shape, rank = ctx.outs[0].shape, len(ctx.outs[0].shape)
    rx, ry = _reader(x, rank, ctx.attrs["adj_x"]), _reader(y, rank, ctx.attrs["adj_y"])
    k = te.reduce_axis((0, _depth(ctx)), "k")

    def acc(*i):
        batch, row, col = i[:-2], i[-2], i[-1]
        return te.sum(value(rx(batch, row, k), ry(batch, k, col)), axis=k)
    return te.compute(shape, acc, name="acc")


def _schedule(rank: int, stages: list[str]):
    def schedule(sch):
        attach(sch, "y", rank - 1, *stages, "acc")
    return schedule


@lowering_rule("BATCH_MATMUL", "int8")
def batch_matmul_int8(ctx) -> KernelPlan:
    """int8 BATCH_MATMUL (TFLM ``reference_ops::BatchMatMul``)."""
    qx, qy, qo = ctx.ins[0].quant, ctx.ins[1].quant, ctx.outs[0].quant
    mult, shift = batch_matmul_multiplier(qx.s, qy.s, qo.s)
    constants = {"params": consts.int32_array([qx.zp, qy.zp, qo.zp, mult, shift])}
    shape, rank = ctx.outs[0].shape, len(ctx.outs[0].shape)
    acc_dtype = "int32" if _depth(ctx) * 255 * 255 < (1 << 31) else "int64"

    def build() -> Built:
        from tvm import te, tirx

        x = placeholder(ctx.ins[0].shape, "int8", "x")
        y = placeholder(ctx.ins[1].shape, "int8", "y")
        prm = placeholder((5,), "int32", "params")
        acc = _product(ctx, x, y, lambda a, b: (a.astype(acc_dtype) - prm[0].astype(acc_dtype))
                       * (b.astype(acc_dtype) - prm[1].astype(acc_dtype)))
        q, stages = mbqm(shape, lambda *i: wrap32(i64(acc(*i))), lambda *i: prm[3],
                         lambda *i: prm[4], "rq")
        out = te.compute(shape, lambda *i: clamp_int8(q(*i) + i64(prm[2]), tirx.const(-128, "int32"),
                                                      tirx.const(127, "int32")),
                         name="y")
        return Built([x, y, prm, out], _schedule(rank, stages))

    params = [Param("x", ctx.node.inputs[0]), Param("y", ctx.node.inputs[1]),
              const_param(ctx, "params"), Param("z", ctx.node.outputs[0])]
    return KernelPlan(params, named_constants(ctx, constants), build=build, key=(acc_dtype,))


@lowering_rule("BATCH_MATMUL", "float32")
def batch_matmul_float(ctx) -> KernelPlan:
    """float32 BATCH_MATMUL, float32 accumulation."""
    shape, rank = ctx.outs[0].shape, len(ctx.outs[0].shape)

    def build() -> Built:
        from tvm import te

        x = placeholder(ctx.ins[0].shape, "float32", "x")
        y = placeholder(ctx.ins[1].shape, "float32", "y")
        acc = _product(ctx, x, y, lambda a, b: a * b)
        out = te.compute(shape, lambda *i: acc(*i), name="y")
        return Built([x, y, out], _schedule(rank, []))

    params = [Param("x", ctx.node.inputs[0]), Param("y", ctx.node.inputs[1]),
              Param("z", ctx.node.outputs[0])]
    return KernelPlan(params, build=build)
