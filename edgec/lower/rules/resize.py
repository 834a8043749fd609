"""RESIZE_NEAREST_NEIGHBOR and RESIZE_BILINEAR, int8 and float32: gathers through per-row
and per-column tables computed in Python by the reference's own functions
(``edgec.ir.ops.resize``), so the C does no coordinate arithmetic and cannot round a
coordinate differently from TFLite.

Nearest: tables ``rows`` / ``cols``, ``y = x[rows[i], cols[j]]``. Bilinear: lower and upper
taps per row and column plus the weight of the upper tap (float32 fractions, or TFLM's 10-bit
integer weights for int8, whose four products are summed in int64 and rounded as
``ResizeBilinearInteger``: ``(sum +- 2**19) / 2**20``, truncating C division).
"""

from __future__ import annotations

import numpy as np

from edgec.ir.ops.resize import (bilinear_float_taps, bilinear_int_taps, nearest_indices,
                                 onnx_linear, onnx_nearest, resize_tables)
from edgec.lower.registry import Built, KernelPlan, Param, lowering_rule
from edgec.lower.rules._te import const_param, named_constants, placeholder
from edgec.lower.tir import attach


def _tables(ctx, fn, onnx_fn=None) -> tuple:
    return resize_tables(ctx.node, ctx.ins[0].shape, fn, onnx_fn)


def _plan(ctx, constants: dict, build) -> KernelPlan:
    params = [Param("x", ctx.node.inputs[0])]
    params += [const_param(ctx, role) for role in constants]
    params.append(Param("y", ctx.node.outputs[0]))
    return KernelPlan(params, named_constants(ctx, constants), build=build)


def _placeholders(constants: dict) -> list:
    return [placeholder(v.shape, str(v.dtype), name) for name, v in constants.items()]


@lowering_rule("RESIZE_NEAREST_NEIGHBOR", "int8", "float32")
def resize_nearest(ctx) -> KernelPlan:
    """Nearest-neighbour resize: a gather by row and column tables."""
    rows, cols = _tables(ctx, nearest_indices, onnx_nearest)
    constants = {"rows": rows, "cols": cols}
    x_t, y_t = ctx.ins[0], ctx.outs[0]

    def build() -> Built:
        from tvm import te

        x = placeholder(x_t.shape, x_t.dtype, "x")
        r, c = _placeholders(constants)
        y = te.compute(y_t.shape, lambda n, i, j, k: x[n, r[i], c[j], k], name="y")
        return Built([x, r, c, y], lambda sch: None)

    return _plan(ctx, constants, build)


@lowering_rule("RESIZE_BILINEAR", "float32")
def resize_bilinear_float(ctx) -> KernelPlan:
    """float32 bilinear resize: TFLite's four products, weights from tables."""
    (y0, y1, fy), (x0, x1, fx) = _tables(ctx, bilinear_float_taps, onnx_linear)
    constants = {"y0": y0, "y1": y1, "fy": fy, "x0": x0, "x1": x1, "fx": fx}
    x_t, y_t = ctx.ins[0], ctx.outs[0]

    def build() -> Built:
        from tvm import te, tirx

        x = placeholder(x_t.shape, "float32", "x")
        ty0, ty1, tfy, tx0, tx1, tfx = _placeholders(constants)
        one = tirx.const(1.0, "float32")

        def value(n, i, j, k):
            a, b = tfy[i], tfx[j]
            return (x[n, ty0[i], tx0[j], k] * (one - a) * (one - b)
                    + x[n, ty1[i], tx0[j], k] * a * (one - b)
                    + x[n, ty0[i], tx1[j], k] * (one - a) * b
                    + x[n, ty1[i], tx1[j], k] * a * b)

        y = te.compute(y_t.shape, value, name="y")
        return Built([x, ty0, ty1, tfy, tx0, tx1, tfx, y], lambda sch: None)

    return _plan(ctx, constants, build)


@lowering_rule("RESIZE_BILINEAR", "int8")
def resize_bilinear_int8(ctx) -> KernelPlan:
    """int8 bilinear resize (TFLM ``ResizeBilinearInteger``): int64 sum of four codes times
    10-bit weights, rounded half away from zero by 2**20."""
    (y0, y1, sy), (x0, x1, sx) = _tables(ctx, bilinear_int_taps)
    wy = (sy.astype(np.int64) - (y0.astype(np.int64) << 10)).astype(np.int32)
    wx = (sx.astype(np.int64) - (x0.astype(np.int64) << 10)).astype(np.int32)
    constants = {"y0": y0, "y1": y1, "wy": wy, "x0": x0, "x1": x1, "wx": wx}
    x_t, y_t = ctx.ins[0], ctx.outs[0]

    def build() -> Built:
        from tvm import te, tirx

        x = placeholder(x_t.shape, "int8", "x")
        ty0, ty1, twy, tx0, tx1, twx = _placeholders(constants)
        one = tirx.const(1 << 10, "int64")

        def code(n, r, c, k):
            return x[n, r, c, k].astype("int64")

        def total(n, i, j, k):
            a, b = twy[i].astype("int64"), twx[j].astype("int64")
            return (code(n, ty0[i], tx0[j], k) * (one - a) * (one - b)
                    + code(n, ty1[i], tx0[j], k) * a * (one - b)
                    + code(n, ty0[i], tx1[j], k) * (one - a) * b
                    + code(n, ty1[i], tx1[j], k) * a * b)

        s = te.compute(y_t.shape, total, name="sum")
        half = tirx.const(1 << 19, "int64")
        y = te.compute(y_t.shape, lambda *i: tirx.truncdiv(
            s(*i) + tirx.Select(s(*i) > tirx.const(0, "int64"), half, -half),
            tirx.const(1 << 20, "int64")).astype("int8"), name="y")

        return Built([x, ty0, ty1, twy, tx0, tx1, twx, y], lambda sch: attach(sch, "y", 3, "sum"))

    return _plan(ctx, constants, build)
