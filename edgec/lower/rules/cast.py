"""CAST (``edgec.ir.ops.cast``): one flat loop, ``y[i] = x[i]`` converted.

Integer -> integer and integer -> float32 are C's conversions (modulo 2^bits on gcc and clang,
round to nearest). float32 -> integer: C's conversion of NaN or of a value outside the type is
undefined, so NaN first becomes 0 and the value is clamped to [low, the float32 below high]
(``ir.ops.cast.float_to_int_bounds``) before C truncates it toward zero; a value at or above
``high`` then selects the type's maximum. To bool: ``x != 0``; from bool: 0 or 1. Every conversion the C performs is defined, whichever
branch of a select it evaluates.
"""

from __future__ import annotations

from edgec.ir.graph import PLAIN_INT_KEYS
from edgec.ir.ops.cast import float_to_int_bounds
from edgec.lower.registry import Built, KernelPlan, Param, lowering_rule


@lowering_rule("CAST", "float32", *PLAIN_INT_KEYS, "bool")
def cast(ctx) -> KernelPlan:
    """CAST between float32, plain integers and bool (``x != 0``; 0 or 1)."""
    x_t, y_t = ctx.ins[0], ctx.outs[0]
    size, src, dst = y_t.size, x_t.dtype, y_t.dtype

    def build() -> Built:
        import numpy as np
        from tvm import te, tirx

        from edgec.lower.rules._te import placeholder

        x = placeholder((size,), src, "x")

        def convert(i):
            if dst == "bool":
                return x[i] != tirx.const(0, src)
            if src != "float32" or dst == "float32":
                return x[i].astype(dst)
            low, high = float_to_int_bounds(dst)
            below = float(np.nextafter(np.float32(high), np.float32(0)))
            value = tirx.Select(tirx.isnan(x[i]), tirx.const(0.0, "float32"), x[i])
            clamped = tirx.min(tirx.max(value, tirx.const(low, "float32")),
                               tirx.const(below, "float32"))
            return tirx.Select(value >= tirx.const(high, "float32"),
                               tirx.const(int(np.iinfo(dst).max), dst), clamped.astype(dst))

        y = te.compute((size,), convert, name="y")
        return Built([x, y], lambda sch: None)

    return KernelPlan([Param("x", ctx.node.inputs[0]), Param("y", ctx.node.outputs[0])],
                      build=build)
