"""CAST: input 0's values in the output tensor's type, between float32 and plain integers
(docs/IR.md "Plain integers"); ONNX's Cast / CastLike, TFLite's CAST.

- integer -> integer: the value modulo 2^bits of the output type (numpy's ``astype``, C's
  conversion on gcc and clang);
- integer -> float32: rounded to the nearest float32 (ties to even);
- float32 -> integer: truncated toward zero (ONNX's rule); edgec fixes what ONNX leaves
  undefined: NaN gives 0 and values beyond the type's range saturate to its bounds (C's
  conversion of such values is undefined, so the kernel tests them first).

The sub-byte integers int4, uint4, int2 and uint2 (``NARROW_INT_DTYPES``, held one value per
int8/uint8 element) follow ONNX's Cast: an integer becomes its value modulo 2^bits (int4: 9 ->
-7), a float32 is first converted as to int32 (truncated, NaN 0, saturated) and then wrapped
the same way (ONNX's node tests: -9.0 -> 7 in int4); reading them is reading their values.

Quantized tensors are not cast (their values are codes): QUANTIZE / DEQUANTIZE convert them.
"""

from __future__ import annotations

import numpy as np

from edgec.ir.graph import NARROW_INT_DTYPES, PLAIN_INT_KEYS, storage_dtype
from edgec.ir.registry import Ptq, define_op, kernel

define_op("CAST", infer_shapes=lambda node, ins: [ins[0].shape],
          doc="the values of x in the output's type (float32 <-> plain integers)",
          dtypes=("float32", *PLAIN_INT_KEYS, *NARROW_INT_DTYPES), casts=True, ptq=Ptq.UNSUPPORTED)


def float_to_int_bounds(dtype: str) -> tuple[float, float]:
    """``(low, high)``: a truncated float ``t`` fits ``dtype`` when ``low <= t < high``; both
    are powers of two (or 0), exact in float32."""
    info = np.iinfo(dtype)
    return float(info.min), float(info.max) + 1.0


def cast_values(x: np.ndarray, dtype: str) -> np.ndarray:
    """``x`` as ``dtype`` under CAST's rules (the reference for every pair of types)."""
    if dtype in NARROW_INT_DTYPES:
        return wrap_narrow(cast_values(x, "int32") if x.dtype.kind == "f" else x, dtype)
    if x.dtype.kind != "f" or np.dtype(dtype).kind == "f":
        return x.astype(dtype)
    info = np.iinfo(dtype)
    low, high = float_to_int_bounds(dtype)
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


@kernel("CAST", "float32", *PLAIN_INT_KEYS, *NARROW_INT_DTYPES)
def cast_any(call):
    return [cast_values(call.inputs[0], call.out_tensors[0].dtype)]
