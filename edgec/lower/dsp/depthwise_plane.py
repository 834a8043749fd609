"""int8 DEPTHWISE_CONV_2D 3x3 channel by channel through an int16 plane
(``templates/kernels/dsp/depthwise_plane.c.j2``), in place where the shapes allow.

Depthwise sums run over taps, not channels, so SMLAD needs two taps of one channel in one
word. NHWC puts a pixel's neighbours ``C`` bytes apart; the kernel therefore copies one input
channel at a time into the arena scratch as an int16 plane (raw values, a border of input
zero points written once), where two horizontally adjacent values are one word. The 3x3
weights of the channel become six halfword pairs ``{w_r0, w_r1}``, ``{w_r1, w_r2}`` held in
registers (from int8 weights in flash, nine bytes a channel, ``[channel][tap]``), and a pair
of output pixels takes per kernel row two plane words (three at stride 2), one SMLAD and one
SMLABT for the left pixel, one SMLATB and one SMLAD for the right (stride 2: two SMLAD-style
pairs shifted by two values): four multiply instructions for six multiply-accumulates. The
bias has the input zero point folded in (``consts.folded_bias``), so the border adds nothing,
as TFLite's skipped taps do; the per-channel requantization row is read once per channel.

Requantization (``_mmla_table``): where every channel allows the fast form and the sums stay
below 2**30, the taps and the bias are stored doubled, so a sum is the doubled accumulator the
SMMLAR form takes (``requant.py``, ``[m, K, r, 0]`` rows): SMMLAR, ASR, SSAT per output with
the channel's row in registers (against SMLAL on a copied 64-bit rounding constant, ASR,
SSAT). On GCC the unrolled rows start their sums from the bias in the asm
(``EDGEC_DW3_B``: SMLAD / SMLATB with the bias as addend) and store them by sp-relative STRDs
to a small array on the stack, the register count staying at 11 (a twelfth, a sum pointer
beside the bias, was more than GCC found in some kernels); with the whole plane and rows of
up to 10 pixels (30 asm operands) two output rows go in one statement, the weights loaded
once for both. KWS's layers (25x5x64, in place, whole plane): 197,400 -> 162,520
instructions each; clang, the looped rows and the host
take the former path (sums from zero to the scratch, the bias added in C).

In place (``KernelPlan.in_place``, same contract as the portable ``depthwise_in_place``
rule): channel ``ch`` of the output depends on channel ``ch`` of the input alone, and every
input row of channel ``ch`` is copied into the scratch before the output row over it is
written; so when the output has the input's shape (stride 1, ``SAME``) it may overwrite the
input. The planner's replay checker (``tests/plan/replay.py``) accepts such a write only as a
declared in-place pair (same bytes, the input's last reader). The output order is channel by
channel, not raster, so the kernel declares no ``Kernel.access`` (no trailing write).

Scratch: a row of int32 sums, and either the whole plane (copied once a channel) or, when
that is more than 1/16 of the input's bytes, a ring of the three plane rows a window reads:
after each output row its top row(s) are replaced by the next input row(s), only once that
output row (in place: the input row under it) is written, and the weights are rotated by
ring slot (``taps[t]``) so the asm keeps constant row offsets. The ring costs about 10 % more
instructions (KWS layer: 263,960 against 237,520) for a scratch of three rows instead of all
(KWS: 456 B whole; a 48x48x16 MobileNetV2 layer: 5.4 KB whole, 0.5 KB ring).

Taken for depth multiplier 1, a 3x3 kernel, dilation 1, stride 1 or 2 (both axes alike), int8
weights and output; everything else keeps ``depthwise.py``'s kernels, which also decides
where this one is tried first (``_plane_first``: in place in every mode, out of place in
speed mode, with the raster kernel as the memory variant ``raster:dsp``).

A C template like the other DSP kernels (``edgec.lower.dsp`` says why), for two more reasons:
a plane word is two int16 values read as one SMLAD operand (one buffer, two dtypes), and the
row's asm (``_depthwise_plane.h.j2``) takes the plane's row pitch as immediate offsets.
"""

from __future__ import annotations

import numpy as np

from edgec.lower import consts
from edgec.lower.dsp.common import bias_or_zeros, int8_output, int8_weights, kernel_plan
from edgec.lower.dsp.requant import MMLA_MAX_SUM, mmla_row
from edgec.lower.registry import KernelPlan, lowering_variant
from edgec.lower.rules._te import sum_fits_int32

TEMPLATE = "depthwise_plane.c.j2"
MAX_UNROLLED = 16  # wider rows loop over their pixels (a C loop, ~3 instructions more each)
TAP_BOUND = 9 << 14
# The whole plane (copied once a channel, 10 % fewer instructions on KWS's layers than the
# ring of three rows) when it is at most 1 / WHOLE_PLANE_SHARE of the input's bytes.
WHOLE_PLANE_SHARE = 16  # |x * w| <= 128 * 128 per tap: the raw sum's magnitude bound


def applies(ctx) -> bool:
    """Whether the plane kernel handles the node (3x3, stride 1 or 2, dilation 1, depth
    multiplier 1, int8 weights and output)."""
    a = ctx.attrs
    return (int8_output(ctx) and int8_weights(ctx) and ctx.ins[0].dtype == "int8"
            and a["depth_multiplier"] == 1 and tuple(ctx.ins[1].shape[1:3]) == (3, 3)
            and tuple(a["dilations"]) == (1, 1) and tuple(a["strides"]) in ((1, 1), (2, 2))
            and len(ctx.ins[0].shape) == 4)


def can_be_in_place(ctx) -> bool:
    """Whether the output may overwrite the input: same shape (stride 1, ``SAME``)."""
    return ctx.ins[0].shape == ctx.outs[0].shape and tuple(ctx.attrs["strides"]) == (1, 1)


def plane_width(w: int, ow: int, s: int, pl: int) -> int:
    """The int16 values of a plane row: the padded input row and every window, even (aligned
    word loads), with one value to spare (the odd last pixel's second word reads one past its
    window)."""
    pw = max((ow - 1) * s + 4, pl + w)
    return pw + pw % 2


def plane_plan(ctx, in_place: bool) -> KernelPlan | None:
    """The plane kernel's plan for the node (None when it does not apply or the folded bias
    could overflow int32); ``in_place``: declare the input overwritable."""
    if not applies(ctx) or (in_place and not can_be_in_place(ctx)):
        return None
    n, h, w, c = ctx.ins[0].shape
    _, oh, ow, _ = ctx.outs[0].shape
    s = ctx.attrs["strides"][0]
    pt, pl = ctx.attrs["pads"][:2]
    pw = plane_width(w, ow, s, pl)
    ph = max((oh - 1) * s + 3, pt + h)  # the whole plane's rows
    ring = 2 * ph * pw * WHOLE_PLANE_SHARE > ctx.ins[0].nbytes
    weights = consts.constant_input(ctx, 1, "weights")
    quant = consts.conv_requant(ctx, c)
    bias = consts.folded_bias(bias_or_zeros(consts.constant_input(ctx, 2, "bias"), c),
                              weights.astype(np.int64).sum(axis=(0, 1, 2)),
                              int(quant["params"][0]))
    if not sum_fits_int32(TAP_BOUND, bias):
        return None
    per_channel = weights.reshape(9, c).T.astype(np.int8).reshape(-1)  # [channel][tap]
    lo, hi = (int(v) for v in quant["params"][2:4])
    geometry = dict(n=n, h=h, w=w, c=c, oh=oh, ow=ow, sh=s, sw=s, pt=pt, pl=pl, pw=pw, ph=ph,
                    ring=ring,
                    unroll=max(ow, w) <= MAX_UNROLLED, clamp=(lo, hi) != (-128, 127))
    scratch = 4 * (ow + ow % 2) + 2 * (3 if ring else ph) * pw  # a row of sums, the plane
    table = _mmla_table(ctx, quant, bias)
    # kernel_plan takes the SMMLAR rows (and tells the template ``mmla``) exactly where
    # _mmla_table found them: every channel fast, every sum bounded below MMLA_MAX_SUM
    bound = int(np.abs(bias.astype(np.int64)).max(initial=0)) + TAP_BOUND
    return kernel_plan(ctx, TEMPLATE, per_channel, 2 * bias if table is not None else bias,
                       quant, scratch_bytes=scratch, scratch_ctype="int32_t",
                       helpers=("dsp", "dsp_plane"), w_ctype="int8_t", in_place=in_place,
                       acc_bound=bound if table is not None else None, **geometry)


def _mmla_table(ctx, quant, bias) -> np.ndarray | None:
    """The requantization rows ``[m, K, r, 0]`` of the SMMLAR form (``requant.mmla_row``),
    or None when a channel does not allow it or a sum could reach 2**30 (the kernel then
    doubles taps and bias, so the sums are the doubled accumulators the form takes): per
    output SMMLAR, ASR and SSAT (KWS's layers: 197,400 -> see the module docstring)."""
    rows = 1 if ctx.ins[1].quant.scale.size == 1 else len(bias)
    table = [mmla_row(int(quant["mult"][i]), int(quant["shift"][i]), int(quant["params"][1]))
             for i in range(rows)]
    if any(row is None for row in table) or (
            int(np.abs(bias.astype(np.int64)).max(initial=0)) + TAP_BOUND >= MMLA_MAX_SUM):
        return None
    return np.stack(table).reshape(-1).astype(np.int32)


@lowering_variant("DEPTHWISE_CONV_2D", "in_place:dsp", "int8")
def depthwise_in_place_dsp(ctx) -> KernelPlan | None:
    """int8 DEPTHWISE_CONV_2D overwriting its input, on DSP targets (``edgec.ram``)."""
    return plane_plan(ctx, in_place=True)
