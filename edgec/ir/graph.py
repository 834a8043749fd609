"""The graph IR: plain data, no behaviour beyond small helpers.

Conventions every stage relies on:
- Activations are NHWC. Convolution weights are OHWI ``[out, kh, kw, in]``, depthwise weights
  ``[1, kh, kw, out]``, fully-connected weights ``[out, in]`` (TFLite's layouts).
- ``Node.inputs`` name tensors; an empty string marks an absent optional input.
- ``Graph.nodes`` is in execution (topological) order.
- Quantization is affine: ``real = scale * (q - zero_point)``; per-axis when ``axis`` is set.
"""

from __future__ import annotations

import copy
import functools
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from edgec.ir.floats import OTHER_FLOATS

DTYPES = ("float32", "int8", "uint8", "int16", "uint16", "int32", "uint32", "int64", "uint64",
          "bool", "int4", "ternary",
          "uint4",
          "int2",
          "uint2",
          *OTHER_FLOATS)  # float64 and the minifloats (edgec.ir.floats, docs/IR.md)

# Plain integers (ONNX integer tensors: numpy's arithmetic, wrapping at the type's width, no
# scale). int8, uint8 and int16 tensors hold quantized values when they have ``quant`` and
# plain integers when ``quant`` is None; the wider integer dtypes are always plain.
INT_DTYPES = ("int8", "uint8", "int16", "uint16", "int32", "uint32", "int64", "uint64")
QUANTIZABLE_DTYPES = ("int8", "uint8", "int16")
PLAIN_PREFIX = "plain_"
# The dispatch keys (``kernel_key``) of plain integer tensors: ops that compute on plain
# integers declare these in ``OpDef.dtypes``, with kernels and lowering rules under them.
PLAIN_INT_KEYS = tuple(PLAIN_PREFIX + d if d in QUANTIZABLE_DTYPES else d for d in INT_DTYPES)
# Every dispatch key: the dtypes plus the plain forms of the quantizable ones.
KERNEL_KEYS = DTYPES + tuple(PLAIN_PREFIX + d for d in QUANTIZABLE_DTYPES)

# IR dtypes whose values numpy holds in a wider array: int4 constants are int8 arrays with
# values in [-8, 7] (files and C pack them two per byte, see docs/IR.md "int4 weights"),
# ternary constants int8 arrays in [-1, 1] (C packs them four per byte, "Ternary weights").
STORAGE_DTYPES = {"int4": "int8", "ternary": "int8",
                  "uint4": "uint8",
                  "int2": "int8",
                  "uint2": "uint8",
                  }
# ONNX's sub-byte integers as plain integers (docs/IR.md "Narrow integers"): activations hold
# one value per element of their storage dtype (``int8_t`` / ``uint8_t`` in C, sign- or
# zero-extended), only CAST reads and writes them. Packed int4 weights are unaffected.
NARROW_INT_DTYPES = {  # dtype: (bits, signed)
    "int4": (4, True),
    "uint4": (4, False),
    "int2": (2, True),
    "uint2": (2, False),
}


def kernel_key(tensor: "Tensor") -> str:
    """The key reference kernels and lowering rules are chosen by (from an op's first
    input): the dtype, except ``plain_int8`` / ``plain_uint8`` / ``plain_int16`` for those
    dtypes without quantization, so a kernel written for quantized values never receives
    plain integers (docs/IR.md "Plain integers")."""
    if tensor.dtype in QUANTIZABLE_DTYPES and tensor.quant is None:
        return PLAIN_PREFIX + tensor.dtype
    return tensor.dtype


def key_dtype(key: str) -> str:
    """The tensor dtype of a dispatch key (``plain_int8`` -> ``int8``)."""
    return key[len(PLAIN_PREFIX):] if key.startswith(PLAIN_PREFIX) else key


def storage_dtype(dtype: str) -> str:
    """The numpy dtype name that holds values of IR dtype ``dtype``."""
    return STORAGE_DTYPES.get(dtype, dtype)


@functools.lru_cache(maxsize=None)
def _itemsize(dtype: str) -> int:
    return np.dtype(storage_dtype(dtype)).itemsize


@dataclass
class QuantParams:
    """Affine quantization of a tensor: per-tensor (``axis is None``) or per-axis."""

    scale: np.ndarray  # float32, shape [1] or [channels]
    zero_point: np.ndarray  # int64, same shape as scale
    axis: int | None = None

    def __post_init__(self):
        self.scale = np.atleast_1d(np.asarray(self.scale, dtype=np.float32))
        self.zero_point = np.atleast_1d(np.asarray(self.zero_point, dtype=np.int64))
        if self.zero_point.size == 1 and self.scale.size > 1:
            self.zero_point = np.full(self.scale.shape, int(self.zero_point[0]), np.int64)

    @property
    def per_tensor(self) -> bool:
        return self.scale.size == 1

    @property
    def s(self) -> float:
        """The per-tensor scale as a Python float (exactly the float32 value)."""
        return float(self.scale[0])

    @property
    def zp(self) -> int:
        """The per-tensor zero point."""
        return int(self.zero_point[0])

    def __eq__(self, other) -> bool:
        return (
            isinstance(other, QuantParams)
            and self.axis == other.axis
            and np.array_equal(self.scale, other.scale)
            and np.array_equal(self.zero_point, other.zero_point)
        )

    def __repr__(self) -> str:
        if self.per_tensor:
            return f"Q(s={self.s:.6g}, zp={self.zp})"
        return f"Q(axis={self.axis}, n={self.scale.size})"


@dataclass
class Tensor:
    """A value in the graph: an activation (``data is None``) or a constant."""

    name: str
    shape: tuple[int, ...]
    dtype: str
    data: np.ndarray | None = None
    quant: QuantParams | None = None

    def __post_init__(self):
        self.shape = tuple(int(d) for d in self.shape)

    @property
    def is_const(self) -> bool:
        return self.data is not None

    @property
    def size(self) -> int:
        return math.prod(self.shape)  # exact Python ints; the planner asks millions of times

    @property
    def nbytes(self) -> int:
        """Bytes the values occupy packed: int4 takes half a byte each, ternary a quarter,
        rounded up."""
        if self.dtype == "int4" and self.is_const:
            return (self.size + 1) // 2
        if self.dtype == "ternary":
            return (self.size + 3) // 4
        return self.size * _itemsize(self.dtype)


@dataclass
class Node:
    """One operation: ``op`` is a registered op name (see ``edgec.ir.registry``).

    Making a node completes ``attrs`` with the op's defaults (an unknown op or attribute, or
    a missing required one, raises), so every stage reads ``node.attrs[key]`` directly.
    """

    op: str
    inputs: list[str]
    outputs: list[str]
    attrs: dict[str, Any] = field(default_factory=dict)
    name: str = ""

    def __post_init__(self):
        from edgec.ir.registry import get_op

        self.attrs = get_op(self.op).full_attrs(self)


@dataclass
class Graph:
    """A whole model: tensors by name, nodes in execution order, graph inputs and outputs."""

    tensors: dict[str, Tensor] = field(default_factory=dict)
    nodes: list[Node] = field(default_factory=list)
    inputs: list[str] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)
    name: str = "model"

    def copy(self) -> "Graph":
        """A deep copy that passes may mutate freely (constant arrays are shared read-only)."""
        tensors = {
            k: Tensor(t.name, t.shape, t.dtype, t.data, copy.deepcopy(t.quant))
            for k, t in self.tensors.items()
        }
        nodes = [Node(n.op, list(n.inputs), list(n.outputs), copy.deepcopy(n.attrs), n.name)
                 for n in self.nodes]
        return Graph(tensors, nodes, list(self.inputs), list(self.outputs), self.name)

    def add_tensor(self, tensor: Tensor) -> Tensor:
        self.tensors[tensor.name] = tensor
        return tensor

    def unique_name(self, base: str) -> str:
        """A tensor name not used yet, derived from ``base``."""
        if base not in self.tensors:
            return base
        i = 1
        while f"{base}_{i}" in self.tensors:
            i += 1
        return f"{base}_{i}"

    def producers(self) -> dict[str, Node]:
        """Map from tensor name to the node that writes it."""
        return {out: n for n in self.nodes for out in n.outputs}

    def consumers(self) -> dict[str, list[Node]]:
        """Map from tensor name to the nodes that read it (in execution order)."""
        result: dict[str, list[Node]] = {}
        for n in self.nodes:
            for i in n.inputs:
                if i:
                    result.setdefault(i, []).append(n)
        return result

    def input_tensors(self, node: Node) -> list[Tensor | None]:
        return [self.tensors[i] if i else None for i in node.inputs]

    def output_tensors(self, node: Node) -> list[Tensor]:
        return [self.tensors[o] for o in node.outputs]

    def remove_unused_tensors(self) -> None:
        used = set(self.inputs) | set(self.outputs)
        for n in self.nodes:
            used.update(i for i in n.inputs if i)
            used.update(n.outputs)
        for name in [k for k in self.tensors if k not in used]:
            del self.tensors[name]
