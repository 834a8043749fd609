"""QuantizeLinear / DequantizeLinear: how a QDQ graph folds into int8 IR ops.

- DequantizeLinear of a constant makes a ``QConst`` (weights, int32 biases); converters of
  weighted ops take its integers and scales as they are.
- DequantizeLinear of an int8 tensor makes a ``deq`` value: ops reading only such values and
  feeding a QuantizeLinear become int8 ops (see ``onnx_common.quant_mode``).
- QuantizeLinear of a ``pending`` op output gives that output its scale and zero point; of a
  float tensor it is a QUANTIZE op; of a ``deq`` value with other parameters, a requantizing
  QUANTIZE.
- uint8 activations (onnxruntime's default QUInt8) become int8 with the zero point less 128:
  every code is 128 lower, the real values are the same, and int8 kernels compute with
  ``code - zero point`` only, so the results are exact. uint8 constants with zero point 128
  (symmetric uint8 weights) likewise become int8 with zero point 0. A uint8 graph input or
  output has no int8 twin and is refused.
"""

from __future__ import annotations

import numpy as np
import onnx

from edgec.errors import EdgecError
from edgec.limits import check_scales
from edgec.frontends.onnx_common import attrs
from edgec.frontends.onnx_context import Context, QConst, Value
from edgec.frontends.onnx_registry import converter
from edgec.ir import QuantParams

_SHAPE_OPS = ("RESHAPE", "TRANSPOSE")


def _params(ctx: Context, node: onnx.NodeProto) -> tuple[np.ndarray, np.ndarray, int | None]:
    """Scale, zero point and axis (``None`` when per tensor) of a Q/DQ node."""
    scale = np.asarray(ctx.const(node.input[1], f"the scale of {node.op_type}"), np.float32)
    if len(node.input) > 2 and node.input[2]:
        zp = ctx.consts.get(node.input[2])
        if zp is None:
            raise EdgecError(f"{node.op_type} '{node.name}' has a non-constant zero point",
                             "export with constant quantization parameters")
    else:
        zp = np.zeros(scale.shape, np.uint8)  # ONNX's default output type is uint8
    check_scales(f"{node.op_type} '{node.name}'", scale)
    if np.asarray(zp).size not in (1, scale.size) or np.asarray(zp).dtype.kind not in "iu":
        raise EdgecError(f"{node.op_type} '{node.name}' has {np.asarray(zp).size} "
                         f"{np.asarray(zp).dtype} zero points for {scale.size} scales",
                         "give one integer zero point per scale")
    axis = attrs(node).get("axis", 1) if scale.size > 1 else None
    return scale.reshape(-1), zp, axis


_UINT8_SHIFT = 128  # uint8 code - 128 = int8 code of the same real value


def _activation_quant(ctx: Context, node: onnx.NodeProto, scale, zp) -> QuantParams:
    if zp.dtype not in (np.int8, np.uint8):
        raise EdgecError(f"{node.op_type} '{node.name}' uses {zp.dtype} activations",
                         "only int8 and uint8 QDQ models are supported: quantize activations "
                         "to 8 bits (e.g. onnxruntime's quantize_static(activation_type=QInt8))")
    if scale.size != 1:
        raise EdgecError(f"{node.op_type} '{node.name}' quantizes an activation per axis",
                         "activations must be quantized per tensor")
    is_uint8 = zp.dtype == np.uint8  # also ONNX's default when there is no zero point
    zp = zp.astype(np.int64).reshape(-1)
    if is_uint8:
        integer = node.output[0] if node.op_type == "QuantizeLinear" else node.input[0]
        uint8_at_edge = [n for n in (integer,)
                         if n in ctx.graph_outputs or n in {i.name for i in ctx.model.graph.input}]
        if uint8_at_edge:
            raise EdgecError(f"{node.op_type} '{node.name}' makes the uint8 tensor "
                             f"'{uint8_at_edge[0]}' a graph input or output",
                             "edgec runs uint8 QDQ as int8 inside the model; give the model "
                             "float inputs and outputs (or quantize them to int8)")
        zp = zp - _UINT8_SHIFT
    return QuantParams(scale, zp)



@converter("DequantizeLinear")
def dequantize_linear(ctx: Context, node: onnx.NodeProto) -> None:
    """Record a constant's quantization, or mark an int8 activation as dequantized."""
    scale, zp, axis = _params(ctx, node)
    x = node.input[0]
    if ctx.is_const(x):
        data = ctx.consts[x]
        if axis is not None:
            axis %= data.ndim
        zp = zp.astype(np.int64).reshape(-1)
        if data.dtype == np.uint8:  # the same reals as int8 codes 128 lower
            data, zp = (data.astype(np.int16) - _UINT8_SHIFT).astype(np.int8), zp - _UINT8_SHIFT
        ctx.qconsts[node.output[0]] = QConst(data, scale, zp, axis)
        return
    v = ctx.value(x)
    quant = _activation_quant(ctx, node, scale, zp)
    if v.kind not in ("int8", "deq"):
        raise EdgecError(f"DequantizeLinear '{node.name}' reads a {v.kind} tensor",
                         "its input must be an int8 tensor")
    tensor = ctx.tensor(v)
    if tensor.quant is None:
        set_quant(ctx, v.name, quant)
    elif tensor.quant != quant:
        raise EdgecError(f"DequantizeLinear '{node.name}' reads '{x}' with scale "
                         f"{quant.s:g}, zero point {quant.zp}; it was quantized with "
                         f"{tensor.quant.s:g}, {tensor.quant.zp}",
                         "a tensor must be dequantized with the parameters it was quantized with")
    ctx.values[node.output[0]] = Value(v.name, v.layout, "deq")


@converter("QuantizeLinear")
def quantize_linear(ctx: Context, node: onnx.NodeProto) -> None:
    """Give a quantized op its output scale, or quantize a float tensor (QUANTIZE)."""
    scale, zp, _ = _params(ctx, node)
    quant = _activation_quant(ctx, node, scale, zp)
    v = ctx.value(node.input[0])
    out = node.output[0]
    if v.kind == "pending":
        set_quant(ctx, v.name, quant)  # and the op behind a pending RESHAPE (1-D windows)
        ctx.values[out] = Value(v.name, v.layout, "int8")
        return
    if v.kind == "deq" and ctx.tensor(v).quant == quant:
        ctx.values[out] = Value(v.name, v.layout, "int8")
        return
    if v.kind not in ("float", "deq"):
        raise EdgecError(f"QuantizeLinear '{node.name}' reads an int8 tensor",
                         "its input must be a float tensor")
    src = ctx.tensor(v)
    ir = ctx.new_tensor(out, src.shape, "int8", quant)
    ctx.add_node("QUANTIZE", [v.name], [ir], {}, node.name or out)
    ctx.values[out] = Value(ir, v.layout, "int8")


def set_quant(ctx: Context, name: str, quant: QuantParams) -> None:
    """Set the quantization of an int8 tensor whose scale was unknown (an int8 graph input),
    and of every tensor joined to it by RESHAPE/TRANSPOSE, which share its scale."""
    todo = [name]
    while todo:
        t = ctx.tensor(todo.pop())
        if t.quant is not None or t.dtype != "int8":
            continue
        t.quant = QuantParams(quant.scale, quant.zero_point)
        for node in ctx.graph.nodes:
            if node.op in _SHAPE_OPS and node.inputs[0] == t.name:
                todo.append(node.outputs[0])
            elif node.op in _SHAPE_OPS and node.outputs[0] == t.name:
                todo.append(node.inputs[0])
