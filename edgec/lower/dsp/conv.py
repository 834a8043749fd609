"""int8 CONV_2D with SMLAD (``templates/kernels/dsp/conv.c.j2``).

Per output pixel, its window is copied into the arena scratch as int16 (input minus zero
point, SXTAB16 four values at a time when the input channels are a multiple of four; zeros for
taps outside the image), so 1x1 and KxK convolutions, strides, dilations and paddings all
reduce to one matrix-vector product, the channel loop shared with FULLY_CONNECTED
(``_gemv.j2``): four output channels at a time, per four window values two words of window and
eight of weights feed eight SMLADs. The window is extended once and reused by every output
channel. (Two pixels by two channels would load fewer words per SMLAD but needs more
registers than the M4 has: GCC spilled them and the kernel was slower.)

Size form (``--optimize size``, ``conv_rows.c.j2``, ``_rows_plan``): int8 weights read from
widened input rows. The scratch holds the kh input rows of the current output row widened to
int16 once each (a ring: row iy in slot (iy + pt) % kh, zero columns for the padding; input
channels padded to a multiple of four with zero weights), so a pixel's window is kh runs of
kw * cin / 4 groups read in place: no per-pixel window copy (the pair kernel below spent
about a third of its instructions outside the multiply loop, most of it building windows).
Three pixels by two output channels per micro-kernel call, all runs of the window in one asm
statement (``_rows.h.j2``, 14 registers: six accumulators, four weight halves, an input pair,
two pointers; the loops end on the weight pointer compared with ends kept in memory). Rows of
three pixel blocks or more (``_rows_blocks``) first widen the channel pair's weights once per
output row into the scratch (``edgec_widen_pair``): 16 instructions per 24
multiply-accumulates (``EDGEC_DOT3X2_WIDE``: the four widened weight words of a group by one
LDM, its operands pinned to r8-r11 since LDM lists registers in ascending order; 17 with two
LDRDs); narrower rows widen them in the loop, 20 per 24 (``EDGEC_DOT3X2_WINDOW``). The rest
of a row goes two pixels at a time (11 per 16 with the LDM). Runs of a window short enough
(``_rows_blocks``: a 1x1 conv's single run of up to 16 groups; runs of up to 12 groups in
kernels making at least ``UNROLL_CALLS`` three-pixel calls) are unrolled whole, the loop
only over the runs (``EDGEC_DOT3X2_WIDE_SHORT``, ``EDGEC_DOT2X2_WIDE_BODY``). Wide rows
whose whole widened image fits ``WHOLE_BYTES`` of scratch (``whole``: IC's 8x8x64 3x3 conv,
12.8 KB, and its first layer) widen every input row once and put the channel pairs
outermost, so each pair's weights are widened once per image instead of once per output row
(IC's 8x8x64 conv 2,076,520 -> 1,820,000 instructions; the size-mode arena unchanged at
37,152 B; 24,000 would take the 16x16x32 convs too, -255,000 more, for a 47,040 B arena).
With all of these, mps2_an386 size mode: KWS 3,471,920 -> 3,265,500 instructions (its 1x1
convs 543,760 -> 491,880 each), IC 12,532,200 -> 11,521,140. Before them, IC (resnet8) in
size mode: 15,922,480 -> 13,279,160 instructions, below speed mode's 14,689,080 with int16
weights; KWS (DS-CNN) 4,736,080 -> 4,348,480, its 1x1 convs read as rows of 25 pixels
(``_pointwise_rows``). The price is scratch: kh widened rows (size-mode arena IC 33,888 ->
37,152 B, KWS 10,048 -> 13,056 B). Strided 1x1 convs without left padding take the rows
too, each row widening only the pixels read, ``xstep`` apart, into consecutive columns read
with unit stride (``_strided_pointwise``; IC's 1x1 stride-2 shortcuts 252,360 -> 205,040 and
190,320 -> 146,280 instructions against the pair kernel); left-padded ones keep the pair
kernel, and so do dilated rows (dh > 1), inputs whose channel padding would add more than a
third of the MACs (two channels; one input channel takes the plane kernel, ``conv_plane.py``,
where it applies: KWS's first layer 492,160 -> 333,080) and ``--optimize ram`` (the rows
take more scratch). The 14-register asm needs GCC with the frame pointer omitted (its
default from -O1); clang and builds defining ``EDGEC_DSP_FRAME_POINTER`` take the
micro-kernels' C forms.

Bands (``edgec.room``): the room variants ``room<k>`` (k = 1, 2, 3, 4, 6, 8) of a 3x3 (any
window but 1x1) wide-row conv take ``band = ceil(oh / k)`` output rows at a time: the ring
holds a band's ``(band - 1) * sh + kh`` input rows, all widened first, then each channel
pair's weights are widened once per band and its outputs computed over the band (k = 1: the
whole image). The build takes the first of them, most scratch first, whose plan keeps the
arena as it is: IC's 16x16x32 convs take bands of 3 and 6 rows and its 16x16 -> 8x8 conv the
whole image where the 32x32 convs' peak leaves room (1,087,920 -> 1,058,840, 1,993,720 ->
1,883,440 and 1,072,680 -> 949,960 instructions), the arena still 37,152 B.

Three-pixel 1x1 form (``conv_pointwise3.c.j2``, ``_pointwise3_plan``; speed mode's room
variant ``room1``): a 1x1 conv with unit strides and no padding (cin a multiple of four, cout
even) widens three pixels at a time into the scratch (384 B for 64 channels) and reads each
channel pair's weights widened to int16 at compile time from flash (``widened_pairs``, the
layout ``edgec_widen_pair`` writes), the row kernel's EDGEC_DOT3X2_WIDE_ONE inner loop (16
instructions per 24 multiply-accumulates) without rows of scratch or per-row weight
widening. Its pixels are widened before any of their outputs is stored (``raster_buffered``),
so the output still overwrites its input. The default build takes it where the step has the
room (``edgec.room``): KWS's 1x1 convs, 456 B for scratch below its 8,456 B arena, which the row
kernel's 3,456 B cannot use; KWS default build 3,330,680 -> 2,885,360 instructions, arena
8,456 B unchanged. int8 weights do not fit that room at this speed: widening a pair's weights
per three pixels, or in the micro-kernel (20 per 24), is no faster than the speed kernel.

Outputs (``_rows_out.h.j2``): where every channel's sum is bounded below 2^30 at compile time
(``requant.conv_acc_bound``: bias plus the extreme input times each weight, inputs minus zero
point within [-128 - zp, 127 - zp]), the requantization is the doubled-sum SMMLAR form of
``requant.py`` (ADD, SMMLAR, ASR, SSAT; rq rows ``{m, K, r, 0}``) instead of the 64-bit one,
and where the activation range is all of int8 (``clamp`` false: SSAT clamps) each pixel's two
channels are stored as one halfword with no clamp, every value computed before the first
store (one row load per channel for the block). IC size mode: 11,522,080 -> 11,261,480
instructions, its size-mode code 15,920 -> 14,700 B.

Windows at fixed offsets (``window``): in a whole image the kh runs of a window lie a row
apart; where all of a window's LDRD offsets fit the immediate (at most 1020 bytes) and it
has at most ``WINDOW_GROUPS`` groups, the triples take it unrolled whole from one pointer
(``EDGEC_DOT3X2_WIDE_WINDOW``, ``_rows_out.h.j2``): no run pointers, nothing per run (IC's
first conv, three runs of three groups 272 bytes apart: 664,800 -> 592,600 instructions, for
some 380 bytes of code). The channel pairs' weight widening is one function in the file
(``edgec_widen_pair_call``), not inlined per kernel: a few instructions per widening (IC
+8,800), some 80 bytes of code less per kernel (IC size-mode code 16,320 -> 15,520 B).

Pair form (``conv_pair.c.j2``): int8 weights, two output pixels at a
time. Both pixels' windows are widened into the scratch as int16, interleaved group by group
(``4 * groups`` words: twice the speed form's scratch); per group of four reduction values
the micro-kernel ``edgec_dot2x2_s8`` loads two int8 weight words (two output channels,
``layout.blocked8(w, 2)``) with one LDRD, widens each once by SXTB16 and SXTB16 ROR #8 and
feeds both pixels: 15 instructions per 16 multiply-accumulates (the speed form's int16
weights: 13, the former one-pixel int8 kernel: 21). An odd last pixel is computed in both
slots and stored once. Why not more pixels or channels per turn: the accumulators, four
widened weight halves, an input pair and three pointers/counters already take 13 of the
M4's 14 allocatable registers; 2x3 or 4x2 blocks need more. Each 2x2 block is requantized
and stored at once (one packed clamp, a halfword per pixel), so only four accumulators are
ever live (a 4x2 turn with one word store per pixel spilled them: 5% slower). The
one-pixel int8 kernel it replaces read inputs in place (no scratch when ``cin % 4 == 0``) at
21 instructions per 16 multiply-accumulates; it is in git history (``conv_compact.c.j2``)
should a RAM mode want it back. Channels not a multiple of four (first layers) build the
int8 window row by row in the scratch, then widen it four values at a time.

int4 weights (W4A8, both modes): rows wide enough for the row kernel's widened weights (and
an even cout) take it, the weights unpacked from nibbles once per output row and channel pair
(``edgec_widen_pair_s4``, 16 times the weights; the sums are divided exactly): the same inner
loop as int8 weights. Other int4 convs (``_int4_plan``) take the pair kernel with eight weights a word
(``layout.blocked4``), unpacked in registers by AND 0xF0F0F0F0 (and LSL #4) before the same
SXTB16 pair; 36 instructions per 32 multiply-accumulates against 30 for int8 weights.
"""

from __future__ import annotations

import numpy as np

from edgec.lower import consts
from edgec.lower.dsp import conv_plane, layout
from edgec.lower.dsp.requant import conv_acc_bound
from edgec.lower.dsp.common import (INT4_MAX_K, bias_or_zeros, compact, int8_output,
                                    kernel_plan)
from edgec.lower.registry import lowering_variant


def _int4_plan(ctx, weights, bias, quant, geometry):
    """The pair kernel with W4A8 weights (``layout.blocked4``), in both modes."""
    k, groups, cin = geometry["k"], geometry["groups"], geometry["cin"]
    if k > INT4_MAX_K:
        return None
    wgroups = groups + groups % 2
    words = 4 * wgroups + (groups if cin % 4 else 0)
    return kernel_plan(ctx, "conv_pair.c.j2", layout.blocked4(weights, 2), bias, quant,
                       scratch_bytes=4 * words, scratch_ctype="int32_t", int4=True,
                       helpers=("dsp", "dsp_compact"), **geometry)


def _rows_blocks(geometry) -> dict:
    """How conv_rows.c.j2 splits an output row: ``triples`` three-pixel blocks (where the
    third pixel's offset fits LDRD's immediate, and with in-kernel widening where a run has
    four groups or more; a row of
    3t + 1 pixels takes t - 1 triples and two pairs rather than a pair repeating a pixel),
    pairs for the rest; ``wide``: the weights widened once per row and channel pair, for
    rows of three blocks or more (measured: narrower rows lose more to the widening)."""
    ow, cin, sw = geometry["ow"], geometry["c4"], geometry["sw"]
    run_groups = (geometry["kw"] * cin if geometry["dw"] == 1 else cin) // 4
    step = 2 * sw * cin if ow > 1 else 0
    triples = 0
    if 2 * step <= 1020 and ow >= 3:
        triples = ow // 3 - (1 if ow % 3 == 1 else 0)
    blocks = triples + (ow - 3 * triples + 1) // 2
    wide = blocks >= 3
    if run_groups < 4 and not wide:  # the in-kernel-widening triple form loops by four groups
        triples = 0
        blocks = (ow + 1) // 2
        wide = blocks >= 3
    nruns = geometry["kh"] if geometry["dw"] == 1 else geometry["kh"] * geometry["kw"]
    calls = geometry["n"] * geometry["oh"] * triples * (geometry["cout"] // 2)
    unrolled = wide and (run_groups < 4 or nruns == 1 and run_groups <= 16
                         or run_groups <= 12 and calls >= UNROLL_CALLS)
    return {"triples": triples, "wide": wide, "unrolled": unrolled}


# Wide rows whose whole widened image takes at most this many bytes of scratch widen every
# input row once and loop over the channel pairs outermost (``whole`` in conv_rows.c.j2): a
# pair's weights widened once per image instead of once per output row.
WHOLE_BYTES = 13_000
# ... and at most this many input rows (the kernel keeps an int32 per row on the stack).
WHOLE_ROWS = 64


# Three-pixel calls of a kernel from which its runs of up to 12 groups are unrolled whole: each
# unrolled group adds 16 instructions (~60 B) of code and saves the loop's 3 per four groups
# and the run's 4; IC's 32x32 maps (2,560 calls) repay it, its 16x16 ones are left looping to
# keep IC's size-mode code under 16 KB.
UNROLL_CALLS = 2048


# Groups of a window unrolled whole at fixed offsets (``window`` in _rows_plan): each one
# adds 16 instructions (~64 B) of code once.
WINDOW_GROUPS = 12


def sw_step(geometry) -> int:
    """Bytes between the widened inputs of two neighbouring output pixels of a row."""
    return 2 * geometry["sw"] * geometry["c4"] if geometry["ow"] > 1 else 0


# Pseudo-rows of a 1x1 stride-1 unpadded conv: at most this many pixels.
POINTWISE_ROW = 32


def _pointwise_rows(geometry) -> dict:
    """A 1x1 conv with unit strides and no padding reads each pixel alone, so its NHWC image
    is also one of r times fewer, r times longer rows (r dividing the height): rows of up to
    ``POINTWISE_ROW`` pixels give the row kernel's triples and once-per-row weights room
    (DS-CNN's 25x5 maps: rows of 25 pixels instead of 5)."""
    g = geometry
    if (g["kh"], g["kw"], g["sh"], g["sw"], g["pt"], g["pl"]) != (1, 1, 1, 1, 0, 0) or (
            g["oh"], g["ow"]) != (g["h"], g["w"]):
        return geometry
    r = max(d for d in range(1, g["h"] + 1) if g["h"] % d == 0 and d * g["w"] <= POINTWISE_ROW
            or d == 1)
    return {**g, "h": g["h"] // r, "oh": g["oh"] // r, "w": g["w"] * r, "ow": g["ow"] * r}


def _strided_pointwise(geometry) -> dict:
    """A 1x1 conv with a column stride (no left padding) widens only the pixels it reads:
    ``xstep`` input pixels apart into consecutive columns of a row, which the kernel then
    reads with unit stride (IC's 1x1 stride-2 shortcuts: 16 of 32 pixels a row)."""
    g = geometry
    if (g["kh"], g["kw"], g["pl"]) != (1, 1, 0) or g["sw"] == 1:
        return geometry
    return {**g, "xstep": g["sw"], "sw": 1}


def _rows_plan(ctx, weights, bias, quant, geometry, int4: bool = False,
               bands: int | None = None):
    """The row-buffered kernel (``conv_rows.c.j2``; size mode, and int4 weights on wide rows
    in both modes): ``cin`` padded to ``c4``, a multiple of four, with zero weights (and
    input zero points, which widen to zero). ``bands`` (the room variants, ``edgec.room``):
    the output rows in that many bands, each band's input rows widened together and each
    channel pair's weights once per band; ``None`` when the kernel does not gain from it
    (1x1 windows, rows too narrow for widened weights, no channel pair, one band already)."""
    cout, kh, kw, cin = ctx.ins[1].shape
    c4 = -(-cin // 4) * 4
    geometry = _strided_pointwise(_pointwise_rows(geometry))
    padded = np.zeros((cout, kh, kw, c4), weights.dtype)
    padded[..., :cin] = weights.reshape(cout, kh, kw, cin)
    groups = kh * kw * c4 // 4
    geometry = {**geometry, "c4": c4, "groups": groups, "int4": int4,
                "wpairs": -(-groups // 2)}
    cols = (geometry["ow"] - 1) * geometry["sw"] + (kw - 1) * geometry["dw"] + 1
    blocks = _rows_blocks(geometry)
    wide_groups = 2 * geometry["wpairs"] if int4 else groups
    oh, sh = geometry["oh"], geometry["sh"]
    ring = (oh - 1) * sh + kh
    whole = bool(blocks["wide"] and cout >= 2 and kh < ring <= WHOLE_ROWS
                 and 2 * ring * cols * c4 <= WHOLE_BYTES)
    band = oh if whole else 1
    if bands is not None:
        wanted = -(-oh // bands)
        if (not blocks["wide"] or cout < 2 or kh * kw == 1 or wanted <= band
                or (wanted - 1) * sh + kh > WHOLE_ROWS):
            return None
        band = wanted
    ring = (band - 1) * sh + kh
    scratch = 2 * ring * cols * c4 + 16 * wide_groups * blocks["wide"]
    # The whole image (one band) with a short window whose runs, rows apart, all lie within
    # LDRD's immediate offset: the window unrolled whole at fixed offsets, no run pointers
    # (EDGEC_DOT3X2_WIDE_WINDOW; IC's first conv, 3 runs of 3 groups, rows 272 B apart).
    run_groups = kw * c4 // 4
    window = bool(band == oh > 1 and blocks["unrolled"] and blocks["triples"] and not int4
                  and geometry["dw"] == 1 and kh > 1 and kh * run_groups <= WINDOW_GROUPS
                  and 4 * (kh - 1) * (cols * c4 // 2) + 8 * (run_groups - 1)
                  + 2 * sw_step(geometry) <= 1020)
    arrange = layout.blocked4 if int4 else layout.blocked8
    helpers = ("dsp", "dsp_compact", "dsp_int4", "dsp_rows", "dsp_rows_out") if int4 else (
        "dsp", "dsp_compact", "dsp_rows", "dsp_rows_out")
    params = quant["params"]
    # The int8 sums' bound (the SMMLAR requantization below 2**30, _rows_out.h.j2); whether
    # the activation range is narrower than int8 (else SSAT clamps and stores need no clamp).
    bound = None if int4 else conv_acc_bound(weights, bias, int(params[0]))
    clamp = bool(int(params[2]) > -128 or int(params[3]) < 127)
    return kernel_plan(ctx, "conv_rows.c.j2", arrange(padded.reshape(cout, -1), 2), bias,
                       quant, scratch_bytes=scratch, scratch_ctype="int32_t", access="raster",
                       helpers=helpers, band=band, acc_bound=bound, clamp=clamp,
                       window=window, **blocks, **geometry)


def widened_pairs(weights: np.ndarray) -> np.ndarray:
    """``[cout, cin]`` int8 weights (cout even, cin a multiple of four) as
    ``edgec_widen_pair`` leaves them in the scratch, for every channel pair: per pair, group
    by group, the words SXTB16 and SXTB16 ROR #8 make of channel o's group word, then of
    channel o + 1's (int16 halves: weights 0 and 2, then 1 and 3 of the group)."""
    cout, cin = weights.shape
    g = weights.astype(np.int16).reshape(cout // 2, 2, cin // 4, 4)
    halves = g[..., [0, 2, 1, 3]]  # [pair, channel, group, 4]
    words = halves.transpose(0, 2, 1, 3).reshape(-1)  # pair, group, channel, halves
    return words.astype("<i2").view("<i4").copy()


def _pointwise3_plan(ctx, weights, bias, quant, geometry):
    """The 1x1 conv (unit strides, no padding, ``cin`` a multiple of four, ``cout`` even)
    three pixels at a time with int16 weights widened at compile time
    (``conv_pointwise3.c.j2``): 384 B of scratch for 64 channels, so the default build takes
    it where the arena has that room at the step (KWS's 1x1 convs; ``edgec.room``)."""
    g = geometry
    if ((g["kh"], g["kw"], g["sh"], g["sw"], g["pt"], g["pl"]) != (1, 1, 1, 1, 0, 0)
            or (g["oh"], g["ow"]) != (g["h"], g["w"]) or g["cin"] % 4 or g["cout"] % 2
            or 4 * g["cin"] > 1020):  # LDRD offsets of the third pixel
        return None
    params = quant["params"]
    return kernel_plan(ctx, "conv_pointwise3.c.j2", widened_pairs(weights), bias, quant,
                       scratch_bytes=6 * g["cin"], scratch_ctype="int32_t",
                       access="raster_buffered",
                       helpers=("dsp", "dsp_compact", "dsp_rows", "dsp_rows_out"),
                       acc_bound=conv_acc_bound(weights, bias, int(params[0])),
                       pixels=g["n"] * g["h"] * g["w"], cin=g["cin"], cout=g["cout"],
                       groups=g["cin"] // 4)


def _room_variant(bands: int):
    """The room variant ``room<bands>`` (``edgec.room``): the size-mode row kernel in
    ``bands`` bands of output rows, where that is not its default already; in speed mode,
    ``room1`` is the three-pixel 1x1 kernel (``_pointwise3_plan``)."""

    def conv_2d_dsp_room(ctx):
        if ctx.ins[1].dtype != "int8":
            return None
        if ctx.optimize == "speed" and bands == 1:
            return conv_2d_dsp(ctx, pointwise3=True)
        if ctx.optimize != "size":
            return None
        return conv_2d_dsp(ctx, bands)

    conv_2d_dsp_room.__name__ = f"conv_2d_dsp_room{bands}"
    return lowering_variant("CONV_2D", f"room{bands}:dsp", "int8")(conv_2d_dsp_room)


for _bands in (1, 2, 3, 4, 6, 8):  # edgec.room.ROOM_VARIANTS
    _room_variant(_bands)


@lowering_variant("CONV_2D", "dsp", "int8")
def conv_2d_dsp(ctx, bands: int | None = None, pointwise3: bool = False):
    """int8 CONV_2D (TFLM ``ConvPerChannel``) for cores with the DSP extension; ``bands``:
    the room variants' row kernel (``None`` where it declines)."""
    if not int8_output(ctx) or ctx.ins[1].shape[3] != ctx.ins[0].shape[3]:  # grouped: portable
        return None
    n, h, w, cin = ctx.ins[0].shape
    cout, kh, kw, _ = ctx.ins[1].shape
    _, oh, ow, _ = ctx.outs[0].shape
    weights = consts.constant_input(ctx, 1, "weights").reshape(cout, -1)
    k = kh * kw * cin
    groups = -(-k // 4)
    a = ctx.attrs
    geometry = dict(n=n, h=h, w=w, cin=cin, oh=oh, ow=ow, cout=cout, kh=kh, kw=kw,
                    sh=a["strides"][0], sw=a["strides"][1], dh=a["dilations"][0],
                    dw=a["dilations"][1], pt=a["pads"][0], pl=a["pads"][1], k=k, groups=groups)
    bias = bias_or_zeros(consts.constant_input(ctx, 2, "bias"), cout)
    quant = consts.conv_requant(ctx, cout)
    # a strided 1x1 conv with left padding: its rows would widen unused columns
    pointwise_strided = kh * kw == 1 and geometry["sw"] > 1 and geometry["pl"] > 0
    padding = -cin % 4  # rows pad channels to a multiple of four: at most a third more MACs
    rows = geometry["dh"] == 1 and not pointwise_strided and 3 * padding <= cin
    if ctx.ins[1].dtype == "int4":
        c4 = -(-cin // 4) * 4
        wide = _rows_blocks({**_strided_pointwise(_pointwise_rows(geometry)), "c4": c4})["wide"]
        if (rows and wide and cout % 2 == 0 and ctx.optimize != "ram"
                and kh * kw * c4 <= INT4_MAX_K):
            return _rows_plan(ctx, weights, bias, quant, geometry, int4=True)
        return _int4_plan(ctx, weights, bias, quant, geometry)
    if ctx.optimize == "size" and (one := conv_plane.plan(ctx, weights, bias, quant, geometry)):
        return one  # one input channel: the int16 plane kernel (conv_plane.py)
    if pointwise3:
        return _pointwise3_plan(ctx, weights, bias, quant, geometry)
    if ctx.optimize == "size" and rows:
        return _rows_plan(ctx, weights, bias, quant, geometry, bands=bands)
    if bands is not None:
        return None
    if compact(ctx):
        words = 4 * groups + (groups if cin % 4 else 0)  # two int16 windows (+ an int8 one)
        return kernel_plan(ctx, "conv_pair.c.j2", layout.blocked8(weights, 2), bias, quant,
                           scratch_bytes=4 * words, scratch_ctype="int32_t", access="raster",
                           **geometry)
    return kernel_plan(ctx, "conv.c.j2", layout.blocked(weights, 4), bias, quant,
                       scratch_bytes=groups * 8, scratch_ctype="int32_t",
                       access="raster_buffered",
                       **geometry)
