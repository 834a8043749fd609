"""SQRT, elementwise, float32 only: ``sqrtf`` (NaN below zero), TFLite's SQRT.

ONNX's Sqrt imports as it, and a BatchNormalization whose variance is computed at run time
uses it. TFLite Micro's SQRT is float only, so edgec's PTQ keeps it float between DEQUANTIZE
and QUANTIZE (``Ptq.FLOAT``)."""

from __future__ import annotations

import numpy as np

from edgec.ir.registry import Ptq, define_op, kernel

define_op("SQRT", infer_shapes=lambda node, ins: [ins[0].shape],
          doc="elementwise square root (float32)", elementwise=True, dtypes=("float32",),
          ptq=Ptq.FLOAT)


@kernel("SQRT", "float32")
def sqrt_float(call):
    with np.errstate(invalid="ignore"):  # sqrt(x < 0) is NaN, as sqrtf
        return [np.sqrt(call.inputs[0].astype(np.float32)).astype(np.float32)]
