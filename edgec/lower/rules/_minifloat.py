"""TIR for the other float formats (``edgec.ir.floats``): a minifloat tensor is its bit
patterns in TIR (``tir_dtype``), read and written through the generated helpers
``edgec_mf_decode`` / ``edgec_mf_encode`` (``templates/kernels/minifloat.h.j2``, helper block
"minifloat"); float64 is TIR's float64 (a C ``double``). Rules using them put ``KEY`` into
their ``KernelPlan.key``, so editing the template invalidates cached kernels."""

from __future__ import annotations

from edgec.ir.floats import E8M0, E8M0_ROUND_MODES, MINIFLOATS
from edgec.lower import templates

TEMPLATE = "minifloat.h.j2"


def key() -> str:
    return templates.digest(TEMPLATE)


def tir_dtype(dtype: str) -> str:
    """The TIR (and C) type holding one element of IR dtype ``dtype``."""
    return MINIFLOATS[dtype].storage if dtype in MINIFLOATS else dtype


def _numbers(dtype: str):
    f = MINIFLOATS[dtype]
    return [f.ebits, f.mbits, f.bias, f.flavour]


def to_double(value, dtype: str):
    """A TIR float64 of ``value``, an element of IR dtype ``dtype`` (exact for floats)."""
    from tvm import tirx

    if dtype not in MINIFLOATS:
        return value.astype("float64")
    return tirx.call_pure_extern("float64", "edgec_mf_decode", value.astype("uint32"),
                                 *(tirx.const(n, "int32") for n in _numbers(dtype)))


def from_double(value, dtype: str, saturate: bool = False, round_mode: str = "up"):
    """The bit pattern (``tir_dtype(dtype)``) of float64 ``value`` rounded into minifloat
    ``dtype`` (``edgec_mf_encode``'s rules; float8 E8M0: ``edgec_e8m0_encode`` with ONNX's
    ``round_mode``)."""
    from tvm import tirx

    if MINIFLOATS[dtype].flavour == E8M0:
        bits = tirx.call_pure_extern("uint32", "edgec_e8m0_encode", value,
                                     tirx.const(E8M0_ROUND_MODES[round_mode], "int32"),
                                     tirx.const(int(bool(saturate)), "int32"))
        return bits.astype(tir_dtype(dtype))
    bits = tirx.call_pure_extern("uint32", "edgec_mf_encode", value,
                                 *(tirx.const(n, "int32") for n in _numbers(dtype)),
                                 tirx.const(int(bool(saturate)), "int32"))
    return bits.astype(tir_dtype(dtype))


def in_float32(fn, dtype: str):
    """``fn`` (TIR float32 values -> float32 value) on elements of minifloat ``dtype``: the
    inputs decoded to float32 (exact: float16 and bfloat16 fit), the result rounded back
    (``from_double``; exact for ops whose result is an input value or exact in float32 and
    the format, as MAXIMUM / MINIMUM)."""
    def apply(*values):
        wide = [to_double(v, dtype).astype("float32") for v in values]
        return from_double(fn(*wide).astype("float64"), dtype)
    return apply
