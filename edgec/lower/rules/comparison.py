"""Comparisons, logical ops and SELECT_V2 (``edgec.ir.ops.comparison``): one TE compute over
the output under numpy broadcasting; bool tensors are one byte, 0 or 1, in C.

Float comparisons are C's (false with NaN, ``!=`` true), as numpy's; plain integers compare in
their own type. SELECT_V2 copies the chosen element, no arithmetic."""

from __future__ import annotations

from edgec.ir.graph import PLAIN_INT_KEYS, key_dtype
from edgec.ir.ops.comparison import COMPARISONS, LEFT_SHIFT, comparison_params
from edgec.lower.registry import Built, KernelPlan, Param, lowering_rule, same_layout_inputs
from edgec.lower.rules._te import placeholder
from edgec.lower.rules.elementwise import _broadcast
from edgec.lower.te_quant import c64, i64, rounding_divide_by_pot, srdhm


def _compare(op: str):
    import operator

    return {"EQUAL": operator.eq, "NOT_EQUAL": operator.ne, "LESS": operator.lt,
            "LESS_EQUAL": operator.le, "GREATER": operator.gt,
            "GREATER_EQUAL": operator.ge}[op]


def _logical(op: str):
    from tvm import tirx

    return {"LOGICAL_AND": tirx.And, "LOGICAL_OR": tirx.Or}[op]


def _elementwise_plan(ctx, roles: list[str], fn) -> KernelPlan:
    """``y = fn(*inputs)`` under broadcasting; ``roles`` name the inputs' C parameters (not
    ``y``, the output's)."""
    assert "y" not in roles, roles
    shape, rank = ctx.outs[0].shape, len(ctx.outs[0].shape)

    def build() -> Built:
        from tvm import te

        ins = [placeholder(t.shape, key_dtype(t.dtype), role)
               for role, t in zip(roles, ctx.ins)]
        reads = [_broadcast(x, rank) for x in ins]
        y = te.compute(shape, lambda *i: fn(*(r(*i) for r in reads)), name="y")
        return Built([*ins, y], lambda sch: None)

    params = [Param(role, name) for role, name in zip(roles, ctx.node.inputs)]
    params.append(Param("y", ctx.node.outputs[0]))
    return KernelPlan(params, {}, build=build,
                      in_place=same_layout_inputs(ctx, {r: k for k, r in enumerate(roles)}))


def _eq_ne_bool(op: str):
    """EQUAL / NOT_EQUAL of bools compare them as the bytes 0 / 1."""
    from tvm import tirx

    cmp = _compare(op)
    return lambda a, b: cmp(tirx.Cast("uint8", a), tirx.Cast("uint8", b))


for _op in COMPARISONS:
    _keys = ("float32", *PLAIN_INT_KEYS)

    def _rule(ctx, op=_op) -> KernelPlan:
        fn = _eq_ne_bool(op) if ctx.ins[0].dtype == "bool" else _compare(op)
        return _elementwise_plan(ctx, ["a", "b"], fn)
    _rule.__doc__ = f"{_op}: C's comparison of the two elements, a bool."
    lowering_rule(_op, *_keys, *(("bool",) if _op in ("EQUAL", "NOT_EQUAL") else ()))(_rule)


def _rescale(params):
    """The TFLM rescaling of one int8 input, as an expression of its code."""
    zp, mult, shift = params
    return lambda v: rounding_divide_by_pot(
        srdhm((i64(v) - c64(zp)) * c64(1 << LEFT_SHIFT), c64(mult)), c64(-shift))


@lowering_rule("EQUAL", "int8")
@lowering_rule("NOT_EQUAL", "int8")
@lowering_rule("LESS", "int8")
@lowering_rule("LESS_EQUAL", "int8")
@lowering_rule("GREATER", "int8")
@lowering_rule("GREATER_EQUAL", "int8")
def compare_int8(ctx) -> KernelPlan:
    """int8 comparisons: both inputs rescaled as TFLM's ``*WithScaling``, then compared."""
    what = f"node '{ctx.node.name}' ({ctx.node.op})"
    ra, rb = (_rescale(comparison_params(t.quant, what)) for t in ctx.ins[:2])
    cmp = _compare(ctx.node.op)
    return _elementwise_plan(ctx, ["a", "b"], lambda a, b: cmp(ra(a), rb(b)))


@lowering_rule("LOGICAL_AND", "bool")
@lowering_rule("LOGICAL_OR", "bool")
def logical(ctx) -> KernelPlan:
    """LOGICAL_AND / LOGICAL_OR: C's ``&&`` / ``||``."""
    return _elementwise_plan(ctx, ["a", "b"], _logical(ctx.node.op))


@lowering_rule("LOGICAL_NOT", "bool")
def logical_not(ctx) -> KernelPlan:
    """LOGICAL_NOT: ``!x``."""
    from tvm import tirx

    return _elementwise_plan(ctx, ["x"], lambda v: tirx.Not(v))


@lowering_rule("SELECT_V2", "bool")
def select_v2(ctx) -> KernelPlan:
    """SELECT_V2: ``c ? a : b`` (C parameters c, a, b; y is the output)."""
    from tvm import tirx

    return _elementwise_plan(ctx, ["c", "a", "b"], lambda c, a, b: tirx.Select(c, a, b))
