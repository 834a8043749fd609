"""SPACE_TO_BATCH_ND and BATCH_TO_SPACE_ND on NHWC tensors (block over H and W).

SPACE_TO_BATCH_ND pads H and W by ``paddings`` ((top, bottom), (left, right)) and moves each
``block_shape`` phase ``(i, j)`` to batch ``(i * block_w + j) * N + n``. The pad is the
output zero point for quantized tensors (0 otherwise), as in TFLite's reference kernel;
TFLite Micro's kernel leaves padded elements unwritten, so only its in-image elements are a
reference. BATCH_TO_SPACE_ND is the inverse, followed by cropping ``crops``.
"""

from __future__ import annotations

import numpy as np

from edgec.errors import EdgecError
from edgec.ir.graph import KERNEL_KEYS
from edgec.ir.registry import MOVE_DTYPES, REQUIRED, Channels, Ptq, define_op, kernel


def _params(node, key: str) -> tuple[tuple[int, int], tuple[tuple[int, int], tuple[int, int]]]:
    bh, bw = (int(b) for b in node.attrs["block_shape"])
    (t, b), (l, r) = ((int(p[0]), int(p[1])) for p in node.attrs[key])
    if min(bh, bw) < 1 or min(t, b, l, r) < 0:
        raise EdgecError(f"node '{node.name}' ({node.op}): block_shape and {key} must be "
                         "positive / non-negative", "check the model's constant inputs")
    return (bh, bw), ((t, b), (l, r))


def _fail(node, x_shape, why: str) -> None:
    raise EdgecError(f"node '{node.name}' ({node.op}): input {list(x_shape)} {why}",
                     "block_shape must divide the (padded) spatial size or the batch")


def _s2b_shape(node, ins):
    n, h, w, c = ins[0].shape
    (bh, bw), ((t, b), (l, r)) = _params(node, "paddings")
    if (h + t + b) % bh or (w + l + r) % bw:
        _fail(node, ins[0].shape, "padded is not a multiple of block_shape")
    return [(n * bh * bw, (h + t + b) // bh, (w + l + r) // bw, c)]


def _b2s_shape(node, ins):
    n, h, w, c = ins[0].shape
    (bh, bw), ((t, b), (l, r)) = _params(node, "crops")
    if n % (bh * bw) or h * bh <= t + b or w * bw <= l + r:
        _fail(node, ins[0].shape, "does not fit block_shape and crops")
    return [(n // (bh * bw), h * bh - t - b, w * bw - l - r, c)]


define_op("SPACE_TO_BATCH_ND", attrs={"block_shape": REQUIRED, "paddings": REQUIRED},
          infer_shapes=_s2b_shape, doc="pad H, W and move spatial blocks into the batch",
          dtypes=MOVE_DTYPES, channels=Channels.SAME, ptq=Ptq.SAME_AS_INPUT)
define_op("BATCH_TO_SPACE_ND", attrs={"block_shape": REQUIRED, "crops": REQUIRED},
          infer_shapes=_b2s_shape, doc="move batch blocks back into H, W, then crop",
          dtypes=MOVE_DTYPES, channels=Channels.SAME, ptq=Ptq.SAME_AS_INPUT)


@kernel("SPACE_TO_BATCH_ND", *KERNEL_KEYS)
def space_to_batch_nd(call):
    x = call.inputs[0]
    (bh, bw), ((t, b), (l, r)) = _params(call.node, "paddings")
    out_q = call.out_q()
    fill = out_q.zp if out_q is not None else 0
    xp = np.pad(x, ((0, 0), (t, b), (l, r), (0, 0)), constant_values=np.asarray(fill, x.dtype))
    n, hp, wp, c = xp.shape
    blocks = xp.reshape(n, hp // bh, bh, wp // bw, bw, c).transpose(2, 4, 0, 1, 3, 5)
    return [np.ascontiguousarray(blocks).reshape(call.out_tensors[0].shape)]


@kernel("BATCH_TO_SPACE_ND", *KERNEL_KEYS)
def batch_to_space_nd(call):
    x = call.inputs[0]
    (bh, bw), ((t, _), (l, _)) = _params(call.node, "crops")
    n, h, w, c = x.shape
    full = x.reshape(bh, bw, n // (bh * bw), h, w, c).transpose(2, 3, 0, 4, 1, 5)
    full = full.reshape(n // (bh * bw), h * bh, w * bw, c)
    oh, ow = call.out_tensors[0].shape[1:3]
    return [np.ascontiguousarray(full[:, t:t + oh, l:l + ow, :])]
