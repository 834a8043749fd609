"""ADD, SUB, MUL with numpy broadcasting, int8 and float32.

int8 ADD/SUB follow TFLM's ``AddFunc``/``SubElementwise`` (see ``edgec.ir.ops.elementwise``):
offset inputs shifted left by 20 bits, each brought to the common scale by its own
``MultiplyByQuantizedMultiplier``, added or subtracted, scaled to the output, plus the output
offset, clamped. int8 MUL: ``(a - zp_a) * (b - zp_b)`` scaled to the output. All multipliers,
shifts, offsets and bounds are the int32 array ``params``; the C computes in int32
(``te_quant.mbqm32``), which these multipliers' ranges allow.

Plain integers (docs/IR.md "Plain integers"): ADD, SUB, MUL in the unsigned type of the
operands' width, at least 32 bits, cast back to the tensor's type. C's unsigned arithmetic
wraps (signed overflow would be undefined, and int8 / int16 operands would be promoted to
``int``, where 65535 * 65535 overflows); the conversion back keeps the low bits, numpy's
wrap-around (gcc and clang convert out-of-range values to signed types modulo 2^N).
MAXIMUM / MINIMUM compare the values. DIV truncates toward zero (C99's ``/``) with the answers
the reference defines where C's are undefined: the quotient is computed by a divisor that is
never 0 nor -1 (those read as 1), ``x / 0`` selects 0 and ``x / -1`` selects the wrapping
negation ``0 - x`` in the unsigned type, so no C expression the kernel evaluates is undefined.
"""

from __future__ import annotations

import numpy as np

from edgec.errors import EdgecError
from edgec.ir.floats import MINIFLOATS
from edgec.ir.graph import PLAIN_INT_KEYS
from edgec.ir.ops.elementwise import (ADD_SUB_LEFT_SHIFTS, add_sub_params, check_int16_mul,
                                      mul_multiplier)
from edgec.ir.quant import activation_range
from edgec.lower import consts
from edgec.lower.registry import Built, KernelPlan, Param, lowering_rule, same_layout_inputs
from edgec.lower.rules import _minifloat
from edgec.lower.rules._te import clamp_float, const_param, placeholder
from edgec.lower.te_quant import Fast, fast_form, mbqm32, offset_clamp_int8
from edgec.lower.tir import attach


def _broadcast(tensor, out_rank: int):
    """``index -> tensor value`` reading ``tensor`` under numpy broadcasting to ``out_rank``."""
    shape = tensor.shape
    lead = out_rank - len(shape)

    def read(*i):
        return tensor[tuple(0 if int(d) == 1 else i[lead + k] for k, d in enumerate(shape))]
    return read


def _plan(ctx, build, constants=None) -> KernelPlan:
    """The plan of ``y = a op b``. An input not broadcast is read at the index ``y`` is
    written at, by the same loop iteration, after which nothing reads it: ``y`` may
    overwrite it (``in_place``)."""
    params = [Param("a", ctx.node.inputs[0]), Param("b", ctx.node.inputs[1])]
    if constants is not None:
        params.append(const_param(ctx, "params"))
    params.append(Param("y", ctx.node.outputs[0]))
    named = {} if constants is None else {f"{ctx.func_name}_params": constants}
    return KernelPlan(params, named, build=build,
                      in_place=same_layout_inputs(ctx, {"a": 0, "b": 1}))


def _schedule(stages: list[str], rank: int):
    def schedule(sch):
        if stages:
            attach(sch, "y", rank - 1, *stages)
    return schedule


def _int32_form(mult: int, shift: int) -> Fast:
    """The int32 requantization form of one multiplier and shift. It always exists here: they
    come from ``quantize_multiplier``, which never gives INT32_MIN nor a shift below -31."""
    form = fast_form(np.array([mult]), np.array([shift]))
    assert form is not None, (mult, shift)
    return form


def _add_sub_int8(ctx, sign: int) -> KernelPlan:
    """int32 throughout: ``add_sub_params`` refuses multipliers of 1 or more, so nothing is
    shifted left, ``(x + offset) << 20`` stays below 2**28 and the scaled sum below 2**29."""
    dtype = ctx.dtype
    p = add_sub_params(ctx.node.op, ctx.ins[0].quant, ctx.ins[1].quant, ctx.outs[0].quant,
                       ctx.attrs["activation"], dtype)
    constants = consts.int32_array([
        p.input1_offset, p.input1_multiplier, p.input1_shift, p.input2_offset,
        p.input2_multiplier, p.input2_shift, p.output_offset, p.output_multiplier,
        p.output_shift, p.act_min, p.act_max])
    forms = [_int32_form(m, s) for m, s in ((p.input1_multiplier, p.input1_shift),
                                             (p.input2_multiplier, p.input2_shift),
                                             (p.output_multiplier, p.output_shift))]
    assert not any(f.left for f in forms), "ADD/SUB multipliers are below one"
    shape, rank = ctx.outs[0].shape, len(ctx.outs[0].shape)

    def build() -> Built:
        from tvm import tirx

        a = placeholder(ctx.ins[0].shape, dtype, "a")
        b = placeholder(ctx.ins[1].shape, dtype, "b")
        prm = placeholder((11,), "int32", "params")
        stages = []

        def scaled(read, first: int, name: str):
            value, names = mbqm32(shape, lambda *i: (read(*i).astype("int32") + prm[first])
                                  * tirx.const(1 << ADD_SUB_LEFT_SHIFTS[dtype], "int32"),
                                  lambda *i: prm[first + 1], lambda *i: prm[first + 2], name,
                                  forms[0])
            stages.extend(names)
            return value

        sa, sb = scaled(_broadcast(a, rank), 0, "a"), scaled(_broadcast(b, rank), 3, "b")
        combine = (lambda *i: sa(*i) + sb(*i)) if sign > 0 else (lambda *i: sa(*i) - sb(*i))
        out, names = mbqm32(shape, combine, lambda *i: prm[7], lambda *i: prm[8], "out",
                            forms[0])
        y, clamp = offset_clamp_int8(shape, out, lambda *i: prm[6], lambda *i: prm[9],
                                     lambda *i: prm[10], "out_clamp", dtype)
        return Built([a, b, prm, y], _schedule([clamp, *names, *stages], rank))

    return _plan(ctx, build, constants)


@lowering_rule("ADD", "int8", "int16")
def add_int8(ctx) -> KernelPlan:
    """int8 / int16 ADD (TFLM ``reference_integer_ops::AddFunc``)."""
    return _add_sub_int8(ctx, 1)


@lowering_rule("SUB", "int8", "int16")
def sub_int8(ctx) -> KernelPlan:
    """int8 / int16 SUB (TFLM ``reference_ops::SubElementwise``)."""
    return _add_sub_int8(ctx, -1)


@lowering_rule("MUL", "int8", "int16")
def mul_int8(ctx) -> KernelPlan:
    """int8 / int16 MUL (TFLM ``reference_integer_ops::MulElementwise``)."""
    dtype = ctx.dtype
    q1, q2, qo = ctx.ins[0].quant, ctx.ins[1].quant, ctx.outs[0].quant
    check_int16_mul(ctx.node, q1, q2, qo, dtype)
    mult, shift = consts.requant_arrays(*mul_multiplier(q1, q2, qo), 1, ctx.node.name)
    lo, hi = activation_range(ctx.attrs["activation"], qo.s, qo.zp, dtype)
    constants = consts.int32_array([q1.zp, q2.zp, qo.zp, mult[0], shift[0], lo, hi])
    shape, rank = ctx.outs[0].shape, len(ctx.outs[0].shape)

    form = _int32_form(int(mult[0]), int(shift[0]))

    def build() -> Built:
        a = placeholder(ctx.ins[0].shape, dtype, "a")
        b = placeholder(ctx.ins[1].shape, dtype, "b")
        prm = placeholder((7,), "int32", "params")
        ra, rb = _broadcast(a, rank), _broadcast(b, rank)
        # |(a - zp_a) * (b - zp_b)| <= 2**16 (2**30 for int16, zero points 0): int32.
        out, names = mbqm32(shape, lambda *i: (ra(*i).astype("int32") - prm[0])
                            * (rb(*i).astype("int32") - prm[1]),
                            lambda *i: prm[3], lambda *i: prm[4], "out", form)
        y, clamp = offset_clamp_int8(shape, out, lambda *i: prm[2], lambda *i: prm[5],
                                     lambda *i: prm[6], "out_clamp", dtype)
        return Built([a, b, prm, y], _schedule([clamp, *names], rank))

    plan = _plan(ctx, build, constants)
    plan.key = (form,)
    return plan


def _float_plan(ctx, combine) -> KernelPlan:
    bounds = consts.activation_bounds(ctx.attrs.get("activation", "NONE"))
    shape, rank = ctx.outs[0].shape, len(ctx.outs[0].shape)

    def build() -> Built:
        from tvm import te

        a = placeholder(ctx.ins[0].shape, "float32", "a")
        b = placeholder(ctx.ins[1].shape, "float32", "b")
        ra, rb = _broadcast(a, rank), _broadcast(b, rank)
        y = te.compute(shape, lambda *i: clamp_float(combine(ra(*i), rb(*i)), bounds), name="y")
        return Built([a, b, y], _schedule([], rank))

    return _plan(ctx, build)


@lowering_rule("ADD", "float32")
def add_float(ctx) -> KernelPlan:
    """float32 ADD."""
    return _float_plan(ctx, lambda a, b: a + b)


@lowering_rule("SUB", "float32")
def sub_float(ctx) -> KernelPlan:
    """float32 SUB."""
    return _float_plan(ctx, lambda a, b: a - b)


@lowering_rule("MUL", "float32")
def mul_float(ctx) -> KernelPlan:
    """float32 MUL."""
    return _float_plan(ctx, lambda a, b: a * b)


@lowering_rule("DIV", "int8")
def div_int8(ctx) -> KernelPlan:
    """int8 DIV (TFLM ``reference_ops::DivElementwise``): each offset pair goes through the
    ``edgec_div_int8`` helper (``templates/kernels/div_int8.h.j2``: a Newton-Raphson
    reciprocal and data-dependent normalising shifts, which TE cannot say), then the output
    zero point and the activation's clamp."""
    from edgec.ir.ops.elementwise import div_multiplier

    q1, q2, qo = ctx.ins[0].quant, ctx.ins[1].quant, ctx.outs[0].quant
    mult, shift = div_multiplier(q1, q2, qo)
    lo, hi = activation_range(ctx.attrs["activation"], qo.s, qo.zp, "int8")
    constants = consts.int32_array([q1.zp, q2.zp, qo.zp, mult, shift, lo, hi])
    shape, rank = ctx.outs[0].shape, len(ctx.outs[0].shape)

    def build() -> Built:
        from tvm import te, tirx

        a = placeholder(ctx.ins[0].shape, "int8", "a")
        b = placeholder(ctx.ins[1].shape, "int8", "b")
        prm = placeholder((7,), "int32", "params")
        ra, rb = _broadcast(a, rank), _broadcast(b, rank)
        out = te.compute(shape, lambda *i: tirx.call_pure_extern(
            "int32", "edgec_div_int8", ra(*i).astype("int32") - prm[0],
            rb(*i).astype("int32") - prm[1], prm[3], prm[4]), name="out_q")
        y, clamp = offset_clamp_int8(shape, out, lambda *i: prm[2], lambda *i: prm[5],
                                     lambda *i: prm[6], "out_clamp")
        return Built([a, b, prm, y], _schedule([clamp, "out_q"], rank))

    return _plan(ctx, build, constants)


@lowering_rule("DIV", "float32")
def div_float(ctx) -> KernelPlan:
    """float32 DIV (IEEE division: x / 0 is +-inf, 0 / 0 NaN, as the reference)."""
    return _float_plan(ctx, lambda a, b: a / b)




def _select_plan(ctx, dtype: str, pick, widen=None) -> KernelPlan:
    """``y = pick(a, b)`` under broadcasting, no rescaling: MAXIMUM / MINIMUM (int8 codes
    share one quantization, which the reference checks), and any binary op on float64 or a
    minifloat. A minifloat's bit patterns go through ``widen(pick, dtype)``: decoded, picked,
    encoded (default ``_minifloat.in_float32``: float16 / bfloat16 in float32, rounded back)."""
    shape, rank = ctx.outs[0].shape, len(ctx.outs[0].shape)
    if dtype in MINIFLOATS:
        pick = (widen or _minifloat.in_float32)(pick, dtype)

    def build() -> Built:
        from tvm import te

        a = placeholder(ctx.ins[0].shape, _minifloat.tir_dtype(dtype), "a")
        b = placeholder(ctx.ins[1].shape, _minifloat.tir_dtype(dtype), "b")
        ra, rb = _broadcast(a, rank), _broadcast(b, rank)
        y = te.compute(shape, lambda *i: pick(ra(*i), rb(*i)), name="y")
        return Built([a, b, y], _schedule([], rank))

    plan = _plan(ctx, build)
    plan.key = (_minifloat.key(),) if dtype in MINIFLOATS else ()
    return plan


_OTHER_FLOATS = ("float64", "float16", "bfloat16")  # MAXIMUM / MINIMUM (edgec.ir.floats)


def _tvm_max(a, b):
    from tvm import te

    return te.max(a, b)


def _tvm_min(a, b):
    from tvm import te

    return te.min(a, b)


@lowering_rule("MAXIMUM", "int8", "float32", *PLAIN_INT_KEYS, *_OTHER_FLOATS)
def maximum(ctx) -> KernelPlan:
    """MAXIMUM: the larger code (int8), value (floats) or integer (plain integers)."""
    return _select_plan(ctx, ctx.outs[0].dtype, _tvm_max)


@lowering_rule("MINIMUM", "int8", "float32", *PLAIN_INT_KEYS, *_OTHER_FLOATS)
def minimum(ctx) -> KernelPlan:
    """MINIMUM: the smaller code (int8), value (floats) or integer (plain integers)."""
    return _select_plan(ctx, ctx.outs[0].dtype, _tvm_min)


def wrapping_type(dtype: str) -> str:
    """The unsigned C type plain integer arithmetic on ``dtype`` runs in: ``dtype``'s width,
    at least 32 bits (no promotion to ``int``), so it wraps as numpy does."""
    return "uint64" if dtype.endswith("64") else "uint32"


def _refuse_activation(ctx) -> None:
    """Plain integer arithmetic takes no fused activation (TFLite has none on them)."""
    if ctx.attrs["activation"] != "NONE":
        raise EdgecError(f"node '{ctx.node.name}' ({ctx.node.op}): a fused activation on plain "
                         "integers has no lowering", "apply the clamp as MAXIMUM / MINIMUM")


_PLAIN_COMBINE = {"ADD": lambda a, b: a + b, "SUB": lambda a, b: a - b,
                  "MUL": lambda a, b: a * b}


@lowering_rule("ADD", *PLAIN_INT_KEYS)
@lowering_rule("SUB", *PLAIN_INT_KEYS)
@lowering_rule("MUL", *PLAIN_INT_KEYS)
def binary_plain_int(ctx) -> KernelPlan:
    """ADD / SUB / MUL of plain integers, wrapping around at the type's width."""
    _refuse_activation(ctx)
    dtype = ctx.outs[0].dtype
    wide = wrapping_type(dtype)
    combine = _PLAIN_COMBINE[ctx.node.op]
    shape, rank = ctx.outs[0].shape, len(ctx.outs[0].shape)

    def build() -> Built:
        from tvm import te

        a = placeholder(ctx.ins[0].shape, dtype, "a")
        b = placeholder(ctx.ins[1].shape, dtype, "b")
        ra, rb = _broadcast(a, rank), _broadcast(b, rank)
        y = te.compute(shape, lambda *i: combine(ra(*i).astype(wide), rb(*i).astype(wide))
                       .astype(dtype), name="y")
        return Built([a, b, y], _schedule([], rank))

    return _plan(ctx, build)


@lowering_rule("DIV", *PLAIN_INT_KEYS)
def div_plain_int(ctx) -> KernelPlan:
    """DIV of plain integers: truncated toward zero, ``x / 0 == 0``, ``MIN / -1 == MIN``."""
    _refuse_activation(ctx)
    dtype = ctx.outs[0].dtype
    signed = not dtype.startswith("u")
    wide = wrapping_type(dtype)
    # The type the quotient is computed in: the operands' (int8 / int16 promoted to int32).
    calc = ("int64" if dtype.endswith("64") else "int32") if signed else wide
    shape, rank = ctx.outs[0].shape, len(ctx.outs[0].shape)

    def build() -> Built:
        from tvm import te, tirx

        a = placeholder(ctx.ins[0].shape, dtype, "a")
        b = placeholder(ctx.ins[1].shape, dtype, "b")
        ra, rb = _broadcast(a, rank), _broadcast(b, rank)
        zero, one = tirx.const(0, calc), tirx.const(1, calc)

        def quotient(*i):
            x, d = ra(*i).astype(calc), rb(*i).astype(calc)
            if not signed:
                q = tirx.truncdiv(x, tirx.Select(d == zero, one, d))
                return tirx.Select(d == zero, zero, q).astype(dtype)
            minus_one = tirx.const(-1, calc)
            special = tirx.Or(d == zero, d == minus_one)
            q = tirx.truncdiv(x, tirx.Select(special, one, d))
            negated = (tirx.const(0, wide) - x.astype(wide)).astype(calc)
            return tirx.Select(d == zero, zero,
                               tirx.Select(d == minus_one, negated, q)).astype(dtype)

        y = te.compute(shape, quotient, name="y")
        return Built([a, b, y], _schedule([], rank))

    return _plan(ctx, build)
