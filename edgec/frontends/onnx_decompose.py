"""Helpers for converters that rewrite one ONNX node into several simpler ONNX nodes, each
converted by its own converter (or folded when its inputs are all constants)."""

from __future__ import annotations

import numpy as np
import onnx

from edgec.frontends.onnx_context import Context
from edgec.frontends.onnx_fold import fold_constant_node
from edgec.frontends.onnx_registry import registered_converter


def step(ctx: Context, node: onnx.NodeProto, op_type: str, inputs: list[str], out: str,
         shape, **attrs) -> str:
    """Convert (or fold) one synthesized ``op_type`` node of ``node``'s decomposition,
    writing ONNX name ``out`` of ``shape``; returns ``out``."""
    ctx.shapes[out] = tuple(shape)
    ctx.consumers.setdefault(out, [node])
    part = onnx.helper.make_node(op_type, inputs, [out], name=node.name, **attrs)
    if not fold_constant_node(ctx, part):
        registered_converter(op_type)(ctx, part)
    return out


def constant(ctx: Context, name: str, value) -> str:
    """Bind ONNX name ``name`` to a constant; returns it."""
    ctx.consts[name] = np.asarray(value)
    return name
