"""STRIDED_SLICE, any dtype: ``y[i] = x[begin + steps * i]`` per axis, a plain gather."""

from __future__ import annotations

from edgec.ir.ops.strided_slice import slice_plan
from edgec.lower.registry import Built, KernelPlan, Param, lowering_rule
from edgec.lower.rules._te import placeholder
from edgec.lower.rules.layout import ANY_DTYPES


@lowering_rule("STRIDED_SLICE", *ANY_DTYPES)
def strided_slice(ctx) -> KernelPlan:
    """STRIDED_SLICE: each output index maps to one input index, no bounds tests needed."""
    x_t, y_t = ctx.ins[0], ctx.outs[0]
    plan = slice_plan(ctx.node, x_t.shape)

    def build() -> Built:
        from tvm import te

        x = placeholder(x_t.shape, x_t.dtype, "x")
        y = te.compute(y_t.shape, lambda *i: x[tuple(b + s * i[d] for d, (b, _, s)
                                                     in enumerate(plan))], name="y")
        return Built([x, y], lambda sch: None)

    return KernelPlan([Param("x", ctx.node.inputs[0]), Param("y", ctx.node.outputs[0])],
                      build=build)
