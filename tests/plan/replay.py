"""An oracle for memory plans: replay the graph step by step at the level of single tensors.

Independent of the planner's grouping (``edgec.plan.lifetimes``): a tensor is *needed* at a
step when it was written before that step and is read at that step or later (graph outputs
are read after the last step). Every step writes its outputs and its scratch; a write over a
needed tensor is fine only as a declared in-place pair: the step's kernel lists that input in
``Kernel.in_place``, the plan records it, the step is that input's last reader, and output
and input occupy exactly the same bytes.
"""

from __future__ import annotations

from edgec.plan.lifetimes import scratch_name


def _spans(graph) -> tuple[dict[str, int], dict[str, int]]:
    """Writing step (-1: copied in before step 0) and last reading step of each activation."""
    written = {name: -1 for name in graph.inputs}
    last_read: dict[str, int] = {}
    for step, node in enumerate(graph.nodes):
        for name in node.inputs:
            if name and not graph.tensors[name].is_const:
                last_read[name] = step
        for name in node.outputs:
            written[name] = step
    for name in graph.outputs:
        last_read[name] = len(graph.nodes)
    return written, last_read


def _writes(graph, plan, kernels, step) -> list[tuple[str, int, int]]:
    """``(name, offset, size)`` of everything the kernel at ``step`` writes."""
    if step in plan.elided:
        return []
    writes = [(n, plan.offsets[n], graph.tensors[n].nbytes) for n in graph.nodes[step].outputs]
    if kernels and kernels[step].scratch_bytes:
        writes.append((scratch_name(step), plan.scratch[step], kernels[step].scratch_bytes))
    return writes


def replay(graph, plan, kernels=None) -> tuple[dict[int, str], list[str]]:
    """The in-place writes found (step -> overwritten input) and every unsafe overlap."""
    written, last_read = _spans(graph)
    found, problems = {}, []
    for step, node in enumerate(graph.nodes):
        needed = [t for t in written if written[t] < step <= last_read.get(t, -2)]
        for name, offset, size in _writes(graph, plan, kernels, step):
            for t in needed:
                t_offset, t_size = plan.offsets[t], graph.tensors[t].nbytes
                if not (size and t_size and offset < t_offset + t_size
                        and t_offset < offset + size):
                    continue
                declared = kernels is None or t in kernels[step].in_place
                if (plan.in_place.get(step) == t and declared and last_read[t] == step
                        and name in node.outputs and (offset, size) == (t_offset, t_size)):
                    found[step] = t
                else:
                    problems.append(f"step {step} writes {name} over {t}")
    return found, problems
