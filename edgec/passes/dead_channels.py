"""Remove output channels of CONV_2D / FULLY_CONNECTED whose filters are all zero, with the
matching channels of every tensor they flow through (a DEPTHWISE_CONV_2D's channels too) and
the matching input channels of the layers that read them.

Which channels may go, and why that is exact, is decided by ``channel_trace`` (see its
docstring). In short: int8 removals are bit-exact, a dead channel either reaching its readers
as their input zero point or being folded into an int32 bias as ``(v - zp) * sum(w)`` where no
tap is skipped; float removals are exact up to float32 rounding of the folded bias (relative
1e-5). A layer always keeps at least one channel. Applied until nothing changes, since
removing input channels can leave a later filter all zero.
"""

from __future__ import annotations

import numpy as np

from edgec.ir.graph import Graph, Node, QuantParams, Tensor
from edgec.ir.registry import Channels, get_op
from edgec.passes.channel_trace import Plan, Terminal, dead_filters, is_source, trace
from edgec.passes.rewrite import add_constant


def remove_dead_channels(graph: Graph) -> Graph:
    """Return a copy of ``graph`` without the removable all-zero filters' channels."""
    result = graph.copy()
    while _one_round(result):
        pass
    result.remove_unused_tensors()
    return result


def _one_round(graph: Graph) -> bool:
    changed = False
    for layer in list(graph.nodes):
        if not is_source(layer, graph):
            continue
        dead = dead_filters(graph, layer)
        if len(dead) == graph.tensors[layer.outputs[0]].shape[-1]:
            dead = dead[1:]  # a tensor cannot lose all its channels
        plan = trace(graph, layer, dead) if dead else None
        if plan is not None:
            apply_plan(graph, plan)
            changed = True
    return changed


def apply_plan(graph: Graph, plan: Plan) -> None:
    """Carry out ``plan`` on ``graph`` in place."""
    removed = plan.removed
    _drop_outputs(graph, plan.source, removed[plan.source.outputs[0]])
    for node, name in plan.passes:
        flow = get_op(node.op).channels
        if flow is Channels.DEPTHWISE:
            _drop_outputs(graph, node, removed[node.outputs[0]])
        elif flow is Channels.CONST_OPERAND:
            _slice_operand(graph, node, name, removed[name])
    for terminal in plan.terminals:
        _drop_inputs(graph, terminal)
    for name, channels in removed.items():
        _shrink(graph.tensors[name], channels)
    for node, _ in plan.passes:
        if get_op(node.op).alias:  # RESHAPE: its shape attribute follows the output
            node.attrs["shape"] = graph.tensors[node.outputs[0]].shape


def _shrink(tensor: Tensor, channels: list[int]) -> None:
    """Drop ``channels`` of the last axis of an activation tensor."""
    tensor.shape = tensor.shape[:-1] + (tensor.shape[-1] - len(channels),)
    tensor.quant = _slice_quant(tensor.quant, len(tensor.shape) - 1, channels)


def _slice_quant(q: QuantParams | None, axis: int, channels: list[int]) -> QuantParams | None:
    if q is None or q.per_tensor or q.axis != axis:
        return q
    return QuantParams(np.delete(q.scale, channels), np.delete(q.zero_point, channels), q.axis)


def _new_const(graph: Graph, old: str, data: np.ndarray, quant) -> str:
    return add_constant(graph, f"{old}_pruned", data, quant)


def _drop_outputs(graph: Graph, layer: Node, channels: list[int]) -> None:
    """Remove output ``channels`` of a layer: its filters, bias entries and their scales."""
    axis = get_op(layer.op).weight_axis
    w = graph.tensors[layer.inputs[1]]
    layer.inputs[1] = _new_const(graph, w.name, np.delete(w.data, channels, axis),
                                 _slice_quant(w.quant, axis, channels))
    if len(layer.inputs) > 2 and layer.inputs[2]:
        b = graph.tensors[layer.inputs[2]]
        layer.inputs[2] = _new_const(graph, b.name, np.delete(b.data, channels),
                                     _slice_quant(b.quant, 0, channels))


def _slice_operand(graph: Graph, node: Node, name: str, channels: list[int]) -> None:
    """Remove ``channels`` from the per-channel constant of an ADD / SUB / MUL."""
    slot = 1 - node.inputs.index(name)
    const = graph.tensors[node.inputs[slot]]
    if const.shape[-1:] == graph.tensors[name].shape[-1:]:
        node.inputs[slot] = _new_const(graph, const.name, np.delete(const.data, channels, -1),
                                       _slice_quant(const.quant, len(const.shape) - 1, channels))


def _drop_inputs(graph: Graph, terminal: Terminal) -> None:
    """Remove input channels of a CONV_2D / FULLY_CONNECTED and fold what they added."""
    node = terminal.node
    w = graph.tensors[node.inputs[1]]
    node.inputs[1] = _new_const(graph, w.name, np.delete(w.data, terminal.channels, -1), w.quant)
    if terminal.bias_delta is None:
        return
    bias = _bias(graph, node)
    total = bias.data.astype(terminal.bias_delta.dtype) + terminal.bias_delta
    node.inputs[2] = _new_const(graph, bias.name, total.astype(bias.dtype), bias.quant)


def _bias(graph: Graph, node: Node) -> Tensor:
    """The node's bias, added as zeros (int32 scaled ``s_x * s_w`` for int8) when absent."""
    if len(node.inputs) > 2 and node.inputs[2]:
        return graph.tensors[node.inputs[2]]
    x, w = graph.tensors[node.inputs[0]], graph.tensors[node.inputs[1]]
    outputs = w.shape[0]
    quant = None
    if x.dtype == "int8":
        quant = QuantParams(np.float32(x.quant.s) * w.quant.scale, np.zeros(w.quant.scale.size),
                            None if w.quant.per_tensor else 0)
    dtype = np.int32 if x.dtype == "int8" else np.float32
    name = add_constant(graph, f"{node.name}_bias", np.zeros(outputs, dtype), quant)
    node.inputs = node.inputs[:2] + [name]
    return graph.tensors[name]
