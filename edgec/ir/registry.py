"""The op registry: one ``OpDef`` per op, holding its attributes, shape inference, MAC count
and reference kernels (one per input dtype).

An op lives in one file under ``edgec/ir/ops/``: it calls ``define_op`` once and decorates
its kernels with ``@kernel(OP, dtype)``. Nothing else in the code base lists ops.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from edgec.errors import EdgecError
from edgec.ir.graph import Node, Tensor

REQUIRED = object()  # marks an attribute without a default


@dataclass
class KernelCall:
    """What a reference kernel sees: the node, its input arrays and the tensor metadata."""

    node: Node
    inputs: list[np.ndarray | None]
    in_tensors: list[Tensor | None]
    out_tensors: list[Tensor]

    @property
    def attrs(self) -> dict[str, Any]:
        return self.node.attrs

    def in_q(self, i: int):
        return self.in_tensors[i].quant

    def out_q(self, i: int = 0):
        return self.out_tensors[i].quant


ShapeFn = Callable[[Node, list[Tensor | None]], list[tuple[int, ...]]]
MacsFn = Callable[[Node, list[Tensor | None], list[Tensor]], int]
KernelFn = Callable[[KernelCall], list[np.ndarray]]


@dataclass
class OpDef:
    """Everything edgec knows about one op, in one place."""

    name: str
    attrs: dict[str, Any]
    infer_shapes: ShapeFn
    macs: MacsFn
    doc: str = ""
    kernels: dict[str, KernelFn] = field(default_factory=dict)

    def kernel_for(self, dtype: str) -> KernelFn:
        if dtype not in self.kernels:
            raise EdgecError(
                f"op {self.name} has no reference kernel for {dtype} inputs",
                f"supported input dtypes: {', '.join(sorted(self.kernels)) or 'none'}",
            )
        return self.kernels[dtype]

    def full_attrs(self, node: Node) -> dict[str, Any]:
        """The node's attributes with defaults filled in; unknown or missing ones raise."""
        unknown = set(node.attrs) - set(self.attrs)
        if unknown:
            raise EdgecError(
                f"node '{node.name}' ({self.name}) has unknown attribute(s) {sorted(unknown)}",
                f"{self.name} takes: {', '.join(sorted(self.attrs)) or 'no attributes'}",
            )
        result = {}
        for key, default in self.attrs.items():
            if key in node.attrs:
                result[key] = node.attrs[key]
            elif default is REQUIRED:
                raise EdgecError(f"node '{node.name}' ({self.name}) lacks attribute '{key}'")
            else:
                result[key] = default
        return result


_OPS: dict[str, OpDef] = {}


def _no_macs(node, ins, outs) -> int:
    return 0


def define_op(name: str, *, attrs: dict[str, Any] | None = None, infer_shapes: ShapeFn,
              macs: MacsFn | None = None, doc: str = "") -> OpDef:
    """Register an op. Called once per op, at import of its module in ``edgec.ir.ops``."""
    if name in _OPS:
        raise ValueError(f"op {name} defined twice")
    op = OpDef(name, dict(attrs or {}), infer_shapes, macs or _no_macs, doc)
    _OPS[name] = op
    return op


def kernel(op_name: str, *dtypes: str):
    """Decorator registering a reference kernel of ``op_name`` for the given input dtypes."""

    def register(fn: KernelFn) -> KernelFn:
        op = _OPS[op_name]
        for dtype in dtypes:
            op.kernels[dtype] = fn
        return fn

    return register


def get_op(name: str) -> OpDef:
    """The definition of ``name``; an unknown name raises listing the registered ops."""
    if name not in _OPS:
        raise EdgecError(f"unknown op '{name}'", f"registered ops: {', '.join(registered_ops())}")
    return _OPS[name]


def registered_ops() -> list[str]:
    return sorted(_OPS)
