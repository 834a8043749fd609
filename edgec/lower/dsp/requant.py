"""TFLite's requantization folded into one 64-bit multiply-accumulate and a shift.

TFLM computes ``RoundingDivideByPOT(SRDHM(acc, m), r) + zp`` (double rounding). For a
multiplier ``m`` in ``[2**30, 2**31)`` and a right shift ``r`` in ``[1, FAST_MAX_RIGHT]``
this equals, for every int32 ``acc``::

    (acc * m + R - (acc < 0) * 2**31) >> (31 + r),   R = 2**30 + 2**(30+r) + zp * 2**(31+r)

Derivation: SRDHM is ``floor((acc*m + 2**30) / 2**31)`` for both signs (TFLite's negative
nudge with truncating division is the same floor); RoundingDivideByPOT of ``q`` is
``floor((q + 2**(r-1) - (q < 0)) / 2**r)``; ``q < 0`` equals ``acc < 0`` except for
``acc = -1, m = 2**30`` where both forms give 0; nested floors of divisions by powers of two
merge, and ``+ zp`` moves inside the floor. The sum stays below 2**63 for ``r <= 23``. On the
M4 that is SMLAL, AND, SUBS, SBC and one ASR of the high word by ``r - 1``.

Where the activation clamp's floor is at or above the zero point (ReLU, or any activation
with zero point -128: most int8 models), the ``- (acc < 0) * 2**31`` term can be dropped: for
``acc <= -1`` both forms give at most ``floor(zp + 1/2) = zp`` (``acc * m <= -2**30`` cancels
the first rounding term), which the clamp raises to the floor. The four-channel helpers then
skip two instructions per value (``edgec_scale4_fast_nonneg``; ``common.kernel_plan`` passes
``fast="nonneg"``).

For a sum known at compile time to stay below 2**30 in magnitude, and passed doubled
(``s2 = 2 * acc``: the ADD kernel's tables hold doubled values), one SMMLAR does the first
rounding and adds the zero point: ``t = K + floor((s2 * m + 2**31) / 2**32)`` is
``K + SRDHM(acc, m)`` with ``K = 2**(r-1) + zp * 2**r``, and the second rounding is
``(t - (acc < 0)) >> r``: RoundingDivideByPOT's ``q < 0`` is ``acc < 0`` but for ``acc = -1,
m = 2**30`` (``q = 0``), where both give 0 for ``r >= 1``. Its row is ``[m, K, r, 0]``
(``mmla_row``); four instructions and SSAT per value (``edgec_scale_mmla``).

Nodes with any other channel (a left shift, ``r = 0``, a zero multiplier) take the exact
form, the same arithmetic as ``edgec.ir.quant`` step by step. Both read a per-channel row
``rq[c] = [m, a, b, c]``: fast ``[m, r - 1, R low word, R high word]``, exact
``[m, shift, 0, 0]``.
"""

from __future__ import annotations

import numpy as np

FAST_MAX_RIGHT = 23
RQ_WIDTH = 4


def fast_applies(mult: np.ndarray, shift: np.ndarray) -> bool:
    """Whether every channel's (multiplier, shift) allows the fast form."""
    mult, right = np.asarray(mult, np.int64), -np.asarray(shift, np.int64)
    return bool(np.all((mult >= 1 << 30) & (right >= 1) & (right <= FAST_MAX_RIGHT)))


def requant_table(mult, shift, output_zp: int) -> tuple[np.ndarray, bool]:
    """The ``[channels, 4]`` int32 table ``rq`` and whether it is in the fast form."""
    mult, shift = np.asarray(mult, np.int64), np.asarray(shift, np.int64)
    table = np.zeros((mult.size, RQ_WIDTH), np.int64)
    table[:, 0] = mult
    if not fast_applies(mult, shift):
        table[:, 1] = shift
        return table.astype(np.int32), False
    right = -shift
    rounding = [(1 << 30) + (1 << int(30 + r)) + output_zp * (1 << int(31 + r)) for r in right]
    words = np.array(rounding, np.int64)
    table[:, 1] = right - 1
    table[:, 2] = (words & 0xFFFFFFFF).astype(np.uint32).view(np.int32)
    table[:, 3] = words >> 32
    return table.astype(np.int32), True


MMLA_MAX_SUM = 1 << 30  # |acc| below this: 2 * acc fits int32


def mmla_row(mult: int, shift: int, output_zp: int) -> np.ndarray | None:
    """The ``[m, K, r, 0]`` row of the doubled-sum SMMLAR form, ``None`` when the
    (multiplier, shift) pair does not allow the fast form."""
    if not fast_applies([mult], [shift]):
        return None
    right = -int(shift)
    return np.array([mult, (1 << (right - 1)) + output_zp * (1 << right), right, 0], np.int32)


def mmla_table(mult, shift, output_zp: int) -> np.ndarray | None:
    """The ``[channels, 4]`` int32 table of ``mmla_row`` rows, ``None`` unless every channel
    allows the fast form."""
    rows = [mmla_row(int(m), int(s), output_zp) for m, s in zip(np.ravel(mult), np.ravel(shift))]
    return None if any(r is None for r in rows) else np.stack(rows).astype(np.int32)


def conv_acc_bound(weights: np.ndarray, bias: np.ndarray, input_zp: int) -> int:
    """The largest ``|bias + sum(w * (x - input_zp))|`` over int8 inputs x, any channel
    (weights ``[channels, K]``): below ``MMLA_MAX_SUM``, a kernel's accumulators may take the
    doubled-sum SMMLAR requantization."""
    w = np.asarray(weights, np.int64).reshape(len(bias), -1)
    lo, hi = -128 - int(input_zp), 127 - int(input_zp)  # x - zp
    top = np.where(w > 0, w * hi, w * lo).sum(axis=1) + np.asarray(bias, np.int64)
    bottom = np.where(w > 0, w * lo, w * hi).sum(axis=1) + np.asarray(bias, np.int64)
    return int(max(np.abs(top).max(initial=0), np.abs(bottom).max(initial=0)))
