"""The build report: per kernel what it computes and costs; totals for flash and RAM."""

from __future__ import annotations

from edgec.emit.cdata import content_key
from edgec.ir.graph import Graph
from edgec.lower.kernel import Kernel
from edgec.plan import MemoryPlan


def _shapes(graph: Graph, names) -> list[str]:
    return [f"{graph.tensors[n].dtype}{list(graph.tensors[n].shape)}" for n in names
            if n and not graph.tensors[n].is_const]


def window(graph: Graph, node) -> str:
    """``KHxKW`` of a CONV_2D or DEPTHWISE_CONV_2D (from its weights), else empty: the cost
    model tells pointwise convolutions apart (``edgec.estimate.cost_key``)."""
    if node.op not in ("CONV_2D", "DEPTHWISE_CONV_2D") or len(node.inputs) < 2:
        return ""
    shape = graph.tensors[node.inputs[1]].shape
    return f"{shape[1]}x{shape[2]}" if len(shape) == 4 else ""


def kernel_rows(graph: Graph, kernels: list[Kernel], plan: MemoryPlan) -> list[dict]:
    """One row per kernel: op, source node, shapes, MACs, bytes of constants it reads."""
    rows = []
    for step, (node, kernel) in enumerate(zip(graph.nodes, kernels)):
        weights = sum(graph.tensors[a].nbytes for a in set(kernel.args)
                      if a in graph.tensors and graph.tensors[a].is_const)
        weights += sum(int(c.nbytes) for c in kernel.constants.values())
        rows.append({
            "step": step, "op": node.op, "node": node.name, "function": kernel.func_name,
            "inputs": _shapes(graph, node.inputs), "outputs": _shapes(graph, node.outputs),
            "macs": int(kernel.macs), "weight_bytes": int(weights),
            "scratch_bytes": int(kernel.scratch_bytes), "kernel": kernel.form,
            "window": window(graph, node),
            "memory": "aliased (not called)" if step in plan.elided
            else "in place" if step in plan.in_place
            else f"trails its input by {plan.overlaps[step][1]} B" if step in plan.overlaps
            else "",
        })
    return rows


def io_entries(graph: Graph) -> dict:
    """The model's inputs and outputs as the application sees them, in order: name, shape,
    dtype and quantization (scales are float32 values, exact in JSON), so that
    ``edgec.project.modelio`` reads them back from ``report.json`` alone."""

    def entry(name: str) -> dict:
        t = graph.tensors[name]
        quant = None if t.quant is None else {
            "scale": [float(s) for s in t.quant.scale],
            "zero_point": [int(z) for z in t.quant.zero_point], "axis": t.quant.axis}
        return {"name": name, "shape": [int(d) for d in t.shape], "dtype": t.dtype,
                "quant": quant}

    return {"inputs": [entry(n) for n in graph.inputs],
            "outputs": [entry(n) for n in graph.outputs]}


def format_report(report: dict) -> str:
    """``report`` (see ``edgec.build``) as the text of ``report.txt``."""
    estimated = report.get("estimate") is not None
    lines = [f"{'#':>3}  {'op':<18} {'MACs':>10} {'weights':>8}"
             + (f" {'est. instr':>11}" if estimated else "") + "  node"]
    for r in report["kernels"]:
        note = f"  [{r['memory']}]" if r["memory"] else ""
        est = f" {r['estimated_instructions']:>11,}" if estimated else ""
        lines.append(f"{r['step']:>3}  {r['op']:<18} {r['macs']:>10,} {r['weight_bytes']:>8,}"
                     f"{est}  {r['node']}{note}")
        lines.append(f"{'':>5}{', '.join(r['inputs'])} -> {', '.join(r['outputs'])}")
    t = report["totals"]
    code = (f"{t['code_bytes']:,} B" if t["code_bytes"] is not None else "not estimated")
    lines += [
        "",
        f"model      {report['model']} -> {report['name']} (target {report['target']})",
        *([f"sha256     {report['model_sha256']}", f"edgec      {report['edgec_version']}"]
          if "model_sha256" in report else []),
        *_quantization_lines(report.get("quantization")),
        *_optimize_lines(report.get("optimize")),
        *_kernel_choice_lines(report.get("kernel_choice", "auto")),
        f"MACs       {t['macs']:,}",
        f"weights    {t['weight_bytes']:,} B (constant arrays as emitted)",
        f"code       {code} ({t['code_method']})",
        f"flash      {t['flash_bytes']:,} B (weights + code)" if t["flash_bytes"] is not None
        else "flash      weights only: code not estimated",
        f"arena      {t['arena_bytes']:,} B (op-by-op lower bound {t['lower_bound_bytes']:,} B, "
        f"no reuse {t['no_reuse_bytes']:,} B)",
        *([f"state      {t['state_bytes']:,} B (kept between calls, outside the arena; "
           "NAME_reset() restores it)"] if t.get("state_bytes") else []),
        *_stack_lines(report.get("stack")),
        *_estimate_lines(report.get("estimate")),
        *_application_lines(report.get("application")),
        f"build time {t['build_seconds']:.2f} s",
    ]
    return "\n".join(lines) + "\n"


def _stack_lines(stack: dict | None) -> list[str]:
    if stack is None:
        return ["stack      not measured (the compiler writes no call graph)"]
    bound = "" if stack["bounded"] else " (NOT a bound: a dynamic frame or recursion)"
    return [f"stack      {stack['bytes']:,} B{bound}, worst chain "
            f"{' -> '.join(stack['chain'])} ({stack['method'].split(':')[0]})"]


def _estimate_lines(estimate: dict | None) -> list[str]:
    if estimate is None:
        return []
    ms = f", {estimate['ms']:.2f} ms at {estimate['clock_hz'] / 1e6:g} MHz" \
        if estimate["ms"] is not None else ""
    return [f"estimate   {estimate['instructions']:,} instructions per inference{ms} "
            f"(ESTIMATE: cost model calibrated on {estimate['calibrated_on']} under QEMU)"]


def _application_lines(app: dict | None) -> list[str]:
    if app is None:
        return []
    f, r = app["flash"], app["ram"]
    return [f"app flash  {app['flash_bytes']:,} of {app['flash_limit']:,} B on {app['board']} "
            f"(weights {f['weights']:,} + model code {f['model_code']:,} + app "
            f"{f['app_code']:,} + Zephyr {f['zephyr']:,}; estimate)",
            f"app RAM    {app['ram_bytes']:,} of {app['ram_limit']:,} B (arena {r['arena']:,} "
            f"+ app {r['app']:,}, thread stacks of {r['thread_stack_bytes']:,} B included, "
            f"+ Zephyr {r['zephyr']:,}; estimate)"]


def _quantization_lines(q: dict | None) -> list[str]:
    """The report line saying how a float model was quantized before lowering, if it was."""
    if q is None:
        return []
    observer = q["observer"] + (f" {q['percentile']:g}" if q["observer"] == "percentile" else "")
    activations = ", int16 activations" if q.get("activations") == "int16" else ""
    return [f"quantized  {q['weights']} weights{activations}, {observer} ranges from "
            f"{q['calibration']}, {q['io']} I/O"]


def _optimize_lines(choice: dict | None) -> list[str]:
    """The report lines naming the kernel variant choice (speed, size or ram) and why, and
    what the memory modes saved and cost."""
    if choice is None:
        return []
    lines = [f"optimize   {choice['mode']} ({choice['reason']})"]
    for step in choice.get("steps", []):  # the default build's per-step choice
        if len(step["candidates"]) < 2:
            continue
        c = step["chosen"]
        lines.append(f"choice     step {step['step']} {step['op']}: "
                     f"{'/'.join(c['modes'])} {c['kernel'] or 'portable'}"
                     f"{' (memory variant)' if c['memory_variant'] else ''}, est. "
                     f"{c['estimated_instructions']:,} of {len(step['candidates'])} candidates "
                     f"{min(x['estimated_instructions'] for x in step['candidates']):,}.."
                     f"{max(x['estimated_instructions'] for x in step['candidates']):,}: "
                     f"{step['why']}")
    m = choice.get("memory")
    if m:
        lines.append(
            f"memory     arena {m['arena_bytes']:,} B, {m['without_memory_modes_bytes']:,} B "
            f"without in-place and trailing writes; {len(m['trailing_writes'])} trailing "
            f"write(s), {len(m['in_place'])} in place; {len(m['in_place_variants'])} "
            f"step(s) with a memory kernel variant (edgec.ram), slower than the fast kernel, "
            f"{len(m.get('no_scratch_variants', []))} of them without scratch; extra MACs "
            f"{m['extra_macs']:,}")
        chosen = (m.get("patch") or {}).get("chosen")
        if chosen:
            lines.append(
                f"patch      nodes 0-{chosen['cut']} in {chosen['bands']} row bands: "
                f"{chosen['extra_macs']:,} extra MACs (x{chosen['macs_ratio']:.3f}), arena "
                f"{m['patch']['arena_without_bytes']:,} B without")
    return lines


def _kernel_choice_lines(choice: str) -> list[str]:
    """The report line for a kernel choice other than the default ``auto``."""
    if choice == "auto":
        return []
    return [f"kernels    {choice} (the target's CPU features ignored)"]


def emitted_constant_bytes(graph: Graph, kernels: list[Kernel], plan: MemoryPlan) -> int:
    """Bytes of the ``static const`` arrays the generated C holds (each array once: the
    emitter defines identical bytes once, ``edgec.emit.cdata.content_key``)."""
    arrays: dict[tuple, int] = {}
    for step, kernel in enumerate(kernels):
        if step in plan.elided:
            continue
        for a in kernel.args:
            if a in kernel.constants:
                data = kernel.constants[a]
            elif a in graph.tensors and graph.tensors[a].is_const:
                data = graph.tensors[a].data
            else:
                continue
            arrays[content_key(data)] = int(data.nbytes)
    return sum(arrays.values())
