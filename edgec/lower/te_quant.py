"""TFLite's fixed-point requantization written in TE, bit-exact with ``edgec.ir.quant``.

Everything is computed on int64 values holding int32 quantities, so no C expression can
overflow. TVM's own ``q_multiply_shift`` rounds once where TFLite rounds twice (TVM_NOTES
trap 2), and an int32 ``a == INT32_MIN`` is folded away by the simplifier (trap 1): hence
these hand-written versions, comparing in int64. The pieces are separate TE stages so the
generated C stores each intermediate once in a local scalar instead of repeating it (TIR's CSE
skips expressions that contain loads, trap 4).
"""

from __future__ import annotations

from typing import Callable

INT32_MIN = -(1 << 31)
INT32_MAX = (1 << 31) - 1

IndexFn = Callable[..., object]  # (*indices) -> PrimExpr


def c64(value: int):
    """An int64 immediate."""
    from tvm import tirx

    return tirx.const(value, "int64")


def i64(expr):
    """``expr`` cast to int64."""
    return expr.astype("int64")


def wrap32(x):
    """Two's-complement wrap of an int64 value to the int32 range, in pure int64 arithmetic
    (a cast to int32 and back could be folded away by the simplifier, trap 6)."""
    return ((x + c64(1 << 31)) & c64(0xFFFFFFFF)) - c64(1 << 31)


def srdhm(a, b):
    """gemmlowp ``SaturatingRoundingDoublingHighMul`` on int64-held int32 values."""
    from tvm import tirx

    ab = a * b
    nudge = tirx.Select(ab >= c64(0), c64(1 << 30), c64(1 - (1 << 30)))
    result = tirx.truncdiv(ab + nudge, c64(1 << 31))
    overflow = tirx.all(a == b, a == c64(INT32_MIN))
    return tirx.Select(overflow, c64(INT32_MAX), result)


def rounding_divide_by_pot(x, exponent):
    """gemmlowp ``RoundingDivideByPOT`` on int64 ``x`` by ``2**exponent`` (0 <= exponent < 63)."""
    mask = (c64(1) << exponent) - c64(1)
    threshold = (mask >> c64(1)) + i64(x < c64(0))
    return (x >> exponent) + i64((x & mask) > threshold)


def mbqm(shape, x: IndexFn, mult: IndexFn, shift: IndexFn, name: str):
    """TFLite ``MultiplyByQuantizedMultiplier`` as three TE stages over ``shape``.

    ``x(*i)`` is the int64 value (wrapped to int32 first, like the int32 C++ argument),
    ``mult``/``shift`` give the int32 multiplier and shift (shift <= 31) at an index.
    Returns the int64 result tensor and the stage names, consumer first: attach them in this
    order next to the consumer.
    """
    from tvm import te, tirx

    def shifted(*i):
        left = tirx.max(i64(shift(*i)), c64(0))
        return wrap32(wrap32(x(*i)) * (c64(1) << left))

    sh = te.compute(shape, shifted, name=f"{name}_sh")
    hi = te.compute(shape, lambda *i: srdhm(sh(*i), i64(mult(*i))), name=f"{name}_hi")
    out = te.compute(shape, lambda *i: rounding_divide_by_pot(
        hi(*i), tirx.max(-i64(shift(*i)), c64(0))), name=f"{name}_q")
    return out, [out.op.name, hi.op.name, sh.op.name]


def clamp_int8(value, lo, hi):
    """``min(max(value, lo), hi)`` in int64, cast to int8 (lo, hi are int32 expressions)."""
    from tvm import tirx

    return tirx.min(tirx.max(value, i64(lo)), i64(hi)).astype("int8")
