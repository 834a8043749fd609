"""Offset planners: buffers with sizes and lifetimes in, arena offsets out.

The interface follows TFLite Micro's ``MicroMemoryPlanner``: a buffer is ``(size, first_use,
last_use, alignment)`` where uses are execution steps (inclusive); a planner returns one offset
per buffer such that no two buffers live at the same step overlap in memory.

``greedy_offsets`` is TFLM's ``GreedyMemoryPlanner`` idea: take buffers one by one in some
order and put each at the lowest aligned offset that does not overlap any already-placed
buffer whose lifetime intersects its own. The order matters and no single order wins on every
graph, so ``best_offsets`` tries several (largest first, earliest first, longest-lived first,
...) and keeps the smallest arena. ``linear_offsets`` places buffers end to end: the baseline
the greedy planner must beat, and an oracle that is trivially correct.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np


Part = tuple[int, int, int, int]  # (offset in the buffer, bytes, first step, last step)


@dataclass(frozen=True)
class Buffer:
    """One region of the arena: ``size`` bytes live from step ``first`` to ``last``.

    A buffer holding several tensors at fixed places relative to each other (in-place and
    trailing writes, ``edgec.plan.lifetimes``) lists them as ``parts``; the placement then
    keeps clear of each part during that part's own life only, not of the whole
    ``size`` x ``first..last`` box. Parts of one buffer may overlap each other: that their
    overlap is safe is the grouping's claim, checked by the replay (``tests/plan/replay.py``).
    """

    name: str
    size: int
    first: int
    last: int
    align: int = 16
    parts: tuple[Part, ...] = ()

    def __post_init__(self):
        if self.size < 0 or self.first > self.last or self.align < 1:
            raise ValueError(f"bad buffer {self}")

    def lives_with(self, other: "Buffer") -> bool:
        """True when the two lifetimes share at least one step."""
        return self.first <= other.last and other.first <= self.last

    def regions(self) -> tuple[Part, ...]:
        """Its parts, or the whole buffer as one part."""
        return self.parts or ((0, self.size, self.first, self.last),)


def _parts_clash(a: Part, a_at: int, b: Part, b_at: int) -> bool:
    """Whether two parts placed at ``a_at`` and ``b_at`` share bytes at some step."""
    (ra, sa, fa, la), (rb, sb, fb, lb) = a, b
    return (sa > 0 and sb > 0 and fa <= lb and fb <= la
            and a_at + ra < b_at + rb + sb and b_at + rb < a_at + ra + sa)


def align_up(value: int, align: int) -> int:
    """``value`` rounded up to a multiple of ``align``."""
    return -(-value // align) * align


def arena_bytes(buffers: Sequence[Buffer], offsets: Sequence[int]) -> int:
    """The arena size a plan needs: the highest end of any buffer."""
    return max((o + b.size for b, o in zip(buffers, offsets)), default=0)


def linear_offsets(buffers: Sequence[Buffer]) -> list[int]:
    """Every buffer after the previous one, no reuse: correct by construction."""
    offsets, end = [], 0
    for b in buffers:
        offset = align_up(end, b.align)
        offsets.append(offset)
        end = offset + b.size
    return offsets


def _lowest_fit(buffer: Buffer, placed: list[tuple[int, Buffer]]) -> int:
    """The lowest aligned offset where ``buffer`` overlaps no live placed buffer."""
    if buffer.parts or any(other.parts for _, other in placed):
        return _lowest_fit_parts(buffer, placed)
    candidate = 0
    for offset, other in sorted((p for p in placed if p[1].lives_with(buffer)),
                                key=lambda p: p[0]):
        if other.size == 0:
            continue
        if candidate + buffer.size <= offset:
            break
        candidate = max(candidate, align_up(offset + other.size, buffer.align))
    return candidate


def _lowest_fit_parts(buffer: Buffer, placed: list[tuple[int, Buffer]]) -> int:
    """``_lowest_fit`` part by part: the candidates are 0 and every offset that puts one of
    ``buffer``'s parts just above a placed part living with it; the lowest without a clash."""
    live = [(offset, part) for offset, other in placed if other.lives_with(buffer)
            for part in other.regions()]
    mine = buffer.regions()
    candidates = {0}
    for offset, (rel, size, first, last) in live:
        for q in mine:
            if first <= q[3] and q[2] <= last:
                candidates.add(max(0, align_up(offset + rel + size - q[0], buffer.align)))
    for base in sorted(candidates):
        if not any(_parts_clash(q, base, p, offset) for q in mine for offset, p in live):
            return base
    raise AssertionError("no offset fits")  # the highest candidate always does


VECTOR_PARTS = 400  # from this many parts on, numpy beats the part-by-part loop


class _PlacedParts:
    """The parts placed so far as arrays (absolute start and end, first and last step), for
    ``_lowest_fit_parts`` on graphs of hundreds of buffers (row bands, ``passes.patch``)."""

    CHUNK = 32  # candidate offsets tested at once

    def __init__(self, capacity: int):
        self.lo = np.zeros(capacity, np.int64)
        self.hi = np.zeros(capacity, np.int64)
        self.first = np.zeros(capacity, np.int64)
        self.last = np.zeros(capacity, np.int64)
        self.n = 0

    def add(self, buffer: Buffer, offset: int) -> None:
        for rel, size, first, last in buffer.regions():
            n = self.n
            self.lo[n], self.hi[n] = offset + rel, offset + rel + size
            self.first[n], self.last[n] = first, last
            self.n += 1

    def lowest_fit(self, buffer: Buffer) -> int:
        """What ``_lowest_fit_parts`` returns, vectorized: the candidates are 0 and every
        offset putting one of ``buffer``'s parts just above a placed part living with it;
        the lowest where no part of ``buffer`` shares a byte with a placed part at a step."""
        n = self.n
        lo, hi, first, last = self.lo[:n], self.hi[:n], self.first[:n], self.last[:n]
        regions = buffer.regions()
        if len(regions) == 1:  # most buffers: one part, every candidate tested at once
            rel, size, f, la = regions[0]
            together = (first <= la) & (f <= last)
            raw = hi[together] - rel
            candidates = np.unique(np.maximum(0, -(-raw // buffer.align) * buffer.align))
            candidates = np.concatenate([[0], candidates]) if not candidates.size or \
                candidates[0] else candidates
            keep = together & (hi > lo)
            if size <= 0 or not keep.any():
                return int(candidates[0])
            plo, phi = lo[keep], hi[keep]
            start = candidates[:, None] + rel
            free = ~((start < phi[None, :]) & (plo[None, :] < start + size)).any(axis=1)
            return int(candidates[np.argmax(free)])
        mine = np.array(regions, np.int64).reshape(-1, 4)
        together = (first[None, :] <= mine[:, 3:4]) & (mine[:, 2:3] <= last[None, :])
        raw = (hi[None, :] - mine[:, 0:1])[together]
        candidates = np.unique(np.concatenate(
            [[0], np.maximum(0, -(-raw // buffer.align) * buffer.align)]))
        clash = together & (mine[:, 1:2] > 0) & ((hi - lo) > 0)[None, :]
        cols = clash.any(axis=0)
        rows = clash.any(axis=1)
        if not cols.any():
            return int(candidates[0])
        clash, plo, phi = clash[rows][:, cols], lo[cols], hi[cols]
        rel, size = mine[rows, 0], mine[rows, 1]
        for at in range(0, candidates.size, self.CHUNK):
            base = candidates[at:at + self.CHUNK]
            start = base[:, None, None] + rel[None, :, None]
            hit = clash[None] & (start < phi[None, None, :]) & (plo[None, None, :]
                                                                 < start + size[None, :, None])
            free = ~hit.any(axis=(1, 2))
            if free.any():
                return int(base[np.argmax(free)])
        raise AssertionError("no offset fits")  # the highest candidate always does


def greedy_offsets(buffers: Sequence[Buffer], order: Sequence[int]) -> list[int]:
    """Place ``buffers`` in the given order (indices), each at its lowest possible offset."""
    offsets = [0] * len(buffers)
    parts = sum(len(b.regions()) for b in buffers)
    if parts > VECTOR_PARTS and any(b.parts for b in buffers):
        placed_parts = _PlacedParts(parts)
        for i in order:
            offsets[i] = placed_parts.lowest_fit(buffers[i])
            placed_parts.add(buffers[i], offsets[i])
        return offsets
    placed: list[tuple[int, Buffer]] = []
    for i in order:
        offsets[i] = _lowest_fit(buffers[i], placed)
        placed.append((offsets[i], buffers[i]))
    return offsets


# Orders the greedy planner tries; each maps a buffer to a sort key (smaller goes first).
ORDERS: dict[str, Callable[[Buffer], tuple]] = {
    "largest first": lambda b: (-b.size, b.first),
    "earliest first": lambda b: (b.first, -b.size),
    "longest-lived first": lambda b: (b.first - b.last, -b.size),
    "largest area first": lambda b: (-b.size * (b.last - b.first + 1), b.first),
    "latest end first": lambda b: (-b.last, -b.size),
}


def best_offsets(buffers: Sequence[Buffer],
                 orders: Sequence[str] | None = None) -> tuple[list[int], str]:
    """Greedy placement under each order of ``ORDERS``; the smallest arena wins.

    Returns the offsets and the name of the winning order (ties go to the earlier order, so
    the result is deterministic). ``orders`` limits the orders tried to those named.
    """
    best: tuple[int, list[int], str] | None = None
    for name, key in ORDERS.items():
        if orders is not None and name not in orders:
            continue
        order = sorted(range(len(buffers)), key=lambda i: (key(buffers[i]), i))
        offsets = greedy_offsets(buffers, order)
        size = arena_bytes(buffers, offsets)
        if best is None or size < best[0]:
            best = (size, offsets, name)
    if best is None:
        return [], "empty"
    return best[1], best[2]


def live_peak(buffers: Sequence[Buffer]) -> int:
    """The most bytes live at any one step: no placement can use less arena. Parts of one
    buffer count by the bytes they cover together at that step."""
    steps = {p[2] for b in buffers for p in b.regions()}

    def covered(b: Buffer, s: int) -> int:
        spans = sorted((r, r + n) for r, n, f, la in b.regions() if f <= s <= la)
        total, end = 0, None
        for lo, hi in spans:
            lo = lo if end is None else max(lo, end)
            if hi > lo:
                total += hi - lo
            end = hi if end is None else max(end, hi)
        return total

    return max((sum(covered(b, s) for b in buffers) for s in steps), default=0)


def find_overlap(buffers: Sequence[Buffer],
                 offsets: Sequence[int]) -> tuple[Buffer, Buffer] | None:
    """The first pair of simultaneously live buffers whose bytes overlap, or None.

    Also reports misaligned offsets (as the buffer paired with itself). Meant for tests and
    assertions: it is quadratic in the number of buffers.
    """
    for i, (a, oa) in enumerate(zip(buffers, offsets)):
        if oa % a.align:
            return a, a
        for b, ob in zip(buffers[i + 1:], offsets[i + 1:]):
            if a.size and b.size and a.lives_with(b) and any(
                    _parts_clash(p, oa, q, ob) for p in a.regions() for q in b.regions()):
                return a, b
    return None
