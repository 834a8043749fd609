"""16x8 CONV_2D, DEPTHWISE_CONV_2D and FULLY_CONNECTED with SMLAD (int16 activations, int8
weights, int64 bias: TFLM's 16x8 mode; ``templates/kernels/dsp/*_16x8.c.j2``).

int16 activations are symmetric (zero point 0 for CONV_2D and DEPTHWISE_CONV_2D; a
FULLY_CONNECTED input zero point is folded into the bias as the portable rule does), so two
neighbouring int16 values are already one SMLAD operand: no SXTAB16, no offset. The kernels
copy a window (CONV_2D) or a row (FULLY_CONNECTED) of int16 values into the arena scratch and
run the same four-channel SMLAD loop as the int8 kernels (``edgec_dot4``), with the weights
stored as int16 pairs in natural order (``blocked16``). Depthwise multiplies each channel's
lane of an int16 pair with SMLABB/SMLATT.

Accumulation. TFLM sums 16x8 products in int64. Four values of int16 times int8 are at most
2**24 in magnitude, so 127 groups of four always fit an int32: the kernels sum in int32 over
chunks of at most ``CHUNK_GROUPS`` groups and add each chunk into a 64-bit total with one
SMLAL (the product by the multiplier, below), which is exact 64-bit accumulation at SMLAD's
speed and register cost (SMLALD would need two registers per accumulator: four channels'
64-bit sums plus the loads do not fit the M4's registers). A node whose sums provably fit
int32 for every channel (``_te.int16_accumulator``, all of the shared models' layers) has one
chunk. DEPTHWISE_CONV_2D (at most a few dozen taps) must fit one chunk, else it keeps the
portable rule.

Requantization (``edgec.ir.int16``): TFLite's int64 ``MultiplyByQuantizedMultiplier`` with the
multiplier reduced to 16 bits, ``((acc + bias) * m + 2**(t-1)) >> t`` (``t`` = 15 - shift,
the total right shift), cast to int32. The kernels compute it as one 64-bit
multiply-accumulate and the high word: with ``k = max(0, 32 - t)``, ``m' = m << k``,
``R = bias * m' + 2**(t - 1 + k)``::

    ((acc * m' + R) >> 32) >> max(0, t - 32)  ==  ((acc + bias) * m + 2**(t-1)) >> t

exactly (scaling numerator and divisor by ``2**k``), provided ``m' < 2**31`` and the sum
cannot leave int64, checked per node from the weights' absolute sums and the bias
(``fast_rows``); the result then also fits int32, so TFLite's int32 cast is the identity.
The int64 bias is folded into ``R`` at compile time. Nodes outside (a total shift below 16,
astronomically large biases) take the exact form: the int64 sum, then the reference's
arithmetic with wrapping unsigned 64-bit operations. ``rq`` rows: fast ``[m', t - 32 or 0,
R low, R high]``, exact ``[m, t, bias low, bias high]``. The output zero point (0 except for
some FULLY_CONNECTED) is added after clamping to the range minus itself, which equals TFLM's
clamp of the sum.

``--optimize size``: the weights stay int8 in flash. CONV_2D and FULLY_CONNECTED widen each
word of four weights with SXTB16 / SXTB16 ROR #8 into the pairs (0, 2) and (1, 3), and the
window or row is stored in the scratch in that lane order (PKHBT/PKHTB), so every SMLAD's
operands hold the same two reduction values. CONV_2D with input channels a multiple of four
and one chunk computes two pixels at a time (``conv_pair_16x8.c.j2``) with the int8 pair
kernel's micro-kernel (``edgec_dot2x2_s8``: each widened weight word feeds both pixels, 15
instructions per 16 multiply-accumulates against 19 for one pixel); the others keep one
pixel and four channels (``edgec_dot4_s16s8``). Depthwise widens each tap's word of four
channels the same way and picks the lanes with SMLABB/SMLATB/SMLABT/SMLATT.

Not handled (portable rule): int32 bias (TFLM then sums in int32 and requantizes with the
int32 form), a FULLY_CONNECTED weight zero point, depth multiplier above 1, int16 weights.
"""

from __future__ import annotations

import numpy as np

from edgec.cdefs import CParam
from edgec.lower import consts, templates
from edgec.lower.dsp import layout
from edgec.lower.dsp.common import compact
from edgec.lower.registry import KernelPlan, Param, lowering_variant

CHUNK_GROUPS = 126  # groups of four per int32 chunk: 126 * 4 * 2**22 < 2**31, and even
HELPERS = ("dsp/_intrinsics.h.j2", "dsp/_compact.h.j2", "dsp/_int16.h.j2", "dsp/_gemv16.j2")
ROLES = ("w", "rq", "params")
PRODUCT_MAX = 1 << 22  # |int16 * int8| <= 32768 * 128


def blocked16(rows: np.ndarray, block: int) -> np.ndarray:
    """``[R, K]`` weights as int16 pairs in natural order (a word holds reduction values
    ``2i`` and ``2i + 1``, as an int16 row in memory does), K zero-padded to a multiple of
    four, ``block`` rows interleaved group by group like ``layout.blocked``."""
    r, k = rows.shape
    padded = np.zeros((r, -(-k // 4) * 4), np.int16)
    padded[:, :k] = rows
    g = padded.reshape(r, -1, 4)
    full = r // block * block
    head = g[:full].reshape(-1, block, g.shape[1], 4).transpose(0, 2, 1, 3)
    return np.concatenate([layout.words(head), layout.words(g[full:])])


def depthwise16(w: np.ndarray, int8: bool) -> np.ndarray:
    """``[1, KH, KW, C]`` weights: channels by groups of four, each group tap by tap, two
    int16 words (channels 0-1, 2-3) or, ``int8``, one word of four int8 per tap; then the
    ``C % 4`` last channels tap by tap, one int32 word (or, ``int8``, one byte, padded to a
    whole word) per weight."""
    if int8:
        return layout.depthwise8(w)
    taps = w.reshape(-1, w.shape[-1]).T.astype(np.int16)  # [C, T]
    full = taps.shape[0] // 4 * 4
    head = taps[:full].reshape(-1, 4, taps.shape[1]).transpose(0, 2, 1)
    return np.concatenate([layout.words(head), taps[full:].reshape(-1).astype(np.int32)])


def _int64_bias(ctx) -> bool:
    bias = consts.constant_input(ctx, 2, "bias")
    return bias is None or bias.dtype == np.int64


def chunks(groups: int, rows: np.ndarray) -> list[tuple[int, int]]:
    """``(first group, group count)`` of the int32 partial sums: one chunk when every row's
    sum of int16 inputs times its weights fits int32, else ``CHUNK_GROUPS`` at a time."""
    bound = (1 << 15) * int(np.abs(rows.astype(np.int64)).sum(axis=1).max(initial=0))
    step = groups if bound < (1 << 31) else CHUNK_GROUPS
    return [(g, min(step, groups - g)) for g in range(0, groups, step)]


def fast_rows(mult, total, bias, acc_bound) -> np.ndarray | None:
    """The ``rq`` rows of the fast form (module docstring), or None when a channel needs the
    exact one. ``acc_bound``: per channel, the largest magnitude of the weighted sum."""
    rows = []
    for m, t, b, a in zip(*(np.asarray(v, np.int64).tolist() for v in (mult, total, bias,
                                                                      acc_bound))):
        k = max(0, 32 - t)
        scaled = m << k
        rounding = 1 << (t - 1 + k)
        if scaled >= 1 << 31 or t - 32 > 31 or (a + abs(b)) * scaled + rounding >= 1 << 63:
            return None
        r = b * scaled + rounding
        rows.append([scaled, max(0, t - 32), r & 0xFFFFFFFF, r >> 32])
    table = np.array(rows, np.int64).reshape(-1, 4)
    table[:, 2] = table[:, 2].astype(np.uint32).view(np.int32)
    return table.astype(np.int32)


def exact_rows(mult, total, bias) -> np.ndarray:
    """``rq`` rows of the exact form: ``[m, t, bias low, bias high]``."""
    bias = np.asarray(bias, np.int64)
    table = np.zeros((bias.size, 4), np.int64)
    table[:, 0], table[:, 1] = mult, total
    table[:, 2] = (bias & 0xFFFFFFFF).astype(np.uint32).view(np.int32)
    table[:, 3] = bias >> 32
    return table.astype(np.int32)


def requant(ctx, rows: np.ndarray) -> tuple[np.ndarray | None, np.ndarray, str]:
    """``rq`` (flattened), ``params = [act min - zp, act max - zp, zp]`` and the form for a
    node whose channels' weights are ``rows`` ([channels, taps], int8): ``"high"`` (fast, every
    ``s`` 0: the high word is the result), ``"fast"`` or ``"exact"``; ``rq`` None when a total
    shift is below 1 (TFLite's rounding term would shift by a negative amount: the portable
    rule keeps whatever the reference does)."""
    from edgec.lower.rules._te import int16_requant_plan_parts

    w = rows.astype(np.int64)
    constants, _ = int16_requant_plan_parts(ctx, w.shape[0], w.sum(axis=1))
    zp, lo, hi = (int(v) for v in constants["params"])
    params = consts.int32_array([lo - zp, hi - zp, zp])
    if int(np.min(constants["shift"])) < 1:  # a real multiplier of 2**15 or more: portable
        return None, params, ""
    bound = (1 << 15) * np.abs(w).sum(axis=1)
    table = fast_rows(constants["mult"], constants["shift"], constants["bias"], bound)
    if table is not None:
        return table.reshape(-1), params, "fast" if table[:, 1].any() else "high"
    return exact_rows(constants["mult"], constants["shift"], constants["bias"]).reshape(-1), \
        params, "exact"


def _plan(ctx, template: str, weights, rq, params, form: str, scratch_bytes: int,
          **geometry) -> KernelPlan:
    """The plan of a 16x8 kernel rendered from ``templates/kernels/dsp/<template>``: C
    parameters ``x, w, rq, params, y, scratch``. ``geometry`` (shapes, attributes, the int32
    chunks) fills the template with ``form`` (``requant``), ``packed`` (output zero point 0:
    two outputs clamped and stored per word) and ``compact`` (int8 weights)."""
    packed = int(params[2]) == 0
    geometry.update(form=form, packed=packed, compact=compact(ctx))
    arrays = {"w": weights, "rq": rq, "params": params}
    names = {role: f"{ctx.func_name}_{role}" for role in ROLES}
    path = f"dsp/{template}"

    def render() -> str:
        return templates.render(path, **geometry)

    c_params = [Param("x", ctx.node.inputs[0])]
    c_params += [Param(role, names[role]) for role in ROLES]
    c_params.append(Param("y", ctx.node.outputs[0]))
    signature = [CParam("x", "int16_t", const=True)]
    signature += [CParam(role, "int32_t", const=True) for role in ROLES]
    signature += [CParam("y", "int16_t"), CParam("scratch", "int32_t")]
    key = ("dsp16", ctx.optimize, form, packed, tuple(geometry.get("chunks", ())),
           templates.digest(path), *(templates.digest(h) for h in HELPERS))
    return KernelPlan(c_params, {names[r]: arrays[r] for r in ROLES}, c_template=render,
                      signature=signature, key=key,
                      helpers=("dsp", "dsp_compact", "dsp_int16") if compact(ctx)
                      else ("dsp", "dsp_int16"),
                      scratch_bytes=scratch_bytes, form=path)


def _accepts(ctx) -> bool:
    return (ctx.outs[0].dtype == "int16" and ctx.ins[1].dtype == "int8"
            and _int64_bias(ctx))


@lowering_variant("CONV_2D", "dsp", "int16")
def conv_2d_dsp16(ctx):
    """16x8 CONV_2D (TFLM ``ConvPerChannel`` on int16, int64 bias)."""
    from edgec.ir.ops._requant import check_symmetric_int16

    if not _accepts(ctx) or ctx.ins[1].shape[3] != ctx.ins[0].shape[3]:  # grouped: portable
        return None
    check_symmetric_int16(ctx.node, ctx.ins[0].quant, ctx.outs[0].quant)
    n, h, w, cin = ctx.ins[0].shape
    cout, kh, kw, _ = ctx.ins[1].shape
    _, oh, ow, _ = ctx.outs[0].shape
    rows = consts.constant_input(ctx, 1, "weights").reshape(cout, -1)
    k = kh * kw * cin
    groups = -(-k // 4)
    rq, params, form = requant(ctx, rows)
    if rq is None:
        return None
    a = ctx.attrs
    size = compact(ctx)
    geometry = dict(n=n, h=h, w=w, cin=cin, oh=oh, ow=ow, cout=cout, kh=kh, kw=kw,
                    sh=a["strides"][0], sw=a["strides"][1], dh=a["dilations"][0],
                    dw=a["dilations"][1], pt=a["pads"][0], pl=a["pads"][1], k=k,
                    groups=groups, chunks=chunks(groups, rows))
    if size and cin % 4 == 0 and len(geometry["chunks"]) == 1:
        # Two pixels' interleaved windows (16 bytes per group); conv_pair_16x8.c.j2.
        return _plan(ctx, "conv_pair_16x8.c.j2", layout.blocked8(rows, 2), rq, params, form,
                     16 * groups, **geometry)
    weights = layout.blocked8(rows, 4) if size else blocked16(rows, 4)
    return _plan(ctx, "conv_16x8.c.j2", weights, rq, params, form, 8 * groups, **geometry)


@lowering_variant("DEPTHWISE_CONV_2D", "dsp", "int16")
def depthwise_conv_2d_dsp16(ctx):
    """16x8 DEPTHWISE_CONV_2D (TFLM ``DepthwiseConvPerChannel`` on int16), multiplier 1."""
    from edgec.ir.ops._requant import check_symmetric_int16

    if not _accepts(ctx) or ctx.attrs["depth_multiplier"] != 1:
        return None
    check_symmetric_int16(ctx.node, ctx.ins[0].quant, ctx.outs[0].quant)
    n, h, w, c = ctx.ins[0].shape
    _, kh, kw, _ = ctx.ins[1].shape
    _, oh, ow, _ = ctx.outs[0].shape
    wt = consts.constant_input(ctx, 1, "weights")
    rows = wt.reshape(-1, c).T
    if len(chunks(-(-rows.shape[1] // 4), rows)) > 1:
        return None
    rq, params, form = requant(ctx, rows)
    if rq is None:
        return None
    a = ctx.attrs
    size = compact(ctx)
    geometry = dict(n=n, h=h, w=w, c=c, oh=oh, ow=ow, kh=kh, kw=kw, sh=a["strides"][0],
                    sw=a["strides"][1], dh=a["dilations"][0], dw=a["dilations"][1],
                    pt=a["pads"][0], pl=a["pads"][1], taps=kh * kw)
    return _plan(ctx, "depthwise_16x8.c.j2", depthwise16(wt, size), rq, params, form,
                 -(-2 * c // 4) * 4, **geometry)


@lowering_variant("FULLY_CONNECTED", "dsp", "int16")
def fully_connected_dsp16(ctx):
    """16x8 FULLY_CONNECTED (TFLM ``FullyConnected[PerChannel]`` on int16, int64 bias)
    without a weight zero point."""
    if not _accepts(ctx) or (ctx.ins[1].quant.per_tensor and int(ctx.ins[1].quant.zp) != 0):
        return None
    cout, k = ctx.ins[1].shape
    groups = -(-k // 4)
    rows = consts.constant_input(ctx, 1, "weights")
    rq, params, form = requant(ctx, rows)
    if rq is None:
        return None
    size = compact(ctx)
    geometry = dict(rows=ctx.ins[0].size // k, k=k, cout=cout, groups=groups,
                    chunks=chunks(groups, rows))
    weights = layout.blocked8(rows, 4) if size else blocked16(rows, 4)
    return _plan(ctx, "fully_connected_16x8.c.j2", weights, rq, params, form, 8 * groups,
                 **geometry)
