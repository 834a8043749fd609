"""POW and FMOD (``edgec.ir.ops.pow_fmod``) under numpy broadcasting: one C call per element.

float32 POW is ``powf``, FMOD ``fmodf`` (exact, so bit for bit the reference). On float64
they are ``pow`` / ``fmod`` on doubles; on float16 / bfloat16 FMOD is ``fmodf`` between the
helpers converting their bit patterns (``_minifloat.in_float32``: exact, the remainder is a
value of the format), POW ``pow`` on the decoded doubles, rounded once by the encoder (as the
reference).
int32 / int64 POW calls the shared helper ``edgec_ipow_int32`` / ``_int64`` (``templates/
kernels/ipow.h.j2``): repeated squaring in the unsigned type of the width, a loop per element that TE
cannot express as one expression; it is the reference's ``int_pow`` step for step.
"""

from __future__ import annotations

from edgec.ir.ops.pow_fmod import FLOAT_DTYPES, OTHER_FLOAT_DTYPES, INT_POW_DTYPES
from edgec.lower.registry import Built, KernelPlan, lowering_rule
from edgec.lower.rules import _minifloat
from edgec.lower.rules._te import placeholder
from edgec.lower.rules.elementwise import _broadcast, _float_plan, _plan, _schedule, _select_plan


def _libm(name: str):
    def combine(a, b):
        from tvm import tirx

        return getattr(tirx, name)(a, b)
    return combine


@lowering_rule("POW", *FLOAT_DTYPES)
def pow_float(ctx) -> KernelPlan:
    """float32 POW via ``powf``."""
    return _float_plan(ctx, _libm("pow"))


@lowering_rule("FMOD", *FLOAT_DTYPES)
def fmod_float(ctx) -> KernelPlan:
    """float32 FMOD via ``fmodf``."""
    return _float_plan(ctx, _libm("fmod"))


@lowering_rule("FMOD", *OTHER_FLOAT_DTYPES)
def fmod_other_float(ctx) -> KernelPlan:
    """float64 FMOD via ``fmod``; float16 / bfloat16 via ``fmodf`` on the decoded values."""
    return _other_float_plan(ctx, _libm("fmod"), "float32")


@lowering_rule("POW", *OTHER_FLOAT_DTYPES)
def pow_other_float(ctx) -> KernelPlan:
    """float64 POW via ``pow``; float16 / bfloat16 via ``pow`` on the decoded doubles."""
    return _other_float_plan(ctx, _libm("pow"), "float64")


def _in_double(fn, dtype: str):
    """``fn`` (TIR float64 values -> float64) on elements of minifloat ``dtype``, its result
    rounded once into the format."""
    def apply(*values):
        return _minifloat.from_double(fn(*(_minifloat.to_double(v, dtype) for v in values)),
                                      dtype)
    return apply


def _other_float_plan(ctx, combine, wide: str) -> KernelPlan:
    """``y = combine(a, b)`` (TIR float values) under broadcasting on float64 (doubles) or a
    minifloat (its bit patterns, ``combine`` in ``wide`` between decode and encode)."""
    return _select_plan(ctx, ctx.outs[0].dtype, combine,
                        _minifloat.in_float32 if wide == "float32" else _in_double)


@lowering_rule("POW", *INT_POW_DTYPES)
def pow_int(ctx) -> KernelPlan:
    """int32 / int64 POW via the ``ipow`` helper (wrapping; negative exponents truncate)."""
    dtype = ctx.outs[0].dtype
    helper = f"edgec_ipow_{dtype}"
    shape, rank = ctx.outs[0].shape, len(ctx.outs[0].shape)

    def build() -> Built:
        from tvm import te, tirx

        a = placeholder(ctx.ins[0].shape, dtype, "a")
        b = placeholder(ctx.ins[1].shape, dtype, "b")
        ra, rb = _broadcast(a, rank), _broadcast(b, rank)
        y = te.compute(shape, lambda *i: tirx.call_pure_extern(dtype, helper, ra(*i), rb(*i)),
                       name="y")
        return Built([a, b, y], _schedule([], rank))

    return _plan(ctx, build)
