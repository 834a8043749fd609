"""MIRROR_PAD: padding of any rank and dtype by values of the input itself.

``mode`` REFLECT mirrors about the edge element (``[a b c]`` padded by 2 on the left gives
``c b | a b c``), SYMMETRIC about the edge (``b a | a b c``), EDGE repeats the edge element
(``a a | a b c``; ONNX ``Pad`` mode ``edge``, not a TFLite mode), WRAP continues periodically
(``b c | a b c``; ONNX ``Pad`` mode ``wrap``, not a TFLite mode). A pad may reach at most
``n - 1`` (REFLECT) or ``n`` (SYMMETRIC) elements beyond the edge, as TFLite and ONNX allow;
EDGE and WRAP any number. Values move, nothing is rescaled: int8 output shares the input's
quantization (TFLM's ``mirror_pad`` copies codes).
"""

from __future__ import annotations

import numpy as np

from edgec.errors import EdgecError
from edgec.ir.graph import KERNEL_KEYS
from edgec.ir.registry import MOVE_DTYPES, REQUIRED, Channels, Ptq, define_op, kernel

MODES = {"REFLECT": "reflect", "SYMMETRIC": "symmetric", "EDGE": "edge",
         "WRAP": "wrap"}  # -> numpy's name


def pads_of(node, shape) -> list[tuple[int, int]]:
    """The node's (before, after) pairs, checked against the input ``shape`` and mode."""
    pads = [tuple(int(v) for v in p) for p in node.attrs["pads"]]
    mode = node.attrs["mode"]
    if mode not in MODES:
        raise EdgecError(f"node '{node.name}' (MIRROR_PAD) has mode {mode!r}",
                         f"modes: {', '.join(MODES)}")
    if len(pads) != len(shape) or any(len(p) != 2 or min(p) < 0 for p in pads):
        raise EdgecError(f"node '{node.name}' (MIRROR_PAD): pads {node.attrs['pads']} do not "
                         f"fit a rank-{len(shape)} input",
                         "give one non-negative (before, after) pair per dimension")
    for n, pair in zip(shape, pads):
        reach = {"REFLECT": n - 1, "SYMMETRIC": n}.get(mode)
        if max(pair) > 0 and (n == 0 or (reach is not None and max(pair) > reach)):
            raise EdgecError(f"node '{node.name}' (MIRROR_PAD): pad {max(pair)} on a dimension "
                             f"of {n} in mode {mode}",
                             "REFLECT pads at most n - 1, SYMMETRIC at most n elements")
    return pads


def _shape(node, ins):
    x = ins[0]
    return [tuple(d + b + a for d, (b, a) in zip(x.shape, pads_of(node, x.shape)))]


define_op("MIRROR_PAD", attrs={"pads": REQUIRED, "mode": "REFLECT"}, infer_shapes=_shape,
          doc="padding by mirrored (REFLECT, SYMMETRIC), repeated (EDGE) or periodic (WRAP) "
          "input values",
          dtypes=MOVE_DTYPES, ptq=Ptq.SAME_AS_INPUT, channels=Channels.SAME,
          keeps_channels=lambda node, rank: tuple(node.attrs["pads"][-1]) == (0, 0))


def source_index(i: int, n: int, mode: str) -> int:
    """The input index that output position ``i`` (relative to the input's start) copies."""
    if mode == "WRAP":
        return i % n
    if i < 0:
        return {"REFLECT": -i, "SYMMETRIC": -i - 1, "EDGE": 0}[mode]
    if i >= n:
        return {"REFLECT": 2 * n - 2 - i, "SYMMETRIC": 2 * n - 1 - i, "EDGE": n - 1}[mode]
    return i


@kernel("MIRROR_PAD", *KERNEL_KEYS)
def mirror_pad_any(call):
    x = call.inputs[0]
    pads = pads_of(call.node, x.shape)
    return [np.pad(x, pads, mode=MODES[call.attrs["mode"]])]
