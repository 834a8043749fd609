"""ONNX converters for comparisons, logic and selection: Equal, Less, LessOrEqual, Greater,
GreaterOrEqual -> EQUAL ... GREATER_EQUAL; Not, And, Or, Xor -> LOGICAL_NOT, LOGICAL_AND,
LOGICAL_OR, NOT_EQUAL on bools; Where -> SELECT_V2 (``edgec.ir.ops.comparison``); integer
Mod as DIV, MUL, SUB and (sign of the divisor) comparisons and SELECT_V2; float Mod as FMOD.

Their bool outputs are values of kind ``bool`` (IR dtype ``bool``, one byte 0 / 1 in C).
Operands are float tensors, plain integers of one type (docs/IR.md "Plain integers") or bools;
int8 activations from QDQ models are compared as float (dequantized first)."""

from __future__ import annotations

import numpy as np
import onnx

from edgec.errors import EdgecError
from edgec.frontends import onnx_layout as lay
from edgec.frontends.onnx_common import attrs, operand
from edgec.frontends.onnx_context import Context, Value
from edgec.frontends.onnx_decompose import constant, step
from edgec.frontends.onnx_ops_math import float_binary
from edgec.frontends.onnx_registry import converter
from edgec.ir.floats import is_float
from edgec.ir.graph import INT_DTYPES

_COMPARE = {"Equal": "EQUAL", "Less": "LESS", "LessOrEqual": "LESS_EQUAL",
            "Greater": "GREATER", "GreaterOrEqual": "GREATER_EQUAL"}
_LOGIC = {"And": "LOGICAL_AND", "Or": "LOGICAL_OR", "Xor": "NOT_EQUAL", "Not": "LOGICAL_NOT"}


def _kind(ctx: Context, name: str) -> str:
    """``bool``, ``int`` (plain integers) or ``float`` for an activation."""
    if ctx.value(name).kind == "bool":
        return "bool"
    return "int" if ctx.plain_int(name) else "float"


def _layout(ctx: Context, acts: list[str], rank: int):
    """The first full-rank activation's layout (None if any activation has a lower rank)."""
    if any(len(ctx.shape(a)) != rank for a in acts):
        return None
    return next((ctx.value(a).layout for a in acts if ctx.value(a).layout is not None), None)


def _operands(ctx: Context, node: onnx.NodeProto, inputs: list[str], layout, rank: int,
              want: str | None = None) -> tuple[list[str], str]:
    """IR tensors for ``inputs`` (activations of one kind, constants converted to their
    type) in ``layout``, and their dtype. ``want``: the kind they must have."""
    acts = [i for i in inputs if not ctx.is_const(i)]
    kinds = {_kind(ctx, a) for a in acts}
    dtypes = {ctx.tensor(ctx.value(a)).dtype for a in acts if _kind(ctx, a) != "float"}
    if len(kinds) > 1 or len(dtypes) > 1 or (want and kinds and kinds != {want}):
        found = ", ".join(sorted(dtypes | ({"float"} & kinds)))
        raise EdgecError(f"{node.op_type} '{node.name}' takes inputs of "
                         f"{'mixed types' if len(kinds | dtypes) > 1 else 'type ' + found}"
                         f" ({found})", f"give them one {want or 'float or integer'} type")
    if kinds:
        kind = kinds.pop()
        dtype = {"float": "float32", "bool": "bool"}.get(kind) or dtypes.pop()
    else:  # constants only (Where's X and Y): their own type
        dtype = _const_dtype(ctx, node, inputs)
        kind = {"float32": "float", "bool": "bool"}.get(dtype, "int")
    names = []
    for i in inputs:
        if i in acts:
            names.append(operand(ctx, i, layout, False) if kind == "float"
                         else ctx.in_layout(ctx.value(i), layout, i))
            continue
        data = np.asarray(ctx.const(i))
        if kind == "float" and data.dtype.kind not in "fiub":
            raise EdgecError(f"{node.op_type} '{node.name}': constant '{i}' is {data.dtype}",
                             "use float, integer or bool constants")
        data = data.reshape((1,) * (rank - data.ndim) + data.shape).astype(dtype)
        names.append(ctx.const_tensor(f"{node.output[0]}_{i}",
                                      data.transpose(layout) if layout else data))
    return names, dtype


def _const_dtype(ctx: Context, node: onnx.NodeProto, inputs: list[str]) -> str:
    """The one IR dtype of constants ``inputs``: float32, bool or their integer type."""
    found = {np.asarray(ctx.const(i)).dtype for i in inputs}
    names = {"float32" if d.kind == "f" else d.name for d in found}
    if len(names) != 1 or not names <= {"float32", "bool", *INT_DTYPES}:
        raise EdgecError(f"{node.op_type} '{node.name}' takes constants of types "
                         f"{', '.join(sorted(d.name for d in found))}",
                         "give them one float, integer or bool type")
    return names.pop()


def _emit(ctx: Context, node: onnx.NodeProto, op: str, names: list[str], layout, dtype: str,
          kind: str) -> None:
    out = node.output[0]
    ir = ctx.new_tensor(out, lay.permute_shape(ctx.shape(out), layout), dtype)
    ctx.add_node(op, names, [ir], {}, node.name or out)
    ctx.values[out] = Value(ir, lay.normalize(layout), kind)


@converter(*_COMPARE)
def compare(ctx: Context, node: onnx.NodeProto) -> None:
    """Comparisons of float, plain integer (or, Equal, bool) tensors -> a bool tensor."""
    rank = len(ctx.shape(node.output[0]))
    layout = _layout(ctx, [i for i in node.input if not ctx.is_const(i)], rank)
    names, dtype = _operands(ctx, node, list(node.input), layout, rank)
    if dtype == "bool" and node.op_type != "Equal":
        raise EdgecError(f"{node.op_type} '{node.name}' orders bool tensors",
                         "compare bools with Equal, or cast them to an integer type first")
    _emit(ctx, node, _COMPARE[node.op_type], names, layout, "bool", "bool")


@converter(*_LOGIC)
def logic(ctx: Context, node: onnx.NodeProto) -> None:
    """Not, And, Or, Xor of bool tensors -> a bool tensor."""
    rank = len(ctx.shape(node.output[0]))
    layout = _layout(ctx, [i for i in node.input if not ctx.is_const(i)], rank)
    names, _ = _operands(ctx, node, list(node.input), layout, rank, want="bool")
    _emit(ctx, node, _LOGIC[node.op_type], names, layout, "bool", "bool")


@converter("Where")
def where(ctx: Context, node: onnx.NodeProto) -> None:
    """Where(condition, X, Y) -> SELECT_V2, X and Y float or plain integers of one type."""
    cond, x, y = node.input
    rank = len(ctx.shape(node.output[0]))
    layout = _layout(ctx, [i for i in node.input if not ctx.is_const(i)], rank)
    (c,), _ = _operands(ctx, node, [cond], layout, rank, want="bool")
    values, dtype = _operands(ctx, node, [x, y], layout, rank)
    if dtype == "bool":
        raise EdgecError(f"Where '{node.name}' selects between bool tensors",
                         "select between float or integer tensors")
    _emit(ctx, node, "SELECT_V2", [c, *values], layout, dtype,
          "float" if dtype == "float32" else "int")


@converter("Mod")
def mod(ctx: Context, node: onnx.NodeProto) -> None:
    """Mod of plain integers, as exact existing ops: the truncated remainder ``x - (x / y) * y``
    (DIV truncates toward zero, the arithmetic wraps: C's ``%``; ``fmod=1``), then for
    ``fmod=0`` (the sign of the divisor, Python's ``%``) ``r + y`` where ``r != 0`` and its
    sign differs from y's (SELECT_V2). ``x mod 0`` is x (edgec's DIV defines ``x / 0`` as 0;
    ONNX leaves it undefined). Float Mod (``fmod=1``, as ONNX requires of floats) -> FMOD,
    C's ``fmod``."""
    x, y = node.input
    fmod = int(attrs(node).get("fmod", 0))
    acts = [i for i in node.input if not ctx.is_const(i)]
    if not all(ctx.plain_int(a) and not is_float(ctx.tensor(ctx.value(a)).dtype)
               for a in acts):  # float16 / float64 values are plain too (edgec.ir.floats)
        _float_mod(ctx, node, fmod)
        return
    dtype = ctx.tensor(ctx.value(acts[0])).dtype
    out, shape = node.output[0], ctx.shape(node.output[0])
    quotient = step(ctx, node, "Div", [x, y], f"{out}_quotient", shape)
    product = step(ctx, node, "Mul", [quotient, y], f"{out}_product", shape)
    signed = np.dtype(dtype).kind == "i"
    if fmod or not signed:  # unsigned: the truncated remainder is the floored one
        step(ctx, node, "Sub", [x, product], out, shape)
        return
    r = step(ctx, node, "Sub", [x, product], f"{out}_trunc", shape)
    zero = constant(ctx, f"{out}_zero", np.zeros((), dtype))
    r_neg = step(ctx, node, "Less", [r, zero], f"{out}_r_neg", shape)
    y_neg = step(ctx, node, "Less", [y, zero], f"{out}_y_neg", ctx.shape(y))
    differ = step(ctx, node, "Xor", [r_neg, y_neg], f"{out}_differ", shape)
    r_zero = step(ctx, node, "Equal", [r, zero], f"{out}_r_zero", shape)
    r_nonzero = step(ctx, node, "Not", [r_zero], f"{out}_r_nonzero", shape)
    fix = step(ctx, node, "And", [differ, r_nonzero], f"{out}_fix", shape)
    adjusted = step(ctx, node, "Add", [r, y], f"{out}_adjusted", shape)
    step(ctx, node, "Where", [fix, adjusted, r], out, shape)


def _float_mod(ctx: Context, node: onnx.NodeProto, fmod: int) -> None:
    """Mod of float tensors: FMOD (the truncated remainder, the dividend's sign)."""
    if not fmod:
        raise EdgecError(f"Mod '{node.name}' takes the divisor's sign (fmod=0) of float "
                         "tensors, which ONNX defines for integers only",
                         "set fmod=1 (C's fmod) for float tensors")
    for i in node.input:
        if (not is_float(np.asarray(ctx.const(i)).dtype) if ctx.is_const(i)
                else ctx.plain_int(i) and not is_float(ctx.tensor(ctx.value(i)).dtype)):
            raise EdgecError(f"Mod '{node.name}' mixes float and integer tensors",
                             "give both inputs the same float type")
    float_binary(ctx, node, "FMOD", list(node.input))
