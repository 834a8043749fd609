"""TFLite's fixed-point requantization written in TE, bit-exact with ``edgec.ir.quant``.

Everything is computed on int64 values holding int32 quantities, so no C expression can
overflow. TVM's own ``q_multiply_shift`` rounds once where TFLite rounds twice (TVM_NOTES
trap 2), and an int32 ``a == INT32_MIN`` is folded away by the simplifier (trap 1): hence
these hand-written versions, comparing in int64. The pieces are separate TE stages so the
generated C stores each intermediate once in a local scalar instead of repeating it (TIR's CSE
skips expressions that contain loads, trap 4).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

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


def clamp_int8(value, lo, hi, dtype: str = "int8"):
    """``min(max(value, lo), hi)`` in int64, cast to int8 or ``dtype`` (lo, hi are int32
    expressions within its range)."""
    from tvm import tirx

    return tirx.min(tirx.max(value, i64(lo)), i64(hi)).astype(dtype)


@dataclass(frozen=True)
class Fast:
    """The cheaper C form of MultiplyByQuantizedMultiplier that one node's constants allow
    (``fast_form``); its fields go into the kernel key, since they shape the C text.

    ``left``: some shift is positive, so the input is multiplied by ``2**shift`` (wrapped to
    int32) first; without it that multiply and its wrap are left out.
    """

    left: bool


def fast_form(mult: np.ndarray, shift: np.ndarray) -> Fast | None:
    """The ``Fast`` form for these per-channel constants, or None (the general ``mbqm``)
    when a multiplier is INT32_MIN (SRDHM's one saturating case) or a shift is below -31."""
    if np.any(np.asarray(mult, np.int64) == INT32_MIN) or np.any(np.asarray(shift) < -31):
        return None
    return Fast(left=bool(np.any(np.asarray(shift) > 0)))


def high_mul32(a, b):
    """SRDHM of int32 ``a``, ``b`` when they are not both INT32_MIN, as an int32 value.

    TFLite adds a nudge of 2**30 (or 1 - 2**30 below zero) and truncates toward zero; for a
    negative product that truncation is the ceiling, which equals the floor of the product
    plus 2**30: so one arithmetic shift serves both signs, with no division and no sign test.
    """
    return ((i64(a) * i64(b) + c64(1 << 30)) >> c64(31)).astype("int32")


def rounding_divide32(x, exponent):
    """``RoundingDivideByPOT`` of int32 ``x`` by ``2**exponent`` (0 <= exponent <= 31) in
    int32; the mask is built unsigned, since ``1 << 31`` overflows int32."""
    from tvm import tirx

    one = tirx.const(1, "uint32")
    mask = ((one << exponent.astype("uint32")) - one).astype("int32")
    threshold = (mask >> 1) + (x < 0).astype("int32")
    return (x >> exponent) + ((x & mask) > threshold).astype("int32")


def mbqm32(shape, x: IndexFn, mult: IndexFn, shift: IndexFn, name: str, form: Fast):
    """MultiplyByQuantizedMultiplier in the ``form`` allowed by the constants, int32 values
    throughout but for one 32x32->64 product: ``x(*i)`` is an int32 expression that cannot
    overflow. One stage calling the ``static inline`` helper ``edgec_mbqm`` (``_left`` when
    some shift is positive; ``templates/kernels/requant.h.j2``, the arithmetic of
    ``high_mul32`` and ``rounding_divide32``), as TFLM's kernels call
    MultiplyByQuantizedMultiplier. Returns the int32 result tensor and its stages, consumer
    first (as ``mbqm``)."""
    from tvm import te, tirx

    helper = "edgec_mbqm_left" if form.left else "edgec_mbqm"
    out = te.compute(shape, lambda *i: tirx.call_pure_extern("int32", helper, x(*i), mult(*i),
                                                             shift(*i)), name=f"{name}_q")
    return out, [out.op.name]


def offset_clamp_int8(shape, q, offset: IndexFn, lo: IndexFn, hi: IndexFn, name: str,
                      dtype: str = "int8"):
    """The int8 (or ``dtype``) tensor ``y`` = ``clamp(q + offset, lo, hi)`` for int32 ``q``, computed as
    ``clamp(q, lo - offset, hi - offset) + offset`` so no int32 sum can overflow (bounds and
    offset are int8-range values). The clamp is a stage of its own, ``name``, to attach next
    to ``y``: in one expression the simplifier moves the offset back inside (trap 6).
    Returns ``y`` and the stage name."""
    from tvm import te, tirx

    clamped = te.compute(shape, lambda *i: tirx.min(tirx.max(q(*i), lo(*i) - offset(*i)),
                                                    hi(*i) - offset(*i)), name=name)
    y = te.compute(shape, lambda *i: (clamped(*i) + offset(*i)).astype(dtype), name="y")
    return y, name
