"""Where the constant output channels of a layer go: the analysis behind
``remove_dead_channels``.

A filter of CONV_2D or FULLY_CONNECTED whose weights are all zero makes an output channel that
holds one value everywhere (its activation of its bias), whatever the input. (A
DEPTHWISE_CONV_2D is no source: its output channel ``c * M + m`` belongs to input channel
``c``, so its channels go only together with that input channel, when it is traced through.)

``trace`` follows such channels forward through the nodes that keep channels apart and
decides, channel by channel, whether every reader can do without them:

- channelwise nodes (unary activations, QUANTIZE / DEQUANTIZE, pools, PAD, MEAN, RESHAPE and
  TRANSPOSE that keep the last axis, space/batch moves, ADD / SUB / MUL with a constant,
  CONCATENATION on the last axis at an offset, DEPTHWISE_CONV_2D for its ``M`` outputs): the
  node's own kernel runs once on a probe input holding the constants; an output channel that
  comes out uniform carries its new constant on, one that does not (e.g. a padded depthwise or
  PAD whose border differs from the constant) keeps its source channel;
- CONV_2D and FULLY_CONNECTED reading the channel end it. A channel whose value is the
  reader's "nothing" (0.0 in float, the input zero point in int8) adds nothing and simply goes.
  Any other constant ``v`` adds ``(v - zp) * sum(w)`` to every output, folded into the bias:
  exact in int8 (integer sums) and within float rounding in float32, but only when every
  output position sees every tap, i.e. FULLY_CONNECTED or an unpadded CONV_2D; a padded
  CONV_2D skips border taps, so the channel is kept;
- anything else (a graph output, SOFTMAX, a non-constant second operand, a node reading two
  traced tensors) keeps the channel.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from edgec.ir.graph import Graph, Node, Tensor
from edgec.ir.registry import Channels, get_op
from edgec.passes.rewrite import run_node

_INT32 = (-(1 << 31), (1 << 31) - 1)


def is_source(node: Node, graph: Graph) -> bool:
    """Whether ``node`` is a layer whose all-zero filters start a trace (``Channels.LAYER``);
    a grouped CONV_2D is not (dropping a filter would break its groups)."""
    if get_op(node.op).channels is not Channels.LAYER:
        return False
    if node.op == "CONV_2D" and node.inputs[1] in graph.tensors:
        return graph.tensors[node.inputs[1]].shape[3] == graph.tensors[node.inputs[0]].shape[3]
    return True

Dead = dict[int, tuple[int, object]]  # channel -> (source channel, constant stored value)


@dataclass
class Terminal:
    """A CONV_2D / FULLY_CONNECTED that loses input ``channels``; ``bias_delta`` (one entry per
    output, int64 or float64) is what the removed constants contributed, None when nothing."""

    node: Node
    channels: list[int]
    bias_delta: np.ndarray | None


@dataclass
class Plan:
    """How to remove channels of ``source``: the channels leaving each tensor (last axis),
    the channelwise nodes passed (with the tensor they read) and the readers that end it."""

    source: Node
    removed: dict[str, list[int]] = field(default_factory=dict)
    passes: list[tuple[Node, str]] = field(default_factory=list)
    terminals: list[Terminal] = field(default_factory=list)


def dead_filters(graph: Graph, layer: Node) -> list[int]:
    """Output channels of ``layer`` whose filter is all zero (int8 per-tensor FULLY_CONNECTED:
    all equal to the weight zero point, which its kernel subtracts)."""
    if any(i and not graph.tensors[i].is_const for i in layer.inputs[1:]):
        return []
    w = _effective_weights(graph, layer)
    axis = get_op(layer.op).weight_axis
    rows = np.moveaxis(w, axis, 0).reshape(w.shape[axis], -1)
    return [c for c in range(rows.shape[0]) if not rows[c].any()]


def trace(graph: Graph, source: Node, channels) -> Plan | None:
    """The plan removing the largest subset of ``channels`` (all with zero filters) of
    ``source`` that every reader allows, or None when no channel can go."""
    channels = set(channels)
    while channels:
        plan, rejected = _attempt(graph, source, channels)
        if not rejected:
            return plan
        channels -= rejected
    return None


def _attempt(graph: Graph, source: Node, channels: set[int]) -> tuple[Plan, set[int]]:
    """Follow ``channels`` everywhere; return the plan and the source channels refused."""
    consumers = graph.consumers()
    values = _source_values(graph, source)
    plan, rejected, reached = Plan(source), set(), {}
    work = [(source.outputs[0], {c: (c, values[c]) for c in sorted(channels)})]
    while work:
        name, dead = work.pop(0)
        plan.removed[name] = sorted(dead)
        sources = {s for s, _ in dead.values()}
        if name in graph.outputs:
            rejected |= sources
        for node in consumers.get(name, []):
            if id(node) in reached or node.inputs.count(name) != 1:
                rejected |= sources | reached.get(id(node), set())
                continue
            reached[id(node)] = sources
            out_dead, refused = _follow(graph, node, name, dead, plan)
            rejected |= refused
            if out_dead:
                plan.passes.append((node, name))
                work.append((node.outputs[0], out_dead))
    return plan, rejected


def _follow(graph: Graph, node: Node, name: str, dead: Dead, plan: Plan):
    """``(dead channels of node's output or None, refused sources)``; records terminals."""
    everything = {s for s, _ in dead.values()}
    if is_source(node, graph):
        terminal, refused = _terminal(graph, node, name, dead)
        if terminal is None:
            return None, everything
        plan.terminals.append(terminal)
        return None, refused
    mapping = _channel_map(graph, node, name)
    if mapping is None:
        return None, everything
    return _through(graph, node, name, dead, mapping)


def _channel_map(graph: Graph, node: Node, name: str):
    """``channel -> output channels`` of a channelwise ``node`` reading ``name``, or None."""
    if len(node.outputs) != 1:
        return None
    x, y = graph.tensors[name], graph.tensors[node.outputs[0]]
    rank, slot = len(x.shape), node.inputs.index(name)
    flow = get_op(node.op).channels
    if flow is Channels.DEPTHWISE and slot == 0:
        m = int(node.attrs["depth_multiplier"])
        return lambda c: range(c * m, c * m + m)
    if flow is Channels.CONCAT and int(node.attrs["axis"]) % rank == rank - 1:
        offset = sum(graph.tensors[i].shape[-1] for i in node.inputs[:slot])
        return lambda c: [offset + c]
    if y.shape[-1:] != x.shape[-1:] or not _keeps_channels(graph, node, x, slot):
        return None
    return lambda c: [c]


def _keeps_channels(graph: Graph, node: Node, x: Tensor, slot: int) -> bool:
    op = get_op(node.op)
    if op.channels is Channels.SAME:
        return slot == 0 and (op.keeps_channels is None or op.keeps_channels(node, len(x.shape)))
    if op.channels is Channels.CONST_OPERAND:
        other = graph.tensors[node.inputs[1 - slot]]
        return other.is_const and other.shape[-1:] in ((), (1,), x.shape[-1:])
    return False


def _through(graph: Graph, node: Node, name: str, dead: Dead, mapping):
    """Run ``node`` on a probe; keep the output channels that come out uniform."""
    out = run_node(graph, node, [_probe(graph, i, name, dead) for i in node.inputs])[0]
    out_dead, refused = {}, set()
    for c, (source, _) in dead.items():
        for k in mapping(c):
            column = out[..., k]
            first = column.reshape(-1)[0]
            if np.all(column == first):
                out_dead[k] = (source, first.item())
            else:
                refused.add(source)
    return out_dead, refused


def _probe(graph: Graph, name: str, traced: str, dead: Dead):
    """The value fed to one input: constants as they are, the traced tensor with its dead
    channels set and anything else (which dead channels never depend on) a filler."""
    if not name:
        return None
    t = graph.tensors[name]
    if t.is_const:
        return t.data
    array = np.full(t.shape, _nothing(t), t.dtype)
    if name == traced:
        for c, (_, value) in dead.items():
            array[..., c] = value
    return array


def _nothing(t: Tensor):
    """The stored value meaning 0: the zero point of an int8 tensor, else 0."""
    return t.quant.zp if t.dtype == "int8" and t.quant is not None else 0


def _terminal(graph: Graph, node: Node, name: str, dead: Dead):
    """``(Terminal or None when the node cannot drop input channels, refused sources)``."""
    x, w = graph.tensors[name], graph.tensors[node.inputs[1]]
    if node.inputs[0] != name or x.dtype not in ("int8", "float32") or not w.is_const \
            or w.shape[-1] != x.shape[-1]:
        return None, set()
    zero = _nothing(x)
    padded = node.op == "CONV_2D" and any(node.attrs["pads"])
    weights = _effective_weights(graph, node)
    per_input = weights.sum(axis=(1, 2)) if node.op == "CONV_2D" else weights  # [O, I]
    delta = np.zeros(per_input.shape[0], per_input.dtype)
    refused, folded = set(), set()
    for c, (source, value) in dead.items():
        if value == zero:
            continue
        if padded:
            refused.add(source)
            continue
        delta = delta + (value - zero) * per_input[:, c]
        folded.add(source)
    if folded and x.dtype == "int8" and not _fits_int32(graph, node, delta):
        refused |= folded
    has_delta = bool(folded - refused)
    return Terminal(node, sorted(dead), delta if has_delta else None), refused


def _fits_int32(graph: Graph, node: Node, delta: np.ndarray) -> bool:
    bias = graph.tensors[node.inputs[2]].data if len(node.inputs) > 2 and node.inputs[2] else 0
    total = np.asarray(bias, np.int64) + delta
    return bool(np.all((total >= _INT32[0]) & (total <= _INT32[1])))


def _effective_weights(graph: Graph, layer: Node) -> np.ndarray:
    """The weights as the kernel multiplies them: int64 (minus the per-tensor FULLY_CONNECTED
    weight zero point) or float64."""
    w = graph.tensors[layer.inputs[1]]
    if w.dtype != "int8":
        return w.data.astype(np.float64)
    offset = w.quant.zp if layer.op == "FULLY_CONNECTED" and w.quant.per_tensor else 0
    return w.data.astype(np.int64) - offset


def _source_values(graph: Graph, source: Node) -> dict[int, object]:
    """Every output channel's value at the first position; exact for the dead ones, which
    are the same everywhere whatever the input."""
    arrays = [_probe(graph, i, "", {}) for i in source.inputs]
    out = run_node(graph, source, arrays)[0]
    first = out.reshape(-1, out.shape[-1])[0]
    return {c: first[c].item() for c in range(out.shape[-1])}
