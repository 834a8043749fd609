"""Remove nodes that compute nothing: identities, mergeable layout chains and dead nodes.

Rewrites, repeated until none applies:
- RESHAPE -> RESHAPE reads through the first one (a RESHAPE only takes its input's size);
  TRANSPOSE -> TRANSPOSE becomes one TRANSPOSE with the composed perm. Both move stored
  values without looking at quantization, so the merge is exact for any dtype.
- A node whose output equals its input is bypassed, when input and output have the same
  shape, dtype and quantization: RESHAPE, TRANSPOSE with the identity perm, PAD with all pads
  zero, CONCATENATION of one input without activation, int8 -> int8 QUANTIZE (a multiplier of
  exactly 1.0 is an exact identity in ``MultiplyByQuantizedMultiplier``).
- DEQUANTIZE -> QUANTIZE back to the int8 input's own quantization is bypassed when the round
  trip returns every one of the 256 int8 codes unchanged (checked with the two kernels).
- Nodes whose outputs nobody reads, and which are no graph output, are removed.
"""

from __future__ import annotations

import numpy as np

from edgec.ir.graph import Graph, Node, Tensor
from edgec.ir.registry import KernelCall, get_op, registered_ops
from edgec.passes.rewrite import bypass, drop_dead_nodes, same_values

# The ops whose identities the pass removes (``OpDef.identity_when``); "DEQUANTIZE" stands
# for the DEQUANTIZE -> QUANTIZE round trip.
IDENTITY_OPS = frozenset([name for name in registered_ops() if get_op(name).identity_when]
                         + ["DEQUANTIZE"])


def remove_identities(graph: Graph) -> Graph:
    """Return a copy of ``graph`` without identity nodes, layout chains and dead nodes."""
    return simplify_in_place(graph.copy())


def simplify_in_place(graph: Graph, ops: frozenset[str] = IDENTITY_OPS) -> Graph:
    """The pass on ``graph`` itself, removing only the identities of ``ops`` (a subset of
    ``IDENTITY_OPS``); layout chains merge and dead nodes go in any case."""
    while merge_layout_chains(graph) | _drop_identities(graph, ops) | drop_dead_nodes(graph):
        pass
    graph.remove_unused_tensors()
    return graph


def merge_layout_chains(graph: Graph) -> bool:
    """Let each RESHAPE (TRANSPOSE) fed by a RESHAPE (TRANSPOSE) read that one's input."""
    producers = graph.producers()
    changed = False
    for node in graph.nodes:
        prod = producers.get(node.inputs[0]) if node.op in ("RESHAPE", "TRANSPOSE") else None
        if prod is None or prod.op != node.op:
            continue
        if node.op == "TRANSPOSE":
            rank = len(graph.tensors[prod.inputs[0]].shape)
            inner = [int(p) % rank for p in prod.attrs["perm"]]
            node.attrs["perm"] = tuple(inner[int(p) % rank] for p in node.attrs["perm"])
        node.inputs[0] = prod.inputs[0]
        changed = True
    return changed


def _drop_identities(graph: Graph, ops: frozenset[str]) -> bool:
    producers = graph.producers()
    for node in graph.nodes:
        source = _identity_source(graph, node, producers, ops)
        if source is not None and bypass(graph, node, source):
            return True
    return False


def _identity_source(graph: Graph, node: Node, producers, ops: frozenset[str]) -> str | None:
    """The tensor whose values ``node``'s output repeats exactly, or None."""
    if not node.inputs or not node.inputs[0] or len(node.outputs) != 1:
        return None
    src, dst = graph.tensors[node.inputs[0]], graph.tensors[node.outputs[0]]
    if node.op == "QUANTIZE" and src.dtype == "float32":
        return _round_trip_source(graph, node, producers) if "DEQUANTIZE" in ops else None
    if node.op not in ops:
        return None
    if not same_values(src, dst) or not _is_identity_op(node, src):
        return None
    return src.name


def _is_identity_op(node: Node, src: Tensor) -> bool:
    identity_when = get_op(node.op).identity_when
    return identity_when is not None and identity_when(node, len(src.shape))


def _round_trip_source(graph: Graph, quantize: Node, producers) -> str | None:
    """The int8 input of DEQUANTIZE -> ``quantize`` when the pair is the identity."""
    dequantize = producers.get(quantize.inputs[0])
    if dequantize is None or dequantize.op != "DEQUANTIZE":
        return None
    x, y = graph.tensors[dequantize.inputs[0]], graph.tensors[quantize.outputs[0]]
    if not same_values(x, y) or x.dtype != "int8" or not x.quant.per_tensor:
        return None
    codes = np.arange(-128, 128, dtype=np.int8)
    real = _apply(dequantize, codes, x, graph.tensors[dequantize.outputs[0]])
    back = _apply(quantize, real, graph.tensors[quantize.inputs[0]], y)
    return x.name if np.array_equal(back, codes) else None


def _apply(node: Node, values: np.ndarray, src: Tensor, dst: Tensor) -> np.ndarray:
    """``node``'s kernel on a 1-D ``values`` array, with the quantization of src and dst."""
    shape = values.shape
    call = KernelCall(node, [values], [Tensor(src.name, shape, src.dtype, None, src.quant)],
                      [Tensor(dst.name, shape, dst.dtype, None, dst.quant)])
    return get_op(node.op).kernel_for(src.dtype)(call)[0]
