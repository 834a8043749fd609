"""int8-weight FULLY_CONNECTED with split weight words (``--optimize size``;
``templates/kernels/dsp/fully_connected_split.c.j2``, helpers ``_split.h.j2``).

A one-row FULLY_CONNECTED uses each weight once, so the usual int8 form (SXTB16 twice and
SMLAD twice per weight word) costs at least one instruction per multiply-accumulate. Here
one word holds two output channels' weights for two reduction values j < j' (values 0 and 2,
or 1 and 3, of a group of four: the lanes SXTB16 and SXTB16 ROR #8 make of an input word)::

    [byte3 byte2 byte1 byte0] = [w(o1, j'), w(o2, j') + 128, w(o1, j), w(o2, j) + 128]

Each halfword is ``256 * w(o1) + u(o2)`` with ``u = w(o2) + 128`` unsigned, so against the
int16 pair X = {x_j, x_j'}::

    a += SMLAD(X, word)          = 256 * (o1's two products) + (x_j u(o2, j) + x_j' u(o2, j'))
    b += SMLAD(X, UXTB16(word))  =                               x_j u(o2, j) + x_j' u(o2, j')

Started equal, ``a - b`` is 256 times o1's sum and ``b`` is o2's sum plus 128 times the
inputs' sum (computed once per row): 3 instructions per 4 multiply-accumulates instead of 4.
The inputs are the raw int8 values (the input zero point is folded into the bias,
``consts.folded_bias``), so ``|o1's sum| <= 128 * 128 * K``; ``256 *`` that stays within
int32 for K <= 511, so the reduction runs in runs of at most ``RUN_GROUPS`` groups of four,
``a - b`` taken (shifted right by 8, exact) and ``a`` reset to ``b`` after each. Both wrap
mod 2**32 like TFLite's accumulator, so a bias anywhere in int32 is exact.

The micro-kernel (``EDGEC_SPLIT8``) computes eight output channels (four pairs) at once: per
group of four inputs one LDR and two SXTB16 (``no_scratch``: the int8 row read in place) or
one LDRD (the row widened once into scratch as int16 pairs, ``8 * ceil(K / 4)`` bytes), then
per pair an LDRD of its two words, two SMLAD, two UXTB16 and two SMLAD: 31 (in place) or 29
(widened) instructions per 32 multiply-accumulates. Output channels are padded to a multiple
of eight with zero weights (the padded outputs are computed, not stored); K is padded to a
multiple of four with zero bytes against zero inputs (the row's ``K % 4`` last values through
a four-byte stack copy). Weights with a zero point keep the portable rule.

Why 3 per 4 is the floor of this arithmetic on Armv7E-M with int8 weights (the instruction
count, ``-icount``): a multiply instruction takes at most two 16-bit lanes (SMLAD), an int8
input against a 16-bit lane carries at most two int8 weights, and two weights in one lane
overlap (the low one's sum is as wide as the high one's), so the low weights' sum needs
its own multiply, on operands isolated by one more instruction (UXTB16 of the word): per
word of four weights, SMLAD + UXTB16 + SMLAD. Loads, widening and requantization come on
top (``python benchmarks/layers.py``).
"""

from __future__ import annotations

import numpy as np

from edgec.lower import consts
from edgec.lower.dsp.common import kernel_plan

# Groups of four per run: |o1's sum| <= 4 * 127 * 128 * 128 < 2**23, so 256 times it fits.
RUN_GROUPS = 127
BLOCK = 4  # output channels per micro-kernel call (two pairs)
HELPERS = ("dsp", "dsp_compact", "dsp_split")


def split_words(weights: np.ndarray, cout_padded: int, groups: int) -> np.ndarray:
    """``[O, K]`` int8 weights as split words: for each block of eight channels, group by
    group, pair by pair (channels 2p, 2p + 1 of the block), the word of values 0 and 2 then
    the word of values 1 and 3. Padded channels and values are zero weights."""
    cout, k = weights.shape
    w = np.zeros((cout_padded, 4 * groups), np.int64)
    w[:cout, :k] = weights
    hi = w[0::2] & 0xFF  # o1: the signed high byte of each halfword
    lo = w[1::2] + 128  # o2: biased to unsigned, the low byte
    half = (hi << 8) | lo  # [pairs, 4 * groups]
    half = half.reshape(half.shape[0], groups, 2, 2)  # [pair, group, (0,1)|(2,3), ...]
    # value j of the group: j = 0, 1 low halves, j = 2, 3 high halves; word 0: (0, 2), 1: (1, 3)
    words = half[:, :, 0, :] | (half[:, :, 1, :] << 16)  # [pair, group, word]
    blocks = words.reshape(cout_padded // BLOCK, BLOCK // 2, groups, 2).transpose(0, 2, 1, 3)
    return blocks.reshape(-1).astype(np.uint32).view(np.int32)


def runs(groups: int) -> list[int]:
    """The reduction's runs, in groups: as few as ``RUN_GROUPS`` allows, as even as can be."""
    n = -(-groups // RUN_GROUPS)
    return [groups // n + (i < groups % n) for i in range(n)]


def plan(ctx, weights: np.ndarray, bias: np.ndarray | None, quant: dict, wide: bool):
    """The kernel plan: ``wide`` widens the row into scratch first (two words a group)."""
    cout, k = weights.shape
    groups = -(-k // 4)
    cout_padded = -(-cout // BLOCK) * BLOCK
    folded = consts.folded_bias(bias, weights.astype(np.int64).sum(axis=1),
                                int(quant["params"][0]))
    pad = cout_padded - cout
    quant = dict(quant, mult=np.pad(quant["mult"], (0, pad), mode="edge"),
                 shift=np.pad(quant["shift"], (0, pad), mode="edge"))
    lengths = runs(groups)
    starts = [sum(lengths[:i]) for i in range(len(lengths))]
    return kernel_plan(ctx, "fully_connected_split.c.j2",
                       split_words(weights, cout_padded, groups),
                       np.pad(folded, (0, pad)), quant,
                       scratch_bytes=8 * groups if wide else 0, scratch_ctype="int32_t",
                       helpers=HELPERS, rows=ctx.ins[0].size // k, k=k, cout=cout,
                       cout_padded=cout_padded, groups=groups, wide=wide,
                       runs=list(zip(starts, lengths)))
