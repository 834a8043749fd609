"""Weights rearranged at compile time into the int32 words the DSP kernels load.

Weights are stored sign-extended to int16, two per 32-bit word, so the inner loops load them
ready for SMLAD (no per-use extension; the price is twice the int8 weight bytes). Inputs are
extended in the kernels by SXTAB16, which yields bytes 0 and 2 of a word as one halfword pair
and bytes 1 and 3 (after ROR #8) as the other; weights are grouped by four along the
reduction axis and put in that same lane order, ``SWIZZLE``. A reduction length that is not a
multiple of four is padded with zero weights (the kernels pad inputs with zeros too).
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
