"""The default build's kernel choice, step by step (issue 15).

A DSP core has, per step, several kernels computing the same output bit for bit: the speed
mode's (int16 weights, windows widened into scratch), the size mode's (int8 weights; the row
conv kernel keeps a ring of widened input rows), and each of those lowered with a memory
variant (``edgec.ram``: raster, in place, no scratch), and the start's room kernels
(``edgec.room``: more scratch where the arena has room, e.g. speed's three-pixel 1x1 conv). They differ in instructions, in
constant bytes (flash) and in memory facts (scratch, in-place inputs, raster access), and
only the memory facts change the plan. ``candidates`` lists them per step with their
estimated instructions (``edgec.estimate``: the cost model's line for the kernel's form,
``Kernel.form``; a form the model has no line for is never chosen over the start's kernel)
and constant bytes; ``choose`` starts from a combination whose arena is
within the budget (the default build as it was: one mode's kernels with the memory variants
the arena needs) and, step by step, most estimated instructions saved first, takes the
faster candidate (int8 weights where they are no slower) when the planned arena stays within
the budget: a candidate with the current kernel's memory facts leaves the plan unchanged
and needs no planning; any other is planned (``plan_memory``). Every step's choice and why
goes into ``report.json`` (``optimize.steps``) and ``report.txt``.

Every candidate is a kernel lowering already makes in some mode, with the same contract
(bit-exact with the reference); the plan of the mix is the planner's and stays checked by
the replay checker. The comparison is only as good as the cost model: a line per kernel
form fitted to per-layer QEMU counts (``python -m edgec.tools.costfit``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from edgec.emit.report import _shapes, emitted_constant_bytes, window
from edgec.estimate import cost_keys, estimate_row, row_features
from edgec.ir import Graph
from edgec.lower.kernel import Kernel
from edgec.plan import MemoryPlan, plan_memory


@dataclass
class Candidate:
    """One kernel a step may take: the mode that lowered it (``speed``: int16 weights on
    DSP, ``size``: int8), whether a memory variant was asked for, its estimated instructions
    and the bytes of the constants only it reads (weights, multipliers)."""

    kernel: Kernel
    mode: str
    variant: bool
    estimate: int
    constant_bytes: int
    modes: list[str] = field(default_factory=list)  # every mode that lowers this kernel
    known: bool = True  # the cost model has a line for this kernel's form (``known``)

    @property
    def label(self) -> str:
        variant = "+memory variant" if self.variant else ""
        return f"{'/'.join(self.modes)}{variant} {self.kernel.form or 'portable'}"

    def as_json(self) -> dict:
        return {"modes": list(self.modes), "memory_variant": self.variant,
                "cost_line": "own" if self.known else "the op's (form not measured)",
                "kernel": self.kernel.form, "estimated_instructions": self.estimate,
                "constant_bytes": self.constant_bytes,
                "scratch_bytes": int(self.kernel.scratch_bytes),
                "in_place": bool(self.kernel.in_place), "access": self.kernel.access}


def kernel_row(graph: Graph, step: int, kernel: Kernel) -> dict:
    """What the cost model reads of a kernel (a report row without a plan)."""
    node = graph.nodes[step]
    return {"op": node.op, "inputs": _shapes(graph, node.inputs),
            "outputs": _shapes(graph, node.outputs), "macs": int(kernel.macs),
            "memory": "", "kernel": kernel.form, "window": window(graph, node)}


def _constant_bytes(graph: Graph, kernel: Kernel) -> int:
    total = sum(int(c.nbytes) for c in kernel.constants.values())
    return total + sum(graph.tensors[a].nbytes for a in set(kernel.args)
                       if a in graph.tensors and graph.tensors[a].is_const)


def same_memory(a: Kernel, b: Kernel) -> bool:
    """Whether two kernels of one step plan alike: same scratch, in-place inputs, access."""
    return (a.scratch_bytes == b.scratch_bytes and list(a.in_place) == list(b.in_place)
            and a.access == b.access)


# A line is trusted this far beyond the sizes of the layers it was fitted on.
EXTRAPOLATE = 2.0


def known(row: dict, cost_model: dict) -> bool:
    """Whether the cost model has a line for the row's own kernel form (or the row's kernel
    has none) fitted on layers of about its size (``units``, within ``EXTRAPOLATE`` times):
    a form never measured would be estimated by its op's line, which says nothing about how
    it compares with the op's other kernels, and a line through two large layers says
    little about a small one's fixed costs."""
    line = cost_model["per_unit"].get(cost_keys(row)[0])
    if line is None:
        return False
    low, high = line.get("units", (0, float("inf")))
    amount = row_features(row)[1]
    return low / EXTRAPOLATE <= amount <= high * EXTRAPOLATE


def _same_kernel(a: Kernel, b: Kernel) -> bool:
    return (a.body == b.body and same_memory(a, b)
            and a.constants.keys() == b.constants.keys()
            and all(a.constants[k].tobytes() == b.constants[k].tobytes() for k in a.constants))


def candidates(graph: Graph, lowered: dict[str, tuple[list[Kernel], list[Kernel]]],
               cost_model: dict) -> list[list[Candidate]]:
    """Per step, the distinct kernels of ``lowered`` (mode -> (its kernels, the same with
    memory variants preferred[, the same where the arena had room for more scratch,
    ``edgec.room``])), best first (``_rank``)."""
    out = []
    for step in range(len(graph.nodes)):
        found: list[Candidate] = []
        for mode, (fast, variants, *rooms) in lowered.items():
            kinds = [(fast[step], False), (variants[step], True)]
            for kernel, variant in kinds + [(room[step], False) for room in rooms]:
                same = next((c for c in found if _same_kernel(c.kernel, kernel)), None)
                if same is not None:
                    if mode not in same.modes:
                        same.modes.append(mode)
                    continue
                row = kernel_row(graph, step, kernel)
                found.append(Candidate(kernel, mode, variant, estimate_row(row, cost_model),
                                       _constant_bytes(graph, kernel), [mode],
                                       known(row, cost_model)))
        out.append(sorted(found, key=_rank))
    return out


def _rank(c: Candidate) -> tuple:
    """Kernels the cost model knows first (``known``: an unknown one's estimate is its op's
    line, which cannot rank it), then faster first; at equal estimates fewer constant bytes
    (int8 weights), no variant."""
    return (not c.known, c.estimate, c.constant_bytes, c.variant)


def find(cands: list[Candidate], kernel: Kernel) -> Candidate:
    """The candidate that is ``kernel`` (a start combination's kernel is always one)."""
    return next(c for c in cands if _same_kernel(c.kernel, kernel))


@dataclass
class Choice:
    """The chosen candidates, their plan, and per step why."""

    chosen: list[Candidate]
    plan: MemoryPlan
    why: list[str]
    plans: int = 0  # how many plans the choice made

    @property
    def kernels(self) -> list[Kernel]:
        return [c.kernel for c in self.chosen]

    @property
    def estimate(self) -> int:
        return sum(c.estimate for c in self.chosen)


class Planner:
    """``plan_memory`` remembered by the kernels' memory facts: kernels that differ only in
    their C plan alike, and the starts of one build try many of the same combinations."""

    def __init__(self, graph: Graph):
        self.graph, self.plans, self.memo = graph, 0, {}

    def __call__(self, kernels: list[Kernel]) -> MemoryPlan:
        key = tuple((k.scratch_bytes, tuple(k.in_place), k.access) for k in kernels)
        if key not in self.memo:
            self.plans += 1
            self.memo[key] = plan_memory(self.graph, kernels)
        return self.memo[key]


def choose(graph: Graph, cands: list[list[Candidate]], start: list[Kernel],
           budget: int, planner: Planner | None = None) -> Choice:
    """From ``start`` (kernels whose plan fits ``budget`` bytes of arena), step by step, the
    most estimated instructions saved first, the fastest candidate whose plan still fits
    (``_rank``: at equal estimates int8 weights, then no memory variant)."""
    plan_of = planner or Planner(graph)
    chosen = [find(c, k) for c, k in zip(cands, start)]
    plan = plan_of([c.kernel for c in chosen])
    why = ["start" for _ in chosen]
    plans = plan_of.plans
    if plan.arena_bytes > budget:
        raise ValueError(f"the start combination's arena {plan.arena_bytes} B exceeds the "
                         f"budget {budget} B")
    gain = {s: chosen[s].estimate - cands[s][0].estimate if chosen[s].known else 1 << 40
            for s in range(len(cands))}  # an unknown start kernel: its step first
    for step in sorted(range(len(cands)), key=lambda s: (-gain[s], s)):
        current = chosen[step]
        better = [c for c in cands[step] if c.known and _rank(c) < _rank(current)]
        refused = []
        for cand in better:
            if same_memory(cand.kernel, current.kernel):
                trial_plan = None
            else:
                trial = [c.kernel for c in chosen]
                trial[step] = cand.kernel
                trial_plan = plan_of(trial)
                if trial_plan.arena_bytes > budget:
                    refused.append(f"{cand.label} ({cand.estimate:,}) needs "
                                   f"{trial_plan.arena_bytes:,} B")
                    continue
            chosen[step] = cand
            if trial_plan is not None:
                plan = trial_plan
            break
        why[step] = _why(cands[step], chosen[step], refused, budget)
    return Choice(chosen, plan, why, plan_of.plans - plans + 1)


def _why(cands: list[Candidate], pick: Candidate, refused: list[str], budget: int) -> str:
    if len(cands) == 1:
        return "only kernel"
    if pick is cands[0]:
        slower = [c for c in cands[1:] if c.estimate == pick.estimate]
        return ("fastest estimate; int8 weights at no more instructions" if slower
                and pick.constant_bytes < slower[0].constant_bytes else "fastest estimate")
    if refused:
        return (f"fastest within the {budget:,} B arena budget; refused: "
                + "; ".join(refused))
    if any(not c.known for c in cands):
        return ("fastest the cost model has a line for (the others' forms were not measured "
                "at this size)")
    return "kept"


def summary(graph: Graph, cands: list[list[Candidate]], choice: Choice) -> list[dict]:
    """``optimize.steps`` of the report: per step the kernel taken, why, every candidate."""
    return [{"step": s, "node": graph.nodes[s].name, "op": graph.nodes[s].op,
             "chosen": choice.chosen[s].as_json(), "why": choice.why[s],
             "candidates": [c.as_json() for c in cands[s]]}
            for s in range(len(cands))]


def constant_bytes(graph: Graph, choice: Choice) -> int:
    return emitted_constant_bytes(graph, choice.kernels, choice.plan)
