"""MAXIMUM and MINIMUM, elementwise with numpy broadcasting.

int8 compares the stored codes, as TFLite Micro's ``maximum_minimum`` kernel does; that is
the real maximum only when both inputs and the output share one quantization (the TFLite
converter writes them so, and edgec's PTQ gives them one), so other int8 models are refused.
Float: ``fmaxf``/``fminf`` semantics of numpy's ``maximum``/``minimum`` in float32.
Plain integers (docs/IR.md "Plain integers"): the larger / smaller value. float64 in
float64; float16 / bfloat16 (``edgec.ir.floats``) computed in float32 and rounded back, which
is exact (the result is one of the inputs, or NaN).
"""

from __future__ import annotations

import numpy as np

from edgec.errors import EdgecError
from edgec.ir.graph import PLAIN_INT_KEYS
from edgec.ir.ops.elementwise import _shape
from edgec.ir.registry import Ptq, define_op, kernel

_FUNCS = {"MAXIMUM": np.maximum, "MINIMUM": np.minimum}
_FLOATS = ("float64", "float16", "bfloat16")  # besides float32 (edgec.ir.floats)

for _op in _FUNCS:
    define_op(_op, infer_shapes=_shape, min_inputs=2, elementwise=True,
              ptq=Ptq.SHARED_INPUTS, dtypes=("float32", "int8", *PLAIN_INT_KEYS, *_FLOATS),
              tflite_dtypes=("float32", "int8", "plain_int8", "plain_uint8", "plain_int16",
                             "int32", "int64"),
              doc=f"elementwise {_op.lower()} of two tensors with numpy broadcasting")


def _check_shared_quant(call) -> None:
    qs = [call.in_q(0), call.in_q(1), call.out_q()]
    if any(q is None for q in qs) or len({(float(q.s), int(q.zp)) for q in qs}) != 1:
        raise EdgecError(f"node '{call.node.name}' ({call.node.op}): int8 inputs and output "
                         "must share one quantization (scale and zero point)",
                         "re-convert the model; the TFLite converter writes them equal")


@kernel("MAXIMUM", "int8")
@kernel("MINIMUM", "int8")
def max_min_int8(call):
    _check_shared_quant(call)
    return [_FUNCS[call.node.op](call.inputs[0], call.inputs[1]).astype(np.int8)]


@kernel("MAXIMUM", "float32")
@kernel("MINIMUM", "float32")
def max_min_float(call):
    a, b = (x.astype(np.float32) for x in call.inputs[:2])
    return [_FUNCS[call.node.op](a, b).astype(np.float32)]


@kernel("MAXIMUM", *PLAIN_INT_KEYS)
@kernel("MINIMUM", *PLAIN_INT_KEYS)
def max_min_plain_int(call):
    dtype = call.out_tensors[0].dtype
    a, b = (x.astype(dtype) for x in call.inputs[:2])
    return [_FUNCS[call.node.op](a, b).astype(dtype)]


@kernel("MAXIMUM", *_FLOATS)
@kernel("MINIMUM", *_FLOATS)
def max_min_other_float(call):
    dtype = call.out_tensors[0].dtype
    compute = "float64" if dtype == "float64" else "float32"
    a, b = (x.astype(compute) for x in call.inputs[:2])
    return [_FUNCS[call.node.op](a, b).astype(dtype)]
