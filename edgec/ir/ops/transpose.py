"""TRANSPOSE: permute dimensions, ``out.shape[i] = x.shape[perm[i]]``."""

from __future__ import annotations

import numpy as np

from edgec.errors import EdgecError
from edgec.ir.graph import KERNEL_KEYS
from edgec.ir.registry import MOVE_DTYPES, REQUIRED, Channels, Ptq, define_op, kernel


def _perm(node, rank: int) -> tuple[int, ...]:
    perm = tuple(int(p) % rank if -rank <= int(p) < rank else -1 for p in node.attrs["perm"])
    if sorted(perm) != list(range(rank)):
        raise EdgecError(
            f"node '{node.name}' (TRANSPOSE): perm {list(node.attrs['perm'])} is not a "
            f"permutation of the {rank} input dimensions",
            f"give each of 0..{rank - 1} exactly once")
    return perm


def _shape(node, ins):
    x = ins[0]
    return [tuple(x.shape[p] for p in _perm(node, len(x.shape)))]


define_op("TRANSPOSE", attrs={"perm": REQUIRED}, infer_shapes=_shape,
          doc="permute dimensions: out.shape[i] = x.shape[perm[i]]", dtypes=MOVE_DTYPES,
          ptq=Ptq.SAME_AS_INPUT, channels=Channels.SAME,
          keeps_channels=lambda node, rank: int(node.attrs["perm"][-1]) % rank == rank - 1,
          identity_when=lambda node, rank: [int(p) % rank for p in node.attrs["perm"]]
          == list(range(rank)))


@kernel("TRANSPOSE", *KERNEL_KEYS)
def transpose_any(call):
    x = call.inputs[0]
    return [np.ascontiguousarray(np.transpose(x, _perm(call.node, x.ndim)))]
