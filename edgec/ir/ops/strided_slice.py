"""STRIDED_SLICE: elements ``begin[d] + steps[d] * i`` (``i < size[d]``) of every axis ``d``
of a tensor computed at run time; any dtype, values copied (int8 keeps the quantization).

The importers resolve TFLite's masks (begin, end, shrink; ellipsis and new axes are refused),
negative indices and ONNX's clamping into these three per-axis lists; TFLite SLICE, SPLIT,
SPLIT_V and ONNX Slice / Split become STRIDED_SLICE nodes (one per SPLIT output), with a
RESHAPE after where axes shrink.
"""

from __future__ import annotations

import numpy as np

from edgec.errors import EdgecError
from edgec.ir.graph import KERNEL_KEYS
from edgec.ir.registry import MOVE_DTYPES, REQUIRED, Channels, Ptq, define_op, kernel


def slice_plan(node, shape) -> list[tuple[int, int, int]]:
    """``(begin, size, stride)`` per axis, checked against the input ``shape``."""
    a = node.attrs
    plan = [tuple(int(v) for v in t) for t in zip(a["begin"], a["size"], a["steps"])]
    if len(plan) != len(shape) or len(a["begin"]) != len(a["size"]) != len(a["steps"]):
        raise EdgecError(f"node '{node.name}' (STRIDED_SLICE) slices {len(plan)} axes of a "
                         f"rank-{len(shape)} input", "give begin, size and steps per axis")
    for n, (b, size, s) in zip(shape, plan):
        last = b + s * (size - 1)
        if s == 0 or size < 1 or not (0 <= b < n and 0 <= last < n):
            raise EdgecError(f"node '{node.name}' (STRIDED_SLICE): begin {b}, size {size}, "
                             f"stride {s} leave an axis of {n}",
                             "every sliced element must lie inside the input")
    return plan


def _shape(node, ins):
    return [tuple(size for _, size, _ in slice_plan(node, ins[0].shape))]


def _view(node, ins, outs) -> int | None:
    """The byte offset of the output inside input 0 when it is one contiguous range of it:
    every axis before some axis ``d`` takes one element, axis ``d`` a run with step 1, every
    later axis whole (rows of an NHWC tensor with N = 1); else None."""
    x = ins[0]
    if x is None or x.is_const or not x.size or x.nbytes != x.size * (x.nbytes // x.size):
        return None
    plan = slice_plan(node, x.shape)
    strides, step = [], x.nbytes // x.size
    for n in reversed(x.shape):
        strides.insert(0, step)
        step *= n
    axis = 0
    while axis < len(plan) and plan[axis][1] == 1:
        axis += 1
    for d, (n, (b, size, s)) in enumerate(zip(x.shape, plan)):
        if d > axis and (b, size, s) != (0, n, 1) or d == axis and s != 1:
            return None
    return sum(b * st for (b, _, _), st in zip(plan, strides))


define_op("STRIDED_SLICE", view=_view, attrs={"begin": REQUIRED, "size": REQUIRED, "steps": REQUIRED},
          infer_shapes=_shape, dtypes=MOVE_DTYPES, ptq=Ptq.SAME_AS_INPUT,
          channels=Channels.SAME,
          keeps_channels=lambda node, rank: (int(node.attrs["begin"][-1]),
                                             int(node.attrs["strides"][-1])) == (0, 1),
          doc="elements begin + steps * i (i < size) of each axis")


@kernel("STRIDED_SLICE", *KERNEL_KEYS)
def strided_slice_any(call):
    x = call.inputs[0]
    axes = [b + s * np.arange(size) for b, size, s in slice_plan(call.node, x.shape)]
    return [x[np.ix_(*axes)] if axes else x.copy()]
