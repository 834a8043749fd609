"""CAST (``edgec.ir.ops.cast``): one flat loop, ``y[i] = x[i]`` converted.

Integer -> integer and integer -> float32 are C's conversions (modulo 2^bits on gcc and clang,
round to nearest). float32 -> integer: C's conversion of NaN or of a value outside the type is
undefined, so NaN first becomes 0 and the value is clamped to [low, the float below high]
(``ir.ops.cast.float_to_int_bounds``) before C truncates it toward zero; a value at or above
``high`` then selects the type's maximum. To bool: ``x != 0``; from bool: 0 or 1. Every conversion the C performs is defined, whichever
branch of a select it evaluates.

A cast from or to float64 or a minifloat (``edgec.ir.floats``) goes through a double, which
holds every float32 and minifloat value exactly: the source as a double (C's conversion, or
``edgec_mf_decode``), then the destination from it: ``edgec_mf_encode`` (one rounding, the
node's ``saturate`` for float8; ``edgec_e8m0_encode`` and its ``round_mode`` for E8M0), C's
conversion to float32 (round to nearest; IEEE 754 / C99 Annex F gives Inf beyond float32's
range) or to double, or the clamped integer conversion above carried out in double.

int4/uint4/int2/uint2 live in int8_t/uint8_t (one value each): they are read as their storage
type, and written by converting to int32 as above and wrapping to the low ``bits`` bits,
sign-extended for the signed ones (``((v & mask) ^ sign) - sign``).
"""

from __future__ import annotations

from edgec.ir.floats import MINIFLOATS, OTHER_FLOATS
from edgec.ir.graph import NARROW_INT_DTYPES, PLAIN_INT_KEYS, storage_dtype
from edgec.ir.ops.cast import float_to_int_bounds
from edgec.lower.registry import Built, KernelPlan, Param, lowering_rule
from edgec.lower.rules import _minifloat


def _to_int(value, ftype: str, dst: str):
    """Float ``value`` (TIR ``ftype``) truncated into integer ``dst``: NaN -> 0, saturating."""
    import numpy as np
    from tvm import tirx

    low, high = float_to_int_bounds(dst)
    below = float(np.nextafter(np.dtype(ftype).type(high), np.dtype(ftype).type(0)))
    value = tirx.Select(tirx.isnan(value), tirx.const(0.0, ftype), value)
    clamped = tirx.min(tirx.max(value, tirx.const(low, ftype)), tirx.const(below, ftype))
    return tirx.Select(value >= tirx.const(high, ftype),
                       tirx.const(int(np.iinfo(dst).max), dst), clamped.astype(dst))


@lowering_rule("CAST", "float32", *PLAIN_INT_KEYS, "bool", *OTHER_FLOATS, *NARROW_INT_DTYPES)
def cast(ctx) -> KernelPlan:
    """CAST between floats, plain integers and bool (``x != 0``; 0 or 1)."""
    x_t, y_t = ctx.ins[0], ctx.outs[0]
    size, narrow = y_t.size, NARROW_INT_DTYPES.get(y_t.dtype)
    src = storage_dtype(x_t.dtype) if x_t.dtype in NARROW_INT_DTYPES else x_t.dtype
    dst = "int32" if narrow else y_t.dtype
    wide = src in OTHER_FLOATS or dst in OTHER_FLOATS
    saturate = bool(ctx.node.attrs.get("saturate", True)) and dst in MINIFLOATS \
        and MINIFLOATS[dst].saturable
    round_mode = ctx.node.attrs.get("round_mode", "up") if dst == "float8_e8m0fnu" else "up"

    def build() -> Built:
        from tvm import te, tirx

        from edgec.lower.rules._te import placeholder

        x = placeholder((size,), _minifloat.tir_dtype(src), "x")

        def convert(i):
            if dst == "bool":
                if src in MINIFLOATS:  # by value: -0 is false
                    return _minifloat.to_double(x[i], src) != tirx.const(0.0, "float64")
                return x[i] != tirx.const(0, src)
            if not wide:
                if src != "float32" or dst == "float32":
                    return x[i].astype(dst)
                return _to_int(x[i], "float32", dst)
            value = _minifloat.to_double(x[i], src)
            if dst in MINIFLOATS:
                return _minifloat.from_double(value, dst, saturate, round_mode)
            if dst in ("float32", "float64"):
                return value.astype(dst)
            return _to_int(value, "float64", dst)

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
                      build=build,
                      key=(_minifloat.key(), saturate, round_mode) if wide else ())
