"""FULLY_CONNECTED: ``x`` flattened to ``[-1, K]`` times ``[O, K]`` weights, optional bias.

int8 follows TFLite Micro's reference kernels, which have two paths:
- per-channel weight scales: ``FullyConnectedPerChannel``, the weight zero point ignored;
- one weight scale: ``FullyConnected``, with ``w - weight_zp`` in the sums.
Both requantize with conv's multipliers, ``input_scale * weight_scale / output_scale`` in
double (the installed TFLM computes the per-tensor one this way too, although its source reads
as if the scale product were rounded to float32 first; the tests pin this down), and the
double-rounding ``MultiplyByQuantizedMultiplier``.

int16 (16x8) takes the same two paths with an int64 accumulator and the int64
``MultiplyByQuantizedMultiplier`` (``edgec.ir.int16``), or int32 ones when the bias is int32.
"""

from __future__ import annotations

import numpy as np

from edgec.errors import EdgecError
from edgec.ir.ops._requant import (int64_accumulator, optional_bias, requantize_int8,
                                   requantize_int16)
from edgec.ir.quant import apply_float_activation, conv_multipliers, wrap32
from edgec.ir.registry import Channels, define_op, kernel


def _shape(node, ins):
    x, w = ins[0], ins[1]
    depth = w.shape[-1]
    if len(w.shape) != 2 or x.size % depth:
        raise EdgecError(
            f"node '{node.name}' (FULLY_CONNECTED): input {list(x.shape)} does not split into "
            f"rows of the weights' {depth} columns",
            "weights are [outputs, inputs] and the input size must be a multiple of inputs")
    if node.attrs["keep_num_dims"]:
        return [tuple(x.shape[:-1]) + (w.shape[0],)]
    return [(x.size // depth, w.shape[0])]


def _macs(node, ins, outs):
    return outs[0].size * ins[1].shape[1]


define_op("FULLY_CONNECTED", attrs={"activation": "NONE", "keep_num_dims": False},
          infer_shapes=_shape, macs=_macs,
          doc="dense layer, x[-1, K] x w[O, K]^T + bias; inputs (x, w, bias?)",
          channels=Channels.LAYER, weight_axis=0, int4_weights=True, min_inputs=2,
          ranks=(None, 2), requantizes=True, ternary_weights=True,
          dtypes=("float32", "int8", "int16"))


def int8_multipliers(in_q, w_q, out_q) -> tuple[np.ndarray, np.ndarray, int]:
    """TFLM's requantization of one FULLY_CONNECTED node: ``(multipliers, shifts,
    weight_offset)``; one entry per output channel, or one in all when weights are per-tensor
    (then the weight zero point is subtracted in the sums: ``weight_offset``)."""
    mult, shift = conv_multipliers(in_q.s, w_q.scale, out_q.s)
    return mult, shift, (w_q.zp if w_q.per_tensor else 0)


@kernel("FULLY_CONNECTED", "int8")
def fully_connected_int8(call):
    x, w, bias = call.inputs[0], call.inputs[1], optional_bias(call)
    x_q, y_q = call.in_q(0), call.out_q()
    mult, shift, w_offset = int8_multipliers(x_q, call.in_q(1), y_q)
    rows = x.reshape(-1, w.shape[1]).astype(np.float64) - x_q.zp
    # float64 is exact: each |product| < 2**16 and K stays far below 2**37.
    acc = wrap32((rows @ (w.astype(np.float64) - w_offset).T).astype(np.int64))
    if bias is not None:
        acc = wrap32(acc + bias.astype(np.int64))
    out = requantize_int8(acc, mult, shift, y_q, call.attrs["activation"])
    return [out.reshape(call.out_tensors[0].shape)]


@kernel("FULLY_CONNECTED", "int16")
def fully_connected_int16(call):
    x, w, bias = call.inputs[0], call.inputs[1], optional_bias(call)
    x_q, y_q = call.in_q(0), call.out_q()
    mult, shift, w_offset = int8_multipliers(x_q, call.in_q(1), y_q)
    rows = x.reshape(-1, w.shape[1]).astype(np.float64) - x_q.zp
    # float64 is exact: each |product| < 2**23 and K stays far below 2**30.
    acc = (rows @ (w.astype(np.float64) - w_offset).T).astype(np.int64)
    if bias is not None:
        acc = acc + bias.astype(np.int64)
    out = requantize_int16(acc, mult, shift, y_q, call.attrs["activation"],
                           int64_accumulator(call))
    return [out.reshape(call.out_tensors[0].shape)]


def float32_dot(rows: np.ndarray, w: np.ndarray) -> np.ndarray:
    """``rows @ w.T`` summed in float32, one product at a time in ``k`` order from 0: what
    LiteRT's and onnxruntime's float kernels do (float32 accumulators) and the order the
    generated C sums in, so overflow to +-inf and inf - inf = NaN happen at the same places
    (a float64 sum of 3.4e38-sized terms stays finite where float32 gives inf or NaN).
    Finite results differ from a float64 sum by float32 rounding only."""
    acc = np.zeros((rows.shape[0], w.shape[0]), np.float32)
    with np.errstate(over="ignore", invalid="ignore"):
        for k in range(rows.shape[1]):
            acc += rows[:, k:k + 1] * w[None, :, k]
    return acc


@kernel("FULLY_CONNECTED", "float32")
def fully_connected_float(call):
    x, w, bias = call.inputs[0], call.inputs[1], optional_bias(call)
    acc = float32_dot(x.reshape(-1, w.shape[1]).astype(np.float32), w.astype(np.float32))
    if bias is not None:
        with np.errstate(over="ignore", invalid="ignore"):
            acc = acc + bias.astype(np.float32)
    out = acc.reshape(call.out_tensors[0].shape)
    return [apply_float_activation(out, call.attrs["activation"])]
