"""CAST (``edgec.ir.ops.cast``): one flat loop, ``y[i] = x[i]`` converted.

Integer -> integer and integer -> float32 are C's conversions (modulo 2^bits on gcc and clang,
round to nearest). float32 -> integer: C's conversion of NaN or of a value outside the type is
undefined, so NaN first becomes 0 and the value is clamped to [low, the float32 below high]
(``ir.ops.cast.float_to_int_bounds``) before C truncates it toward zero; a value at or above
``high`` then selects the type's maximum. Every conversion the C performs is defined, whichever
branch of a select it evaluates.

int4/uint4/int2/uint2 live in int8_t/uint8_t (one value each): they are read as their storage
type, and written by converting to int32 as above and wrapping to the low ``bits`` bits,
sign-extended for the signed ones (``((v & mask) ^ sign) - sign``).
"""

from __future__ import annotations

from edgec.ir.graph import NARROW_INT_DTYPES, PLAIN_INT_KEYS, storage_dtype
from edgec.ir.ops.cast import float_to_int_bounds
from edgec.lower.registry import Built, KernelPlan, Param, lowering_rule


@lowering_rule("CAST", "float32", *PLAIN_INT_KEYS, *NARROW_INT_DTYPES)
def cast(ctx) -> KernelPlan:
    """CAST between float32 and plain integers."""
    x_t, y_t = ctx.ins[0], ctx.outs[0]
    size, src, narrow = y_t.size, storage_dtype(x_t.dtype), NARROW_INT_DTYPES.get(y_t.dtype)
    dst = "int32" if narrow else y_t.dtype

    def build() -> Built:
        import numpy as np
        from tvm import te, tirx

        from edgec.lower.rules._te import placeholder

        x = placeholder((size,), src, "x")

        def convert(i):
            if src != "float32" or dst == "float32":
                return x[i].astype(dst)
            low, high = float_to_int_bounds(dst)
            below = float(np.nextafter(np.float32(high), np.float32(0)))
            value = tirx.Select(tirx.isnan(x[i]), tirx.const(0.0, "float32"), x[i])
            clamped = tirx.min(tirx.max(value, tirx.const(low, "float32")),
                               tirx.const(below, "float32"))
            return tirx.Select(value >= tirx.const(high, "float32"),
                               tirx.const(int(np.iinfo(dst).max), dst), clamped.astype(dst))

        def wrap(i):
            bits, signed = narrow
            low = convert(i) & tirx.const((1 << bits) - 1, "int32")
            if signed:
                sign = tirx.const(1 << (bits - 1), "int32")
                low = (low ^ sign) - sign
            return low.astype(storage_dtype(y_t.dtype))

        y = te.compute((size,), wrap if narrow else convert, name="y")
        return Built([x, y], lambda sch: None)

    return KernelPlan([Param("x", ctx.node.inputs[0]), Param("y", ctx.node.outputs[0])],
                      build=build)
