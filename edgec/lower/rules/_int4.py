"""Weights of conv-like kernels as C parameters: int8 or float arrays, or int4 packed in bytes.

An ``int4`` weight tensor (docs/IR.md, "int4 weights") reaches the C packed two values per
byte, low nibble first (``edgec.ir.int4.pack_int4``), as a derived ``uint8`` constant
``<func>_w``; flash for the weights halves. The kernel unpacks each value where it reads it.

Why TE and not a C template: unpacking is a pure function of the weight's flat index (byte
``i >> 1``, nibble ``i & 1``), which TE states directly. The int4 kernels thereby keep the int8
rules' window sums, bias folding and requantization stage for stage, and the C differs only
in the weight load. The nibble is sign-extended as ``((n & 15) ^ 8) - 8``: plain int32
arithmetic on non-negative values, portable C99 without the implementation-defined right
shift of a negative number that ``(int8_t)(b << 4) >> 4`` relies on.
"""

from __future__ import annotations

import numpy as np

from edgec.ir.int4 import pack_int4
from edgec.lower.registry import Param
from edgec.lower.rules._te import const_param, placeholder

WEIGHTS = 1  # input index of the weights in CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED


def has_int4_weights(ctx) -> bool:
    """Whether the node's weights are an ``int4`` tensor."""
    return ctx.ins[WEIGHTS].dtype == "int4"


def weight_param(ctx) -> Param:
    """The C parameter ``w``: the graph tensor itself, or its packed bytes for int4."""
    if has_int4_weights(ctx):
        return const_param(ctx, "w")
    return Param("w", ctx.node.inputs[WEIGHTS])


def requantized_params(ctx) -> list[Param]:
    """C parameters of an int8 weighted kernel (conv, depthwise, FC): input, weights, the
    derived bias/multiplier/shift/params constants, output."""
    params = [Param("x", ctx.node.inputs[0]), weight_param(ctx)]
    params += [const_param(ctx, role) for role in ("bias", "mult", "shift", "params")]
    return params + [Param("y", ctx.node.outputs[0])]


def packed_constants(ctx, data: np.ndarray) -> dict[str, np.ndarray]:
    """``{"w": packed bytes}`` for int4 weights ``data`` (unpacked values), else nothing."""
    if not has_int4_weights(ctx):
        return {}
    return {"w": np.frombuffer(pack_int4(data), np.uint8).copy()}


def weight_input(shape, dtype: str, int4: bool):
    """The TE placeholder ``w`` of weights with logical ``shape`` and a reader
    ``read(*indices)`` giving the weight at ``indices`` (an int32 value for int4, else an
    element of ``dtype``); int4 weights are a flat ``uint8`` array of packed bytes."""
    if not int4:
        w = placeholder(shape, dtype, "w")
        return w, lambda *i: w(*i)
    size = int(np.prod(shape))
    w = placeholder(((size + 1) // 2,), "uint8", "w")

    def read(*indices):
        return _unpack(w, _flat_index(indices, shape))

    return w, read


def _flat_index(indices, shape):
    """The row-major position of ``indices`` in ``shape``."""
    flat = indices[0]
    for index, extent in zip(indices[1:], shape[1:]):
        flat = flat * int(extent) + index
    return flat


def _unpack(packed, flat):
    """The signed int32 value of element ``flat`` of a packed int4 array."""
    byte = packed[flat >> 1].astype("int32")
    nibble = (byte >> ((flat & 1) * 4)) & 15
    return (nibble ^ 8) - 8
