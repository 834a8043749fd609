"""The ONNX converter registry: one function per ONNX op type, registered by decorator.

A converter reads one ``onnx.NodeProto`` and, through the ``Context``, adds IR nodes and binds
the node's outputs. The converter modules (``onnx_ops_*.py``, ``onnx_qdq.py``) register
themselves when imported; ``converter_for`` imports them on first use.
"""

from __future__ import annotations

import importlib
from typing import Callable

import onnx

from edgec.errors import EdgecError

ConverterFn = Callable[["Context", onnx.NodeProto], None]  # noqa: F821

_CONVERTERS: dict[str, ConverterFn] = {}
_MODULES = ("onnx_ops_nn", "onnx_ops_math", "onnx_ops_shape", "onnx_qdq")


def converter(*op_types: str):
    """Decorator registering a converter for the given ONNX op types (default domain)."""

    def register(fn: ConverterFn) -> ConverterFn:
        unknown = sorted(t for t in op_types if not onnx.defs.has(t))
        if unknown:
            raise ValueError(f"ONNX converter {fn.__name__} names unknown op type(s) "
                             f"{', '.join(unknown)}; see onnx.defs.get_all_schemas()")
        for op_type in op_types:
            if op_type in _CONVERTERS:
                raise ValueError(f"ONNX op {op_type} has two converters")
            _CONVERTERS[op_type] = fn
        return fn

    return register


def supported_ops() -> list[str]:
    """The ONNX op types the frontend converts, sorted."""
    _load()
    return sorted(_CONVERTERS)


def converter_for(node: onnx.NodeProto) -> ConverterFn:
    """The converter of ``node``'s op type; an unknown type raises naming the supported ones."""
    _load()
    if node.domain not in ("", "ai.onnx") or node.op_type not in _CONVERTERS:
        op = node.op_type if node.domain in ("", "ai.onnx") else f"{node.domain}.{node.op_type}"
        raise EdgecError(f"unsupported ONNX op {op} (node '{node.name}')",
                         f"supported ops: {', '.join(supported_ops())}")
    return _CONVERTERS[node.op_type]


def _load() -> None:
    for module in _MODULES:
        importlib.import_module(f"edgec.frontends.{module}")
