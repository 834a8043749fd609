"""Fold per-channel MUL / ADD / SUB by constants after a float convolution or dense layer into
its weights and bias (what a BatchNormalization becomes once exported as MUL + ADD).

Pattern: CONV_2D, DEPTHWISE_CONV_2D or FULLY_CONNECTED on float32, activation NONE, whose
output is read only by one MUL, ADD or SUB whose other operand is a constant holding one value
per output channel (shape ``(1, ..., 1, C)``) or one for all (a scalar) and whose output has the
layer's output shape. ``y = s * (x . w + b) + t`` becomes ``x . (s w) + (s b + t)`` and the
elementwise node's activation moves onto the layer. Applied repeatedly, so MUL then ADD both
fold. The result equals the original up to float32 rounding (relative 1e-5); int8 graphs are
left alone, their elementwise ops requantize and cannot be folded exactly.
"""

from __future__ import annotations

import numpy as np

from edgec.ir.graph import Graph, Node
from edgec.ir.registry import get_op
from edgec.passes.rewrite import add_constant, only_reader


def fold_scale_shift(graph: Graph) -> Graph:
    """Return a copy of ``graph`` with per-channel affine constants folded into layers."""
    result = graph.copy()
    while (match := _find(result)) is not None:
        _fold(result, *match)
    result.remove_unused_tensors()
    return result


def _find(graph: Graph):
    """The first ``(layer, elementwise node, scale, shift)`` that folds, or None."""
    consumers = graph.consumers()
    for layer in graph.nodes:
        if get_op(layer.op).weight_axis is None or layer.attrs["activation"] != "NONE" \
                or graph.tensors[layer.inputs[1]].dtype != "float32" \
                or graph.tensors[layer.inputs[0]].dtype != "float32":
            continue
        node = only_reader(graph, layer.outputs[0], consumers)
        affine = _affine(graph, node, layer.outputs[0]) if node is not None else None
        if affine is not None:
            return (layer, node, *affine)
    return None


def _affine(graph: Graph, node: Node, x: str):
    """``(scale, shift)`` per channel with ``node(x) = scale * x + shift``, or None."""
    if node.op not in ("MUL", "ADD", "SUB") or len(node.inputs) != 2:
        return None
    slot = node.inputs.index(x)
    const = graph.tensors[node.inputs[1 - slot]]
    out, xt = graph.tensors[node.outputs[0]], graph.tensors[x]
    channels = xt.shape[-1]
    per_channel = all(d == 1 for d in const.shape[:-1]) \
        and const.shape[-1:] in ((), (1,), (channels,))
    if not const.is_const or const.dtype != "float32" or out.shape != xt.shape \
            or not per_channel or not np.all(np.isfinite(const.data)):
        return None
    c = np.broadcast_to(const.data.reshape(-1).astype(np.float64), (channels,))
    ones, zeros = np.ones(channels), np.zeros(channels)
    if node.op == "MUL":
        return c, zeros
    if node.op == "ADD":
        return ones, c
    return (ones, -c) if slot == 0 else (-ones, c)


def _fold(graph: Graph, layer: Node, node: Node, scale: np.ndarray, shift: np.ndarray) -> None:
    w = graph.tensors[layer.inputs[1]].data.astype(np.float64)
    axis = get_op(layer.op).weight_axis
    shape = [1] * w.ndim
    shape[axis] = -1
    new_w = (w * scale.reshape(shape)).astype(np.float32)
    bias_name = layer.inputs[2] if len(layer.inputs) > 2 else ""
    bias = graph.tensors[bias_name].data.astype(np.float64) if bias_name else 0.0
    new_b = (bias * scale + shift).astype(np.float32)
    layer.inputs = [layer.inputs[0], add_constant(graph, f"{layer.name}_w", new_w),
                    add_constant(graph, f"{layer.name}_b", new_b)]
    layer.attrs["activation"] = node.attrs["activation"]
    layer.outputs = list(node.outputs)
    graph.nodes.remove(node)
