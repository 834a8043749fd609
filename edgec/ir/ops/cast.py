"""CAST: input 0's values in the output tensor's type, between float32, the other floats
(float64 and the minifloats, ``edgec.ir.floats``), plain integers (docs/IR.md "Plain
integers") and bool; ONNX's Cast / CastLike, TFLite's CAST.

- integer -> integer: the value modulo 2^bits of the output type (numpy's ``astype``, C's
  conversion on gcc and clang);
- integer -> float32: rounded to the nearest float32 (ties to even);
- float32 -> integer: truncated toward zero (ONNX's rule); edgec fixes what ONNX leaves
  undefined: NaN gives 0 and values beyond the type's range saturate to its bounds (C's
  conversion of such values is undefined, so the kernel tests them first). float64 and the
  minifloats the same, from their values;
- anything -> float64 or a minifloat: ``floats.to_float`` (ONNX's Cast: round to nearest
  even once from the exact value; attribute ``saturate``, default true, clamps float8 values
  beyond the format's range instead of giving Inf or NaN; ONNX ignores it for the others;
  float8 E8M0 rounds as attribute ``round_mode`` says, "up" (the default), "down" or
  "nearest": ``floats.to_e8m0``);
- anything -> bool: ``x != 0`` (NaN is true, as C's and TFLite's conversion); bool -> any
  type: 0 or 1 (the TensorFlow converter writes ``tf.cast(x < y, tf.float32)`` this way).

The sub-byte integers int4, uint4, int2 and uint2 (``NARROW_INT_DTYPES``, held one value per
int8/uint8 element) follow ONNX's Cast: an integer becomes its value modulo 2^bits (int4: 9 ->
-7), a float32 is first converted as to int32 (truncated, NaN 0, saturated) and then wrapped
the same way (ONNX's node tests: -9.0 -> 7 in int4); reading them is reading their values.

Quantized tensors are not cast (their values are codes): QUANTIZE / DEQUANTIZE convert them;
PTQ keeps CAST float (``Ptq.FLOAT``: a DEQUANTIZE before a float input, a QUANTIZE after a
float output), as the TensorFlow converter does.
"""

from __future__ import annotations

import numpy as np

from edgec.ir.floats import OTHER_FLOATS, is_float, to_float
from edgec.ir.graph import NARROW_INT_DTYPES, PLAIN_INT_KEYS, storage_dtype
from edgec.ir.registry import Ptq, define_op, kernel

define_op("CAST", attrs={"saturate": True, "round_mode": "up"}, infer_shapes=lambda node, ins: [ins[0].shape],
          doc="the values of x in the output's type (floats <-> plain integers <-> bool)",
          dtypes=("float32", *PLAIN_INT_KEYS, "bool", *OTHER_FLOATS, *NARROW_INT_DTYPES),
          casts=True, ptq=Ptq.FLOAT,
          tflite_dtypes=("float32", *PLAIN_INT_KEYS, "bool", "float64", "float16"))


def float_to_int_bounds(dtype: str) -> tuple[float, float]:
    """``(low, high)``: a truncated float ``t`` fits ``dtype`` when ``low <= t < high``; both
    are powers of two (or 0), exact in float32."""
    info = np.iinfo(dtype)
    return float(info.min), float(info.max) + 1.0


def cast_values(x: np.ndarray, dtype: str, saturate: bool = True,
                round_mode: str = "up") -> np.ndarray:
    """``x`` as ``dtype`` under CAST's rules (the reference for every pair of types)."""
    if dtype == "bool":
        return x != 0
    if dtype in NARROW_INT_DTYPES:
        return wrap_narrow(cast_values(x, "int32") if is_float(x.dtype) else x, dtype)
    if dtype in OTHER_FLOATS:
        return to_float(x, dtype, saturate, round_mode)
    if not is_float(x.dtype) or dtype == "float32":
        return x.astype(dtype)
    info = np.iinfo(dtype)
    low, high = float_to_int_bounds(dtype)
    with np.errstate(invalid="ignore"):  # a minifloat NaN to float64
        t = np.trunc(x.astype(np.float64))
    inside = np.where(np.isnan(t) | (t < low) | (t >= high), 0.0, t).astype(dtype)
    return np.where(np.isnan(t), np.zeros((), dtype),
                    np.where(t >= high, np.array(info.max, dtype),
                             np.where(t < low, np.array(info.min, dtype), inside)))


def wrap_narrow(x: np.ndarray, dtype: str) -> np.ndarray:
    """Integers ``x`` modulo 2^bits of narrow ``dtype``, in its storage dtype."""
    bits, signed = NARROW_INT_DTYPES[dtype]
    low = x.astype(np.int64) & ((1 << bits) - 1)
    if signed:
        low = (low ^ (1 << (bits - 1))) - (1 << (bits - 1))
    return low.astype(storage_dtype(dtype))


@kernel("CAST", "float32", *PLAIN_INT_KEYS, "bool", *OTHER_FLOATS, *NARROW_INT_DTYPES)
def cast_any(call):
    return [cast_values(call.inputs[0], call.out_tensors[0].dtype,
                        bool(call.attrs.get("saturate", True)),
                        call.attrs.get("round_mode", "up"))]
