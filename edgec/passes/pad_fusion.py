"""Fuse a PAD into the explicit ``pads`` of the CONV_2D, DEPTHWISE_CONV_2D or pool reading it.

The PAD must pad only H and W of an NHWC tensor, keep its input's dtype and quantization, and
be read by that one node (as its data input). Window ops skip padded taps, so the rule is that
a skipped tap must contribute what the PAD's value contributed:
- CONV_2D / DEPTHWISE_CONV_2D: the value is 0.0 (float) or the input zero point (int8), the
  value a skipped tap stands for;
- MAX_POOL_2D: the value is -inf (float) or -128 (int8), which never wins a maximum, and an
  all-padding window yields that same value either way;
- AVERAGE_POOL_2D (and any pool or value otherwise): only when no window of the pool reads a
  padded element at all, since the average divides by the number of taps it did not skip.
  Then the PAD is dead weight and dropping it is exact whatever its value.
"""

from __future__ import annotations

import numpy as np

from edgec.ir.graph import Graph, Node, Tensor
from edgec.ir.ops._window import patches
from edgec.passes.rewrite import only_reader

WINDOW_OPS = ("CONV_2D", "DEPTHWISE_CONV_2D", "MAX_POOL_2D", "AVERAGE_POOL_2D")


def fuse_pads(graph: Graph) -> Graph:
    """Return a copy of ``graph`` with every foldable PAD moved into its reader's pads."""
    result = graph.copy()
    while (match := _find(result)) is not None:
        pad, reader, (top, bottom), (left, right) = match
        t, l, b, r = reader.attrs["pads"]
        reader.attrs["pads"] = (t + top, l + left, b + bottom, r + right)
        reader.inputs[0] = pad.inputs[0]
        result.nodes.remove(pad)
    result.remove_unused_tensors()
    return result


def _find(graph: Graph):
    """The first ``(pad, reader, (top, bottom), (left, right))`` to fuse, or None."""
    consumers = graph.consumers()
    for pad in graph.nodes:
        if pad.op != "PAD":
            continue
        x, y = graph.tensors[pad.inputs[0]], graph.tensors[pad.outputs[0]]
        reader = only_reader(graph, pad.outputs[0], consumers)
        pads = [tuple(int(v) for v in p) for p in pad.attrs["pads"]]
        if reader is None or reader.op not in WINDOW_OPS or reader.inputs[0] != y.name \
                or len(x.shape) != 4 or pads[0] != (0, 0) or pads[3] != (0, 0) \
                or x.dtype != y.dtype or x.quant != y.quant:
            continue
        if _exact(graph, pad, reader, y, pads):
            return pad, reader, pads[1], pads[2]
    return None


def _exact(graph: Graph, pad: Node, reader: Node, y: Tensor, pads) -> bool:
    value = _pad_value(pad, y)
    if reader.op in ("CONV_2D", "DEPTHWISE_CONV_2D") and value == _skipped_value(y):
        return True
    if reader.op == "MAX_POOL_2D" and value == (-np.inf if y.dtype == "float32" else -128):
        return True
    return not _reads_padding(reader, y.shape, pads)


def _pad_value(pad: Node, y: Tensor):
    value = pad.attrs["value"]
    if value is None:
        return y.quant.zp if y.quant is not None else 0.0
    return value


def _skipped_value(y: Tensor):
    """The stored value a convolution's skipped tap stands for."""
    return y.quant.zp if y.dtype == "int8" and y.quant is not None else 0.0


def _reads_padding(reader: Node, padded_shape, pads) -> bool:
    """Whether any window of ``reader`` (a pool) touches an element the PAD added."""
    if reader.op not in ("MAX_POOL_2D", "AVERAGE_POOL_2D"):
        return True
    (top, bottom), (left, right) = pads[1], pads[2]
    _, h, w, _ = padded_shape
    added = np.ones((1, h, w, 1), np.int8)
    added[:, top:h - bottom, left:w - right, :] = 0
    a = reader.attrs
    windows = patches(added, a["filter"], a["strides"], (1, 1),
                      a["pads"], 0)
    return bool(windows.any())
