"""Constant folding for the ONNX frontend: a node whose inputs are all constants (shape
arithmetic, Constant, weight reshapes...) is evaluated once with ONNX's reference runtime."""

from __future__ import annotations

import onnx
from onnx import helper
from onnx.reference import ReferenceEvaluator

import numpy as np

from edgec.errors import EdgecError
from edgec.limits import check_shape
from edgec.frontends.onnx_context import Context

# Dequantizing a constant must keep its integers and scales: onnx_qdq records it instead.
_NOT_FOLDED = {"DequantizeLinear"}


def fold_constant_node(ctx: Context, node: onnx.NodeProto) -> bool:
    """Evaluate ``node`` if all its inputs are constants; bind its outputs as constants."""
    if node.op_type in _NOT_FOLDED or not all(ctx.is_const(i) for i in node.input if i):
        return False
    inputs = {i: ctx.const(i) for i in node.input if i}
    for o in node.output:  # inferred shapes are bounded: nothing huge is ever allocated
        if o and o not in ctx.shapes:
            raise EdgecError(f"constant node '{node.name}' ({node.op_type}) has an output of "
                             "unknown shape", "export the model with constant folding enabled")
    try:
        results = ReferenceEvaluator(_single_node_model(ctx, node, inputs)).run(None, inputs)
    except Exception as e:  # the reference runtime raises many types for unsupported nodes
        raise EdgecError(f"cannot evaluate constant node '{node.name}' ({node.op_type}): {e}",
                         "export the model with constant folding enabled") from e
    for name, value in zip(node.output, results):
        check_shape(f"constant '{name}'", np.shape(value))
        if name:
            ctx.consts[name] = value
    return True


def _single_node_model(ctx: Context, node: onnx.NodeProto, inputs: dict) -> onnx.ModelProto:
    graph = helper.make_graph(
        [node], "fold",
        [helper.make_tensor_value_info(n, helper.np_dtype_to_tensor_dtype(a.dtype), a.shape)
         for n, a in inputs.items()],
        [helper.make_tensor_value_info(o, onnx.TensorProto.UNDEFINED, None)
         for o in node.output if o])
    return helper.make_model(graph, opset_imports=list(ctx.model.opset_import))
