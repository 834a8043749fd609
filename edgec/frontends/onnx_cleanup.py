"""Tidying the freshly imported graph: layout changes that cancel or do nothing go away.

The converters materialize layouts locally (a RESHAPE here, a TRANSPOSE there); seen whole,
chains of RESHAPEs collapse into one, chains of TRANSPOSEs compose, and a RESHAPE to the same
shape, an identity TRANSPOSE or a QUANTIZE to the same scale is no op at all.
"""

from __future__ import annotations

from edgec.frontends import onnx_layout as lay
from edgec.ir import Graph, Node


def simplify(graph: Graph) -> Graph:
    """Collapse RESHAPE/TRANSPOSE chains, drop no-op ones and dead nodes, in place."""
    changed = True
    while changed:
        changed = _collapse_chains(graph) | _drop_noops(graph) | _drop_dead(graph)
    graph.remove_unused_tensors()
    return graph


def _collapse_chains(graph: Graph) -> bool:
    """Read through a producing RESHAPE (for a RESHAPE) or TRANSPOSE (for a TRANSPOSE)."""
    producers = graph.producers()
    changed = False
    for node in graph.nodes:
        prod = producers.get(node.inputs[0]) if node.inputs else None
        if node.op not in ("RESHAPE", "TRANSPOSE") or prod is None or prod.op != node.op \
                or graph.tensors[prod.inputs[0]].quant != graph.tensors[node.outputs[0]].quant:
            continue
        if node.op == "TRANSPOSE":
            inner = prod.attrs["perm"]
            node.attrs["perm"] = tuple(inner[p] for p in node.attrs["perm"])
        node.inputs[0] = prod.inputs[0]
        changed = True
    return changed


def _is_noop(graph: Graph, node: Node) -> bool:
    src, dst = graph.tensors[node.inputs[0]], graph.tensors[node.outputs[0]]
    if src.shape != dst.shape or src.quant != dst.quant or src.dtype != dst.dtype:
        return False
    return node.op in ("RESHAPE", "QUANTIZE") or (
        node.op == "TRANSPOSE" and lay.is_identity(node.attrs["perm"]))


def _drop_noops(graph: Graph) -> bool:
    """Remove no-op RESHAPE/TRANSPOSE/QUANTIZE nodes (same shape, dtype and quantization in
    and out; for TRANSPOSE an identity perm), reading their input instead of their output."""
    changed = False
    for node in list(graph.nodes):
        if node.op not in ("RESHAPE", "TRANSPOSE", "QUANTIZE") or not _is_noop(graph, node):
            continue
        src, dst = node.inputs[0], node.outputs[0]
        if dst in graph.outputs and (src in graph.inputs or src in graph.outputs):
            continue  # an output must stay a tensor of its own
        graph.nodes.remove(node)
        _replace_uses(graph, dst, src)
        changed = True
    return changed


def _replace_uses(graph: Graph, old: str, new: str) -> None:
    for node in graph.nodes:
        node.inputs = [new if i == old else i for i in node.inputs]
    graph.outputs = [new if o == old else o for o in graph.outputs]


def _drop_dead(graph: Graph) -> bool:
    """Remove nodes none of whose outputs is read or is a graph output."""
    used = set(graph.outputs)
    for node in graph.nodes:
        used.update(node.inputs)
    dead = [n for n in graph.nodes if not any(o in used for o in n.outputs)]
    for node in dead:
        graph.nodes.remove(node)
    return bool(dead)


def rename_tensor(graph: Graph, old: str, new: str) -> None:
    """Rename a tensor everywhere it is mentioned (``new`` must be free)."""
    tensor = graph.tensors.pop(old)
    tensor.name = new
    graph.tensors[new] = tensor
    for node in graph.nodes:
        node.inputs = [new if i == old else i for i in node.inputs]
        node.outputs = [new if o == old else o for o in node.outputs]
    graph.inputs = [new if i == old else i for i in graph.inputs]
    graph.outputs = [new if o == old else o for o in graph.outputs]
