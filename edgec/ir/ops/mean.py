"""MEAN: average over ``axes`` (negative counts from the end, duplicates ignored).

int8 follows TFLite Micro's ``reference_ops::QuantizedMeanOrSum`` (the only int8 MEAN path in
current TFLM, whatever the shapes): the int32 sum over the axes, minus ``input_zp * count``,
scaled by ``input_scale / output_scale`` pre-divided by ``count``
(``edgec.ir.quant.mean_multiplier``), plus the output zero point, clamped to int8 (int16 for
int16 input: the same code in TFLM).
"""

from __future__ import annotations

import numpy as np

from edgec.errors import EdgecError
from edgec.ir.quant import mean_multiplier, multiply_by_quantized_multiplier, wrap32
from edgec.ir.registry import REQUIRED, Channels, define_op, kernel


def reduced_axes(node, rank: int) -> tuple[int, ...]:
    """The node's axes as sorted, distinct, non-negative dimension indices."""
    axes = [int(a) for a in np.atleast_1d(node.attrs["axes"])]
    if any(not -rank <= a < rank for a in axes):
        raise EdgecError(f"node '{node.name}' ({node.op}): axes {axes} are out of range for "
                         f"rank {rank}", f"use axes in [{-rank}, {rank - 1}]")
    return tuple(sorted({a % rank for a in axes}))


def _shape(node, ins):
    x = ins[0]
    axes = reduced_axes(node, len(x.shape))
    if node.attrs["keep_dims"]:
        return [tuple(1 if i in axes else d for i, d in enumerate(x.shape))]
    return [tuple(d for i, d in enumerate(x.shape) if i not in axes)]


define_op("MEAN", attrs={"axes": REQUIRED, "keep_dims": False}, infer_shapes=_shape,
          doc="average over axes", channels=Channels.SAME, requantizes=True,
          dtypes=("float32", "int8", "int16"),
          keeps_channels=lambda node, rank: rank - 1 not in reduced_axes(node, rank))


def quantized_mean_or_sum(call, multiplier):
    """TFLM's ``QuantizedMeanOrSum``: the sum of the offset inputs over the axes, scaled by
    ``multiplier(input scale, output scale, count)`` (MEAN's divides by the count, SUM's
    does not), plus the output zero point, clamped to the output type."""
    x, x_q, y_q = call.inputs[0], call.in_q(0), call.out_q()
    axes = reduced_axes(call.node, x.ndim)
    count = int(np.prod([x.shape[a] for a in axes], dtype=np.int64))
    total = x.astype(np.int64).sum(axis=axes)
    mult, shift = multiplier(x_q.s, y_q.s, count)
    out = multiply_by_quantized_multiplier(wrap32(total - x_q.zp * count), mult, shift) + y_q.zp
    dtype = call.out_tensors[0].dtype
    info = np.iinfo(dtype)
    return [np.clip(out, info.min, info.max).astype(dtype).reshape(call.out_tensors[0].shape)]


@kernel("MEAN", "int8", "int16")
def mean_int8(call):
    return quantized_mean_or_sum(call, mean_multiplier)


@kernel("MEAN", "float32")
def mean_float(call):
    x = call.inputs[0]
    out = x.astype(np.float64).mean(axis=reduced_axes(call.node, x.ndim))
    return [out.astype(np.float32).reshape(call.out_tensors[0].shape)]
