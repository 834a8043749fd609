"""Data movement: PAD, TRANSPOSE, CONCATENATION, any rank.

PAD's fill value is the one-element constant ``fill`` (the output zero point or the node's
``value``), so kernels padding differently quantized tensors share their C. int8
CONCATENATION clamps to the fused activation's ``params = [lo, hi]`` (the inputs share the
output's quantization: the reference refuses anything else).
"""

from __future__ import annotations

import numpy as np

from edgec.ir.quant import activation_range
from edgec.ir.registry import MOVE_DTYPES
from edgec.lower import consts
from edgec.lower.registry import Built, KernelPlan, Param, lowering_rule
from edgec.lower.rules._te import clamp_float, const_param, named_constants, placeholder

ANY_DTYPES = MOVE_DTYPES


def _plan(ctx, inputs: list[Param], build, constants: dict) -> KernelPlan:
    params = inputs + [const_param(ctx, role) for role in constants]
    params.append(Param("y", ctx.node.outputs[0]))
    return KernelPlan(params, named_constants(ctx, constants), build=build)


@lowering_rule("PAD", *ANY_DTYPES)
def pad(ctx) -> KernelPlan:
    """PAD with a constant: ``y = inside ? x[i - before] : fill[0]``."""
    x_t, y_t = ctx.ins[0], ctx.outs[0]
    value = ctx.attrs["value"]
    if value is None:
        value = y_t.quant.zp if y_t.quant is not None else 0
    fill = np.array([value], dtype=x_t.dtype)
    befores = [int(p[0]) for p in ctx.attrs["pads"]]

    def build() -> Built:
        from tvm import te, tirx

        x = placeholder(x_t.shape, x_t.dtype, "x")
        f = placeholder((1,), x_t.dtype, "fill")

        def value_at(*i):
            inside = tirx.all(*[tirx.all(i[d] >= b, i[d] < b + x_t.shape[d])
                                for d, b in enumerate(befores)])
            return tirx.if_then_else(inside, x[tuple(i[d] - b for d, b in enumerate(befores))],
                                     f[0])

        y = te.compute(y_t.shape, value_at, name="y")
        return Built([x, f, y], lambda sch: None)

    return _plan(ctx, [Param("x", ctx.node.inputs[0])], build, {"fill": fill})


@lowering_rule("TRANSPOSE", *ANY_DTYPES)
def transpose(ctx) -> KernelPlan:
    """TRANSPOSE: ``y[i] = x[j]`` with ``j[perm[k]] = i[k]``."""
    x_t, y_t = ctx.ins[0], ctx.outs[0]
    rank = len(x_t.shape)
    perm = [int(p) % rank for p in ctx.attrs["perm"]]

    def build() -> Built:
        from tvm import te

        x = placeholder(x_t.shape, x_t.dtype, "x")

        def value_at(*i):
            j = [None] * rank
            for k, p in enumerate(perm):
                j[p] = i[k]
            return x[tuple(j)]

        y = te.compute(y_t.shape, value_at, name="y")
        return Built([x, y], lambda sch: None)

    return _plan(ctx, [Param("x", ctx.node.inputs[0])], build, {})


@lowering_rule("CONCATENATION", *ANY_DTYPES)
def concatenation(ctx) -> KernelPlan:
    """CONCATENATION along ``axis``, clamped by the fused activation for int8 and float32."""
    y_t = ctx.outs[0]
    rank = len(y_t.shape)
    axis = int(ctx.attrs["axis"]) % rank
    activation, dtype = ctx.attrs["activation"], y_t.dtype
    constants = {}
    quantized = ctx.dtype == "int8"  # plain int8 (``plain_int8``) has no activation to clamp
    if quantized:
        lo_hi = activation_range(activation, y_t.quant.s, y_t.quant.zp)
        constants["params"] = consts.int32_array(lo_hi)
    offsets = np.cumsum([0] + [t.shape[axis] for t in ctx.ins]).tolist()

    def build() -> Built:
        from tvm import te, tirx

        xs = [placeholder(t.shape, dtype, f"x{k}") for k, t in enumerate(ctx.ins)]
        extra = [placeholder((2,), "int32", "params")] if constants else []

        def value_at(*i):
            def read(k):
                j = list(i)
                j[axis] = i[axis] - offsets[k]
                return xs[k][tuple(j)]
            value = read(len(xs) - 1)
            for k in range(len(xs) - 2, -1, -1):
                value = tirx.if_then_else(i[axis] < offsets[k + 1], read(k), value)
            if quantized:
                return tirx.min(tirx.max(value.astype("int32"), extra[0][0]), extra[0][1]) \
                    .astype("int8")
            if dtype == "float32":
                return clamp_float(value, consts.activation_bounds(activation))
            return value

        y = te.compute(y_t.shape, value_at, name="y")
        return Built([*xs, *extra, y], lambda sch: None)

    inputs = [Param(f"x{k}", name) for k, name in enumerate(ctx.node.inputs)]
    return _plan(ctx, inputs, build, constants)
