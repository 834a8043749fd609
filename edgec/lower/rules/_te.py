"""TE building blocks shared by rules: placeholders, padding, per-channel requantized output."""

from __future__ import annotations

import numpy as np

from edgec.lower.registry import Param
from edgec.lower.te_quant import Fast, clamp_int8, i64, mbqm, mbqm32, offset_clamp_int8


def placeholder(shape, dtype: str, name: str):
    """A TE input; its name becomes the C parameter name."""
    from tvm import te

    return te.placeholder(tuple(int(d) for d in shape), dtype, name)


def const_param(ctx, role: str) -> Param:
    """The parameter ``role`` fed by the derived constant ``<func_name>_<role>``."""
    return Param(role, f"{ctx.func_name}_{role}")


def named_constants(ctx, constants: dict) -> dict:
    """Derived constants by role, renamed ``<func_name>_<role>`` as ``const_param`` reads them."""
    return {f"{ctx.func_name}_{role}": value for role, value in constants.items()}


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


def requantized_int8(acc, bias, mult, shift, prm, channel_axis: int, form: Fast | None = None):
    """int8 output of a conv-like kernel: ``acc + bias`` through MultiplyByQuantizedMultiplier
    (per channel along ``channel_axis``), plus output zero point ``prm[1]``, clamped to
    ``[prm[2], prm[3]]``. With a ``form`` (``te_quant.fast_form``) the int32 ``acc + bias``
    must not overflow (``sum_fits_int32``) and the requantization stays in int32; without, it
    runs in int64 and wraps the sum like TFLite. Returns the output tensor ``y`` and the
    stages to attach to it."""
    from tvm import te

    shape = acc.shape
    channel = (lambda *i: mult[i[channel_axis]]), (lambda *i: shift[i[channel_axis]])
    if form is None:
        q, stages = mbqm(shape, lambda *i: i64(acc(*i)) + i64(bias[i[channel_axis]]), *channel,
                         "rq")
        y = te.compute(shape, lambda *i: clamp_int8(q(*i) + i64(prm[1]), prm[2], prm[3]),
                       name="y")
        return y, stages
    q, stages = mbqm32(shape, lambda *i: acc(*i) + bias[i[channel_axis]], *channel, "rq", form)
    y, clamp = offset_clamp_int8(shape, q, lambda *i: prm[1], lambda *i: prm[2],
                                 lambda *i: prm[3], "rq_clamp")
    return y, [clamp, *stages]


def sum_fits_int32(acc_bound: int, bias) -> bool:
    """Whether an accumulator of magnitude at most ``acc_bound`` plus any of ``bias`` stays in
    int32 (then the kernel adds them without TFLite's int32 wrap-around)."""
    values = np.abs(np.asarray(bias, np.int64).reshape(-1))
    return acc_bound + int(values.max(initial=0)) < 1 << 31


def clamp_float(value, bounds: tuple[float, float]):
    """``value`` clamped to ``bounds``; an infinite bound adds no code."""
    from tvm import tirx

    lo, hi = bounds
    if lo != float("-inf"):
        value = tirx.max(value, tirx.const(lo, "float32"))
    if hi != float("inf"):
        value = tirx.min(value, tirx.const(hi, "float32"))
    return value
