"""The graph checker: reports the first broken invariant in words."""

from __future__ import annotations

from edgec.errors import EdgecError
from edgec.ir.graph import DTYPES, Graph, storage_dtype
from edgec.ir.registry import get_op


def _fail(message: str) -> None:
    raise EdgecError(f"invalid graph: {message}",
                     "this is a bug in a frontend or pass if the model file itself is valid")


def check_graph(graph: Graph) -> Graph:
    """Raise ``EdgecError`` at the first broken invariant; return the graph when it is sound.

    Checked: tensors exist and are well-formed, every node's op is registered and its
    attributes known, nodes are in topological order, each tensor has one producer, shapes
    agree with each op's shape inference, graph outputs are produced.
    """
    for name, t in graph.tensors.items():
        if name != t.name:
            _fail(f"tensor stored under '{name}' is named '{t.name}'")
        if t.dtype not in DTYPES:
            _fail(f"tensor '{name}' has unknown dtype '{t.dtype}'")
        if any(d <= 0 for d in t.shape):
            _fail(f"tensor '{name}' has a non-positive dimension in {t.shape}")
        if t.data is not None and (tuple(t.data.shape) != t.shape
                                   or t.data.dtype.name != storage_dtype(t.dtype)):
            _fail(f"constant '{name}' holds {t.data.dtype}{list(t.data.shape)}, "
                  f"declared {t.dtype}{list(t.shape)}")
        if t.quant is not None and t.quant.scale.size > 1:
            if t.quant.axis is None or not 0 <= t.quant.axis < len(t.shape) \
                    or t.shape[t.quant.axis] != t.quant.scale.size:
                _fail(f"tensor '{name}' has per-axis quantization that does not fit {t.shape}")
    available = {n for n, t in graph.tensors.items() if t.is_const}
    for name in graph.inputs:
        if name not in graph.tensors:
            _fail(f"graph input '{name}' is not a tensor")
        available.add(name)
    written: set[str] = set()
    for node in graph.nodes:
        op = get_op(node.op)
        op.full_attrs(node)
        for i in node.inputs:
            if i and i not in graph.tensors:
                _fail(f"node '{node.name}' ({node.op}) reads unknown tensor '{i}'")
            if i and i not in available:
                _fail(f"node '{node.name}' ({node.op}) reads '{i}' before it is written")
        for o in node.outputs:
            if o not in graph.tensors:
                _fail(f"node '{node.name}' ({node.op}) writes unknown tensor '{o}'")
            if o in written or graph.tensors[o].is_const or o in graph.inputs:
                _fail(f"tensor '{o}' is written more than once")
            written.add(o)
            available.add(o)
        expected = op.infer_shapes(node, graph.input_tensors(node))
        actual = [graph.tensors[o].shape for o in node.outputs]
        if [tuple(s) for s in expected] != actual:
            _fail(f"node '{node.name}' ({node.op}) outputs {actual}, its inputs give {expected}")
    for name in graph.outputs:
        if name not in available:
            _fail(f"graph output '{name}' is never written")
    return graph
