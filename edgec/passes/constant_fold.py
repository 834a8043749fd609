"""Constant folding: a node whose inputs are all constants is evaluated once, at compile time,
with the reference interpreter's kernel and its outputs become constants.

Exact by construction: the folded values are the ones the interpreter would compute at run
time. A stateful node (``OpDef.stateful``: its state input is constant only in the IR) and a
node that writes a graph output are kept, so that every output stays computed by a
node (the generated C fills its output buffers from kernels).
"""

from __future__ import annotations

from edgec.ir.graph import Graph
from edgec.ir.registry import get_op
from edgec.passes.rewrite import run_node


def fold_constants(graph: Graph) -> Graph:
    """Return a copy of ``graph`` with every all-constant node replaced by its result."""
    result = graph.copy()
    # One sweep in execution order folds whole constant chains: a folded node's outputs are
    # constants by the time their readers are reached.
    for node in list(result.nodes):
        names = [i for i in node.inputs if i]
        if not names or any(not result.tensors[i].is_const for i in names) \
                or any(o in result.outputs for o in node.outputs) \
                or get_op(node.op).stateful(node):
            continue
        values = run_node(result, node, [result.tensors[i].data if i else None
                                         for i in node.inputs])
        for tensor, value in zip(result.output_tensors(node), values):
            tensor.data = value.reshape(tensor.shape)
        result.nodes.remove(node)
    result.remove_unused_tensors()
    return result
