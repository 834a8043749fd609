"""Fuse a RELU or RELU6 node into the op that produces its input, as that op's ``activation``.

The producer is any op with an ``activation`` attribute (CONV_2D, DEPTHWISE_CONV_2D,
FULLY_CONNECTED, ADD, SUB, MUL, the pools, CONCATENATION) whose output only the activation
reads. A fused activation and a following clamp compose to the clamp to the intersection of
their ranges, which must itself be a fused activation (NONE, RELU, RELU6 or RELU_N1_TO_1).
(The IR has no MINIMUM / MAXIMUM ops, so clamps written with them are not matched.)

- float32: exact; both are the same float comparisons.
- int8, the rule: the activation node's input and output quantization must be equal
  (per-tensor). Then RELU is ``clamp(x, max(-128, zp), 127)`` (TFLM requantizes by a
  multiplier of exactly 1.0, an identity) and RELU6 is TFLM's clamp to
  ``[zp, zp + round(6 / s)]``: exactly ``CalculateActivationRangeQuantized`` of the fused
  activation in that quantization. With different quantizations the activation node
  requantizes, which a fused clamp cannot reproduce bit for bit, so it is left alone.
"""

from __future__ import annotations

from edgec.ir.graph import Graph, Node, Tensor
from edgec.ir.ops.relu import relu6_bounds, relu_params
from edgec.ir.quant import FLOAT_ACTIVATIONS, activation_range
from edgec.ir.registry import get_op
from edgec.passes.rewrite import only_reader

ACTIVATION_OPS = ("RELU", "RELU6")


def fuse_activations(graph: Graph) -> Graph:
    """Return a copy of ``graph`` with RELU / RELU6 nodes fused into their producers."""
    result = graph.copy()
    while (match := _find(result)) is not None:
        producer, activation_node, fused = match
        producer.attrs["activation"] = fused
        producer.outputs = list(activation_node.outputs)
        result.nodes.remove(activation_node)
    result.remove_unused_tensors()
    return result


def _find(graph: Graph):
    """The first ``(producer, activation node, fused activation)`` to rewrite, or None."""
    producers, consumers = graph.producers(), graph.consumers()
    for node in graph.nodes:
        if node.op not in ACTIVATION_OPS:
            continue
        producer = producers.get(node.inputs[0])
        if producer is None or "activation" not in get_op(producer.op).attrs \
                or len(producer.outputs) != 1 \
                or only_reader(graph, node.inputs[0], consumers) is not node:
            continue
        fused = _combined(producer.attrs["activation"], node,
                          graph.tensors[node.inputs[0]], graph.tensors[node.outputs[0]])
        if fused is not None:
            return producer, node, fused
    return None


def _combined(current: str, node: Node, x: Tensor, y: Tensor) -> str | None:
    """The fused activation equal to ``current`` followed by ``node``, or None."""
    if x.dtype == "float32" and y.dtype == "float32":
        return _matching(FLOAT_ACTIVATIONS[current], FLOAT_ACTIVATIONS[node.op], node.op,
                         lambda act: FLOAT_ACTIVATIONS[act])
    if x.dtype != "int8" or y.dtype != "int8" or x.quant is None or x.quant != y.quant \
            or not x.quant.per_tensor:
        return None
    s, zp = x.quant.s, x.quant.zp
    clamp = (relu_params(x.quant, y.quant)[2], 127) if node.op == "RELU" else relu6_bounds(x.quant)
    return _matching(activation_range(current, s, zp), clamp, node.op,
                     lambda act: activation_range(act, s, zp))


def _matching(first, second, preferred: str, range_of) -> str | None:
    """The activation whose range is the intersection of two clamp ranges, or None. Where
    several match (RELU6 is RELU when 6 is beyond int8's range), ``preferred`` wins."""
    wanted = (max(first[0], second[0]), min(first[1], second[1]))
    for act in [preferred, *FLOAT_ACTIVATIONS]:
        if tuple(range_of(act)) == wanted:
            return act
    return None
