"""PAD: constant padding of any rank and dtype.

``value`` is the raw stored value (an int8 code for int8 tensors). When it is None the pad is
the output zero point for quantized tensors (TFLite's PAD, where the zero point encodes 0.0)
and 0 otherwise; TFLite's PADV2 imports with its constant as ``value``.
"""

from __future__ import annotations

import numpy as np

from edgec.errors import EdgecError
from edgec.ir.graph import KERNEL_KEYS
from edgec.ir.registry import MOVE_DTYPES, REQUIRED, Channels, Ptq, define_op, kernel


def _pads(node, rank: int) -> list[tuple[int, int]]:
    pads = [tuple(int(v) for v in p) for p in node.attrs["pads"]]
    if len(pads) != rank or any(len(p) != 2 or min(p) < 0 for p in pads):
        raise EdgecError(
            f"node '{node.name}' (PAD): pads {node.attrs['pads']} do not fit a rank-{rank} "
            "input", "give one non-negative (before, after) pair per dimension")
    return pads


def _shape(node, ins):
    x = ins[0]
    return [tuple(d + b + a for d, (b, a) in zip(x.shape, _pads(node, len(x.shape))))]


define_op("PAD", attrs={"pads": REQUIRED, "value": None}, infer_shapes=_shape,
          doc="constant padding; value None = output zero point (quantized) or 0",
          dtypes=MOVE_DTYPES, ptq=Ptq.SAME_AS_INPUT, channels=Channels.SAME,
          keeps_channels=lambda node, rank: tuple(node.attrs["pads"][-1]) == (0, 0),
          identity_when=lambda node, rank: all(int(v) == 0 for pair in node.attrs["pads"]
                                               for v in pair))


@kernel("PAD", *KERNEL_KEYS)
def pad_any(call):
    x = call.inputs[0]
    value = call.attrs["value"]
    if value is None:
        out_q = call.out_q()
        value = out_q.zp if out_q is not None else 0
    return [np.pad(x, _pads(call.node, x.ndim), constant_values=np.asarray(value, x.dtype))]
