"""Memory variants against the plan: which nodes take a kernel that computes in place.

Lowering picks each node's fastest kernel; some ops also have a memory variant
(``lowering_variant(op, "in_place", dtype)``: a depthwise convolution overwriting its input
channel by channel; ``"raster"``: a kernel whose output may trail its input;
``"no_scratch:dsp"``: the DSP FULLY_CONNECTED widening its row in registers instead of an int16
copy in the arena) that costs no MAC but more instructions. ``shrink_arena`` lowers every
node that has one, keeps the swap when it makes the arena smaller, then gives back to the
fast kernel every node whose swap the arena does not need (in the default build), or keeps
them all (``--optimize ram``, which wants the smallest arena whatever the instructions; it
also mixes in the speed mode's kernel of any node where that one needs less: ``mix_for_arena``).
Planning is cheap next to lowering, so every decision is a fresh ``plan_memory``.

A memory variant may have a target-specific form, tried first (``"in_place:dsp"``, the DSP
plane depthwise, ``edgec.lower.dsp.depthwise_plane``). ``"raster"`` variants give a node a
raster kernel (``Kernel.access``) instead of a faster one that is not, so that its output may
trail its dying input (``"raster:dsp"``: a depthwise the DSP plane kernel takes). Where a
node's fastest kernel is already in place (that same DSP kernel for 3x3 depthwise), lowering
with the variant changes nothing and the node needs no swap.
"""

from __future__ import annotations

from typing import Callable

from edgec.ir import Graph
from edgec.lower.kernel import Kernel
from edgec.plan import MemoryPlan, plan_memory

MEMORY_VARIANTS = ("raster", "in_place", "no_scratch")  # tried in this order
Lower = Callable[[int, tuple[str, ...]], Kernel]  # (step, preferred variants) -> kernel


def memory_variants(graph: Graph, kernels: list[Kernel], lower: Lower) -> dict[int, Kernel]:
    """Step -> its kernel lowered with a memory variant, for the steps that have one."""
    swapped = {}
    for step in range(len(graph.nodes)):
        kernel = lower(step, MEMORY_VARIANTS)
        if kernel.body != kernels[step].body or kernel.in_place != kernels[step].in_place:
            swapped[step] = kernel
    return swapped


def mix_for_arena(graph: Graph, kernels: list[Kernel], plan: MemoryPlan,
                  others: list[Kernel]) -> tuple[list[Kernel], MemoryPlan]:
    """``kernels`` with, step by step, the kernel of ``others`` (another mode's) wherever it
    makes the arena smaller: a speed kernel whose window is copied before it writes may
    trail its input closer than the size kernel does (``--optimize ram``)."""
    for step, other in enumerate(others):
        if other.body == kernels[step].body and other.access == kernels[step].access:
            continue
        trial = list(kernels)
        trial[step] = other
        trial_plan = plan_memory(graph, trial)
        if trial_plan.arena_bytes < plan.arena_bytes:
            kernels, plan = trial, trial_plan
    return kernels, plan


def shrink_arena(graph: Graph, kernels: list[Kernel], plan: MemoryPlan, lower: Lower,
                 keep_all: bool = False) -> tuple[list[Kernel], MemoryPlan, list[int]]:
    """``(kernels, plan, steps)``: the kernels with memory variants where they pay, their plan,
    and the steps that took one. ``keep_all`` keeps every variant when they pay together."""
    variants = memory_variants(graph, kernels, lower)
    if not variants:
        return kernels, plan, []
    trial = [variants.get(s, k) for s, k in enumerate(kernels)]
    trial_plan = plan_memory(graph, trial)
    if trial_plan.arena_bytes >= plan.arena_bytes:
        return kernels, plan, []
    chosen = set(variants)
    if not keep_all:
        for step in sorted(variants):  # give back the swaps the arena does not need
            back = list(trial)
            back[step] = kernels[step]
            back_plan = plan_memory(graph, back)
            if back_plan.arena_bytes <= trial_plan.arena_bytes:
                trial, trial_plan = back, back_plan
                chosen.discard(step)
    return trial, trial_plan, sorted(chosen)
