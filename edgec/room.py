"""Scratch where the arena has room: kernels that spend more scratch to run faster, taken
only where the plan's arena stays as it is.

Some kernels can trade scratch for instructions: the size-mode row convolution
(``edgec.lower.dsp.conv``) widens a channel pair's int8 weights once per band of output
rows, so holding more widened input rows (longer bands) widens them fewer times. Which
trade is free depends on the plan, which lowering does not see: the arena's peak is set by
some steps and others leave bytes unused below it. So those kernels register *room
variants* (``lowering_variant(op, "room<k>:dsp", dtype)``, ``ROOM_VARIANTS``; ``room1`` the
most scratch, each next one about half as much; in speed mode ``room1`` is the three-pixel
1x1 conv, 384 B of scratch for 64 channels against the window kernel's 128 B), and
``use_room`` tries them step by step,
most scratch first, keeping the first one whose plan has an arena no larger than before.
Every trial is a fresh ``plan_memory``; a variant that declines the node leaves its kernel
unchanged, and one needing more bytes than the step leaves free below the arena in the
present plan (``room_at``) is not tried.
"""

from __future__ import annotations

from typing import Callable

from edgec.ir import Graph
from edgec.lower.kernel import Kernel
from edgec.plan import MemoryPlan, plan_memory

ROOM_VARIANTS = ("room1", "room2", "room3", "room4", "room6", "room8")  # most scratch first
Lower = Callable[[int, tuple[str, ...]], Kernel]  # (step, preferred variants) -> kernel


def room_at(plan: MemoryPlan, step: int) -> int:
    """The arena's bytes not held at ``step`` by any buffer live then (its parts live then,
    each counted once per buffer as the span they cover): what a bigger scratch of that
    step could take without growing the arena, as far as the plan's present choices go. A
    filter, not a bound: planned afresh, the bigger scratch may make another trailing write
    pay (IC: step 0's input), so a variant just above it is missed, never a wrong one
    taken (every kept variant is a plan that was made)."""
    held = 0
    for buffer in plan.buffers:
        live = [(start, start + size) for start, size, first, last in buffer.regions()
                if first <= step <= last and size > 0]
        if live:
            held += max(end for _, end in live) - min(start for start, _ in live)
    return plan.arena_bytes - held


def use_room(graph: Graph, kernels: list[Kernel], plan: MemoryPlan,
             lower: Lower) -> tuple[list[Kernel], MemoryPlan, list[int]]:
    """``(kernels, plan, steps)``: ``kernels`` with, step by step, the first room variant
    (``ROOM_VARIANTS``) that keeps the arena at most ``plan.arena_bytes``; the steps that took
    one. The arena never grows. Only steps whose kernel is the mode's default (``lower(step,
    ())``) are tried: a memory variant or another mode's kernel chosen before stays."""
    kernels, chosen = list(kernels), []
    for step in range(len(graph.nodes)):
        default = lower(step, ())
        if default.body != kernels[step].body:
            continue  # another kernel was chosen for the step (a memory variant, speed's)
        for variant in ROOM_VARIANTS:
            kernel = lower(step, (variant,))
            extra = kernel.scratch_bytes - kernels[step].scratch_bytes
            if kernel.body == default.body or not 0 < extra <= room_at(plan, step):
                continue  # declined, no more scratch than the kernel has, or no room for it
            trial = list(kernels)
            trial[step] = kernel
            trial_plan = plan_memory(graph, trial)
            if trial_plan.arena_bytes <= plan.arena_bytes:
                kernels, plan = trial, trial_plan
                chosen.append(step)
                break
    return kernels, plan, chosen
