"""Graph-editing helpers shared by the passes: who reads a tensor, bypassing a node, dropping
dead nodes, running one node's reference kernel and adding constants.

They edit the graph they are given in place; a pass calls them on its own ``graph.copy()``.
"""

from __future__ import annotations

import numpy as np

from edgec.ir.graph import Graph, Node, QuantParams, Tensor, kernel_key
from edgec.ir.registry import KernelCall, get_op


def only_reader(graph: Graph, tensor: str, consumers: dict[str, list[Node]]) -> Node | None:
    """The one node reading ``tensor`` (once), or None when it has no reader, several readers
    or is a graph output (a graph output must stay a tensor of its own)."""
    users = consumers.get(tensor, [])
    if tensor in graph.outputs or len(users) != 1 or users[0].inputs.count(tensor) != 1:
        return None
    return users[0]


def replace_uses(graph: Graph, old: str, new: str) -> None:
    """Make every node that reads ``old`` read ``new`` instead (graph outputs untouched)."""
    for node in graph.nodes:
        node.inputs = [new if i == old else i for i in node.inputs]


def rename_tensor(graph: Graph, old: str, new: str) -> None:
    """Rename tensor ``old`` to the free name ``new`` everywhere it is mentioned."""
    tensor = graph.tensors.pop(old)
    tensor.name = new
    graph.tensors[new] = tensor
    for node in graph.nodes:
        node.inputs = [new if i == old else i for i in node.inputs]
        node.outputs = [new if o == old else o for o in node.outputs]
    graph.inputs = [new if i == old else i for i in graph.inputs]
    graph.outputs = [new if o == old else o for o in graph.outputs]


def bypass(graph: Graph, node: Node, source: str) -> bool:
    """Remove ``node``, whose output holds exactly the values of tensor ``source`` (same shape,
    dtype and quantization). Readers read ``source`` instead; when the output is a graph output
    it keeps its name and ``source`` is renamed to it. Returns False, graph unchanged, when that
    is impossible (``source`` is a graph input, a graph output or a constant)."""
    out = node.outputs[0]
    if out in graph.outputs:
        src = graph.tensors[source]
        if source in graph.inputs or source in graph.outputs or src.is_const:
            return False
        graph.nodes.remove(node)
        del graph.tensors[out]
        rename_tensor(graph, source, out)
        return True
    graph.nodes.remove(node)
    replace_uses(graph, out, source)
    return True


def drop_dead_nodes(graph: Graph) -> bool:
    """Remove nodes none of whose outputs is read or is a graph output (to a fixed point);
    a stateful node (``OpDef.stateful``, e.g. ASSIGN_VARIABLE) always stays."""
    changed = False
    while True:
        used = set(graph.outputs)
        for node in graph.nodes:
            used.update(i for i in node.inputs if i)
        dead = [n for n in graph.nodes if not any(o in used for o in n.outputs)
                and not get_op(n.op).stateful(n)]
        if not dead:
            return changed
        graph.nodes = [n for n in graph.nodes if n not in dead]
        changed = True


def run_node(graph: Graph, node: Node, arrays: list[np.ndarray | None]) -> list[np.ndarray]:
    """``node``'s reference kernel on ``arrays`` (one per input, None for an absent one), as
    the interpreter would run it; the arrays must have the input tensors' shapes."""
    call = KernelCall(node, arrays, graph.input_tensors(node), graph.output_tensors(node))
    first = next(t for t in call.in_tensors if t is not None)
    return [np.asarray(r) for r in get_op(node.op).kernel_for(kernel_key(first))(call)]


def add_constant(graph: Graph, base: str, data: np.ndarray,
                 quant: QuantParams | None = None) -> str:
    """Add a constant tensor named after ``base`` (made unique); return its name. Passes add
    new constants rather than editing shared ones, which other nodes or graphs may read."""
    data = np.ascontiguousarray(data)
    name = graph.unique_name(base)
    graph.add_tensor(Tensor(name, data.shape, data.dtype.name, data, quant))
    return name


def same_values(a: Tensor, b: Tensor) -> bool:
    """Whether the two tensors interpret equal stored values alike: shape, dtype, quant."""
    return a.shape == b.shape and a.dtype == b.dtype and a.quant == b.quant
