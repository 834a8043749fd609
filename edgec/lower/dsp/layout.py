"""Weights rearranged at compile time into the int32 words the DSP kernels load.

Speed kernels (``blocked``, ``depthwise``): weights stored sign-extended to int16, two per
32-bit word, so the inner loops load them ready for SMLAD (no per-use extension; the price is
twice the int8 weight bytes). Inputs are extended in the kernels by SXTAB16, which yields
bytes 0 and 2 of a word as one halfword pair and bytes 1 and 3 (after ROR #8) as the other;
weights are grouped by four along the reduction axis and put in that same lane order,
``SWIZZLE``. A reduction length that is not a multiple of four is padded with zero weights
(the kernels pad inputs with zeros too).

int4 kernels (``blocked4``): eight weights a word, two groups of four in the high and low
nibbles of the same bytes, unpacked by one AND (or a shift and an AND) per four weights.

Compact kernels (``blocked8``, ``depthwise8``, the ``--optimize size`` mode): weights stay
int8, four per word, and the kernels widen each weight word with SXTB16 and SXTB16 ROR #8, the
same lane split SXTAB16 applies to the inputs. Both operands of every SMLAD then hold the
pairs (0, 2) and (1, 3) of the same four reduction values, so the bytes keep their natural
order: the classic (w0, w2, w1, w3) reorder is only needed when the inputs are widened into
natural order, which these kernels never do.
"""

from __future__ import annotations

import numpy as np

SWIZZLE = [0, 2, 1, 3]


def groups(rows: np.ndarray) -> np.ndarray:
    """``[R, K]`` weights as ``[R, ceil(K/4), 4]`` int16 in SXTAB16 lane order, zero-padded."""
    r, k = rows.shape
    padded = np.zeros((r, -(-k // 4) * 4), np.int16)
    padded[:, :k] = rows
    return padded.reshape(r, -1, 4)[:, :, SWIZZLE]


def words(halves: np.ndarray) -> np.ndarray:
    """int16 values (an even count) packed two per int32 word, the first in the low half
    (the kernels read them little-endian, as Cortex-M and x86 store words)."""
    flat = np.ascontiguousarray(halves, dtype="<i2").reshape(-1)
    return flat.view("<i4").astype(np.int32)


def blocked(rows: np.ndarray, block: int) -> np.ndarray:
    """``[R, K]`` weights for kernels computing ``block`` rows at once: for each block of rows,
    group by group, the rows' lane groups one after another; the ``R % block`` last rows
    follow, one after another, each group by group. int32 words."""
    g = groups(rows)
    full = rows.shape[0] // block * block
    head = g[:full].reshape(-1, block, g.shape[1], 4).transpose(0, 2, 1, 3)
    return np.concatenate([words(head), words(g[full:])])


def depthwise(w: np.ndarray) -> np.ndarray:
    """``[1, KH, KW, C]`` weights for the depthwise kernel: channels by groups of four, each
    group tap by tap in lane order (two words per tap), then the ``C % 4`` last channels one
    int32 word per tap."""
    taps = w.reshape(-1, w.shape[-1]).T.astype(np.int16)  # [C, T]
    full = taps.shape[0] // 4 * 4
    head = taps[:full].reshape(-1, 4, taps.shape[1]).transpose(0, 2, 1)[:, :, SWIZZLE]
    return np.concatenate([words(head), taps[full:].reshape(-1).astype(np.int32)])


def _bytes_as_words(values: np.ndarray) -> np.ndarray:
    """int8 values (a multiple of four) packed four per int32 word, the first in the low
    byte (little-endian, as the kernels load them)."""
    flat = np.ascontiguousarray(values, dtype=np.int8).reshape(-1)
    return flat.view("<i4").astype(np.int32)


def groups8(rows: np.ndarray) -> np.ndarray:
    """``[R, K]`` int8 weights as ``[R, ceil(K/4), 4]`` int8 in natural order, zero-padded."""
    r, k = rows.shape
    padded = np.zeros((r, -(-k // 4) * 4), np.int8)
    padded[:, :k] = rows
    return padded.reshape(r, -1, 4)


def _blocked_words(g: np.ndarray, block: int) -> np.ndarray:
    """``[R, G, 4]`` int8 as words: for each block of ``block`` rows, word index by word
    index, one word per row; the ``R % block`` last rows follow, each word by word."""
    full = g.shape[0] // block * block
    head = g[:full].reshape(-1, block, g.shape[1], 4).transpose(0, 2, 1, 3)
    return np.concatenate([_bytes_as_words(head), _bytes_as_words(g[full:])])


def blocked8(rows: np.ndarray, block: int) -> np.ndarray:
    """``[R, K]`` weights for the compact kernels computing ``block`` rows at once: for each
    block of rows, group by group, one word per row; the ``R % block`` last rows follow, one
    after another, each group by group. int8 kept: one int32 word per four weights."""
    return _blocked_words(groups8(rows), block)


def blocked4(rows: np.ndarray, block: int) -> np.ndarray:
    """``[R, K]`` int4 weights (values in [-8, 7]) for the int4 pair kernel: eight per word,
    K zero-padded to a multiple of eight. Byte ``j`` of a row's word for groups ``2p`` and
    ``2p + 1`` holds weight ``j`` of group ``2p`` in its high nibble and weight ``j`` of group
    ``2p + 1`` in its low nibble: ``word & 0xF0F0F0F0`` and ``(word << 4) & 0xF0F0F0F0`` are
    then each four int8 bytes of 16 times a group's weights, in natural order, ready for
    SXTB16 and SXTB16 ROR #8 (the kernel divides the sums by 16 exactly). Words blocked like
    ``blocked8``."""
    r, k = rows.shape
    padded = np.zeros((r, -(-k // 8) * 8), np.int64)
    padded[:, :k] = rows
    pairs = padded.reshape(r, -1, 2, 4)
    packed = ((pairs[:, :, 0] & 0xF) << 4) | (pairs[:, :, 1] & 0xF)
    return _blocked_words(packed.astype(np.uint8).view(np.int8), block)


def depthwise8(w: np.ndarray) -> np.ndarray:
    """``[1, KH, KW, C]`` weights for the compact depthwise kernel: channels by groups of
    four, each group tap by tap, one word of four channel weights per tap; then the ``C % 4``
    last channels as int8, tap by tap, zero-padded to a whole word."""
    taps = w.reshape(-1, w.shape[-1]).T.astype(np.int8)  # [C, T]
    full = taps.shape[0] // 4 * 4
    head = taps[:full].reshape(-1, 4, taps.shape[1]).transpose(0, 2, 1)
    tail = taps[full:].reshape(-1)
    tail = np.concatenate([tail, np.zeros(-tail.size % 4, np.int8)])
    return np.concatenate([_bytes_as_words(head), _bytes_as_words(tail)])


def _nibble_pairs(hi: np.ndarray, lo: np.ndarray) -> np.ndarray:
    """int4 values (in [-8, 7]) ``hi`` and ``lo`` of one shape as the bytes
    ``hi << 4 | lo & 0xF``: ``byte & 0xF0`` is then 16 times ``hi`` and ``(byte << 4) & 0xF0``
    16 times ``lo``, each a signed int8 (SXTB16-ready)."""
    packed = ((hi.astype(np.int64) & 0xF) << 4) | (lo.astype(np.int64) & 0xF)
    return packed.astype(np.uint8).view(np.int8)


def depthwise4(w: np.ndarray) -> np.ndarray:
    """``[1, KH, KW, C]`` int4 weights for the int4 depthwise kernel: channel groups of four
    in pairs, per pair tap by tap one word whose byte ``j`` holds channel ``j`` of the first
    group in its high nibble and of the second in its low nibble (an odd last group: zero low
    nibbles), so ``word & 0xF0F0F0F0`` and ``(word << 4) & 0xF0F0F0F0`` are each four
    channels' weights times 16 in natural order, like ``depthwise8``'s word. Then the
    ``C % 4`` last channels as int8, tap by tap, zero-padded to a whole word (as
    ``depthwise8``)."""
    taps = w.reshape(-1, w.shape[-1]).T.astype(np.int64)  # [C, T]
    groups = taps.shape[0] // 4
    pairs = -(-groups // 2)
    head = np.zeros((pairs * 8, taps.shape[1]), np.int64)
    head[:groups * 4] = taps[:groups * 4]
    head = head.reshape(pairs, 2, 4, taps.shape[1]).transpose(0, 3, 1, 2)  # [P, T, half, 4]
    packed = _nibble_pairs(head[:, :, 0], head[:, :, 1])
    tail = taps[groups * 4:].reshape(-1).astype(np.int8)
    tail = np.concatenate([tail, np.zeros(-tail.size % 4, np.int8)])
    return np.concatenate([_bytes_as_words(packed), _bytes_as_words(tail)])
