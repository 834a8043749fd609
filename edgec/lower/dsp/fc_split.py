"""int8-weight FULLY_CONNECTED with split weight words (``--optimize size``;
``templates/kernels/dsp/fully_connected_split.c.j2``, helpers ``_split.h.j2``).

A one-row FULLY_CONNECTED uses each weight once, so the usual int8 form (SXTB16 twice and
SMLAD twice per weight word) costs at least one instruction per multiply-accumulate. Here
one word holds two output channels' weights for two reduction values j < j' (values 0 and 2,
or 1 and 3, of a group of four: the lanes SXTB16 and SXTB16 ROR #8 make of an input word):
the halfwords ``h(j) = 256 * w(o1, j) + w(o2, j)`` (low) and ``h(j')`` (high). Against the
int16 pair X = {x_j, x_j'}::

    a += SMLAD(X, word)          = 256 * (o1's two products) + (o2's two products)
    b += SMLAD(X, SXTB16(word))  =                               o2's two products

so ``b`` is o2's sum and ``a - b`` 256 times o1's: 3 instructions per 4 multiply-accumulates
instead of 4. ``h`` fits int16 unless ``w(o1) = -128`` meets a negative ``w(o2)`` (trained
weights stay within [-127, 127]); such a layer takes the biased form, ``h = 256 * w(o1) +
(w(o2) + 128)`` with UXTB16 isolating the unsigned low bytes, ``b`` then o2's sum plus 128
times the inputs' sum (computed once per row, USADA8). The inputs are the raw int8 values
(the input zero point folded into the bias, ``consts.folded_bias``); o1's bias rides in
``a`` (it starts at ``256 * bias(o1) + bias(o2)``, ``b`` at ``bias(o2)``) where it is small
enough. ``256 * o1's sum`` must stay within int32: the reduction is cut into runs over which
every o1 channel's ``128 * sum |w|`` (plus its bias in the first run) stays below 2**23
(``runs``: one run for AD, two for worst-case K = 640), ``a - b`` taken (shifted right by 8,
exact) and ``a`` reset to ``b`` after each. Everything wraps mod 2**32 like TFLite's
accumulator, so a bias anywhere in int32 is exact.

The micro-kernel (``EDGEC_SPLIT4``, asm with every register named for the LDM lists)
computes four output channels (two pairs) over a run: per two groups the inputs as four
int16 pairs (the row widened once into scratch, ``8 * ceil(K / 4)`` bytes: one LDM; in place,
``no_scratch``: LDRD and four SXTB16), two LDM of four weight words and 24 SMLAD/SXTB16: 27
(widened) or 31 (in place) instructions per 32 multiply-accumulates, sixteen groups a loop
turn (3 instructions of loop control). Without scratch, where the output row is longer than
the widened row (AD's last layer), the row is widened into the output's first bytes for the
channels after them. Output channels are padded to a multiple of four with zero weights (the
padded outputs are computed, not stored); K to a multiple of four with zero bytes against
zero inputs (the row's ``K % 4`` last values through a four-byte stack copy). Weights with a
zero point keep the portable rule.

Why 3 per 4 is the floor on Armv7E-M with int8 weights, counting instructions (``-icount``):
a multiply instruction has at most two 16-bit lanes (SMLAD; the 32x32 multiplies have one),
an int8 input against a 16-bit lane carries at most two int8 weights, and two weights in one
lane overlap (the low one's sum is as wide as the high one's and spills into the high one's
bits), so the low weights' sum needs its own multiply, on operands isolated by one more
instruction (SXTB16 of the word): per word of four weights, SMLAD + SXTB16 + SMLAD. Loads,
input widening, loop control and requantization come on top: with 14 registers (four
accumulators, four input pairs, four weight words, two pointers) 27 per 32, plus per four
outputs about 45 (bias loads, ``a - b``, the requantization and clamp, the loop).
"""

from __future__ import annotations

import numpy as np

from edgec.ir.quant import wrap32
from edgec.lower import consts
from edgec.lower.dsp.common import kernel_plan

# |256 * o1's sum| < 2**31: the sum (with the bias where it is folded in) within +-LIMIT.
LIMIT = 2 ** 23 - 1
BLOCK = 4  # output channels per micro-kernel call (two pairs)
HELPERS = ("dsp", "dsp_compact", "dsp_split")


def signed_form(weights: np.ndarray, cout_padded: int) -> bool:
    """Whether every halfword ``256 * w(o1) + w(o2)`` fits int16 (it does unless
    ``w(o1) = -128`` meets a negative ``w(o2)``): then the words hold it as it is, SXTB16
    isolates ``w(o2)`` and no input sum is needed. Otherwise the biased form."""
    w = np.zeros((cout_padded, weights.shape[1]), np.int64)
    w[:weights.shape[0]] = weights
    return not np.any((w[0::2] == -128) & (w[1::2] < 0))


def split_words(weights: np.ndarray, cout_padded: int, groups: int, signed: bool) -> np.ndarray:
    """``[O, K]`` int8 weights as split words: for each block of four channels, group by
    group, pair by pair (channels 2p, 2p + 1 of the block), the word of values 0 and 2 then
    the word of values 1 and 3; each halfword ``256 * w(o1) + w(o2)`` (``signed``) or
    ``256 * w(o1) + (w(o2) + 128)``. Padded channels and values are zero weights."""
    cout, k = weights.shape
    w = np.zeros((cout_padded, 4 * groups), np.int64)
    w[:cout, :k] = weights
    half = (256 * w[0::2] + (w[1::2] if signed else w[1::2] + 128)) & 0xFFFF  # [pair, 4G]
    half = half.reshape(half.shape[0], groups, 2, 2)  # [pair, group, (0,1)|(2,3), ...]
    # values 0, 1 in the low halves, 2, 3 in the high ones; word 0: (0, 2), word 1: (1, 3)
    words = half[:, :, 0, :] | (half[:, :, 1, :] << 16)  # [pair, group, word]
    blocks = words.reshape(cout_padded // BLOCK, BLOCK // 2, groups, 2).transpose(0, 2, 1, 3)
    return blocks.reshape(-1).astype(np.uint32).view(np.int32)


def runs(weights: np.ndarray, groups: int, start_bound: np.ndarray) -> list[tuple[int, int]]:
    """The reduction's runs ``(first group, groups)``: greedily as long as every o1
    channel's sum stays within LIMIT (``128 * sum |w|`` over the run's values, plus
    ``start_bound``, the folded bias's magnitude per pair, in the first run)."""
    cout, k = weights.shape
    w = np.zeros((2 * start_bound.size, 4 * groups), np.int64)
    w[:cout, :k] = weights
    per_group = 128 * np.abs(w[0::2]).reshape(-1, groups, 4).sum(axis=2)  # [pair, group]
    out, first, bound = [], 0, start_bound.astype(np.int64)
    for g in range(groups):
        if np.any(bound + per_group[:, g] > LIMIT):
            out.append((first, g - first))
            first, bound = g, np.zeros_like(bound)
        bound = bound + per_group[:, g]
    out.append((first, groups - first))
    return out


def plan(ctx, weights: np.ndarray, bias: np.ndarray | None, quant: dict, wide: bool):
    """The kernel plan: ``wide`` widens the row into scratch first (two words a group);
    otherwise (``no_scratch``), where the output row is longer than the widened row, the
    widened row borrows the output row's first bytes for the channels after them
    (``borrow``)."""
    cout, k = weights.shape
    groups = -(-k // 4)
    cout_padded = -(-cout // BLOCK) * BLOCK
    pad = cout_padded - cout
    folded = np.pad(consts.folded_bias(bias, weights.astype(np.int64).sum(axis=1),
                                       int(quant["params"][0])), (0, pad)).astype(np.int64)
    signed = signed_form(weights, cout_padded)
    # o1's bias rides in the accumulator a (256 times it) when it leaves room for the sums
    fold = bool(np.abs(folded[0::2]).max() <= LIMIT // 2)
    lengths = runs(weights, groups, np.abs(folded[0::2]) if fold else np.zeros(cout_padded // 2))
    if fold:  # a starts at 256 * bias(o1) + bias(o2): a - b = 256 * (bias(o1) + sum)
        folded[0::2] = 256 * folded[0::2] + folded[1::2]
    quant = dict(quant, mult=np.pad(quant["mult"], (0, pad), mode="edge"),
                 shift=np.pad(quant["shift"], (0, pad), mode="edge"))
    return kernel_plan(ctx, "fully_connected_split.c.j2",
                       split_words(weights, cout_padded, groups, signed),
                       wrap32(folded).astype(np.int32), quant,
                       scratch_bytes=8 * groups if wide else 0, scratch_ctype="int32_t",
                       helpers=HELPERS, rows=ctx.ins[0].size // k, k=k, cout=cout,
                       cout_padded=cout_padded, groups=groups, wide=wide, signed=signed,
                       fold=fold, runs=lengths, borrow=not wide and 8 * groups < cout)
