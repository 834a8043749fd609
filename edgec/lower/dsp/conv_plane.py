"""int8 CONV_2D with one input channel through an int16 plane (``conv_plane.c.j2``), size mode.

A first layer on a one-channel image (KWS's DS-CNN: a 49x10 spectrogram, a 10x4 kernel at
stride 2, 64 channels) gives the channel-blocked kernels nothing to sum over channels: the
row kernel would pad its one channel to four (four times the MACs) and the pair kernel builds
a window per pixel pair (1.54 instructions per MAC). Here the whole input is widened once
into the scratch as an int16 plane of ``x - zp`` with a zero border (the padding), so the kw
taps of a kernel row are contiguous: two neighbours are one SMLAD operand as they lie, and at
an even horizontal stride every window starts on a word. Per pair of output channels the
weights are widened once (``kh * kw`` halfword pairs, by SXTB16 from words stored so that
SXTB16 and SXTB16 ROR #8 give two ready pairs: ``weights``), then every output row takes
blocks of three pixels (two of two where the row leaves four or a pair) by two channels: per
kernel row one LDM of widened weights (LDRD for kw <= 2), one LDR per distinct input word
(a pixel's second word is its right neighbour's first at stride 2, ``schedule``) and 12
SMLADs, all kernel rows in one asm statement with the plane's row pitch as immediate
offsets (13 registers; GCC with the frame pointer omitted, else -O0, clang, builds defining
``EDGEC_DSP_FRAME_POINTER`` and the host take the same loop in C). The sums are requantized
two pixels by two channels at a time (``edgec_scale2x2_fast``) and stored as a halfword per
pixel. KWS's first layer (10x4 kernel, stride 2, 64 channels, 25x5 output,
320,000 MACs), mps2_an386: 492,160 instructions on the pair kernel -> 333,080 (1.04 per
MAC; the multiply-accumulates alone 0.71: 17 instructions per 24 with the four weight words
of a kernel row by one LDM into r8-r11).

Taken in size mode for one input channel, int8 weights, no dilation, an even horizontal
stride (aligned words), ``kw <= 4`` (padded to even with zero taps), an even ``cout`` and a
plane of at most ``PLANE_BYTES``. Scratch: the plane and ``2 * kh * kp`` widened weights.
The output is written channel pair by channel pair, not in raster order: no
``Kernel.access`` (the input is all read, into the plane, before the first write).

A C template like the other DSP kernels (``edgec.lower.dsp`` says why), for two more
reasons: a plane word is two int16 values read as one SMLAD operand, and the block's asm
takes the plane's pitch as immediate offsets.
"""

from __future__ import annotations

import numpy as np

from edgec.lower.dsp import layout
from edgec.lower.dsp.common import kernel_plan

TEMPLATE = "conv_plane.c.j2"
PLANE_BYTES = 4096  # also keeps every row offset an LDR immediate (< 4096)


def row_blocks(ow: int) -> list[int]:
    """An output row as blocks of 3 pixels, then 2 (a row of 3t + 1 pixels: t - 1 triples and
    two pairs), or one pixel for a row of one."""
    if ow == 1:
        return [1]
    triples = ow // 3 - (1 if ow % 3 == 1 else 0)
    return [3] * triples + [2] * ((ow - 3 * triples) // 2)


def schedule(pixels: int, kp: int, sw: int) -> list[tuple[int, list[tuple[int, int]]]]:
    """A block's loads of one kernel row: per distinct plane column (from the block's first
    window), the (pixel, pair) products its word feeds; pixel p's pair j reads column
    ``p * sw + 2 * j``."""
    uses: dict[int, list[tuple[int, int]]] = {}
    for p in range(pixels):
        for j in range(kp // 2):
            uses.setdefault(p * sw + 2 * j, []).append((p, j))
    return sorted(uses.items())


def weights(w: np.ndarray, kp: int) -> np.ndarray:
    """``[cout, kh, kw]`` int8 weights as words: per channel pair, per kernel row, the
    halfword pairs ``(c0, 0..kp/2-1), (c1, 0..kp/2-1)`` (taps ``2j, 2j + 1``; taps past kw
    zero), two pairs ``A, B`` a word as bytes ``A0, B0, A1, B1`` (SXTB16 gives A, SXTB16
    ROR #8 gives B)."""
    cout, kh, kw = w.shape
    taps = np.zeros((cout, kh, kp), np.int8)
    taps[..., :kw] = w
    pairs = taps.reshape(cout // 2, 2, kh, kp // 2, 2).transpose(0, 2, 1, 3, 4)
    pairs = pairs.reshape(cout // 2, kh, -1, 2, 2)  # [pair, row, word, (A, B), (lo, hi)]
    return layout._bytes_as_words(pairs.transpose(0, 1, 2, 4, 3))


def plan(ctx, weights_oihw: np.ndarray, bias, quant, g: dict):
    """The plane kernel's plan, or None where it does not apply (see the module docstring)."""
    if (g["cin"] != 1 or (g["dh"], g["dw"]) != (1, 1) or g["sw"] % 2 or g["kw"] > 4
            or g["cout"] % 2 or ctx.ins[1].dtype != "int8"):
        return None
    kp = g["kw"] + g["kw"] % 2
    ph = (g["oh"] - 1) * g["sh"] + g["kh"]
    pw = max((g["ow"] - 1) * g["sw"] + kp, g["pl"] + g["w"])
    pw += pw % 2
    ph = max(ph, g["pt"] + g["h"])
    if 2 * ph * pw > PLANE_BYTES:
        return None
    words = weights(weights_oihw.reshape(g["cout"], g["kh"], g["kw"]), kp)
    scratch = 2 * ph * pw + 4 * g["kh"] * kp
    blocks = row_blocks(g["ow"])
    return kernel_plan(ctx, TEMPLATE, words, bias, quant, scratch_bytes=scratch,
                       scratch_ctype="int32_t",
                       helpers=("dsp", "dsp_compact"), kp=kp, ph=ph, pw=pw,
                       blocks=blocks, schedule={p: schedule(p, kp, g["sw"]) for p in set(blocks)},
                       **g)
