"""POW and FMOD: elementwise two-input math with numpy broadcasting, one libm call per element.

POW (ONNX's Pow, TFLite's POW builtin) raises the base to the exponent, both of the base's
type (the ONNX importer casts a differently typed exponent to it; an integer base with a
float exponent computes in float32 between two CASTs):
- float32: ``powf``. The reference computes in float64 and rounds once to float32 (numpy's
  float64 power is C's ``pow``, so the special cases are C99 Annex F's: ``x ** 0`` is 1 even
  for NaN, a negative base to a non-integer exponent is NaN, ``0 ** -1`` is inf); the C
  kernel calls ``powf``, within an ulp or two of that.
- int32, int64 (plain integers, docs/IR.md "Plain integers"): exact repeated squaring in the
  type, wrapping around at its width (numpy's integer power, and LiteRT's int32 POW, which
  refuses negative exponents). A negative exponent gives ``1 / base ** -e`` truncated toward
  zero: 1 for base 1, 1 or -1 for base -1 (even or odd exponent), else 0, including base 0
  (as edgec's integer ``x / 0`` is 0; numpy and ONNX's reference raise there, onnxruntime's
  result is undefined).
TFLite Micro has no POW kernel, so edgec's PTQ keeps POW in float (``Ptq.FLOAT``: a DEQUANTIZE
before it, a QUANTIZE where an int8 op reads its result).

FMOD (ONNX's Mod with ``fmod=1`` on floats) is C's ``fmodf``: the remainder of the division
truncated toward zero, with the dividend's sign; ``fmod(x, 0)`` and ``fmod(inf, y)`` are NaN,
``fmod(x, inf)`` is x. The remainder is exact, so reference (numpy's ``fmod`` in the tensor's
type) and C agree bit for bit. TFLite has no such builtin (its FLOOR_MOD takes the divisor's
sign). ``FLOAT_DTYPES`` lists the float types both ops compute on.

Both also compute on ``OTHER_FLOAT_DTYPES`` (``edgec.ir.floats``): float64 (``pow`` / ``fmod``
on doubles) and float16 / bfloat16: FMOD in float32 rounded back (exact: the remainder of two
values of a format is a value of it), POW in float64 rounded once to the format (the C:
``pow`` on the decoded doubles, then the encoder).
"""

from __future__ import annotations

import numpy as np

from edgec.ir.ops.elementwise import _shape
from edgec.ir.registry import Ptq, define_op, kernel

FLOAT_DTYPES = ("float32",)  # float types with a kernel and a lowering rule (libm's f forms)
OTHER_FLOAT_DTYPES = ("float64", "float16", "bfloat16")  # their other floats (edgec.ir.floats)
INT_POW_DTYPES = ("int32", "int64")  # ONNX's integer Pow bases

define_op("POW", infer_shapes=_shape,
          doc="elementwise a ** b with numpy broadcasting (float: powf; int32/int64: exact, "
              "wrapping; a negative exponent truncates 1 / a ** -b)",
          elementwise=True, min_inputs=2,
          dtypes=(*FLOAT_DTYPES, *OTHER_FLOAT_DTYPES, *INT_POW_DTYPES),
          ptq=Ptq.FLOAT, tflite_dtypes=("float32", "int32"))

define_op("FMOD", infer_shapes=_shape,
          doc="elementwise C fmod(a, b) with numpy broadcasting (the truncated remainder, "
              "sign of a)",
          elementwise=True, min_inputs=2, dtypes=(*FLOAT_DTYPES, *OTHER_FLOAT_DTYPES),
          ptq=Ptq.FLOAT,
          exempt={"export": "TFLite has no truncated float remainder (FLOOR_MOD takes the "
                            "divisor's sign)",
                  "frontend": "no TFLite builtin: it comes from ONNX's Mod with fmod=1"})


@kernel("POW", *FLOAT_DTYPES, *OTHER_FLOAT_DTYPES)
def pow_float(call):
    dtype = call.out_tensors[0].dtype
    a, b = (np.asarray(x, np.float64) for x in call.inputs)
    with np.errstate(all="ignore"):  # overflow to inf, 0 ** -1 = inf, (-2) ** 0.5 = NaN
        return [np.power(a, b).astype(dtype)]


def int_pow(base: np.ndarray, exponent: np.ndarray) -> np.ndarray:
    """``base ** exponent`` in ``base``'s integer type (wrapping), both broadcast; a negative
    exponent truncates ``1 / base ** -exponent`` (0 for base 0)."""
    dtype = base.dtype
    base, exponent = np.broadcast_arrays(base, exponent.astype(dtype))
    unsigned = np.dtype(f"uint{dtype.itemsize * 8}")
    result = np.ones(base.shape, unsigned)
    square = base.astype(unsigned)
    e = np.where(exponent < 0, 0, exponent).astype(unsigned)
    with np.errstate(over="ignore"):
        while e.any():
            result = np.where(e & 1, result * square, result)
            square = square * square
            e = e >> unsigned.type(1)
    one, minus_one = np.ones((), dtype), -np.ones((), dtype)
    negative = np.where(base == 1, one, np.where(base == -1, np.where(exponent & 1, minus_one,
                                                                      one), 0))
    return np.where(exponent < 0, negative, result.astype(dtype)).astype(dtype)


@kernel("POW", *INT_POW_DTYPES)
def pow_int(call):
    dtype = call.out_tensors[0].dtype
    a, b = (np.asarray(x).astype(dtype) for x in call.inputs)
    return [int_pow(a, b)]


@kernel("FMOD", *FLOAT_DTYPES, *OTHER_FLOAT_DTYPES)
def fmod_float(call):
    dtype = call.out_tensors[0].dtype
    wide = "float64" if dtype == "float64" else "float32"  # float16 / bfloat16: in float32
    a, b = (np.asarray(x).astype(dtype).astype(wide) for x in call.inputs)
    with np.errstate(invalid="ignore"):  # fmod(x, 0) and fmod(inf, y) are NaN, as in C
        return [np.fmod(a, b).astype(dtype)]
