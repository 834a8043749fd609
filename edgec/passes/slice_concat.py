"""A STRIDED_SLICE of a CONCATENATION reads the concatenated pieces instead.

A WHILE loop unrolled at import (``edgec.frontends.tflite_loop``) writes a
``return_sequences`` buffer step by step: step t concatenates the previous buffer's first t
rows, the new row and its remaining rows, both slices read from the previous step's buffer,
so T steps copy the buffer T times. Here a slice (step 1 along the concatenation's axis)
within one input becomes a slice of that input (or the input itself, when whole), and a
slice covering several whole inputs their CONCATENATION; a CONCATENATION reading another
along the same axis reads that one's inputs. None copies more than the slice did (a slice
across parts of several inputs stays). The intermediate buffers then have no readers and go, and the
last step's buffer is one concatenation of the T rows. Values are moved, never changed: the
pieces share the concatenation's quantization (CONCATENATION requires it).
"""

from __future__ import annotations

from edgec.ir.graph import Graph, Node, Tensor
from edgec.ir.ops.strided_slice import slice_plan
from edgec.passes.rewrite import bypass, drop_dead_nodes


def fold_slice_concat(graph: Graph) -> Graph:
    """Return a copy of ``graph`` whose slices of concatenations read the pieces."""
    graph = graph.copy()
    producers = graph.producers()
    for node in list(graph.nodes):
        source = producers.get(node.inputs[0]) if node.inputs else None
        if node.op == "STRIDED_SLICE" and _plain_concat(graph, source):
            _slice_pieces(graph, node, source, producers)
        elif node.op == "CONCATENATION" and node.attrs["activation"] == "NONE":
            _flatten(graph, node, producers)
    drop_dead_nodes(graph)
    graph.remove_unused_tensors()
    return graph


def _plain_concat(graph: Graph, node: Node | None) -> bool:
    return node is not None and node.op == "CONCATENATION" \
        and node.attrs["activation"] == "NONE"


def _axis(graph: Graph, concat: Node) -> int:
    return int(concat.attrs["axis"]) % len(graph.tensors[concat.outputs[0]].shape)


def _flatten(graph: Graph, node: Node, producers: dict[str, Node]) -> None:
    """Inputs that are concatenations along the same axis give their inputs instead."""
    axis = _axis(graph, node)
    inputs = []
    for name in node.inputs:
        inner = producers.get(name)
        if _plain_concat(graph, inner) and _axis(graph, inner) == axis:
            inputs.extend(inner.inputs)
        else:
            inputs.append(name)
    node.inputs = inputs


def _slice_pieces(graph: Graph, node: Node, concat: Node, producers: dict[str, Node]) -> None:
    axis = _axis(graph, concat)
    plan = slice_plan(node, graph.tensors[concat.outputs[0]].shape)
    begin, size, step = plan[axis]
    if step != 1:
        return
    out = graph.tensors[node.outputs[0]]
    pieces, offset = [], 0
    for name in concat.inputs:
        length = graph.tensors[name].shape[axis]
        lo, hi = max(begin, offset), min(begin + size, offset + length)
        if lo < hi:
            pieces.append(_piece(graph, node, name, plan, axis, lo - offset, hi - lo))
        offset += length
    slices = [p for p in pieces if isinstance(p, Node)]
    if len(pieces) > 1 and slices:
        return  # parts of several inputs: slicing each and joining them copies more
    names = [p.outputs[0] if isinstance(p, Node) else p for p in pieces]
    index = graph.nodes.index(node)
    if len(pieces) == 1 and slices:  # one slice of one input: that slice alone
        slices[0].outputs = [out.name]
        graph.nodes[index] = slices[0]
    else:
        join = Node("CONCATENATION", names, [out.name], {"axis": axis, "activation": "NONE"},
                    node.name)
        graph.nodes[index:index + 1] = [*slices, join]
        producers.update({s.outputs[0]: s for s in slices})
        _flatten(graph, join, producers)
        if len(join.inputs) == 1:
            bypass(graph, join, join.inputs[0])  # kept where the output cannot be renamed
    producers.update({n.outputs[0]: n for n in graph.nodes[index:index + len(pieces) + 1]})


def _piece(graph: Graph, node: Node, name: str, plan, axis: int, start: int, length: int):
    """Input ``name`` itself when the slice covers it whole, else a STRIDED_SLICE of it."""
    shape = graph.tensors[name].shape
    own = [(start, length, 1) if d == axis else p for d, p in enumerate(plan)]
    if all(p == (0, n, 1) for p, n in zip(own, shape)):
        return name
    out = graph.tensors[node.outputs[0]]
    piece = graph.unique_name(f"{node.outputs[0]}_part")
    graph.add_tensor(Tensor(piece, tuple(p[1] for p in own), out.dtype, quant=out.quant))
    return Node("STRIDED_SLICE", [name], [piece],
                {"begin": tuple(p[0] for p in own), "size": tuple(p[1] for p in own),
                 "steps": tuple(p[2] for p in own)}, f"{node.name}_{name}")
