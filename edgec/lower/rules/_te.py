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


def int16_requant_plan_parts(ctx, channels: int, weight_sums: np.ndarray) -> tuple[dict, bool]:
    """The derived constants of a 16x8 conv-like node (``requantized_int16``) and whether its
    bias is int32. int64 bias (or none): the bias as int64 with ``input_zp * sum(w)`` folded
    in, per-channel 16-bit multipliers and total right shifts of TFLite's int64
    ``MultiplyByQuantizedMultiplier``. int32 bias (TFLM then sums in int32 and requantizes
    with the int32, double-rounding form): the folded bias wrapped to int32, the multipliers
    and shifts of that form. Both: ``params = [output zp, act min, act max]``."""
    from edgec.ir.quant import activation_range, conv_multipliers
    from edgec.lower import consts

    bias = consts.constant_input(ctx, 2, "bias")
    int32_bias = bias is not None and bias.dtype == np.int32
    x_q, w_q, y_q = ctx.ins[0].quant, ctx.ins[1].quant, ctx.outs[0].quant
    mult, shift = consts.requant_arrays(*conv_multipliers(x_q.s, w_q.scale, y_q.s), channels,
                                        ctx.node.name)
    lo, hi = activation_range(ctx.attrs["activation"], y_q.s, y_q.zp, "int16")
    params = consts.int32_array([y_q.zp, lo, hi])
    if int32_bias:
        return {"bias": consts.folded_bias(bias, weight_sums, x_q.zp), "mult": mult,
                "shift": shift, "params": params}, True
    mult, shift = mult.astype(np.int64), shift.astype(np.int64)
    reduced = np.where(mult < 0x7FFF0000, (mult + (1 << 15)) >> 16, 0x7FFF)
    base = np.zeros(channels, np.int64) if bias is None else bias.astype(np.int64)
    return {"bias": base - x_q.zp * weight_sums.astype(np.int64),
            "mult": consts.int32_array(reduced), "shift": consts.int32_array(15 - shift),
            "params": params}, False


def int16_accumulator(weight_rows: np.ndarray) -> str:
    """The accumulator of a 16x8 window sum: int32 when no sum of int16 inputs times one
    output channel's weights (``weight_rows``: [channels, taps]) can leave int32, else int64
    as TFLM always uses. Both give TFLM's sums; int32 is cheaper on 32-bit cores."""
    bound = (1 << 15) * int(np.abs(weight_rows.astype(np.int64)).sum(axis=1).max(initial=0))
    return "int32" if bound < (1 << 31) else "int64"


def int16_requant_params(ctx) -> list[Param]:
    """The C parameters of a 16x8 conv-like kernel: x, w, then the derived constants."""
    return [Param("x", ctx.node.inputs[0]), Param("w", ctx.node.inputs[1]),
            *(const_param(ctx, r) for r in ("bias", "mult", "shift", "params")),
            Param("y", ctx.node.outputs[0])]


def requantized_int16(acc, bias, mult, shift, prm, channel_axis: int,
                      int32_bias: bool = False):
    """int16 output of a 16x8 conv-like kernel from ``acc`` (int32 or int64): TFLite's int64
    ``MultiplyByQuantizedMultiplier`` of ``acc + bias`` with the reduced multiplier ``mult``
    and total right shift ``shift`` (8 .. 46) per channel, rounding half up, cast to int32,
    plus the output zero point ``prm[0]``, clamped to ``[prm[1], prm[2]]``. With an
    ``int32_bias`` the sum is wrapped to int32 and requantized by the int32 form (``mbqm``).
    Returns ``y`` and the stages to attach to it."""
    from tvm import te, tirx

    from edgec.lower.te_quant import c64, wrap32

    def clamped(q):
        return te.compute(acc.shape, lambda *i: tirx.min(tirx.max(
            q(*i) + i64(prm[0]), i64(prm[1])), i64(prm[2])).astype("int16"), name="y")

    if int32_bias:
        q, stages = mbqm(acc.shape, lambda *i: i64(acc(*i)) + i64(bias[i[channel_axis]]),
                         lambda *i: mult[i[channel_axis]], lambda *i: shift[i[channel_axis]],
                         "rq")
        return clamped(q), stages

    def scaled(*i):
        c = i[channel_axis]
        total = i64(shift[c])
        value = (i64(acc(*i)) + bias[c]) * i64(mult[c]) + (c64(1) << (total - c64(1)))
        return wrap32(value >> total)

    q = te.compute(acc.shape, scaled, name="rq_q")
    return clamped(q), [q.op.name]
