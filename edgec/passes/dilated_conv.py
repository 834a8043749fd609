"""Fold SPACE_TO_BATCH_ND -> CONV_2D / DEPTHWISE_CONV_2D -> BATCH_TO_SPACE_ND into one dilated
convolution.

TensorFlow lowers a dilated convolution to a stride-1 convolution applied to the ``d x d``
phases of the padded input (SPACE_TO_BATCH_ND), re-interleaved and cropped afterwards
(BATCH_TO_SPACE_ND). Per spatial dimension, with space-to-batch pads ``(p0, p1)``, conv pads
``(c0, c1)`` and crops ``(r0, r1)``, output ``o`` reads input rows ``o - P + i*d`` with
``P = p0 + c0*d - r0``: exactly a convolution with dilation ``d`` and leading pad ``P``; the
trailing pad follows from the output size. Every padded tap reads the zero point in both forms
(space-to-batch pads with it; convolutions skip padded taps), so the rewrite is exact.
"""

from __future__ import annotations

from edgec.ir.graph import Graph, Node

_CONVS = ("CONV_2D", "DEPTHWISE_CONV_2D")


def fold_dilated_conv(graph: Graph) -> Graph:
    """Return a copy of ``graph`` with every foldable pattern replaced by one convolution."""
    result = graph.copy()
    while True:
        match = _find(result)
        if match is None:
            break
        _rewrite(result, *match)
    result.remove_unused_tensors()
    return result


def _find(graph: Graph):
    """The first (space_to_batch, conv, batch_to_space, pads) that can be folded, or None."""
    consumers = graph.consumers()
    kept = set(graph.outputs)
    for s2b in graph.nodes:
        if s2b.op != "SPACE_TO_BATCH_ND" or s2b.outputs[0] in kept:
            continue
        conv = _only_consumer(consumers, s2b.outputs[0], _CONVS)
        if conv is None or conv.outputs[0] in kept or conv.inputs[0] != s2b.outputs[0]:
            continue
        b2s = _only_consumer(consumers, conv.outputs[0], ("BATCH_TO_SPACE_ND",))
        if b2s is None:
            continue
        pads = _dilated_pads(graph, s2b, conv, b2s)
        if pads is not None:
            return s2b, conv, b2s, pads
    return None


def _only_consumer(consumers, tensor: str, ops) -> Node | None:
    users = consumers.get(tensor, [])
    return users[0] if len(users) == 1 and users[0].op in ops else None


def _dilated_pads(graph: Graph, s2b: Node, conv: Node, b2s: Node):
    """(top, left, bottom, right) of the equivalent dilated convolution, or None if the
    pattern is not a dilated convolution (other strides, mismatched blocks, changed scales)."""
    block = tuple(s2b.attrs["block_shape"])
    if tuple(b2s.attrs["block_shape"]) != block or len(block) != 2:
        return None
    if tuple(conv.attrs["strides"]) != (1, 1) \
            or tuple(conv.attrs["dilations"]) != (1, 1):
        return None
    x, conv_out = graph.tensors[s2b.inputs[0]], graph.tensors[conv.outputs[0]]
    y = graph.tensors[b2s.outputs[0]]
    if conv_out.quant != y.quant or graph.tensors[s2b.outputs[0]].quant != x.quant:
        return None
    kernel = graph.tensors[conv.inputs[1]].shape[1:3]
    c_top, c_left, c_bottom, c_right = conv.attrs["pads"]
    conv_pads = ((c_top, c_bottom), (c_left, c_right))
    leading, trailing = [], []
    for dim in range(2):
        d = block[dim]
        p0 = s2b.attrs["paddings"][dim][0]
        r0 = b2s.attrs["crops"][dim][0]
        lead = p0 + conv_pads[dim][0] * d - r0
        trail = y.shape[1 + dim] - x.shape[1 + dim] - lead + (kernel[dim] - 1) * d
        if lead < 0 or trail < 0:
            return None
        leading.append(lead)
        trailing.append(trail)
    return (leading[0], leading[1], trailing[0], trailing[1])


def _rewrite(graph: Graph, s2b: Node, conv: Node, b2s: Node, pads) -> None:
    attrs = dict(conv.attrs)
    attrs.update(strides=(1, 1), dilations=tuple(s2b.attrs["block_shape"]), pads=pads)
    fused = Node(conv.op, [s2b.inputs[0]] + conv.inputs[1:], list(b2s.outputs), attrs, conv.name)
    at = graph.nodes.index(s2b)
    graph.nodes = [n for n in graph.nodes if n not in (s2b, conv, b2s)]
    graph.nodes.insert(at, fused)
