"""``lower_graph``: every IR node to one C function, through the rules, TVM and the cache."""

from __future__ import annotations

import logging
from typing import Callable

from edgec.errors import EdgecError
from edgec.ir import Graph, Node, get_op
from edgec.cdefs import CParam
from edgec.lower.cache import KernelCache, default_dir, kernel_key
from edgec.lower.kernel import Kernel
from edgec.lower.registry import KernelPlan, LoweringContext, make_context
from edgec.lower.select import check_lowerable, plan_node
from edgec.options import BuildOptions, KernelChoice, Optimize

log = logging.getLogger("edgec.lower")
Progress = Callable[[int, int, Node], None]


def lower_graph(graph: Graph, options: BuildOptions = BuildOptions(), *,
                progress: Progress | None = None) -> list[Kernel]:
    """One ``Kernel`` per node of ``graph``, in execution order, as ``options`` say.

    Every node gets a kernel, RESHAPE included (a flat copy; the planner may alias it away).
    ``options.target`` names a ``targets/*.yaml`` file: its CPU features (``target_features``)
    pick the optimized variants of rules; the host and targets without them get the portable
    ones, and so does every target with ``kernels=portable`` (``KernelChoice``).
    ``options.optimize`` (``Optimize``; None means speed) tells variants with a speed/size
    trade-off which to make. ``progress(k, n, node)`` is called before kernel k (1-based) of n
    is lowered. Kernel C is cached under ``options.cache_dir`` (see
    ``edgec.lower.cache.default_dir``).
    """
    optimize = (options.optimize or Optimize.SPEED).value
    check_lowerable(graph)  # every unsupported node at once, before any slow lowering
    cache = KernelCache(default_dir(options.cache_dir))
    portable = options.kernels is KernelChoice.PORTABLE
    features = frozenset() if portable else target_features(options.target)
    lowered = []
    for index, node in enumerate(graph.nodes):
        if progress is not None:
            progress(index + 1, len(graph.nodes), node)
        lowered.append(lower_node(graph, node, f"k{index}_{node.op.lower()}", cache, features,
                                  optimize))
    log.info("lowered %d %s kernels for target %s: %d from cache, %d new", len(lowered),
             options.kernels.value, options.target, cache.hits, cache.misses)
    return lowered


def node_lowerer(graph: Graph, options: BuildOptions = BuildOptions()):
    """``lower(step, prefer) -> Kernel``: node ``step`` lowered as ``lower_graph`` would,
    trying the variants ``prefer`` first (memory variants, ``edgec.ram``)."""
    optimize = (options.optimize or Optimize.SPEED).value
    cache = KernelCache(default_dir(options.cache_dir))
    portable = options.kernels is KernelChoice.PORTABLE
    features = frozenset() if portable else target_features(options.target)

    def lower(step: int, prefer: tuple[str, ...] = ()) -> Kernel:
        node = graph.nodes[step]
        return lower_node(graph, node, f"k{step}_{node.op.lower()}", cache, features,
                          optimize, prefer)
    return lower


def target_features(target: str) -> frozenset[str]:
    """The CPU features of ``target`` that lowering variants are registered for."""
    from edgec.targets import load_target

    info = load_target(target)
    return frozenset(name for name in ("dsp",) if info.get(name))


def lower_node(graph: Graph, node: Node, func_name: str, cache: KernelCache,
               features: frozenset[str] = frozenset(), optimize: str = "speed",
               prefer: tuple[str, ...] = ()) -> Kernel:
    """The kernel of one node, its C text taken from ``cache`` when an identical one exists;
    ``prefer``: variants tried first (``select.plan_node``)."""
    ctx = make_context(graph, node, func_name, optimize)
    plan = plan_node(ctx, features, prefer)
    _check_constant_names(graph, plan, node)
    key = kernel_key(ctx, plan)
    record = cache.get(key)
    if record is None:
        log.debug("lowering %s (%s)", func_name, node.op)
        record = render(plan, ctx)
        cache.put(key, record)
    else:
        log.debug("cache hit for %s (%s)", func_name, node.op)
    op = get_op(node.op)
    params = [CParam.from_json(item) for item in record["params"]]
    expected = len(plan.params) + (1 if plan.scratch_bytes > 0 else 0)
    if len(params) != expected:
        raise EdgecError(f"node '{node.name}' ({node.op}): its kernel takes {len(params)} "
                         f"parameters, its arguments need {expected}",
                         "this is a bug in edgec's lowering rule for this op")
    return Kernel(node.name, node.op, func_name, record["body"], [p.source for p in plan.params],
                  plan.constants, scratch_bytes=plan.scratch_bytes,
                  macs=op.macs(node, ctx.ins, ctx.outs), in_place=plan.in_place_tensors(),
                  access=plan.access, params=params, math=tuple(record["math"]),
                  helpers=plan.helpers + tuple(record.get("helpers", ())),
                  states=tuple(p.source for p in plan.params if p.c_name in plan.states),
                  form=plan.form)


def render(plan: KernelPlan, ctx: LoweringContext) -> dict:
    """The kernel record of ``plan`` (parameters, body, math functions; TVM runs here)."""
    if plan.c_template is not None:
        return {"params": [p.to_json() for p in plan.signature], "body": plan.c_template(),
                "math": list(plan.math)}
    from edgec.lower.c_printer import CPrintError, print_kernel
    from edgec.lower.tir import lower_built

    func = lower_built(plan.build())
    try:
        printed = print_kernel(func, plan.unrestricted(ctx.node))
        return {"params": [p.to_json() for p in printed.params], "body": printed.body,
                "math": list(printed.math), "helpers": list(printed.helpers)}
    except CPrintError as e:
        raise EdgecError(f"cannot print node '{ctx.node.name}' ({ctx.node.op}) as C: {e}",
                         "this is a bug in edgec's lowering rule for this op") from e


def _check_constant_names(graph: Graph, plan: KernelPlan, node: Node) -> None:
    clash = sorted(set(plan.constants) & set(graph.tensors))
    if clash:
        raise EdgecError(f"node '{node.name}': derived constant name(s) {clash} collide with "
                         "graph tensors", "rename the tensors; edgec names constants k<i>_<op>_*")
