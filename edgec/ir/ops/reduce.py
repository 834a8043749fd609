"""SUM and REDUCE_MAX over ``axes`` (negative counts from the end, duplicates ignored), with
``keep_dims``; axes and shapes as MEAN (``edgec.ir.ops.mean``).

SUM int8 follows TFLite Micro's ``EvalSumHelper``, which calls
``reference_ops::QuantizedMeanOrSum`` with ``compute_sum=true``: Prepare quantizes
``(double)input_scale / (double)output_scale`` (``QuantizeMultiplier``, no division by the
count, unlike MEAN); Eval takes the int32 sum of the raw values over the axes, minus
``input_zp * count`` (int32, wrapping), MultiplyByQuantizedMultiplier (double rounding; a
positive shift multiplies the int32 first, wrapping), plus the output zero point, clamped to
int8 (int16: the same code, clamped to int16).

REDUCE_ANY (bool in, bool out) is true where any element over the axes is (TFLite's
``REDUCE_ANY``, ONNX ReduceMax of a bool tensor); no quantization.

REDUCE_MAX int8 follows TFLM's ``EvalMaxHelper``: the largest stored code over the axes, which
is the largest value only with one quantization for input and output; TFLM refuses other
models (``TF_LITE_ENSURE_EQ`` on scale and zero point), and so does edgec. PTQ gives the output
the input's quantization. No int16 REDUCE_MAX: the TFLite Micro release edgec checks against
refuses it ("Only float32 and int8 types are supported").
"""

from __future__ import annotations

import numpy as np

from edgec.errors import EdgecError
from edgec.ir.ops.mean import _shape, quantized_mean_or_sum, reduced_axes
from edgec.ir.quant import quantize_multiplier
from edgec.ir.registry import REQUIRED, Channels, Ptq, define_op, kernel


def _keeps_channels(node, rank: int) -> bool:
    return rank - 1 not in reduced_axes(node, rank)


define_op("SUM", attrs={"axes": REQUIRED, "keep_dims": False}, infer_shapes=_shape,
          doc="sum over axes", channels=Channels.SAME, requantizes=True,
          dtypes=("float32", "int8", "int16"), keeps_channels=_keeps_channels)
define_op("REDUCE_MAX", attrs={"axes": REQUIRED, "keep_dims": False}, infer_shapes=_shape,
          doc="maximum over axes", channels=Channels.SAME, ptq=Ptq.SAME_AS_INPUT,
          keeps_channels=_keeps_channels)
define_op("REDUCE_ANY", attrs={"axes": REQUIRED, "keep_dims": False}, infer_shapes=_shape,
          doc="logical or over axes of a bool tensor", bool_inputs=(0,), bool_output=True,
          ptq=Ptq.UNSUPPORTED, dtypes=("bool",))


def sum_multiplier(input_scale: float, output_scale: float) -> tuple[int, int]:
    """TFLM's int8 SUM requantization (``PrepareMeanOrSum``):
    ``QuantizeMultiplier((double)input_scale / (double)output_scale)``."""
    return quantize_multiplier(float(np.float32(input_scale)) / float(np.float32(output_scale)))


@kernel("SUM", "int8", "int16")
def sum_int8(call):
    return quantized_mean_or_sum(call, lambda x_s, y_s, count: sum_multiplier(x_s, y_s))


@kernel("SUM", "float32")
def sum_float(call):
    x = call.inputs[0]
    out = x.astype(np.float64).sum(axis=reduced_axes(call.node, x.ndim))
    return [out.astype(np.float32).reshape(call.out_tensors[0].shape)]


@kernel("REDUCE_MAX", "int8")
def reduce_max_int8(call):
    x_q, y_q = call.in_q(0), call.out_q()
    if x_q is None or y_q is None or (float(x_q.s), int(x_q.zp)) != (float(y_q.s), int(y_q.zp)):
        raise EdgecError(f"node '{call.node.name}' (REDUCE_MAX): int8 input and output must "
                         "share one quantization (scale and zero point)",
                         "re-convert the model; the TFLite converter writes them equal")
    return [_max(call)]


@kernel("REDUCE_MAX", "float32")
def reduce_max_float(call):
    return [_max(call)]


def _max(call):
    """The largest value, starting from the lowest finite one as TFLM's ``ReduceGeneric`` with
    ``numeric_limits<T>::lowest()`` (float: -inf inputs give -FLT_MAX)."""
    x = call.inputs[0]
    out = np.maximum(x.max(axis=reduced_axes(call.node, x.ndim)), np.finfo(x.dtype).min
                     if x.dtype.kind == "f" else np.iinfo(x.dtype).min)
    return out.astype(x.dtype).reshape(call.out_tensors[0].shape)


@kernel("REDUCE_ANY", "bool")
def reduce_any(call):
    x = call.inputs[0]
    return [np.any(x, axis=reduced_axes(call.node, x.ndim)).reshape(call.out_tensors[0].shape)]
