"""EXP, LOG and ERF: elementwise float32 math, one libm call per element.

EXP (``expf``) and LOG (``logf``: -inf at 0, NaN below) are TFLite's EXP and LOG builtins,
whose TFLite Micro kernels are float32 only (``exp.cc``; ``elementwise.cc`` ``LogEval``), so
edgec's PTQ keeps them float between DEQUANTIZE and QUANTIZE (``Ptq.FLOAT``; the TensorFlow
converter writes int8 EXP and LOG, which LiteRT runs and TFLM refuses). ERF (``erff``) has no TFLite builtin: it comes from ONNX's
Erf (the exact GELU ``0.5 * x * (1 + erf(x / sqrt(2)))``) and stays in edgec's IR.

The reference computes each in float64 and rounds once to float32 (correctly rounded but for
rare ties); the C kernels call libm's float functions, within an ulp or two of that."""

from __future__ import annotations

import math

import numpy as np

from edgec.ir.registry import Ptq, define_op, kernel


def _shape(node, ins):
    return [ins[0].shape]


define_op("EXP", infer_shapes=_shape, doc="elementwise e**x (float32)", elementwise=True,
          dtypes=("float32",), ptq=Ptq.FLOAT)
define_op("LOG", infer_shapes=_shape, doc="elementwise natural logarithm (float32)",
          elementwise=True, dtypes=("float32",), ptq=Ptq.FLOAT)
define_op("ERF", infer_shapes=_shape, doc="elementwise error function (float32)",
          elementwise=True, dtypes=("float32",), ptq=Ptq.FLOAT,
          exempt={"export": "TFLite has no ERF builtin (its GELU op fuses the whole formula)",
                  "frontend": "no TFLite builtin: it comes from ONNX's Erf"})


@kernel("EXP", "float32")
def exp_float(call):
    with np.errstate(over="ignore"):  # beyond float32's range: inf
        return [np.exp(call.inputs[0].astype(np.float64)).astype(np.float32)]


@kernel("LOG", "float32")
def log_float(call):
    with np.errstate(divide="ignore", invalid="ignore"):  # log(0) = -inf, log(x < 0) = NaN
        return [np.log(call.inputs[0].astype(np.float64)).astype(np.float32)]


_erf = np.vectorize(math.erf, otypes=[np.float64])


@kernel("ERF", "float32")
def erf_float(call):
    x = call.inputs[0].astype(np.float64)
    return [(_erf(x) if x.size else x).astype(np.float32)]
