"""Import-time evaluation of TFLite operators whose inputs are all constant.

Converters emit small shape computations (SHAPE -> STRIDED_SLICE -> PACK -> RESHAPE, FILL of
a zero state) even for fully static models, and loop counters and conditions (ADD, LESS,
LOGICAL_AND: ``tflite_loop``). edgec's shapes are static, so such chains are evaluated here in numpy and
their results become constants; the op that consumes them reads them as attributes.

``FOLDERS`` maps a builtin name to ``(op, values, tensors) -> np.ndarray`` where ``values``
holds the constant input arrays (None for an absent input) and ``tensors`` the input tensors.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from edgec.errors import EdgecError
from edgec.frontends.tflite_schema import TfOp

Folder = Callable[[TfOp, list, list], np.ndarray]
FOLDERS: dict[str, Folder] = {}

# Ops that move data without changing values: safe to fold for any dtype and quantization.
DATA_MOVEMENT = {"RESHAPE", "SQUEEZE", "EXPAND_DIMS", "TRANSPOSE", "STRIDED_SLICE", "SLICE",
                 "GATHER", "PACK", "CONCATENATION"}
# Ops that need only their input's static shape, not its value.
SHAPE_ONLY = {"SHAPE"}
# Ops that copy a value as it is, whatever the quantization (as TFLite Micro does).
RAW_COPY = {"FILL"}
_INTEGER_TYPES = ("INT32", "INT64", "BOOL")


def folder(*builtins: str):
    def register(fn: Folder) -> Folder:
        for name in builtins:
            FOLDERS[name] = fn
        return fn
    return register


@folder("SHAPE")
def _shape(op, values, tensors):
    out_type = op.options.get("out_type", 2)  # TensorType INT32 = 2, INT64 = 4
    return np.asarray(tensors[0].shape, np.int64 if out_type == 4 else np.int32)


@folder("RESHAPE", "SQUEEZE", "EXPAND_DIMS")
def _reshape(op, values, tensors):
    # The output tensor's static shape is authoritative; the caller reshapes to it.
    return values[0]


@folder("TRANSPOSE")
def _transpose(op, values, tensors):
    return np.transpose(values[0], values[1].reshape(-1))


@folder("CONCATENATION")
def _concatenation(op, values, tensors):
    return np.concatenate([v.reshape(t.shape) for v, t in zip(values, tensors)],
                          axis=int(op.options.get("axis", 0)))


@folder("PACK")
def _pack(op, values, tensors):
    return np.stack(values, axis=int(op.options.get("axis", 0)))


@folder("GATHER")
def _gather(op, values, tensors):
    return np.take(values[0], values[1], axis=int(op.options.get("axis", 0)))


@folder("SLICE")
def _slice(op, values, tensors):
    begin, size = values[1].reshape(-1), values[2].reshape(-1)
    dims = values[0].shape
    index = tuple(slice(int(b), dims[i] if s == -1 else int(b + s))
                  for i, (b, s) in enumerate(zip(begin, size)))
    return values[0][index]


@folder("STRIDED_SLICE")
def _strided_slice(op, values, tensors):
    o = op.options
    if o.get("ellipsis_mask", 0) or o.get("new_axis_mask", 0):
        raise EdgecError("STRIDED_SLICE with an ellipsis or new-axis mask on constants",
                         "edgec folds only plain strided slices of constant shapes")
    begin, end, strides = (v.reshape(-1).tolist() for v in values[1:4])
    index = []
    for i, (b, e, s) in enumerate(zip(begin, end, strides)):
        if o.get("shrink_axis_mask", 0) >> i & 1:
            index.append(int(b))
            continue
        if o.get("offset", False):
            e = b + e
        index.append(slice(None if o.get("begin_mask", 0) >> i & 1 else int(b),
                           None if o.get("end_mask", 0) >> i & 1 else int(e), int(s)))
    return values[0][tuple(index)]


@folder("CAST")
def _cast(op, values, tensors):
    return values[0]  # the caller converts to the output tensor's dtype


@folder("DEQUANTIZE")
def _dequantize_float16(op, values, tensors):
    """The converter's float16 weights (``supported_types = [tf.float16]``): DEQUANTIZE of a
    FLOAT16 constant is its float32 values, exactly (``can_fold`` admits only that form)."""
    return values[0].astype(np.float32)


@folder("FILL")
def _fill(op, values, tensors):
    # TFLite Micro's FILL copies the value's bytes whatever the output's quantization.
    return np.full(tuple(int(d) for d in values[0].reshape(-1)), values[1].reshape(-1)[0])


# Integer and boolean operators of loop conditions (counters against the sequence length).
_LOGIC = {"LESS": np.less, "LESS_EQUAL": np.less_equal, "GREATER": np.greater,
          "GREATER_EQUAL": np.greater_equal, "EQUAL": np.equal, "NOT_EQUAL": np.not_equal,
          "LOGICAL_AND": np.logical_and, "LOGICAL_OR": np.logical_or,
          "MINIMUM": np.minimum, "MAXIMUM": np.maximum}


@folder(*_LOGIC)
def _logic(op, values, tensors):
    return _LOGIC[op.builtin](values[0], values[1])


@folder("LOGICAL_NOT")
def _logical_not(op, values, tensors):
    return np.logical_not(values[0])


@folder("ADD", "SUB", "MUL", "FLOOR_DIV")
def _integer_arithmetic(op, values, tensors):
    fn = {"ADD": np.add, "SUB": np.subtract, "MUL": np.multiply, "FLOOR_DIV": np.floor_divide}
    return fn[op.builtin](values[0].astype(np.int64), values[1].astype(np.int64))


def can_fold(op: TfOp, const_inputs: list[bool], in_types: list[str], out_type: str,
             same_quant: bool) -> bool:
    """Whether ``op`` is evaluated at import: a folder exists, its inputs are constant, and
    folding cannot change numbers (integer shape math, or data movement within one scale)."""
    if op.builtin not in FOLDERS or op.options.get("fused_activation_function", "NONE") != "NONE":
        return False
    if op.builtin in SHAPE_ONLY:
        return True
    if not all(const_inputs):
        return False
    if op.builtin in DATA_MOVEMENT:
        return same_quant
    if op.builtin in RAW_COPY:
        return True
    if op.builtin == "DEQUANTIZE" and in_types == ["FLOAT16"]:  # float16 weights: exact
        return True
    return out_type in _INTEGER_TYPES and all(t in _INTEGER_TYPES for t in in_types)
