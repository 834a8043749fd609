"""LOG_SOFTMAX over the last axis, float32 only: TFLite's LOG_SOFTMAX, ONNX's LogSoftmax.

Per row, as TFLite's float ``reference_ops::LogSoftmax``: ``x - max - log(sum(exp(x - max)))``
(the sum accumulated in float64 here, in float32 by TFLite and the C kernel; both within a few
ulp). TFLM's int8 LOG_SOFTMAX (fixed output scale 16/256, zero point 127) is not reproduced,
so edgec's PTQ does not quantize it and int8 models are refused."""

from __future__ import annotations

import numpy as np

from edgec.ir.registry import Ptq, define_op, kernel

define_op("LOG_SOFTMAX", infer_shapes=lambda node, ins: [ins[0].shape],
          doc="log of the softmax over the last axis (float32)", dtypes=("float32",),
          ptq=Ptq.UNSUPPORTED)


@kernel("LOG_SOFTMAX", "float32")
def log_softmax_float(call):
    x = call.inputs[0].astype(np.float32)
    shifted = x - x.max(axis=-1, keepdims=True)
    with np.errstate(over="ignore", invalid="ignore"):
        total = np.exp(shifted.astype(np.float64)).sum(axis=-1, keepdims=True)
        log_sum = np.log(total).astype(np.float32)
    return [(shifted - log_sum).astype(np.float32)]
