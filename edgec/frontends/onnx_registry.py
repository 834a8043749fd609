"""The ONNX converter registry: one function per ONNX op type, registered by decorator.

A converter reads one ``onnx.NodeProto`` and, through the ``Context``, adds IR nodes and binds
the node's outputs. The converter modules (``onnx_ops_*.py``, ``onnx_qdq.py``) register
themselves when imported; ``onnx_converters`` imports them all and looks converters up, so
this module never imports them back.
"""

from __future__ import annotations

from typing import Callable

import onnx


ConverterFn = Callable[["Context", onnx.NodeProto], None]  # noqa: F821

_CONVERTERS: dict[str, ConverterFn] = {}


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


def registered_converter(op_type: str) -> ConverterFn | None:
    """The converter registered for ONNX ``op_type`` (default domain), if any."""
    return _CONVERTERS.get(op_type)


def registered_op_types() -> list[str]:
    """The ONNX op types with a converter, sorted."""
    return sorted(_CONVERTERS)
