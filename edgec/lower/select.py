"""Choosing a node's lowering: every rule module is imported here (each registers itself with
``edgec.lower.registry`` on import), so the registry never imports the rules back.
"""

from __future__ import annotations

import edgec.lower.dsp  # noqa: F401  (registers the DSP variants)
import edgec.lower.rules  # noqa: F401  (registers the portable rules)
from edgec.errors import EdgecError
from edgec.ir.graph import kernel_key
from edgec.lower.registry import (KernelPlan, LoweringContext, Rule, registered_keys,
                                  registered_rule, registered_variant)


def plan_node(ctx: LoweringContext, features: frozenset[str] = frozenset(),
              prefer: tuple[str, ...] = ()) -> KernelPlan:
    """The plan of the context's node: the first variant that accepts it among, in order, the
    target-specific forms of the ``prefer`` variants (``"in_place:dsp"`` for ``"in_place"``
    on a target with ``dsp``; a memory variant that needs a CPU feature is registered only in
    that form, e.g. ``"no_scratch:dsp"``), the ``prefer`` variants, the ``features`` (sorted);
    else the portable rule. ``prefer`` names memory variants (``"raster"``, ``"in_place"``,
    ``"no_scratch"``) the build asks for node by node (``edgec.ram``). Nodes
    with ternary weights always take the portable rule: no variant reads them packed (an
    int8 one would unpack them into flash). int4 weights reach the feature variants, which
    decline them except the DSP conv (W4A8), but no memory variant."""
    if any(t is not None and t.dtype == "ternary" for t in ctx.ins):
        features, prefer = frozenset(), ()
    if any(t is not None and t.dtype == "int4" for t in ctx.ins):
        prefer = ()
    tried = [f"{p}:{f}" for p in prefer for f in sorted(features)] + list(prefer)
    for feature in (*tried, *sorted(features)):
        variant = registered_variant(ctx.node.op, ctx.dtype, feature)
        plan = None if variant is None else variant(ctx)
        if plan is not None:
            plan.form = _form(plan.form, feature, feature in tried)
            return plan
    return find_rule(ctx)(ctx)


def _form(form: str, feature: str, memory: bool) -> str:
    """``Kernel.form``, the cost model's name for a kernel: the variant's own (a DSP
    template) or the feature that chose it, and the memory variant's name when one was
    asked for and taken (``dsp/fully_connected.c.j2 no_scratch:dsp``)."""
    if not memory:
        return form or feature
    return f"{form} {feature}" if form and form != feature else feature


def supported() -> list[str]:
    """``OP/dtype`` for every registered rule, sorted."""
    return sorted(f"{op}/{dtype}" for op, dtype in registered_keys())


def find_rule(ctx: LoweringContext) -> Rule:
    """The rule for the context's node; raise ``EdgecError`` naming op, node and the
    supported list."""
    rule = registered_rule(ctx.node.op, ctx.dtype)
    if rule is None:
        raise EdgecError(
            f"no lowering for op {ctx.node.op} with {ctx.dtype} inputs (node '{ctx.node.name}')",
            f"supported: {', '.join(supported())}")
    return rule


def unlowerable(graph) -> list[str]:
    """One line per node of ``graph`` that no rule lowers: index, op, input dtype and name
    (``#index`` alone when the name is empty); empty when every node can be lowered."""
    missing = []
    for index, node in enumerate(graph.nodes):
        ins = [graph.tensors[name] for name in node.inputs if name]
        dtype = kernel_key(ins[0]) if ins else "none"
        if registered_rule(node.op, dtype) is None:
            name = f" '{node.name}'" if node.name else ""
            missing.append(f"#{index} {node.op}/{dtype}{name}")
    return missing


def check_lowerable(graph) -> None:
    """Raise one ``EdgecError`` naming every node no rule lowers (not just the first)."""
    missing = unlowerable(graph)
    if missing:
        raise EdgecError(f"{len(missing)} node(s) cannot be lowered: {', '.join(missing)}",
                         f"supported: {', '.join(supported())}")
