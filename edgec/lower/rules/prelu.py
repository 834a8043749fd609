"""PRELU, int8 and float32, alpha broadcast to x as in ADD/SUB/MUL.

int8: ``v = x - zp_in``; ``v >= 0`` takes ``MultiplyByQuantizedMultiplier`` by the identity
multiplier, else ``v * (alpha - zp_alpha)`` by the slope multiplier (``prelu_params``); plus
``zp_out``, clamped. Both branches are TE stages in int64 (``te_quant.mbqm``): exact for any
multiplier, including identity multipliers above one.
"""

from __future__ import annotations

from edgec.ir.ops.prelu import prelu_params
from edgec.lower import consts
from edgec.lower.registry import Built, KernelPlan, lowering_rule
from edgec.lower.rules._te import placeholder
from edgec.lower.rules.elementwise import _broadcast, _plan, _schedule
from edgec.lower.te_quant import clamp_int8, i64, mbqm


@lowering_rule("PRELU", "int8")
def prelu_int8(ctx) -> KernelPlan:
    """int8 PRELU (TFLM ``reference_ops::BroadcastPrelu4DSlow``)."""
    q_in, q_a, q_out = ctx.ins[0].quant, ctx.ins[1].quant, ctx.outs[0].quant
    id_m, id_s, al_m, al_s = prelu_params(q_in.s, q_a.s, q_out.s)
    constants = consts.int32_array([q_in.zp, q_a.zp, q_out.zp, id_m, id_s, al_m, al_s])
    shape, rank = ctx.outs[0].shape, len(ctx.outs[0].shape)

    def build() -> Built:
        from tvm import te, tirx

        a = placeholder(ctx.ins[0].shape, "int8", "a")
        b = placeholder(ctx.ins[1].shape, "int8", "b")
        prm = placeholder((7,), "int32", "params")
        ra, rb = _broadcast(a, rank), _broadcast(b, rank)
        v = te.compute(shape, lambda *i: i64(ra(*i)) - i64(prm[0]), name="v")
        pos, pos_stages = mbqm(shape, lambda *i: v(*i), lambda *i: prm[3], lambda *i: prm[4],
                               "pos")
        neg, neg_stages = mbqm(shape, lambda *i: v(*i) * (i64(rb(*i)) - i64(prm[1])),
                               lambda *i: prm[5], lambda *i: prm[6], "neg")
        y = te.compute(shape, lambda *i: clamp_int8(
            tirx.Select(v(*i) >= tirx.const(0, "int64"), pos(*i), neg(*i)) + i64(prm[2]),
            tirx.const(-128, "int32"), tirx.const(127, "int32")), name="y")
        return Built([a, b, prm, y], _schedule([*pos_stages, *neg_stages, "v"], rank))

    return _plan(ctx, build, constants)


@lowering_rule("PRELU", "float32")
def prelu_float(ctx) -> KernelPlan:
    """float32 PRELU: ``x >= 0 ? x : x * alpha``."""
    shape, rank = ctx.outs[0].shape, len(ctx.outs[0].shape)

    def build() -> Built:
        from tvm import te, tirx

        a = placeholder(ctx.ins[0].shape, "float32", "a")
        b = placeholder(ctx.ins[1].shape, "float32", "b")
        ra, rb = _broadcast(a, rank), _broadcast(b, rank)
        y = te.compute(shape, lambda *i: tirx.Select(
            ra(*i) >= tirx.const(0.0, "float32"), ra(*i), ra(*i) * rb(*i)), name="y")
        return Built([a, b, y], _schedule([], rank))

    return _plan(ctx, build)
