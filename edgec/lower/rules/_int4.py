"""Weights of conv-like kernels as C parameters: int8 or float arrays, or int4 / ternary
packed in bytes.

An ``int4`` weight tensor (docs/IR.md, "int4 weights") reaches the C packed two values per
byte, low nibble first (``edgec.ir.int4.pack_int4``), as a derived ``uint8`` constant
``<func>_w``; flash for the weights halves. The kernel unpacks each value where it reads it.

Why TE and not a C template: unpacking is a pure function of the weight's flat index (byte
``i >> 1``, nibble ``i & 1``), which TE states directly. The int4 kernels thereby keep the int8
rules' window sums, bias folding and requantization stage for stage, and the C differs only
in the weight load. The nibble is sign-extended as ``((n & 15) ^ 8) - 8``: plain int32
arithmetic on non-negative values, portable C99 without the implementation-defined right
shift of a negative number that ``(int8_t)(b << 4) >> 4`` relies on.

``ternary`` weights (docs/IR.md, "Ternary weights") take the same path four per byte
(``edgec.ir.ternary.pack_ternary``): byte ``i >> 2``, bit pair ``i & 3``, sign-extended as
``((p & 3) ^ 2) - 2``.
"""

from __future__ import annotations

import numpy as np

from edgec.ir.int4 import pack_int4
from edgec.ir.ternary import pack_ternary
from edgec.lower.registry import Param
from edgec.lower.rules._te import const_param, placeholder

WEIGHTS = 1  # input index of the weights in CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED
# Packed weight dtypes: bits per value and the packing function.
PACKED = {"int4": (4, pack_int4), "ternary": (2, pack_ternary)}


def packed_bits(ctx) -> int:
    """Bits per weight when the node's weights are packed (int4: 4, ternary: 2), else 0."""
    return PACKED.get(ctx.ins[WEIGHTS].dtype, (0, None))[0]


def has_int4_weights(ctx) -> bool:
    """Whether the node's weights are packed in bytes (``int4`` or ``ternary``)."""
    return packed_bits(ctx) > 0


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
    """``{"w": packed bytes}`` for int4 / ternary weights ``data`` (unpacked values), else
    nothing."""
    dtype = ctx.ins[WEIGHTS].dtype
    if dtype not in PACKED:
        return {}
    return {"w": np.frombuffer(PACKED[dtype][1](data), np.uint8).copy()}


def weight_input(shape, dtype: str, bits: int):
    """The TE placeholder ``w`` of weights with logical ``shape`` and a reader
    ``read(*indices)`` giving the weight at ``indices`` (an int32 value for packed weights,
    else an element of ``dtype``); packed weights (``bits`` 4 or 2, as from ``packed_bits``;
    True means 4) are a flat ``uint8`` array of bytes."""
    if not bits:
        w = placeholder(shape, dtype, "w")
        return w, lambda *i: w(*i)
    bits = 4 if bits is True else int(bits)
    per_byte = 8 // bits
    size = int(np.prod(shape))
    w = placeholder(((size + per_byte - 1) // per_byte,), "uint8", "w")
    unpack = _unpack if bits == 4 else _unpack_ternary

    def read(*indices):
        return unpack(w, _flat_index(indices, shape))

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


def _unpack_ternary(packed, flat):
    """The signed int32 value of element ``flat`` of a packed ternary array."""
    byte = packed[flat >> 2].astype("int32")
    pair = (byte >> ((flat & 3) * 2)) & 3
    return (pair ^ 2) - 2
