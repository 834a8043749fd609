"""Every ONNX converter module imported (each registers itself with ``onnx_registry``) and
the look-ups the frontend uses."""

from __future__ import annotations

import onnx

import edgec.frontends.onnx_ops_logic  # noqa: F401  (registration)
import edgec.frontends.onnx_ops_math  # noqa: F401  (registration)
import edgec.frontends.onnx_ops_nn  # noqa: F401  (registration)
import edgec.frontends.onnx_ops_recurrent  # noqa: F401  (registration)
import edgec.frontends.onnx_ops_shape  # noqa: F401  (registration)
import edgec.frontends.onnx_qdq  # noqa: F401  (registration)
from edgec.errors import EdgecError
from edgec.frontends.onnx_registry import (ConverterFn, registered_converter,
                                           registered_op_types)


def supported_ops() -> list[str]:
    """The ONNX op types the frontend converts, sorted."""
    return registered_op_types()


def converter_for(node: onnx.NodeProto) -> ConverterFn:
    """The converter of ``node``'s op type; an unknown type raises naming the supported ones."""
    fn = registered_converter(node.op_type) if node.domain in ("", "ai.onnx") else None
    if fn is None:
        op = node.op_type if node.domain in ("", "ai.onnx") else f"{node.domain}.{node.op_type}"
        raise EdgecError(f"unsupported ONNX op {op} (node '{node.name}')",
                         f"supported ops: {', '.join(supported_ops())}")
    return fn
