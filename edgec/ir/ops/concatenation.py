"""CONCATENATION: join inputs along ``axis`` (negative counts from the end).

int8 is pure data movement, as in TFLite Micro, which requires every input to share the
output's scale and zero point (an input that differs is an error here too: requantize it with
a QUANTIZE node first). The fused activation clamps the result.
"""

from __future__ import annotations

import numpy as np

from edgec.errors import EdgecError
from edgec.ir.graph import KERNEL_KEYS
from edgec.ir.quant import activation_range, apply_float_activation
from edgec.ir.registry import MOVE_DTYPES, REQUIRED, Channels, Ptq, define_op, kernel


def _axis(node, rank: int) -> int:
    axis = int(node.attrs["axis"])
    if not -rank <= axis < rank:
        raise EdgecError(f"node '{node.name}' (CONCATENATION): axis {axis} is out of range "
                         f"for rank {rank}", f"use an axis in [{-rank}, {rank - 1}]")
    return axis % rank


def _shape(node, ins):
    shapes = [t.shape for t in ins]
    axis = _axis(node, len(shapes[0]))
    rest = {s[:axis] + s[axis + 1:] for s in shapes}
    if len(rest) != 1 or len({len(s) for s in shapes}) != 1:
        raise EdgecError(f"node '{node.name}' (CONCATENATION): input shapes {shapes} differ "
                         f"outside axis {axis}", "only the concatenated axis may differ")
    first = shapes[0]
    return [first[:axis] + (sum(s[axis] for s in shapes),) + first[axis + 1:]]


def _gathers(node, ins, outs) -> list[int] | None:
    """The byte offset of each input inside the output when each is one contiguous range of
    it (every axis before ``axis`` has one element) and the join moves bytes only (no
    activation, equal quantization); else None."""
    y = outs[0]
    if node.attrs["activation"] != "NONE" or any(t is None or t.is_const for t in ins):
        return None
    if not y.size or y.nbytes % y.size or any(t.quant != y.quant for t in ins):
        return None
    axis = _axis(node, len(y.shape))
    if any(d != 1 for d in y.shape[:axis]):
        return None
    offsets, at = [], 0
    for t in ins:
        offsets.append(at)
        at += t.nbytes
    return offsets


define_op("CONCATENATION", gathers=_gathers, attrs={"axis": REQUIRED, "activation": "NONE"},
          infer_shapes=_shape, doc="join the inputs along axis", dtypes=MOVE_DTYPES,
          channels=Channels.CONCAT, ptq=Ptq.SHARED_INPUTS,
          identity_when=lambda node, rank: len(node.inputs) == 1
          and node.attrs["activation"] == "NONE")


def _joined(call) -> np.ndarray:
    x = call.inputs[0]
    return np.concatenate(call.inputs, axis=_axis(call.node, x.ndim))


@kernel("CONCATENATION", "int8")
def concatenation_int8(call):
    out_q = call.out_q()
    for t in call.in_tensors:
        if (t.quant.s, t.quant.zp) != (out_q.s, out_q.zp):
            raise EdgecError(
                f"node '{call.node.name}' (CONCATENATION): input '{t.name}' is quantized "
                f"{t.quant}, the output {out_q}",
                "int8 concatenation does not rescale; requantize inputs with QUANTIZE first")
    lo, hi = activation_range(call.attrs["activation"], out_q.s, out_q.zp)
    return [np.clip(_joined(call), lo, hi).astype(np.int8)]


@kernel("CONCATENATION", "float32")
def concatenation_float(call):
    return [apply_float_activation(_joined(call), call.attrs["activation"])]


@kernel("CONCATENATION", *(d for d in KERNEL_KEYS if d not in ("int8", "float32")))
def concatenation_any(call):
    if call.attrs["activation"] != "NONE":
        raise EdgecError(f"node '{call.node.name}' (CONCATENATION): a fused activation on "
                         f"{call.in_tensors[0].dtype} data is not supported")
    return [_joined(call)]
