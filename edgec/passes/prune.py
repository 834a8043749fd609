"""Structured (filter) pruning of CONV_2D and FULLY_CONNECTED by L1 norm, followed by
``remove_dead_channels`` (depthwise channels go with the channel feeding them).

Only filters that ``remove_dead_channels`` can then delete are candidates: for each layer, a
trial copy with all its filters zeroed (weights and bias) is traced, and the channels the
trace lets go are that layer's candidates. Zeroing a filter that would stay (one feeding a
residual ADD, a graph output, a padded reader of a non-zero constant) would cost accuracy and
save nothing. A pruned filter loses its weights and its bias, so its channel is the "nothing"
value of its readers wherever it can be.

Ranking: per layer, the L1 norm of each filter in real units (int8: ``|w - zp| * scale``);
across layers (``scope="global"``) the mean absolute weight (L1 over the filter's size), so
layers of different fan-in compare. ``ratio`` of the filters are zeroed: ``floor(ratio * n)``
per layer, or of all candidate layers' filters together; every layer keeps at least one.
"""

from __future__ import annotations

import numpy as np

from edgec.errors import EdgecError
from edgec.ir.graph import Graph, Node
from edgec.ir.registry import get_op
from edgec.passes.channel_trace import is_source, trace
from edgec.passes.dead_channels import remove_dead_channels
from edgec.passes.rewrite import add_constant

SCOPES = ("layer", "global")


def prune_structured(graph: Graph, ratio: float, scope: str = "layer") -> Graph:
    """Return a copy of ``graph`` with the smallest ``ratio`` of removable filters zeroed and
    removed (per layer or globally, see the module docstring)."""
    if not 0.0 < ratio < 1.0:
        raise EdgecError(f"pruning ratio {ratio:g} is outside (0, 1)",
                         "give the fraction of filters to remove, e.g. 0.25")
    if scope not in SCOPES:
        raise EdgecError(f"unknown pruning scope '{scope}'", f"use one of: {', '.join(SCOPES)}")
    result = graph.copy()
    candidates = {k: prunable_filters(result, k) for k, node in enumerate(result.nodes)
                  if is_source(node, result)}
    chosen = _per_layer(result, candidates, ratio) if scope == "layer" \
        else _global(result, candidates, ratio)
    for index, channels in chosen.items():
        zero_filters(result, result.nodes[index], channels)
    return remove_dead_channels(result)


def prunable_filters(graph: Graph, index: int) -> list[int]:
    """The output channels of layer ``graph.nodes[index]`` that ``remove_dead_channels``
    would remove once their filters (weights and bias) are zero."""
    trial = graph.copy()
    layer = trial.nodes[index]
    channels = list(range(trial.tensors[layer.outputs[0]].shape[-1]))
    zero_filters(trial, layer, channels)
    plan = trace(trial, layer, channels)
    return plan.removed[layer.outputs[0]] if plan is not None else []


def zero_filters(graph: Graph, layer: Node, channels: list[int]) -> None:
    """Set the weights and bias of ``channels`` of ``layer`` to zero, in place (as new
    constants). Zero means what the kernel reads as zero: the weight zero point for int8
    FULLY_CONNECTED with one weight scale."""
    w = graph.tensors[layer.inputs[1]]
    data = w.data.copy()
    index = [slice(None)] * data.ndim
    index[get_op(layer.op).weight_axis] = channels
    data[tuple(index)] = _weight_zero(layer, w)
    layer.inputs[1] = add_constant(graph, f"{w.name}_pruned", data, w.quant)
    if len(layer.inputs) > 2 and layer.inputs[2]:
        b = graph.tensors[layer.inputs[2]]
        bias = b.data.copy()
        bias[channels] = 0
        layer.inputs[2] = add_constant(graph, f"{b.name}_pruned", bias, b.quant)


def filter_l1(graph: Graph, layer: Node) -> np.ndarray:
    """The L1 norm of each output filter of ``layer`` in real (dequantized) units."""
    w = graph.tensors[layer.inputs[1]]
    axis = get_op(layer.op).weight_axis
    values = np.abs(w.data.astype(np.float64) - _weight_zero(layer, w))
    if w.quant is not None:
        scale = w.quant.scale.astype(np.float64)
        shape = [1] * values.ndim
        shape[w.quant.axis if not w.quant.per_tensor else 0] = -1
        values = values * scale.reshape(shape)
    return np.moveaxis(values, axis, 0).reshape(values.shape[axis], -1).sum(axis=1)


def _weight_zero(layer: Node, w) -> int:
    per_tensor_fc = layer.op == "FULLY_CONNECTED" and w.quant is not None and w.quant.per_tensor
    return int(w.quant.zp) if per_tensor_fc else 0


def _per_layer(graph: Graph, candidates: dict[int, list[int]], ratio: float):
    chosen = {}
    for index, channels in candidates.items():
        norms = filter_l1(graph, graph.nodes[index])
        count = min(int(ratio * len(norms)), len(norms) - 1, len(channels))
        if count > 0:
            chosen[index] = sorted(sorted(channels, key=lambda c: (norms[c], c))[:count])
    return chosen


def _global(graph: Graph, candidates: dict[int, list[int]], ratio: float):
    ranked, total = [], 0
    for index, channels in candidates.items():
        if not channels:
            continue
        layer = graph.nodes[index]
        norms = filter_l1(graph, layer)
        size = graph.tensors[layer.inputs[1]].size // len(norms)
        total += len(norms)
        ranked += [(norms[c] / size, index, c) for c in channels]
    chosen: dict[int, list[int]] = {}
    budget = int(ratio * total)
    for _, index, channel in sorted(ranked):
        if budget == 0:
            break
        outputs = graph.tensors[graph.nodes[index].outputs[0]].shape[-1]
        if len(chosen.get(index, [])) < outputs - 1:
            chosen.setdefault(index, []).append(channel)
            budget -= 1
    return {index: sorted(channels) for index, channels in chosen.items()}
