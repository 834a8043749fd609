"""Float formats besides float32 (docs/IR.md "Other float formats"): float64, and the
minifloats float16, bfloat16, float8 (E4M3FN, E4M3FNUZ, E5M2, E5M2FNUZ, E8M0) and float4 (E2M1).

Tensors of these dtypes hold *plain* values (no scale) that ops compute on in their own type,
as ONNX defines (``kind`` "int" in the ONNX frontend, dispatch key = the dtype). numpy holds
float64 and float16 natively and the others through ``ml_dtypes`` (imported here, which
registers ``np.dtype("bfloat16")``, ``np.dtype("float8_e4m3fn")``, ...). In C, float64 is a
``double``; a minifloat element is its bit pattern in an unsigned integer of its width
(``uint16_t`` for float16/bfloat16, ``uint8_t`` for float8 and float4 — float4 one element per
byte in the low four bits, never packed two per byte), converted by the generated helpers
``edgec_mf_decode`` / ``edgec_mf_encode`` (``templates/kernels/minifloat.h.j2``), which take a
``MiniFloat``'s numbers, so every format shares one pair of functions — except that
float8 E8M0 (``float8_e8m0fnu``: the scales of the OCP Microscaling formats: a power of two,
8 exponent bits, bias 127, no sign, no mantissa, no zero, 0xFF NaN) is written by its own
encoder ``edgec_e8m0_encode``: ONNX's Cast to it rounds as its ``round_mode`` says ("up",
the default, "down", "nearest"; ``to_e8m0``).
"""

from __future__ import annotations

from dataclasses import dataclass

import ml_dtypes  # noqa: F401  (registers the numpy dtypes named below)
import numpy as np

# How a format spends its all-ones exponent and its negative zero (``MiniFloat.flavour``):
IEEE = 0  # all-ones exponent: Inf (mantissa 0) and NaN (float16, bfloat16, float8 E5M2)
FN = 1  # no Inf; all-ones exponent and mantissa: NaN (float8 E4M3FN)
FNUZ = 2  # no Inf, no -0: the pattern of -0 is the one NaN (float8 E4M3FNUZ, E5M2FNUZ)
FINITE = 3  # every pattern a finite number (float4 E2M1)
E8M0 = 4  # no sign bit, no zero (exponent 0 is 2^-bias), all-ones: NaN (float8 E8M0)


@dataclass(frozen=True)
class MiniFloat:
    """A binary float format of at most 16 bits: sign, ``ebits`` exponent bits with ``bias``,
    ``mbits`` mantissa bits, one of the flavours above. ``storage``: the numpy unsigned type
    (and, via ``cdefs.C_TYPES``, the C type) holding its bit pattern. ``saturable``: ONNX's
    Cast takes ``saturate`` for it (float8); the others round out-of-range values to Inf
    (float16, bfloat16) or always clamp (float4, which has no Inf or NaN)."""

    ebits: int
    mbits: int
    bias: int
    flavour: int
    storage: str
    saturable: bool = False

    @property
    def bits(self) -> int:
        return (self.flavour != E8M0) + self.ebits + self.mbits


MINIFLOATS = {
    "float16": MiniFloat(5, 10, 15, IEEE, "uint16"),
    "bfloat16": MiniFloat(8, 7, 127, IEEE, "uint16"),
    "float8_e4m3fn": MiniFloat(4, 3, 7, FN, "uint8", saturable=True),
    "float8_e4m3fnuz": MiniFloat(4, 3, 8, FNUZ, "uint8", saturable=True),
    "float8_e5m2": MiniFloat(5, 2, 15, IEEE, "uint8", saturable=True),
    "float8_e5m2fnuz": MiniFloat(5, 2, 16, FNUZ, "uint8", saturable=True),
    "float4_e2m1fn": MiniFloat(2, 1, 1, FINITE, "uint8"),
    "float8_e8m0fnu": MiniFloat(8, 0, 127, E8M0, "uint8", saturable=True),
}
# ONNX Cast's ``round_mode`` to E8M0 (opset 24), by its code in the C encoder.
E8M0_ROUND_MODES = {"up": 0, "down": 1, "nearest": 2}
# Every float dtype besides float32, in DTYPES order.
OTHER_FLOATS = ("float64", *MINIFLOATS)


def is_float(dtype) -> bool:
    """Whether numpy/IR ``dtype`` holds floats (float32, float64 or a minifloat)."""
    name = dtype if isinstance(dtype, str) else np.dtype(dtype).name
    return name in ("float32", *OTHER_FLOATS)


def bits_of(array: np.ndarray) -> np.ndarray:
    """A minifloat array's bit patterns (its storage type), as C holds them."""
    return np.ascontiguousarray(array).view(MINIFLOATS[array.dtype.name].storage)


def max_finite(dtype: str) -> float:
    return float(ml_dtypes.finfo(dtype).max)


def to_float(x: np.ndarray, dtype: str, saturate: bool = True,
             round_mode: str = "up") -> np.ndarray:
    """``x`` (float or integer) in float dtype ``dtype`` under ONNX Cast's rules (onnx's
    reference: ``ml_dtypes``' conversion, ``numpy_helper.saturate_cast`` when saturating):
    rounded to nearest, ties to even, once, from the exact value (float64 holds every float32
    and minifloat exactly; integers beyond 2^53 are rounded to float64 first). A saturable
    format (float8) with ``saturate`` clamps values beyond its largest finite one, Inf
    included, to it; without, they become Inf (E5M2) or NaN (the formats without Inf).
    float16/bfloat16 round them to Inf. float4 has neither: it clamps them, and NaN becomes
    a zero of the opposite sign (ml_dtypes' rule, which the C encoder repeats). float8 E8M0
    follows ``to_e8m0`` with ``round_mode``."""
    if dtype == "float8_e8m0fnu":
        return to_e8m0(x, saturate, round_mode)
    with np.errstate(invalid="ignore", over="ignore"):  # NaN and overflow are defined here
        wide = np.asarray(x).astype(np.float64)
        if dtype in ("float64", "float32"):
            return wide.astype(dtype)
        if MINIFLOATS[dtype].saturable and saturate:
            top = max_finite(dtype)
            wide = np.clip(wide, -top, top)  # NaN stays NaN
        return wide.astype(dtype)


def to_e8m0(x: np.ndarray, saturate: bool = True, round_mode: str = "up") -> np.ndarray:
    """``x`` in float8 E8M0 as ONNX's Cast (its reference, ``onnx.numpy_helper.
    to_float8e8m0``, which the node tests follow): ``x`` rounded to float32 first, whose
    biased exponent field is the result, its sign ignored; NaN and Inf give NaN (0xFF). The
    significand rounds the power of two: "down" drops it (0 and float32 subnormals give
    0x00, 2^-127), "up" adds one when it is not zero, "nearest" when its top bit is set
    (ties up; but a float32 subnormal exactly 2^-127 stays 0x00). A rounding up from 0xFE gives NaN, or stays 0xFE with ``saturate``."""
    if round_mode not in E8M0_ROUND_MODES:
        raise ValueError(f"unknown E8M0 round_mode {round_mode!r} "
                         f"(valid: {', '.join(E8M0_ROUND_MODES)})")
    with np.errstate(invalid="ignore", over="ignore"):
        bits = np.asarray(np.asarray(x).astype(np.float32)).view(np.uint32)
    exponent = ((bits >> 23) & 0xFF).astype(np.uint32)
    fraction = bits & 0x7FFFFF
    up = {"up": fraction != 0, "down": np.zeros(bits.shape, bool),
          "nearest": ((fraction & 0x400000) != 0)  # at least half: up, except exactly half
          & ((exponent != 0) | ((fraction & 0x3FFFFF) != 0))}[round_mode]  # of 2^-127
    up = up & (exponent != 0xFF)
    if saturate:
        up = up & (exponent != 0xFE)
    return (exponent + up).astype(np.uint8).view("float8_e8m0fnu")
