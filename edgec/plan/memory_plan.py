"""``plan_memory``: arena offsets for every activation tensor and kernel scratch of a graph."""

from __future__ import annotations

from dataclasses import dataclass, field

from edgec.ir.graph import Graph
from edgec.lower.kernel import Kernel
from edgec.analysis import activation_lower_bound
from edgec.plan.lifetimes import (Lifetimes, build_lifetimes, check_kernels_match,
                                  planner_buffers, scratch_name)
from edgec.plan.overlap import ACCESS
from edgec.plan.planner import (Buffer, arena_bytes, best_offsets, find_overlap, linear_offsets,
                                live_peak)


@dataclass
class MemoryPlan:
    """Where everything lives in the arena.

    ``offsets`` maps every activation tensor name to its byte offset (tensors sharing bytes
    share an offset); ``scratch`` maps a step (node index) to its kernel's scratch offset.
    ``elided`` steps need no kernel call (their output is their input's bytes); ``in_place``
    maps a step to the input its output overwrites; ``overlaps`` a step to the input its
    raster kernel's output trails (``edgec.plan.overlap``) and by how many bytes.
    """

    offsets: dict[str, int]
    scratch: dict[int, int]
    arena_bytes: int
    buffers: list[Buffer]
    buffer_offsets: list[int]
    lifetimes: Lifetimes
    lower_bound: int  # op-by-op bound, no sharing (edgec.analysis.activation_lower_bound)
    linear_bytes: int  # the no-reuse baseline
    strategy: str = ""
    members: dict[str, list[str]] = field(default_factory=dict)  # buffer -> tensors in it
    tensor_bytes: dict[str, int] = field(default_factory=dict)  # activation -> its bytes

    @property
    def elided(self) -> set[int]:
        return self.lifetimes.elided

    @property
    def in_place(self) -> dict[int, str]:
        return self.lifetimes.in_place

    @property
    def overlaps(self) -> dict[int, tuple[str, int]]:
        """Steps whose output trails their dying input: step -> (input, lead in bytes)."""
        return self.lifetimes.overlaps

    def table(self) -> str:
        """The plan as text: one row per buffer, then the totals."""
        rows = [f"{'offset':>8} {'bytes':>8} {'steps':>9}  buffer"]
        placed = sorted(zip(self.buffers, self.buffer_offsets), key=lambda p: (p[1], p[0].first))
        for b, o in placed:
            names = ", ".join(self.members.get(b.name, [b.name]))
            rows.append(f"{o:>8} {b.size:>8} {b.first:>4}-{b.last:<4}  {names}")
        rows.append(f"arena {self.arena_bytes} B ({self.strategy}); live peak "
                    f"{live_peak(self.buffers)} B; op-by-op bound {self.lower_bound} B; "
                    f"no reuse {self.linear_bytes} B")
        return "\n".join(rows)


def _place(graph: Graph, kernels, align: int, no_overlap: frozenset[int],
           orders: tuple[str, ...] | None = None):
    life = build_lifetimes(graph, kernels, align, no_overlap)
    buffers = planner_buffers(life, kernels, align)
    return (life, buffers, *best_offsets(buffers, orders))


MAX_PASSES = 3
# Both searches place the graph once per raster step (and pass): on graphs with more steps
# than this (row bands, ``edgec.passes.patch``) each trial tries only the placement order
# that won the first placement, and the chosen trailing writes are placed again under every
# order at the end.
MAX_SEARCH_STEPS = 100


def _choose_trailing_writes(graph: Graph, kernels, align: int):
    """The placement with the trailing writes that pay. Each one joins two groups of
    tensors for both their lives (a chain of them drifts down the arena), so two searches
    run and the smaller arena wins: all of them, then each dropped in turn unless the arena
    grows without it (a chain of steps all at the peak needs them all); and none of them,
    then each added in turn when it makes the arena smaller (a few passes: one may pay only
    once a later one is in)."""
    def arena(placed):
        return arena_bytes(placed[1], placed[2])

    dropped = _place(graph, kernels, align, frozenset())
    orders = (dropped[3],) if len(graph.nodes) > MAX_SEARCH_STEPS else None
    for step in sorted(dropped[0].overlaps):
        trial = _place(graph, kernels, align, frozenset({step}) | dropped[0].no_overlap,
                       orders)
        if arena(trial) <= arena(dropped):
            dropped = trial
    added = _add_trailing_writes(graph, kernels, align, orders is not None)
    best = added if arena(added) < arena(dropped) else dropped
    if orders is not None:
        best = _place(graph, kernels, align, best[0].no_overlap)
    return best


def _add_trailing_writes(graph: Graph, kernels, align: int, one_order: bool = False):
    """Trailing writes added one at a time where they make the arena smaller."""
    candidates = [step for step, k in enumerate(kernels or []) if k.access in ACCESS]
    best = _place(graph, kernels, align, frozenset(candidates))
    orders = (best[3],) if one_order else None
    enabled: set[int] = set()
    for _ in range(MAX_PASSES):
        changed = False
        for step in candidates:
            if step in enabled:
                continue
            trial = _place(graph, kernels, align, frozenset(candidates) - enabled - {step},
                           orders)
            if arena_bytes(trial[1], trial[2]) < arena_bytes(best[1], best[2]):
                best, changed = trial, True
                enabled.add(step)
        if not changed:
            break
    return best


def plan_memory(graph: Graph, kernels: list[Kernel] | None = None, align: int = 16) -> MemoryPlan:
    """Plan the arena of ``graph`` (nodes in execution order).

    ``kernels`` (one per node, as lowering returns them) add scratch buffers and decide which
    inputs an output may overwrite (``Kernel.in_place``); without them the plan covers
    activations only and assumes every elementwise op may run in place.
    """
    if kernels is not None:
        check_kernels_match(graph, kernels)
    life, buffers, offsets, strategy = _choose_trailing_writes(graph, kernels, align)
    clash = find_overlap(buffers, offsets)
    if clash:  # the planner's own invariant; cheap next to compiling the kernels
        raise AssertionError(f"memory plan overlaps {clash[0].name} and {clash[1].name}")
    by_buffer = {b.name: o for b, o in zip(buffers, offsets)}
    members: dict[str, list[str]] = {}
    for tensor, leader in life.group_of.items():
        members.setdefault(leader, []).append(tensor)
    return MemoryPlan(
        offsets={t: by_buffer[g] + life.rel[t] for t, g in life.group_of.items()},
        scratch={step: by_buffer[scratch_name(step)] for step in range(len(graph.nodes))
                 if scratch_name(step) in by_buffer},
        arena_bytes=arena_bytes(buffers, offsets),
        buffers=buffers,
        buffer_offsets=offsets,
        lifetimes=life,
        lower_bound=activation_lower_bound(graph),
        linear_bytes=arena_bytes(buffers, linear_offsets(buffers)),
        strategy=strategy,
        members=members,
        tensor_bytes={t: graph.tensors[t].nbytes for t in life.group_of},
    )
