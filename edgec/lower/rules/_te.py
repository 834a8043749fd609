"""TE building blocks shared by rules: placeholders, padding, per-channel requantized output."""

from __future__ import annotations

from edgec.lower.registry import Param
from edgec.lower.te_quant import clamp_int8, i64, mbqm


def placeholder(shape, dtype: str, name: str):
    """A TE input; its name becomes the C parameter name."""
    from tvm import te

    return te.placeholder(tuple(int(d) for d in shape), dtype, name)


def const_param(ctx, role: str) -> Param:
    """The parameter ``role`` fed by the derived constant ``<func_name>_<role>``."""
    return Param(role, f"{ctx.func_name}_{role}")


def padded(x, pads, fill, dtype: str):
    """NHWC ``x`` cast to ``dtype`` and padded by ``pads`` (top, left, bottom, right) with the
    expression ``fill()``; a stage named ``pad``, to be inlined. Each bound test is ``likely``,
    so LoopPartition gives the loops over the window positions a test-free interior."""
    from tvm import te, tirx

    top, left, bottom, right = pads
    n, h, w, c = x.shape

    def value(b, i, j, k):
        bounds = (i >= top, i < h + top, j >= left, j < w + left)
        inside = tirx.all(*(tirx.likely(b) for b in bounds))
        return tirx.if_then_else(inside, x[b, i - top, j - left, k].astype(dtype), fill())

    return te.compute((n, h + top + bottom, w + left + right, c), value, name="pad")


def requantized_int8(acc, bias, mult, shift, prm, channel_axis: int):
    """int8 output of a conv-like kernel: ``acc + bias`` through MultiplyByQuantizedMultiplier
    (per channel along ``channel_axis``), plus output zero point ``prm[1]``, clamped to
    ``[prm[2], prm[3]]``. Returns the output tensor ``y`` and the stages to attach to it."""
    from tvm import te

    shape = acc.shape
    q, stages = mbqm(shape, lambda *i: i64(acc(*i)) + i64(bias[i[channel_axis]]),
                     lambda *i: mult[i[channel_axis]], lambda *i: shift[i[channel_axis]], "rq")
    y = te.compute(shape, lambda *i: clamp_int8(q(*i) + i64(prm[1]), prm[2], prm[3]), name="y")
    return y, stages


def clamp_float(value, bounds: tuple[float, float]):
    """``value`` clamped to ``bounds``; an infinite bound adds no code."""
    from tvm import tirx

    lo, hi = bounds
    if lo != float("-inf"):
        value = tirx.max(value, tirx.const(lo, "float32"))
    if hi != float("inf"):
        value = tirx.min(value, tirx.const(hi, "float32"))
    return value
