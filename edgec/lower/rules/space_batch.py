"""SPACE_TO_BATCH_ND and BATCH_TO_SPACE_ND on NHWC tensors: pure index arithmetic in TE.

Output batch ``(ph * block_w + pw) * N + n`` holds block phase ``(ph, pw)`` of input batch
``n`` (``edgec.ir.ops.space_batch``). SPACE_TO_BATCH_ND's pad is the one-element constant
``fill`` (the output zero point, 0 without quantization), as in PAD, so differently quantized
nodes share their C.
"""

from __future__ import annotations

import numpy as np

from edgec.lower.registry import Built, KernelPlan, Param, lowering_rule
from edgec.lower.rules._te import const_param, placeholder
from edgec.lower.rules.layout import ANY_DTYPES


def _block_and_pads(ctx, key: str) -> tuple[tuple[int, int], tuple[int, int]]:
    """``(block_h, block_w)`` and the leading ``(top, left)`` of ``paddings`` or ``crops``."""
    bh, bw = (int(b) for b in ctx.attrs["block_shape"])
    (top, _), (left, _) = ctx.attrs[key]
    return (bh, bw), (int(top), int(left))


@lowering_rule("SPACE_TO_BATCH_ND", *ANY_DTYPES)
def space_to_batch_nd(ctx) -> KernelPlan:
    """``y[b, i, j, k] = x[n, i * bh + ph - top, j * bw + pw - left, k]``, or ``fill`` where
    that lies in the padding (no ``fill`` parameter without padding: the C would not read
    it, and an unused parameter fails ``-Werror``)."""
    x_t, y_t = ctx.ins[0], ctx.outs[0]
    (bh, bw), (top, left) = _block_and_pads(ctx, "paddings")
    n, h, w, _ = x_t.shape
    fill = np.array([y_t.quant.zp if y_t.quant is not None else 0], dtype=x_t.dtype)
    padded = any(int(p) for pair in ctx.attrs["paddings"] for p in pair)

    def build() -> Built:
        from tvm import te, tirx

        x = placeholder(x_t.shape, x_t.dtype, "x")
        f = placeholder((1,), x_t.dtype, "fill")

        def value_at(b, i, j, k):
            phase = b // n
            row = i * bh + phase // bw - top
            col = j * bw + phase % bw - left
            if not padded:
                return x[b % n, row, col, k]
            inside = tirx.all(row >= 0, row < h, col >= 0, col < w)
            return tirx.if_then_else(inside, x[b % n, row, col, k], f[0])

        y = te.compute(y_t.shape, value_at, name="y")
        return Built([x, f, y] if padded else [x, y], lambda sch: None)

    if not padded:
        return KernelPlan([Param("x", ctx.node.inputs[0]), Param("y", ctx.node.outputs[0])],
                          build=build)
    params = [Param("x", ctx.node.inputs[0]), const_param(ctx, "fill"),
              Param("y", ctx.node.outputs[0])]
    return KernelPlan(params, {f"{ctx.func_name}_fill": fill}, build=build)


@lowering_rule("BATCH_TO_SPACE_ND", *ANY_DTYPES)
def batch_to_space_nd(ctx) -> KernelPlan:
    """``y[n, i, j, k] = x[(ph * bw + pw) * N + n, r // bh, c // bw, k]`` with ``r = i + top``,
    ``c = j + left``, ``ph = r % bh``, ``pw = c % bw`` and ``N`` the output batch."""
    x_t, y_t = ctx.ins[0], ctx.outs[0]
    (bh, bw), (top, left) = _block_and_pads(ctx, "crops")
    batch = y_t.shape[0]

    def build() -> Built:
        from tvm import te

        x = placeholder(x_t.shape, x_t.dtype, "x")

        def value_at(b, i, j, k):
            row, col = i + top, j + left
            return x[((row % bh) * bw + col % bw) * batch + b, row // bh, col // bw, k]

        y = te.compute(y_t.shape, value_at, name="y")
        return Built([x, y], lambda sch: None)

    return KernelPlan([Param("x", ctx.node.inputs[0]), Param("y", ctx.node.outputs[0])],
                      build=build)
