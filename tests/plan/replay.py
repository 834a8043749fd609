"""An oracle for memory plans: replay the graph step by step at the level of single tensors.

Independent of the planner's grouping (``edgec.plan.lifetimes``): a tensor is *needed* at a
step when it was written before that step and is read at that step or later (graph outputs
are read after the last step). Every step writes its outputs and its scratch; a write over a
needed tensor is fine only as a declared in-place pair: the step's kernel lists that input in
``Kernel.in_place``, the plan records it, the step is that input's last reader, and output
and input occupy exactly the same bytes.

Steps the plan elides (no kernel call) must be views the bytes already hold, re-derived here
from the node's attributes with numpy index arithmetic: a RESHAPE output at its input's
offset; a STRIDED_SLICE output at the offset where the sliced elements of its input lie,
contiguous; each CONCATENATION input at the offset where its elements lie in the output,
contiguous. A slice's bytes are its input's from the input's write on (the slice step reads
nothing), so the slice is needed from then until its last reader; the input itself only
until its last reader that is not such a view.
"""

from __future__ import annotations

import numpy as np

from edgec.ir.registry import get_op
from edgec.plan.lifetimes import scratch_name


def _element_range(index: np.ndarray) -> tuple[int, int] | None:
    """``(first, count)`` when the flat element indices ``index`` are consecutive."""
    flat = index.ravel()
    if flat.size and np.array_equal(flat, np.arange(flat[0], flat[0] + flat.size)):
        return int(flat[0]), int(flat.size)
    return None


def view_problems(graph, plan, step: int) -> list[str]:
    """Why the elided ``step`` does not find its output (or inputs) already in place."""
    node = graph.nodes[step]
    out = graph.tensors[node.outputs[0]]
    elem = out.nbytes // max(out.size, 1)
    if node.op == "RESHAPE":
        pairs = [(node.inputs[0], node.outputs[0], 0)]
    elif node.op == "STRIDED_SLICE":
        x = graph.tensors[node.inputs[0]]
        a = node.attrs
        index = np.arange(x.size).reshape(x.shape)[tuple(
            slice(b, b + s * (n - 1) + 1, s) for b, n, s in zip(a["begin"], a["size"],
                                                                  a["steps"]))]
        found = _element_range(index)
        if found is None or found[1] != out.size:
            return [f"step {step} is elided but its slice is not contiguous"]
        pairs = [(node.inputs[0], node.outputs[0], found[0] * elem)]
    elif node.op == "CONCATENATION" and node.attrs["activation"] == "NONE":
        axis = node.attrs["axis"] % len(out.shape)
        index = np.arange(out.size).reshape(out.shape)
        cuts = np.cumsum([graph.tensors[i].shape[axis] for i in node.inputs])[:-1]
        pairs = []
        for name, part in zip(node.inputs, np.split(index, cuts, axis=axis)):
            found = _element_range(part)
            if found is None:
                return [f"step {step} is elided but input {name} is not contiguous"]
            pairs.append((node.outputs[0], name, found[0] * elem))
    else:
        return [f"step {step} ({node.op}) is elided but is no view"]
    return [f"step {step}: {inner} is not at {outer} + {at}" for outer, inner, at in pairs
            if plan.offsets[inner] != plan.offsets[outer] + at]


def _is_view(graph, plan, step: int) -> bool:
    return step in plan.elided and graph.nodes[step].op == "STRIDED_SLICE"


def _spans(graph, plan=None) -> tuple[dict[str, int], dict[str, int]]:
    """Writing step (-1: copied in before step 0) and last reading step of each activation;
    an elided slice is written with its input and does not read it."""
    written = {name: -1 for name in graph.inputs}
    last_read: dict[str, int] = {}
    for step, node in enumerate(graph.nodes):
        view = plan is not None and _is_view(graph, plan, step)
        for name in node.inputs:
            if name and not graph.tensors[name].is_const and not view:
                last_read[name] = step
        for name in node.outputs:
            written[name] = written[node.inputs[0]] if view else step
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


def _last_reader(graph, node) -> np.ndarray:
    """For each input byte, the raster index of the last output pixel whose window reads it
    (-1: none)."""
    x, y = graph.tensors[node.inputs[0]], graph.tensors[node.outputs[0]]
    a = get_op(node.op).full_attrs(node)
    kh, kw = (graph.tensors[node.inputs[1]].shape[1:3] if "filter" not in a else a["filter"])
    sh, sw = a.get("strides", (1, 1))
    dh, dw = a.get("dilations", (1, 1))
    pt, pl = a.get("pads", (0, 0, 0, 0))[:2]
    n, h, w, c = x.shape
    _, oh, ow, _ = y.shape
    last = np.full((n, h, w, c * (x.nbytes // x.size)), -1, np.int64)
    pixel = 0
    for b in range(n):
        for oy in range(oh):
            rows = [oy * sh - pt + k * dh for k in range(kh)]
            rows = [r for r in rows if 0 <= r < h]
            for ox in range(ow):
                cols = [ox * sw - pl + k * dw for k in range(kw)]
                cols = [q for q in cols if 0 <= q < w]
                if rows and cols:
                    last[b, min(rows):max(rows) + 1, min(cols):max(cols) + 1] = pixel
                pixel += 1
    return last.reshape(-1)


def trailing_write_problems(graph, plan, kernels, step: int, t: str) -> list[str]:
    """Why the raster kernel at ``step`` may overwrite bytes of input ``t`` it still reads
    (empty: never)."""
    node, access = graph.nodes[step], kernels[step].access if kernels else ""
    if access not in ("raster", "raster_buffered") or node.inputs[0] != t:
        return [f"step {step} writes over {t} without a raster access order"]
    y = graph.tensors[node.outputs[0]]
    last = _last_reader(graph, node)
    pixel_bytes = y.nbytes // (y.size // y.shape[-1])
    start = plan.offsets[node.outputs[0]] - plan.offsets[t]
    for p in range(y.size // y.shape[-1]):
        lo, hi = max(start + p * pixel_bytes, 0), min(start + (p + 1) * pixel_bytes, last.size)
        if lo < hi:
            reader = int(last[lo:hi].max())
            if reader > p or (reader == p and access == "raster"):
                return [f"step {step} writes pixel {p} over {t} bytes {lo}-{hi} that pixel "
                        f"{reader} still reads"]
    return []


def replay(graph, plan, kernels=None) -> tuple[dict[int, str], list[str]]:
    """The in-place writes found (step -> overwritten input) and every unsafe overlap."""
    written, last_read = _spans(graph, plan)
    found, problems = {}, []
    for step in sorted(plan.elided):
        problems += view_problems(graph, plan, step)
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
                elif (plan.overlaps.get(step, ("",))[0] == t and last_read[t] == step
                        and name in node.outputs):
                    problems += trailing_write_problems(graph, plan, kernels, step, t)
                else:
                    problems.append(f"step {step} writes {name} over {t}")
    return found, problems
