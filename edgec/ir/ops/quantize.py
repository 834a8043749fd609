"""QUANTIZE (float32 -> int8, or int8 -> int8 requantization) and DEQUANTIZE (int8 -> float32).

TFLite Micro's reference kernels:
- float -> int8 (``AffineQuantize``): ``round(x / scale)`` with the division in float32 and
  ``std::round`` (halves away from zero), plus the zero point, clamped to int8. Quotients
  beyond the int32 range saturate and NaN counts as 0, as Cortex-M's float-to-int conversion
  does (x86 builds of TFLM give INT32_MIN there instead: undefined behaviour in C++).
- int8 -> int8 (``Requantize``): ``x - zp_in`` times ``(double)s_in / (double)s_out`` via
  ``MultiplyByQuantizedMultiplier``, plus ``zp_out``, clamped.
- int8 -> float (``Dequantize``): ``(float)((double)scale * (x - zp))``.
int16 takes the same three kernels: float -> int16, int8 <-> int16 and int16 -> int16
requantization (``Requantize``, clamped to the output type), int16 -> float.
Only per-tensor quantization, as in TFLM.
"""

from __future__ import annotations

import numpy as np

from edgec.errors import EdgecError
from edgec.ir.quant import (INT32_MAX, INT32_MIN, multiply_by_quantized_multiplier,
                            quantize_multiplier, round_half_away)
from edgec.ir.registry import Channels, Ptq, define_op, kernel

define_op("QUANTIZE", infer_shapes=lambda node, ins: [ins[0].shape],
          doc="float32 -> int8/int16 quantization, or int8/int16 requantization",
          elementwise=True, channels=Channels.SAME, ptq=Ptq.NOT_IN_FLOAT,
          dtypes=("float32", "int8", "int16"),
          identity_when=lambda node, rank: True,  # int8 -> int8 with equal quantization
          requantizes=True, retypes=True, converts=True)
define_op("DEQUANTIZE", infer_shapes=lambda node, ins: [ins[0].shape],
          doc="int8/int16 -> float32: scale * (q - zero_point)", dtypes=("int8", "int16"),
          elementwise=True, channels=Channels.SAME, ptq=Ptq.NOT_IN_FLOAT,
          requantizes=True, retypes=True, converts=True)


def _per_tensor(call, q, role: str):
    if q is None or not q.per_tensor:
        raise EdgecError(f"{call.node.op} '{call.node.name}': the {role} needs per-tensor "
                         f"quantization, it has {q}",
                         "TFLite Micro supports only per-tensor (de)quantization")
    return q


@kernel("QUANTIZE", "float32")
def quantize_float(call):
    q = _per_tensor(call, call.out_q(), "output")
    quotient = call.inputs[0].astype(np.float32) / np.float32(q.s)
    rounded = round_half_away(np.nan_to_num(quotient, nan=0.0, posinf=INT32_MAX,
                                                  neginf=INT32_MIN))
    as_int32 = np.clip(rounded, INT32_MIN, INT32_MAX).astype(np.int64)
    return [_clamped(as_int32 + q.zp, call)]


def _clamped(values: np.ndarray, call) -> np.ndarray:
    """``values`` clamped to the output type's range and cast to it."""
    dtype = call.out_tensors[0].dtype
    if dtype not in ("int8", "int16"):
        raise EdgecError(f"QUANTIZE '{call.node.name}' writes {dtype}",
                         "edgec's QUANTIZE writes int8 or int16")
    info = np.iinfo(dtype)
    return np.clip(values, info.min, info.max).astype(dtype)


@kernel("QUANTIZE", "int8", "int16")
def requantize_int8(call):
    in_q = _per_tensor(call, call.in_q(0), "input")
    out_q = _per_tensor(call, call.out_q(), "output")
    mult, shift = quantize_multiplier(in_q.s / out_q.s)
    x = call.inputs[0].astype(np.int64) - in_q.zp
    out = multiply_by_quantized_multiplier(x, mult, shift) + out_q.zp
    return [_clamped(out, call)]


@kernel("DEQUANTIZE", "int8", "int16")
def dequantize_int8(call):
    q = _per_tensor(call, call.in_q(0), "input")
    # scale * (q - zp) is exact in double (24 x 17 bits), so one rounding to float32.
    return [(q.s * (call.inputs[0].astype(np.float64) - q.zp)).astype(np.float32)]
