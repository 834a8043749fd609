"""Elementwise one-input ops: RELU, RELU6, QUANTIZE, DEQUANTIZE (int8 and float32), float32
LOGISTIC, TANH, SQRT, EXP, LOG, ERF, HARD_SWISH and LEAKY_RELU. Each kernel is one flat loop over the elements.

int8 semantics are the reference's (``edgec.ir.ops.relu``, ``quantize``): RELU and int8->int8
QUANTIZE requantize ``x - zp_in`` with MultiplyByQuantizedMultiplier; RELU6 clamps raw
values; float->int8 QUANTIZE divides in float32 and rounds half away from zero
(``trunc`` plus the exact remainder, as the
reference does) with NaN as 0 and saturation; DEQUANTIZE is ``scale * (x - zp)`` in float32, which is exact
before its one rounding, hence equal to the reference's double product rounded to float.
"""

from __future__ import annotations

import numpy as np

from edgec.ir.ops.logistic import _CUTOFF_LOWER, _CUTOFF_UPPER
from edgec.ir.ops.relu import relu6_bounds, relu_params
from edgec.ir.quant import quantize_multiplier
from edgec.lower import consts
from edgec.lower.registry import Built, KernelPlan, Param, lowering_rule, same_layout_inputs
from edgec.lower.rules._te import const_param, named_constants, placeholder
from edgec.lower.te_quant import clamp_int8, i64, mbqm
from edgec.lower.tir import attach


def _flat_plan(ctx, in_dtype: str, body, constants: dict | None = None) -> KernelPlan:
    """A kernel ``y[i] = body(x, consts..., i)`` over the flat element count.

    ``constants`` maps a role to its array; ``body(x, *placeholders)`` returns ``(fn, stages)``
    where ``fn(i)`` is the output element and ``stages`` the TE stages to attach to ``y``
    (inside its one loop, so iteration ``i`` reads ``x[i]`` alone, before it writes ``y[i]``).
    Hence ``y`` may overwrite ``x`` when their element sizes match (``in_place``).
    """
    size = ctx.outs[0].size
    constants = constants or {}

    def build() -> Built:
        from tvm import te

        x = placeholder((size,), in_dtype, "x")
        extra = [placeholder(a.shape, a.dtype.name, role) for role, a in constants.items()]
        fn, names = body(x, *extra)
        y = te.compute((size,), fn, name="y")
        return Built([x, *extra, y], lambda sch: attach(sch, "y", 0, *names) if names else None)

    params = [Param("x", ctx.node.inputs[0])]
    params += [const_param(ctx, role) for role in constants]
    params.append(Param("y", ctx.node.outputs[0]))
    return KernelPlan(params, named_constants(ctx, constants), build=build, in_place=same_layout_inputs(ctx, {"x": 0}))


def _requantize(ctx, mult: int, shift: int, lo: int, hi: int) -> KernelPlan:
    """``clamp(MBQM(x - zp_in) + zp_out, lo, hi)``; params = [zp_in, mult, shift, zp_out, lo,
    hi]."""
    mult_a, shift_a = consts.requant_arrays(mult, shift, 1, ctx.node.name)
    zp_in, zp_out = ctx.ins[0].quant.zp, ctx.outs[0].quant.zp
    params = consts.int32_array([zp_in, mult_a[0], shift_a[0], zp_out, lo, hi])

    def body(x, prm):
        q, names = mbqm((ctx.outs[0].size,), lambda i: i64(x[i]) - i64(prm[0]),
                        lambda i: prm[1], lambda i: prm[2], "rq")
        return (lambda i: clamp_int8(q[i] + i64(prm[3]), prm[4], prm[5], ctx.outs[0].dtype)), names

    return _flat_plan(ctx, ctx.dtype, body, {"params": params})


@lowering_rule("RELU", "int8", "int16")
def relu_int8(ctx) -> KernelPlan:
    """int8 / int16 RELU (TFLM ``ReluQuantized``)."""
    dtype = ctx.outs[0].dtype
    mult, shift, lo = relu_params(ctx.ins[0].quant, ctx.outs[0].quant, dtype)
    return _requantize(ctx, mult, shift, lo, int(np.iinfo(dtype).max))


@lowering_rule("QUANTIZE", "int8", "int16")
def requantize_int8(ctx) -> KernelPlan:
    """int8 / int16 -> int8 / int16 QUANTIZE (TFLM ``Requantize``)."""
    mult, shift = quantize_multiplier(ctx.ins[0].quant.s / ctx.outs[0].quant.s)
    info = np.iinfo(ctx.outs[0].dtype)
    return _requantize(ctx, mult, shift, int(info.min), int(info.max))


@lowering_rule("RELU6", "int8", "int16")
def relu6_int8(ctx) -> KernelPlan:
    """int8 / int16 RELU6 (TFLM ``Relu6Quantized``): a clamp to params = [lo, hi]."""
    dtype = ctx.dtype
    bounds = consts.int32_array(relu6_bounds(ctx.ins[0].quant, dtype))

    def body(x, prm):
        from tvm import tirx

        return (lambda i: tirx.min(tirx.max(x[i].astype("int32"), prm[0]), prm[1])
                .astype(dtype)), []

    return _flat_plan(ctx, dtype, body, {"params": bounds})


@lowering_rule("QUANTIZE", "float32")
def quantize_float(ctx) -> KernelPlan:
    """float32 -> int8 / int16 QUANTIZE (TFLM ``AffineQuantize``); scale = [s], params = [zp]."""
    q = ctx.outs[0].quant
    out_dtype = ctx.outs[0].dtype
    lowest, highest = (int(v) for v in (np.iinfo(out_dtype).min, np.iinfo(out_dtype).max))
    scale = np.array([q.s], np.float32)
    zp = consts.int32_array([q.zp])

    def body(x, s, prm):
        from tvm import te, tirx

        size = (ctx.outs[0].size,)
        # Clamp first (one past the output range, so rounding at the edges is unchanged):
        # converting an out-of-range float to int is undefined in C. NaN goes to 0.
        lo = (tirx.const(lowest - 1, "int32") - prm[0]).astype("float32")
        hi = (tirx.const(highest + 1, "int32") - prm[0]).astype("float32")

        def clamp(i):
            quotient = x[i] / s[0]
            inside = tirx.min(tirx.max(quotient, lo), hi)
            return tirx.Select(tirx.isnan(quotient), tirx.const(0.0, "float32"), inside)

        clamped = te.compute(size, clamp, name="clamped")

        def round_half_away(i):
            whole = clamped[i].astype("int32")  # truncation toward zero
            frac = clamped[i] - whole.astype("float32")  # exact
            half = tirx.const(0.5, "float32")
            return whole + (frac >= half).astype("int32") - (frac <= -half).astype("int32")

        rounded = te.compute(size, round_half_away, name="rounded")
        return (lambda i: tirx.min(tirx.max(rounded[i] + prm[0], lowest), highest).astype(out_dtype),
                [rounded.op.name, clamped.op.name])

    return _flat_plan(ctx, "float32", body, {"scale": scale, "params": zp})


@lowering_rule("DEQUANTIZE", "int8", "int16")
def dequantize_int8(ctx) -> KernelPlan:
    """int8 / int16 -> float32 DEQUANTIZE; scale = [s], params = [zp]."""
    q = ctx.ins[0].quant
    scale, zp = np.array([q.s], np.float32), consts.int32_array([q.zp])

    def body(x, s, prm):
        return (lambda i: s[0] * (x[i].astype("int32") - prm[0]).astype("float32")), []

    return _flat_plan(ctx, ctx.dtype, body, {"scale": scale, "params": zp})


def _float_unary(ctx, fn) -> KernelPlan:
    return _flat_plan(ctx, "float32", lambda x: ((lambda i: fn(x[i])), []))


@lowering_rule("RELU", "float32")
def relu_float(ctx) -> KernelPlan:
    """float32 RELU: ``x < 0 ? 0 : x``."""
    return _float_unary(ctx, lambda v: _select_lt(v, 0.0, 0.0, v))


@lowering_rule("RELU6", "float32")
def relu6_float(ctx) -> KernelPlan:
    """float32 RELU6: ``x > 6 ? 6 : (x < 0 ? 0 : x)``."""
    def fn(v):
        from tvm import tirx

        six = tirx.const(6.0, "float32")
        return tirx.Select(v > six, six, _select_lt(v, 0.0, 0.0, v))
    return _float_unary(ctx, fn)


def _select_lt(v, bound: float, then: float, otherwise):
    from tvm import tirx

    return tirx.Select(v < tirx.const(bound, "float32"), tirx.const(then, "float32"), otherwise)


@lowering_rule("LOGISTIC", "float32")
def logistic_float(ctx) -> KernelPlan:
    """float32 LOGISTIC with TFLM's cut-offs: 1 above 16.619..., exp(x) below -9."""
    def fn(v):
        from tvm import tirx

        one = tirx.const(1.0, "float32")
        middle = one / (one + tirx.exp(-v))
        low = tirx.Select(v < tirx.const(float(_CUTOFF_LOWER), "float32"), tirx.exp(v), middle)
        return tirx.Select(v > tirx.const(float(_CUTOFF_UPPER), "float32"), one, low)
    return _float_unary(ctx, fn)


# float32 ops that are one <math.h> call: the TIR intrinsic of that name, printed as its
# float form (tanhf, sqrtf (correctly rounded, as numpy's), expf, logf (-inf at 0, NaN below
# zero), C99's erff).
LIBM_UNARY = {"TANH": "tanh", "SQRT": "sqrt", "EXP": "exp", "LOG": "log", "ERF": "erf"}


def _libm_rule(op: str, name: str) -> None:
    def rule(ctx) -> KernelPlan:
        def fn(v):
            from tvm import tirx

            return getattr(tirx, name)(v)
        return _float_unary(ctx, fn)

    rule.__name__ = f"{op.lower()}_float"
    rule.__doc__ = f"float32 {op} via ``{name}f``."
    lowering_rule(op, "float32")(rule)


for _op, _name in LIBM_UNARY.items():
    _libm_rule(_op, _name)


@lowering_rule("LEAKY_RELU", "float32")
def leaky_relu_float(ctx) -> KernelPlan:
    """float32 LEAKY_RELU: ``x > 0 ? x : x * alpha``."""
    alpha = float(ctx.attrs["alpha"])

    def fn(v):
        from tvm import tirx

        return tirx.Select(v > tirx.const(0.0, "float32"), v, v * tirx.const(alpha, "float32"))
    return _float_unary(ctx, fn)


@lowering_rule("HARD_SWISH", "float32")
def hard_swish_float(ctx) -> KernelPlan:
    """float32 HARD_SWISH: ``x * relu6(x + 3) / 6`` in TFLite's order of operations."""
    def fn(v):
        from tvm import tirx

        six = tirx.const(6.0, "float32")
        shifted = v + tirx.const(3.0, "float32")
        return v * tirx.Select(shifted > six, six, _select_lt(shifted, 0.0, 0.0, shifted)) / six
    return _float_unary(ctx, fn)
