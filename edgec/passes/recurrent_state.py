"""``--recurrent-state carry``: recurrent ops keep their final state for the next inference.

An op that can carry its state declares the inputs holding its initial states
(``OpDef.carries_state``: the LSTM's h0 and c0, the GRU's h0). ``carry_recurrent_state``
sets such a node's ``carry_state`` attribute; its ``updates_state`` then returns the final
states, which ``interpret(state=...)`` feeds to the next call and the generated C keeps in
persistent ``NAME_stateN`` buffers that ``NAME_reset()`` restores (docs/IR.md "Recurrent
state"), as TFLite Micro keeps an LSTM's variable tensors between Invokes. Each carried
state gets its own constant (two nodes, or h0 and c0, may have shared one zero tensor).
A reverse-direction node is refused: its state runs backwards in time, so carrying it into
the next window has no meaning. An op that post-training quantization rewrites into
primitive ops (``Ptq.DECOMPOSE``: the GRU) is marked before quantizing (``carry_before_
quantization``): its decomposition then keeps the state in a variable.
"""

from __future__ import annotations

import copy

from edgec.errors import EdgecError
from edgec.ir.graph import Graph, Tensor
from edgec.ir.registry import Ptq, get_op

MODES = ("reset", "carry")


def carry_recurrent_state(graph: Graph, ops: tuple[str, ...] | None = None) -> Graph:
    """A copy of ``graph`` whose recurrent nodes (of ``ops``, default all) carry their state
    between inferences."""
    result = graph.copy()
    for node in result.nodes:
        op = get_op(node.op)
        if not op.carries_state or (ops is not None and node.op not in ops):
            continue
        if node.attrs.get("reverse"):
            raise EdgecError(f"node '{node.name}' ({node.op}) runs backwards in time: its "
                             "state cannot be carried into the next call",
                             "build a bidirectional or reverse layer with --recurrent-state "
                             "reset")
        node.attrs["carry_state"] = True
        for index in op.carries_state:
            t = result.tensors[node.inputs[index]]
            if not t.is_const:
                raise EdgecError(f"node '{node.name}' ({node.op}) reads its initial state "
                                 f"'{t.name}' at run time: there is no state to carry",
                                 "build it with --recurrent-state reset")
            name = result.unique_name(f"{t.name}_carried")
            result.add_tensor(Tensor(name, t.shape, t.dtype, t.data.copy(), copy.deepcopy(t.quant)))
            node.inputs[index] = name
    return result


def carry_before_quantization(graph: Graph) -> Graph:
    """``graph`` with its recurrent nodes that quantization decomposes (the GRU) carrying
    their state: after quantization no such node is left to mark."""
    ops = tuple(n.op for n in graph.nodes
                if get_op(n.op).carries_state and get_op(n.op).ptq is Ptq.DECOMPOSE)
    return carry_recurrent_state(graph, ops) if ops else graph
