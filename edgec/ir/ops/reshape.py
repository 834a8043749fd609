"""RESHAPE: same elements, new static shape (one dimension may be -1, inferred)."""

from __future__ import annotations

import numpy as np

from edgec.errors import EdgecError
from edgec.ir.graph import KERNEL_KEYS
from edgec.ir.registry import MOVE_DTYPES, REQUIRED, Channels, Ptq, define_op, kernel


def _shape(node, ins):
    x = ins[0]
    shape = [int(d) for d in node.attrs["shape"]]
    known = int(np.prod([d for d in shape if d != -1], dtype=np.int64))
    if shape.count(-1) == 1 and known > 0 and x.size % known == 0:
        shape[shape.index(-1)] = x.size // known
    if any(d <= 0 for d in shape) or int(np.prod(shape, dtype=np.int64)) != x.size:
        raise EdgecError(
            f"node '{node.name}' (RESHAPE): cannot reshape {list(x.shape)} to "
            f"{list(node.attrs['shape'])}",
            "the new shape must hold the same number of elements (at most one -1)")
    return [tuple(shape)]


define_op("RESHAPE", attrs={"shape": REQUIRED}, infer_shapes=_shape,
          doc="reinterpret the elements in a new shape; SQUEEZE / EXPAND_DIMS import as this",
          dtypes=MOVE_DTYPES, alias=True, channels=Channels.SAME, ptq=Ptq.SAME_AS_INPUT,
          identity_when=lambda node, rank: True)


@kernel("RESHAPE", *KERNEL_KEYS)
def reshape_any(call):
    return [call.inputs[0].reshape(call.out_tensors[0].shape)]
