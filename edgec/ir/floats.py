"""Float formats besides float32 (docs/IR.md "Other float formats"): float64, and the
minifloats float16, bfloat16, float8 (E4M3FN, E4M3FNUZ, E5M2, E5M2FNUZ) and float4 (E2M1).

Tensors of these dtypes hold *plain* values (no scale) that ops compute on in their own type,
as ONNX defines (``kind`` "int" in the ONNX frontend, dispatch key = the dtype). numpy holds
float64 and float16 natively and the others through ``ml_dtypes`` (imported here, which
registers ``np.dtype("bfloat16")``, ``np.dtype("float8_e4m3fn")``, ...). In C, float64 is a
``double``; a minifloat element is its bit pattern in an unsigned integer of its width
(``uint16_t`` for float16/bfloat16, ``uint8_t`` for float8 and float4 — float4 one element per
byte in the low four bits, never packed two per byte), converted by the generated helpers
``edgec_mf_decode`` / ``edgec_mf_encode`` (``templates/kernels/minifloat.h.j2``), which take a
``MiniFloat``'s numbers, so every format shares one pair of functions.
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
        return 1 + self.ebits + self.mbits


MINIFLOATS = {
    "float16": MiniFloat(5, 10, 15, IEEE, "uint16"),
    "bfloat16": MiniFloat(8, 7, 127, IEEE, "uint16"),
    "float8_e4m3fn": MiniFloat(4, 3, 7, FN, "uint8", saturable=True),
    "float8_e4m3fnuz": MiniFloat(4, 3, 8, FNUZ, "uint8", saturable=True),
    "float8_e5m2": MiniFloat(5, 2, 15, IEEE, "uint8", saturable=True),
    "float8_e5m2fnuz": MiniFloat(5, 2, 16, FNUZ, "uint8", saturable=True),
    "float4_e2m1fn": MiniFloat(2, 1, 1, FINITE, "uint8"),
}
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


def to_float(x: np.ndarray, dtype: str, saturate: bool = True) -> np.ndarray:
    """``x`` (float or integer) in float dtype ``dtype`` under ONNX Cast's rules (onnx's
    reference: ``ml_dtypes``' conversion, ``numpy_helper.saturate_cast`` when saturating):
    rounded to nearest, ties to even, once, from the exact value (float64 holds every float32
    and minifloat exactly; integers beyond 2^53 are rounded to float64 first). A saturable
    format (float8) with ``saturate`` clamps values beyond its largest finite one, Inf
    included, to it; without, they become Inf (E5M2) or NaN (the formats without Inf).
    float16/bfloat16 round them to Inf. float4 has neither: it clamps them, and NaN becomes
    a zero of the opposite sign (ml_dtypes' rule, which the C encoder repeats)."""
    with np.errstate(invalid="ignore", over="ignore"):  # NaN and overflow are defined here
        wide = np.asarray(x).astype(np.float64)
        if dtype in ("float64", "float32"):
            return wide.astype(dtype)
        if MINIFLOATS[dtype].saturable and saturate:
            top = max_finite(dtype)
            wide = np.clip(wide, -top, top)  # NaN stays NaN
        return wide.astype(dtype)
