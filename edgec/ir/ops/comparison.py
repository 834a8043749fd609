"""Comparisons, logical ops and selection, on ``bool`` tensors (one byte, 0 or 1 in C).

EQUAL, NOT_EQUAL, LESS, LESS_EQUAL, GREATER, GREATER_EQUAL: two float32 or plain integer
tensors (docs/IR.md "Plain integers"; EQUAL and NOT_EQUAL also two bool tensors) with numpy
broadcasting, a bool output; float comparisons with NaN are false (NOT_EQUAL true), as C's.
TFLite's builtins of the same names (TFLM ``comparisons.cc``).
LOGICAL_NOT, LOGICAL_AND, LOGICAL_OR: bool in, bool out (TFLM ``logical.cc``, ``logical_not``
in ``elementwise.cc``). ONNX Xor imports as NOT_EQUAL on bools.
SELECT_V2: ``condition ? x : y`` with numpy broadcasting of all three (TFLM ``select.cc``);
x and y float32, plain integers of one type, or int8 sharing the output's quantization (the
codes are copied, as TFLM does).

int8 (quantized, per tensor) is TFLM's ``ComparisonsPrepare`` + ``*WithScaling``: each input
becomes ``MultiplyByQuantizedMultiplierSmallerThanOneExp((q - zp) << 8, m, s)`` with ``(m, s)``
from its own scale (which must be below 1), and the two int32 results are compared. Two codes
whose real values differ by less than the rescaling's resolution compare equal, as in TFLM.
TFLite's comparisons take no plain (unquantized) int8 / uint8 / int16 tensors, so those do not
export.

PTQ quantizes each comparison input with its own calibrated range (the bool output stays
bool), gives SELECT_V2's x, y and output one shared quantization (``Ptq.SHARED_INPUTS``, the
condition left out), and leaves LOGICAL_* on bool tensors as they are."""

from __future__ import annotations

import numpy as np

from edgec.errors import EdgecError
from edgec.ir.graph import PLAIN_INT_KEYS
from edgec.ir.quant import multiply_by_quantized_multiplier, quantize_multiplier
from edgec.ir.registry import Ptq, define_op, kernel

COMPARISONS = {"EQUAL": np.equal, "NOT_EQUAL": np.not_equal, "LESS": np.less,
               "LESS_EQUAL": np.less_equal, "GREATER": np.greater,
               "GREATER_EQUAL": np.greater_equal}
LOGICAL = {"LOGICAL_AND": np.logical_and, "LOGICAL_OR": np.logical_or}


def _broadcast_shape(node, ins):
    try:
        return [tuple(np.broadcast_shapes(*(t.shape for t in ins if t is not None)))]
    except ValueError:
        raise EdgecError(f"node '{node.name}' ({node.op}): input shapes "
                         f"{[list(t.shape) for t in ins]} do not broadcast",
                         "give the inputs numpy-broadcastable shapes") from None


# TFLite's comparisons take these as edgec computes them (int8 with scaling; no unquantized
# int8 / uint8 / int16, no uint16 / uint32 / uint64).
_TFLITE_KEYS = ("float32", "int8", "int32", "int64")
LEFT_SHIFT = 8  # TFLM's kLeftShift


def comparison_params(quant, what: str) -> tuple[int, int, int]:
    """(zero point, multiplier, shift) rescaling one int8 input (TFLM ``ComparisonsPrepare``:
    ``QuantizeMultiplierSmallerThanOneExp(scale)``, which requires a scale below 1)."""
    if quant is None or not quant.per_tensor:
        raise EdgecError(f"{what}: int8 comparison inputs need per-tensor quantization",
                         "quantize both inputs per tensor")
    mult, shift = quantize_multiplier(float(quant.s))
    if shift > 0:
        raise EdgecError(f"{what}: int8 comparison input scale {float(quant.s):g} is not "
                         "below 1 (TFLM's QuantizeMultiplierSmallerThanOneExp)",
                         "requantize the input to a scale below 1")
    return int(quant.zp), int(mult), int(shift)

def _scales_below_one(node, quants) -> bool:
    """PTQ: TFLM's int8 comparison takes input scales below 1 only; others stay float."""
    return all(q is None or quantize_multiplier(float(q.s))[1] <= 0 for q in quants[:2])


for _op in COMPARISONS:
    _bool = ("bool",) if _op in ("EQUAL", "NOT_EQUAL") else ()
    define_op(_op, infer_shapes=_broadcast_shape, min_inputs=2, retypes=True,
              bool_output=True, requantizes=True, ptq_accepts=_scales_below_one,
              dtypes=("float32", "int8", *PLAIN_INT_KEYS, *_bool),
              tflite_dtypes=(*_TFLITE_KEYS, *_bool),
              doc=f"elementwise {_op.lower().replace('_', ' ')} comparison, bool output")
for _op in LOGICAL:
    define_op(_op, infer_shapes=_broadcast_shape, min_inputs=2,
              bool_inputs=(0, 1), bool_output=True, dtypes=("bool",),
              doc=f"elementwise {_op[8:].lower()} of two bool tensors")
define_op("LOGICAL_NOT", infer_shapes=lambda node, ins: [ins[0].shape], elementwise=True,
          bool_inputs=(0,), bool_output=True, dtypes=("bool",),
          doc="elementwise not of a bool tensor")
define_op("SELECT_V2", infer_shapes=_broadcast_shape, min_inputs=3, retypes=True,
          bool_inputs=(0,), ptq=Ptq.SHARED_INPUTS, dtypes=("bool",),
          doc="condition ? x : y elementwise, numpy broadcasting of all three")


@kernel("EQUAL", "float32", *PLAIN_INT_KEYS, "bool")
@kernel("NOT_EQUAL", "float32", *PLAIN_INT_KEYS, "bool")
@kernel("LESS", "float32", *PLAIN_INT_KEYS)
@kernel("LESS_EQUAL", "float32", *PLAIN_INT_KEYS)
@kernel("GREATER", "float32", *PLAIN_INT_KEYS)
@kernel("GREATER_EQUAL", "float32", *PLAIN_INT_KEYS)
def compare(call):
    a, b = call.inputs[:2]
    if a.dtype != b.dtype:
        raise EdgecError(f"node '{call.node.name}' ({call.node.op}) compares {a.dtype} with "
                         f"{b.dtype}", "give both inputs one type")
    return [COMPARISONS[call.node.op](a, b)]


@kernel("EQUAL", "int8")
@kernel("NOT_EQUAL", "int8")
@kernel("LESS", "int8")
@kernel("LESS_EQUAL", "int8")
@kernel("GREATER", "int8")
@kernel("GREATER_EQUAL", "int8")
def compare_int8(call):
    what = f"node '{call.node.name}' ({call.node.op})"
    scaled = []
    for k in range(2):
        zp, mult, shift = comparison_params(call.in_q(k), what)
        x = (call.inputs[k].astype(np.int64) - zp) * (1 << LEFT_SHIFT)
        scaled.append(multiply_by_quantized_multiplier(x, mult, shift))
    return [COMPARISONS[call.node.op](*scaled)]


@kernel("LOGICAL_AND", "bool")
@kernel("LOGICAL_OR", "bool")
def logical(call):
    a, b = (x.astype(bool) for x in call.inputs[:2])
    return [LOGICAL[call.node.op](a, b)]


@kernel("LOGICAL_NOT", "bool")
def logical_not(call):
    return [np.logical_not(call.inputs[0].astype(bool))]


@kernel("SELECT_V2", "bool")
def select(call):
    cond, x, y = call.inputs[:3]
    out = call.out_tensors[0]
    qs = [call.in_q(1), call.in_q(2), call.out_q()]
    if any(q is not None for q in qs) and (
            any(q is None or not q.per_tensor for q in qs)
            or len({(float(q.s), int(q.zp)) for q in qs}) != 1):
        raise EdgecError(f"node '{call.node.name}' (SELECT_V2): int8 x, y and output must "
                         "share one per-tensor quantization (TFLM copies the codes)",
                         "re-convert the model; the TFLite converter writes them equal")
    return [np.where(cond.astype(bool), x, y).astype(out.dtype)]
