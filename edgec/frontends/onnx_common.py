"""Helpers shared by the ONNX converters: attributes, the quantized-or-float decision,
operands in a wanted layout, constants laid out for the IR, fused activations."""

from __future__ import annotations

import numpy as np
import onnx
from onnx import helper

from edgec.errors import EdgecError
from edgec.frontends import onnx_layout as lay
from edgec.frontends.onnx_context import Context, Value
from edgec.ir import QuantParams, get_op

# ONNX ops that may sit between a quantized op and its QuantizeLinear.
_Q_PASSTHROUGH = {"Relu", "Clip"}


def attrs(node: onnx.NodeProto) -> dict:
    """The node's attributes as Python values (strings decoded)."""
    result = {}
    for a in node.attribute:
        v = helper.get_attribute_value(a)
        result[a.name] = v.decode() if isinstance(v, bytes) else v
    return result


def opset(ctx: Context) -> int:
    return next((o.version for o in ctx.model.opset_import if o.domain in ("", "ai.onnx")), 1)


def feeds_quantize(ctx: Context, onnx_name: str) -> bool:
    """True when ``onnx_name`` reaches only QuantizeLinear nodes (through a fusable Relu/Clip
    or a bias Add), i.e. the op producing it can compute in int8."""
    users = ctx.consumers.get(onnx_name, [])
    if not users or onnx_name in ctx.graph_outputs:
        return False
    if all(u.op_type == "QuantizeLinear" for u in users):
        # A per-axis QuantizeLinear is float fake quantization (onnx_qdq): the op is float.
        return not any(_per_axis_scale(ctx, u) for u in users)
    if len(users) != 1:
        return False
    user = users[0]
    if user.op_type in _Q_PASSTHROUGH or (user.op_type == "Add" and _is_bias_add(ctx, user)):
        return feeds_quantize(ctx, user.output[0])
    return False


def _per_axis_scale(ctx: Context, q: onnx.NodeProto) -> bool:
    scale = ctx.consts.get(q.input[1]) if len(q.input) > 1 else None
    return scale is not None and np.asarray(scale).size > 1


def _is_bias_add(ctx: Context, node: onnx.NodeProto) -> bool:
    return any(i in ctx.qconsts and ctx.qconsts[i].data.dtype == np.int32 for i in node.input)


def quant_mode(ctx: Context, node: onnx.NodeProto, activations: list[str]) -> bool:
    """Whether ``node`` becomes an int8 op: every activation input is a dequantized int8
    tensor and the output goes to a QuantizeLinear (a Q/DQ sandwich)."""
    return bool(activations) and all(ctx.value(a).kind == "deq" for a in activations) \
        and feeds_quantize(ctx, node.output[0])


def operand(ctx: Context, onnx_name: str, layout, quantized: bool) -> str:
    """The IR tensor for activation input ``onnx_name`` in ``layout``: int8 when
    ``quantized``, else float32 (dequantizing if needed)."""
    v = ctx.value(onnx_name)
    if not quantized:
        v = ctx.as_float(v, onnx_name)
    return ctx.in_layout(v, layout, onnx_name)


def const_operand(ctx: Context, onnx_name: str, layout, rank: int, quantized: bool) -> str:
    """A constant input of an elementwise op, broadcast to ``rank`` dims and laid out like
    the activation it meets; int8 with its quantization when ``quantized``."""
    if quantized:
        if onnx_name not in ctx.qconsts:
            raise EdgecError(f"constant '{onnx_name}' of a quantized op is not quantized",
                             "quantize the constant with a DequantizeLinear of int8 data")
        qc = ctx.qconsts[onnx_name]
        if qc.scale.size != 1:
            raise EdgecError(f"constant '{onnx_name}' has per-axis quantization",
                             "elementwise ops take per-tensor quantized constants")
        data, quant = qc.data, QuantParams(qc.scale, qc.zero_point)
    else:
        data, quant = ctx.const(onnx_name).astype(np.float32), None
    data = data.reshape((1,) * (rank - data.ndim) + data.shape)
    if layout is not None:
        data = data.transpose(layout)
    return ctx.const_tensor(onnx_name, data, quant)


def fuse_activation(ctx: Context, onnx_in: str, onnx_out: str, activation: str) -> bool:
    """Fold a Relu/Clip into the op producing ``onnx_in`` when nothing else reads its result;
    on success ``onnx_out`` becomes another name of the same IR tensor."""
    v = ctx.value(onnx_in)
    node = ctx.producer.get(v.name)
    # An op with a fused ``activation`` attribute takes a following Relu/Clip.
    if v.kind not in ("float", "pending") or node is None \
            or "activation" not in get_op(node.op).attrs \
            or node.attrs["activation"] != "NONE" or not ctx.single_consumer(onnx_in):
        return False
    node.attrs["activation"] = activation
    ctx.values[onnx_out] = v
    return True


def window_pads(a: dict, spatial: tuple[int, int], kernel, strides, dilations) -> tuple:
    """IR ``(top, left, bottom, right)`` pads from ONNX ``pads``/``auto_pad``."""
    auto = a.get("auto_pad", "NOTSET")
    if auto in ("NOTSET", "VALID"):
        pads = list(a.get("pads", [0, 0, 0, 0])) if auto == "NOTSET" else [0, 0, 0, 0]
        return (pads[0], pads[1], pads[2], pads[3])
    begin, end = [], []
    for size, k, s, d in zip(spatial, kernel, strides, dilations):
        total = max((-(-size // s) - 1) * s + (k - 1) * d + 1 - size, 0)
        small, large = total // 2, total - total // 2
        begin.append(small if auto == "SAME_UPPER" else large)
        end.append(large if auto == "SAME_UPPER" else small)
    return (begin[0], begin[1], end[0], end[1])


def require_2d_window(ctx: Context, node: onnx.NodeProto) -> tuple[int, ...]:
    """The NCHW input shape of a 2-D window op; other ranks raise."""
    shape = ctx.shape(node.input[0])
    if len(shape) != 4:
        raise EdgecError(f"{node.op_type} '{node.name}' has a {len(shape)}-D input; only 2-D "
                         "(NCHW) windows are supported",
                         "reshape 1-D signals to [N, C, 1, W] before exporting")
    return shape


def bind_alias(ctx: Context, onnx_in: str, onnx_out: str) -> None:
    """Make ``onnx_out`` another name of ``onnx_in`` (Identity, Dropout, no-op casts)."""
    if ctx.is_const(onnx_in):
        ctx.consts[onnx_out] = ctx.const(onnx_in)
    else:
        ctx.values[onnx_out] = ctx.value(onnx_in)


def keep_kind(ctx: Context, v: Value, onnx_node: onnx.NodeProto, op: str, inputs: list[str],
              attrs_: dict, layout) -> None:
    """Emit a data-movement op (RESHAPE, PAD...) whose output is of the same kind, dtype and
    quantization as its input ``v``."""
    if v.kind == "pending":
        raise EdgecError(f"the quantized result read by '{onnx_node.name}' has no "
                         "QuantizeLinear", "quantize each op's output directly")
    src = ctx.tensor(inputs[0])
    out = onnx_node.output[0]
    shape = lay.permute_shape(ctx.shape(out), layout)
    quant = None if src.quant is None else QuantParams(src.quant.scale, src.quant.zero_point)
    ir_name = ctx.new_tensor(out, shape, src.dtype, quant)
    ctx.add_node(op, inputs, [ir_name], attrs_, onnx_node.name or out)
    ctx.values[out] = Value(ir_name, lay.normalize(layout), v.kind)


def plain_int_op(ctx: Context, node: onnx.NodeProto, op: str, inputs: list[str],
                 out: str = "", ir_attrs=None) -> None:
    """``op`` on plain integers (docs/IR.md "Plain integers"), numpy broadcasting: every
    activation input a plain integer tensor of one dtype, constants converted to it (ONNX
    gives them the same type); the output ``out`` (default: the node's) is plain too.
    ``ir_attrs(layout)`` gives the IR attributes in the layout chosen (the first full-rank
    activation's)."""
    out = out or node.output[0]
    acts = [i for i in inputs if not ctx.is_const(i)]
    dtypes = {ctx.tensor(ctx.value(a)).dtype for a in acts}
    if not all(ctx.plain_int(a) for a in acts) or len(dtypes) != 1:
        raise EdgecError(f"{node.op_type} '{node.name}' mixes plain integers with other "
                         f"tensors ({', '.join(sorted(dtypes))})",
                         "give every input the same integer type")
    dtype = dtypes.pop()
    rank = len(ctx.shape(out))
    layout = None if any(len(ctx.shape(a)) != rank for a in acts) else next(
        (ctx.value(a).layout for a in acts if ctx.value(a).layout is not None), None)
    names = []
    for i in inputs:
        if i in acts:
            names.append(ctx.in_layout(ctx.value(i), layout, i))
            continue
        data = np.asarray(ctx.const(i))
        data = data.reshape((1,) * (rank - data.ndim) + data.shape).astype(dtype)
        names.append(ctx.const_tensor(f"{out}_{i}", data.transpose(layout) if layout else data))
    ir = ctx.new_tensor(out, lay.permute_shape(ctx.shape(out), layout), dtype)
    ctx.add_node(op, names, [ir], ir_attrs(layout) if ir_attrs else {}, node.name or out)
    ctx.values[out] = Value(ir, lay.normalize(layout), "int")
