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

from dataclasses import replace
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
    if keep_all:
        return trial, trial_plan, sorted(variants)
    return give_back(graph, kernels, trial, trial_plan, sorted(variants))


def give_back(graph: Graph, kernels: list[Kernel], trial: list[Kernel], trial_plan: MemoryPlan,
              steps: list[int]) -> tuple[list[Kernel], MemoryPlan, list[int]]:
    """``trial`` with each of ``steps`` given back its kernel in ``kernels``, in order, where
    the arena does not need the swap; the plan and the steps that keep theirs."""
    kept = list(steps)
    for step in steps:
        back = list(trial)
        back[step] = kernels[step]
        back_plan = plan_memory(graph, back)
        if back_plan.arena_bytes <= trial_plan.arena_bytes:
            trial, trial_plan = back, back_plan
            kept.remove(step)
    return trial, trial_plan, kept


# ``--optimize speed`` or ``size`` by name takes memory kernels only while together they cost at
# most this share of the mode's estimated instructions (``free_variants``).
FREE_MARGIN = 0.01


def free_variants(graph: Graph, kernels: list[Kernel], plan: MemoryPlan,
                  alternatives: list[Lower], estimate: Callable[[int, Kernel], int],
                  margin: float = FREE_MARGIN,
                  known: Callable[[int, Kernel], bool] = lambda step, kernel: True
                  ) -> tuple[list[Kernel], MemoryPlan, list[int]]:
    """``shrink_arena`` for a mode asked for by name: per step, of the kernels
    ``alternatives`` lower (each ``lower(step, MEMORY_VARIANTS)``: the mode's memory
    variants, and for ``size`` the int8 kernels ``ram`` lowers, with less scratch) the one
    with other memory facts and the fewest estimated instructions (``estimate(step,
    kernel)``; an alternative the cost model does not ``know`` is never taken; each alone
    within ``margin``). Rounds of swaps at the steps around the arena's peak
    (``peak_region``) while the arena shrinks, then each swap the arena does not need given
    back (a plan per round and per swap, not per step: MobileNetV2's plans take seconds);
    kept when together they add at most ``margin`` of the estimated total, else none is."""
    total = sum(estimate(s, k) for s, k in enumerate(kernels))
    best: dict[int, Kernel] = {}
    for step, kernel in enumerate(kernels):
        found = [alt for lower in alternatives
                 for alt in (lower(step, MEMORY_VARIANTS), lower(step, ()))
                 if (alt.scratch_bytes, alt.in_place, alt.access)
                 != (kernel.scratch_bytes, kernel.in_place, kernel.access)
                 and known(step, alt)]
        cheapest = min(found, key=lambda k: estimate(step, k), default=None)
        if cheapest is not None and (estimate(step, cheapest) - estimate(step, kernel)
                                     <= margin * total):  # alone within the margin
            best[step] = cheapest
    trial, trial_plan, steps = list(kernels), plan, []
    while True:  # swap in the alternatives around the peak, until the arena stops shrinking
        region = peak_region(trial_plan)
        swap = [s for s in sorted(best) if s in region and s not in steps]
        if not swap:
            break
        attempt = [best[s] if s in swap else k for s, k in enumerate(trial)]
        attempt_plan = plan_memory(graph, attempt)
        if attempt_plan.arena_bytes >= trial_plan.arena_bytes:
            break
        trial, trial_plan, steps = attempt, attempt_plan, sorted(steps + swap)
    trial, trial_plan, steps = give_back(graph, kernels, trial, trial_plan, steps)
    extra = sum(estimate(s, trial[s]) - estimate(s, kernels[s]) for s in steps)
    if not steps or extra > margin * total:
        return kernels, plan, []
    return trial, trial_plan, steps


def peak_region(plan: MemoryPlan) -> set[int]:
    """The steps during which a buffer reaching the arena's top lives: a kernel elsewhere
    can change the arena only by moving the buffers below, which ``free_variants`` leaves
    to the next round."""
    steps: set[int] = set()
    for buffer, offset in zip(plan.buffers, plan.buffer_offsets):
        if offset + buffer.size >= plan.arena_bytes:
            steps.update(range(buffer.first, buffer.last + 1))
    return steps


# Band counts the patch search tries (each at most the cut tensor's height).
BAND_COUNTS = (2, 3, 4, 6, 8, 12, 16, 24)
PATCH_BUDGET = 1.3  # at most this many times the graph's MACs (--patch-budget)


def stand_in_kernels(patched: Graph, graph: Graph, kernels: list[Kernel]) -> list[Kernel]:
    """Kernels for planning ``patched`` (``edgec.passes.patch``) without lowering it: each
    band node borrows its original node's memory facts (scratch, raster access, in-place
    inputs), views and joins get empty ones. Good enough to compare cuts; the build lowers
    the chosen one for real."""
    by_name = {node.name: kernel for node, kernel in zip(graph.nodes, kernels)}
    out = []
    for node in patched.nodes:
        original = by_name.get(node.name.split("@p")[0]) if "@p" in node.name else None
        if original is None or original.op != node.op:
            original = by_name.get(node.name)
        if original is None or original.op != node.op:
            out.append(Kernel(node.name, node.op, "", "", list(node.inputs + node.outputs)))
            continue
        src = next(n for n in graph.nodes if n.name == original.node_name)
        in_place = [node.inputs[src.inputs.index(t)] for t in original.in_place
                    if t in src.inputs]
        out.append(replace(original, node_name=node.name, in_place=in_place,
                           args=list(node.inputs + node.outputs)))
    return out


def _bottleneck(graph: Graph, cut: int) -> bool:
    """Whether the cut tensor is no larger than its node's input and smaller than the next
    node's output: cutting anywhere else moves a larger tensor into the join."""
    node = graph.nodes[cut]
    size = graph.tensors[node.outputs[0]].nbytes
    if size > graph.tensors[node.inputs[0]].nbytes:
        return False
    nxt = graph.nodes[cut + 1] if cut + 1 < len(graph.nodes) else None
    return nxt is None or size < graph.tensors[nxt.outputs[0]].nbytes


def patch_candidates(graph: Graph, budget: float = PATCH_BUDGET,
                     bands: int | None = None) -> list[tuple[int, int, int]]:
    """``(cut, bands, macs)`` of the prefix rewrites worth planning: cuts at a bottleneck
    tensor (``_bottleneck``), band counts within ``budget`` times the graph's MACs (or
    ``bands`` when given, whatever the MACs); by cut, then bands."""
    from edgec.passes.patch import patch_graph, patch_macs, patchable_cuts

    base = patch_macs(graph)
    found = []
    for cut in patchable_cuts(graph):
        if not _bottleneck(graph, cut):
            continue
        height = graph.tensors[graph.nodes[cut].outputs[0]].shape[1]
        for count in (bands,) if bands else BAND_COUNTS:
            if count > height:
                continue
            macs = patch_macs(patch_graph(graph, cut, count))
            if macs > budget * base and not bands:
                break  # more bands, more halos
            found.append((cut, count, macs))
    return found


def choose_patch(graph: Graph, kernels: list[Kernel], budget: float = PATCH_BUDGET,
                 bands: int | None = None) -> tuple[tuple[int, int] | None, list[dict]]:
    """The prefix rewrite (cut step, band count) whose plan, with ``kernels``' memory facts
    (``stand_in_kernels``), has the smallest arena within ``budget`` times the MACs (ties to
    fewer MACs), or None when none beats ``kernels``' own plan; and every candidate planned
    (cut, bands, macs, arena). At each cut the band counts go up until the arena stops
    shrinking."""
    from edgec.passes.patch import patch_graph

    best_arena = plan_memory(graph, kernels).arena_bytes
    best, tried, best_macs = None, [], None
    previous: dict[int, int] = {}
    for cut, count, macs in patch_candidates(graph, budget, bands):
        if cut in previous and previous[cut] < 0:
            continue  # this cut stopped improving
        patched = patch_graph(graph, cut, count)
        arena = plan_memory(patched, stand_in_kernels(patched, graph, kernels)).arena_bytes
        tried.append({"cut": cut, "bands": count, "macs": macs, "arena_bytes": arena})
        previous[cut] = -1 if cut in previous and arena >= previous[cut] else arena
        if arena < best_arena or (arena == best_arena and best and macs < best_macs):
            best, best_arena, best_macs = (cut, count), arena, macs
    return best, tried
