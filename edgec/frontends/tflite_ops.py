"""TFLite operator -> IR node converters, one small function per builtin operator.

``CONVERTERS`` maps a TFLite builtin name to a function ``(op, ctx) -> list[Node]``; the
attributes follow docs/IR.md. ``ctx`` (``edgec.frontends.tflite.ImportContext``) names tensors
(``ctx.name``), reads constant inputs (``ctx.const``) and builds the node (``ctx.node``).
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from edgec.errors import EdgecError
from edgec.frontends.tflite_schema import BUILTIN_NAMES, TfOp
from edgec.ir.graph import Node, Tensor, storage_dtype
from edgec.ir.registry import get_op, plain_ops
from edgec.limits import check_window

Converter = Callable[[TfOp, "object"], list[Node]]
CONVERTERS: dict[str, Converter] = {}

# What each converter reads without further checks: how many leading inputs must be present,
# and the rank of some of them (position -> rank). Checked before the converter runs.
REQUIRED_INPUTS = {"CONV_2D": 2, "DEPTHWISE_CONV_2D": 2, "FULLY_CONNECTED": 2,
                   "AVERAGE_POOL_2D": 1, "MAX_POOL_2D": 1, "ADD": 2, "SUB": 2, "MUL": 2,
                   "DIV": 2,
                   "CONCATENATION": 1, "RESHAPE": 1, "SQUEEZE": 1, "EXPAND_DIMS": 1, "PAD": 2,
                   "PADV2": 2, "MEAN": 2, "SUM": 2, "REDUCE_MAX": 2, "REDUCE_ANY": 2, "SOFTMAX": 1, "TRANSPOSE": 2, "SPACE_TO_BATCH_ND": 3,
                   "BATCH_TO_SPACE_ND": 3, "MAXIMUM": 2, "MINIMUM": 2, "TRANSPOSE_CONV": 3,
                   "MIRROR_PAD": 2, "RESIZE_NEAREST_NEIGHBOR": 2, "RESIZE_BILINEAR": 2,
                   "BATCH_MATMUL": 2, "STRIDED_SLICE": 4, "SLICE": 3, "SPLIT": 2, "SPLIT_V": 3,
                   "GATHER": 2, "REVERSE_V2": 2}
RANKS = {"CONV_2D": {0: 4, 1: 4}, "DEPTHWISE_CONV_2D": {0: 4, 1: 4}, "TRANSPOSE_CONV": {1: 4, 2: 4},
         "RESIZE_NEAREST_NEIGHBOR": {0: 4}, "RESIZE_BILINEAR": {0: 4},
         "FULLY_CONNECTED": {1: 2}, "AVERAGE_POOL_2D": {0: 4}, "MAX_POOL_2D": {0: 4}}


def converter(*builtins: str):
    """Register a converter for one or more TFLite builtin operators."""

    def register(fn: Converter) -> Converter:
        unknown = sorted(set(builtins) - set(BUILTIN_NAMES.values()))
        if unknown:
            raise ValueError(f"TFLite converter {fn.__name__} names unknown builtin(s) "
                             f"{', '.join(unknown)}; see tflite.BuiltinOperator")
        for name in builtins:
            CONVERTERS[name] = fn
        return fn

    return register


def _activation(op: TfOp, ctx) -> str:
    act = op.options.get("fused_activation_function", "NONE")
    if act not in ("NONE", "RELU", "RELU6", "RELU_N1_TO_1"):
        raise EdgecError(f"{ctx.where(op)} has fused activation {act}, which edgec does not support",
                         "supported fused activations: NONE, RELU, RELU6, RELU_N1_TO_1")
    return act


def same_padding(size: int, kernel: int, stride: int, dilation: int) -> tuple[int, int]:
    """TFLite's SAME padding of one spatial dimension: (before, after); the odd pixel goes after."""
    out = (size + stride - 1) // stride
    effective = (kernel - 1) * dilation + 1
    total = max((out - 1) * stride + effective - size, 0)
    return total // 2, total - total // 2


def window_pads(op: TfOp, in_hw, kernel_hw, strides, dilations) -> tuple[int, int, int, int]:
    """Explicit (top, left, bottom, right) pads of a window op from its SAME/VALID padding."""
    if op.options.get("padding", "SAME") == "VALID":
        return (0, 0, 0, 0)
    top, bottom = same_padding(in_hw[0], kernel_hw[0], strides[0], dilations[0])
    left, right = same_padding(in_hw[1], kernel_hw[1], strides[1], dilations[1])
    return (top, left, bottom, right)


def _window_attrs(op: TfOp, ctx, kernel_hw, dilated: bool = True) -> dict:
    o = op.options
    strides = (int(o.get("stride_h", 1)), int(o.get("stride_w", 1)))
    dilations = (int(o.get("dilation_h_factor", 1)), int(o.get("dilation_w_factor", 1))) \
        if dilated else (1, 1)
    for key, values in (("kernel", kernel_hw), ("strides", strides), ("dilations", dilations)):
        check_window(ctx.where(op), key, values, low=1)
    in_hw = ctx.tensor(op.inputs[0]).shape[1:3]
    attrs = {"strides": strides, "pads": window_pads(op, in_hw, kernel_hw, strides, dilations),
             "activation": _activation(op, ctx)}
    if dilated:
        attrs["dilations"] = dilations
    return attrs


@converter("CONV_2D")
def _conv_2d(op, ctx):
    w = ctx.tensor(op.inputs[1])
    return [ctx.node(op, "CONV_2D", op.inputs[:3], _window_attrs(op, ctx, w.shape[1:3]))]


@converter("DEPTHWISE_CONV_2D")
def _depthwise_conv_2d(op, ctx):
    x, w = ctx.tensor(op.inputs[0]), ctx.tensor(op.inputs[1])
    attrs = _window_attrs(op, ctx, w.shape[1:3])
    # The weights fix the multiplier (out = in * M); the option may be 0 in converted files.
    attrs["depth_multiplier"] = w.shape[3] // x.shape[3]
    return [ctx.node(op, "DEPTHWISE_CONV_2D", op.inputs[:3], attrs)]


@converter("TRANSPOSE_CONV")
def _transpose_conv(op, ctx):
    """Inputs (output shape, weights, x, bias?); TFLite pads as a CONV_2D from the output
    (``ComputePaddingHeightWidth`` on the output size, the odd pixel ignored)."""
    x, w, y = ctx.tensor(op.inputs[2]), ctx.tensor(op.inputs[1]), ctx.tensor(op.outputs[0])
    o = op.options
    strides = (int(o.get("stride_h", 1)), int(o.get("stride_w", 1)))
    check_window(ctx.where(op), "strides", strides, low=1)
    if len(y.shape) != 4 or y.shape[3] != w.shape[0]:
        raise EdgecError(f"{ctx.where(op)}: output shape {list(y.shape)} does not match weights "
                         f"{list(w.shape)}", "check the model file is not corrupt")
    before, after = [], []  # after < 0: output rows past the full result
    for axis in (0, 1):
        k, out, size = w.shape[1 + axis], y.shape[1 + axis], x.shape[1 + axis]
        before.append(same_padding(out, k, strides[axis], 1)[0]
                      if o.get("padding") == "SAME" else 0)
        after.append((size - 1) * strides[axis] + k - before[-1] - out)
    attrs = {"strides": strides, "activation": _activation(op, ctx),
             "pads": (*before, *(max(a, 0) for a in after)),
             "output_padding": tuple(max(-a, 0) for a in after)}
    bias = op.inputs[3] if len(op.inputs) > 3 else -1
    return [ctx.node(op, "TRANSPOSE_CONV", [op.inputs[2], op.inputs[1], bias], attrs)]


@converter("FULLY_CONNECTED")
def _fully_connected(op, ctx):
    if op.options.get("weights_format", "DEFAULT") != "DEFAULT":
        raise EdgecError(f"{ctx.where(op)} uses weights format {op.options['weights_format']}",
                         "only the DEFAULT fully-connected weights format is supported")
    attrs = {"activation": _activation(op, ctx),
             "keep_num_dims": bool(op.options.get("keep_num_dims", False))}
    return [ctx.node(op, "FULLY_CONNECTED", op.inputs[:3], attrs)]


@converter("AVERAGE_POOL_2D", "MAX_POOL_2D")
def _pool_2d(op, ctx):
    if "filter_height" not in op.options:
        raise EdgecError(f"{ctx.where(op)} has no Pool2DOptions table",
                         "check the model file is not corrupt")
    kernel_hw = (int(op.options["filter_height"]), int(op.options["filter_width"]))
    attrs = _window_attrs(op, ctx, kernel_hw, dilated=False)
    attrs["filter"] = kernel_hw
    return [ctx.node(op, op.builtin, op.inputs[:1], attrs)]


@converter("ADD", "SUB", "MUL", "DIV")
def _binary(op, ctx):
    return [ctx.node(op, op.builtin, op.inputs[:2], {"activation": _activation(op, ctx)})]


@converter("CONCATENATION")
def _concatenation(op, ctx):
    rank = len(ctx.tensor(op.outputs[0]).shape)
    axis = int(op.options.get("axis", 0)) % rank
    return [ctx.node(op, "CONCATENATION", op.inputs, {"axis": axis,
                                                      "activation": _activation(op, ctx)})]


@converter("RESHAPE", "SQUEEZE", "EXPAND_DIMS")
def _reshape(op, ctx):
    shape = tuple(int(d) for d in ctx.tensor(op.outputs[0]).shape)
    return [ctx.node(op, "RESHAPE", op.inputs[:1], {"shape": shape})]


@converter("PAD", "PADV2")
def _pad(op, ctx):
    pads = _pairs(ctx, op, 1)
    value = None
    if op.builtin == "PADV2" and len(op.inputs) > 2 and op.inputs[2] >= 0:
        value = ctx.const(op, 2).reshape(-1)[0].item()
    return [ctx.node(op, "PAD", op.inputs[:1], {"pads": pads, "value": value})]


@converter("MIRROR_PAD")
def _mirror_pad(op, ctx):
    return [ctx.node(op, "MIRROR_PAD", op.inputs[:1],
                     {"pads": _pairs(ctx, op, 1), "mode": op.options.get("mode", "REFLECT")})]


@converter("RESIZE_NEAREST_NEIGHBOR", "RESIZE_BILINEAR")
def _resize(op, ctx):
    size = ctx.const(op, 1).reshape(-1)
    if size.size != 2 or size.dtype.kind not in "iu":
        raise EdgecError(f"{ctx.where(op)}: the size input holds {size.size} {size.dtype} "
                         "values, expected 2 integers", "check the model file is not corrupt")
    check_window(ctx.where(op), "size", size, low=1)
    o = op.options
    return [ctx.node(op, op.builtin, op.inputs[:1],
                     {"size": tuple(int(v) for v in size),
                      "align_corners": bool(o.get("align_corners", False)),
                      "half_pixel_centers": bool(o.get("half_pixel_centers", False))})]


@converter("BATCH_MATMUL")
def _batch_matmul(op, ctx):
    return [ctx.node(op, "BATCH_MATMUL", op.inputs[:2],
                     {"adj_x": bool(op.options.get("adj_x", False)),
                      "adj_y": bool(op.options.get("adj_y", False))})]


def _slice_nodes(op, ctx, x_index: int, y_index: int, plan, name: str) -> list[Node]:
    """STRIDED_SLICE of TFLite tensor ``x_index`` by ``plan`` ((begin, size, stride) per
    axis) into ``y_index``, through a RESHAPE when the output drops (shrinks) axes."""
    x, y = ctx.name(x_index), ctx.name(y_index)
    attrs = {"begin": tuple(p[0] for p in plan), "size": tuple(p[1] for p in plan),
             "steps": tuple(p[2] for p in plan)}
    shape = tuple(p[1] for p in plan)
    if shape == ctx.graph.tensors[y].shape:
        return [Node("STRIDED_SLICE", [x], [y], attrs, name)]
    t = ctx.graph.tensors[y]
    mid = ctx.graph.unique_name(f"{y}_unshrunk")
    ctx.graph.add_tensor(Tensor(mid, shape, t.dtype, quant=t.quant))
    return [Node("STRIDED_SLICE", [x], [mid], attrs, name),
            Node("RESHAPE", [mid], [y], {"shape": t.shape}, f"{name}_shrink")]


def _resolve_strided(op, ctx, shape) -> list[tuple[int, int, int]]:
    """TensorFlow's strided-slice rules (masks, negative indices, clamping) per axis."""
    o = op.options
    if o.get("ellipsis_mask", 0) or o.get("new_axis_mask", 0):
        raise EdgecError(f"{ctx.where(op)} uses an ellipsis or new-axis mask",
                         "export the slice with explicit begin/end per axis")
    begin, end, strides = (ctx.const(op, k).reshape(-1).tolist() for k in (1, 2, 3))
    if not len(begin) == len(end) == len(strides) <= len(shape):
        raise EdgecError(f"{ctx.where(op)} has {len(begin)} begin, {len(end)} end and "
                         f"{len(strides)} stride values for a rank-{len(shape)} input",
                         "check the model file is not corrupt")
    plan = []
    for i, n in enumerate(shape):
        if i >= len(begin):
            plan.append((0, n, 1))
            continue
        b, e, s = int(begin[i]), int(end[i]), int(strides[i])
        if s == 0:
            raise EdgecError(f"{ctx.where(op)} has stride 0", "strides must be non-zero")
        if o.get("shrink_axis_mask", 0) >> i & 1:
            plan.append((b + n if b < 0 else b, 1, 1))
            continue
        if o.get("offset", False):
            e = b + e
        lo, hi = (0, n) if s > 0 else (-1, n - 1)
        b = (0 if s > 0 else n - 1) if o.get("begin_mask", 0) >> i & 1 else \
            min(max(b + n if b < 0 else b, lo), hi)
        e = (n if s > 0 else -1) if o.get("end_mask", 0) >> i & 1 else \
            min(max(e + n if e < 0 else e, lo), hi)
        plan.append((b, max(0, -(-(e - b) // s)), s))
    return plan


@converter("STRIDED_SLICE", "SLICE")
def _strided_slice(op, ctx):
    shape = ctx.tensor(op.inputs[0]).shape
    if op.builtin == "SLICE":
        begin, size = (ctx.const(op, k).reshape(-1).tolist() for k in (1, 2))
        plan = [(int(b), n - int(b) if sz == -1 else int(sz), 1)
                for b, sz, n in zip(begin, size, shape)]
    else:
        plan = _resolve_strided(op, ctx, shape)
    return _slice_nodes(op, ctx, op.inputs[0], op.outputs[0], plan,
                        f"{op.builtin.lower()}_{op.index}")


@converter("SPLIT", "SPLIT_V")
def _split(op, ctx):
    """One STRIDED_SLICE per output along the split axis."""
    x_index = op.inputs[1] if op.builtin == "SPLIT" else op.inputs[0]
    axis_input = 0 if op.builtin == "SPLIT" else 2
    shape = ctx.tensor(x_index).shape
    axis_value = ctx.const(op, axis_input).reshape(-1)
    outs = [ctx.tensor(o).shape for o in op.outputs]
    if axis_value.size != 1 or not shape or any(len(o) != len(shape) for o in outs):
        raise EdgecError(f"{ctx.where(op)}: axis {axis_value.tolist()} or output ranks do not "
                         f"fit a rank-{len(shape)} input", "check the model file is not corrupt")
    axis = int(axis_value[0]) % len(shape)
    sizes = [o[axis] for o in outs]
    if sum(sizes) != shape[axis]:
        raise EdgecError(f"{ctx.where(op)} splits {shape[axis]} into {sizes}",
                         "check the model file is not corrupt")
    nodes, start = [], 0
    for k, (out, size) in enumerate(zip(op.outputs, sizes)):
        plan = [(start if d == axis else 0, size if d == axis else n, 1)
                for d, n in enumerate(shape)]
        name = f"{op.builtin.lower()}_{op.index}_{k}"
        nodes += _slice_nodes(op, ctx, x_index, out, plan, name)
        start += size
    return nodes


@converter("UNPACK")
def _unpack(op, ctx):
    """One STRIDED_SLICE (plus a RESHAPE dropping the axis) per output: the converter's
    unrolled recurrent layers split the sequence into steps this way."""
    shape = ctx.tensor(op.inputs[0]).shape
    axis = int(op.options.get("axis", 0))
    if not shape or not -len(shape) <= axis < len(shape) \
            or len(op.outputs) != shape[axis % len(shape)]:
        raise EdgecError(f"{ctx.where(op)}: {len(op.outputs)} outputs along axis {axis} of a "
                         f"{list(shape)} input", "check the model file is not corrupt")
    axis %= len(shape)
    nodes = []
    for k, out in enumerate(op.outputs):
        plan = [(k if d == axis else 0, 1 if d == axis else n, 1) for d, n in enumerate(shape)]
        nodes += _slice_nodes(op, ctx, op.inputs[0], out, plan,
                              f"{op.builtin.lower()}_{op.index}_{k}")
    return nodes


@converter("PACK")
def _pack(op, ctx):
    """PACK computed at run time (constant ones fold at import): each input RESHAPEd to
    hold the new axis, then one CONCATENATION along it (int8: the inputs share the output's
    quantization, as TFLite Micro's PACK requires)."""
    out = ctx.tensor(op.outputs[0])
    axis = int(op.options.get("axis", 0))
    if not -len(out.shape) <= axis < len(out.shape):
        raise EdgecError(f"{ctx.where(op)}: axis {axis} for a rank-{len(out.shape)} output",
                         "check the model file is not corrupt")
    axis %= len(out.shape)
    if not op.inputs or any(index < 0 for index in op.inputs):
        raise EdgecError(f"{ctx.where(op)}: PACK needs every input tensor",
                         "check the model file is not corrupt")
    name = f"{op.builtin.lower()}_{op.index}"
    nodes, parts = [], []
    for k, index in enumerate(op.inputs):
        x = ctx.graph.tensors[ctx.name(index)]
        shape = x.shape[:axis] + (1,) + x.shape[axis:]
        part = ctx.graph.unique_name(f"{x.name}_packed")
        ctx.graph.add_tensor(Tensor(part, shape, x.dtype, quant=x.quant))
        nodes.append(Node("RESHAPE", [x.name], [part], {"shape": shape}, f"{name}_{k}"))
        parts.append(part)
    nodes.append(Node("CONCATENATION", parts, [ctx.name(op.outputs[0])],
                      {"axis": axis, "activation": "NONE"}, name))
    return nodes


@converter("REVERSE_V2")
def _reverse_v2(op, ctx):
    """REVERSE_V2 along constant axes: a STRIDED_SLICE with stride -1 on each (Keras
    Bidirectional's backward layer reads its sequence reversed)."""
    shape = ctx.tensor(op.inputs[0]).shape
    axes = [int(a) for a in ctx.const(op, 1).reshape(-1)]
    if not all(-len(shape) <= a < len(shape) for a in axes):
        raise EdgecError(f"{ctx.where(op)}: axes {axes} for a rank-{len(shape)} input",
                         "check the model file is not corrupt")
    flip = {a % len(shape) for a in axes}
    plan = [(n - 1, n, -1) if d in flip else (0, n, 1) for d, n in enumerate(shape)]
    return _slice_nodes(op, ctx, op.inputs[0], op.outputs[0], plan,
                        f"{op.builtin.lower()}_{op.index}")


@converter("GATHER")
def _gather(op, ctx):
    """GATHER at indices known at import (a loop's step counter, unrolled) from data
    computed at run time: a STRIDED_SLICE when the indices are evenly spaced."""
    shape = ctx.tensor(op.inputs[0]).shape
    indices = ctx.const(op, 1)
    axis = int(op.options.get("axis", 0))
    flat = [int(i) for i in indices.reshape(-1)]
    if not -len(shape) <= axis < len(shape) or int(op.options.get("batch_dims", 0)) != 0:
        raise EdgecError(f"{ctx.where(op)} gathers along axis {axis} with batch_dims "
                         f"{op.options.get('batch_dims', 0)} from a rank-{len(shape)} input",
                         "edgec takes GATHER with batch_dims 0 along an existing axis")
    axis %= len(shape)
    steps = {b - a for a, b in zip(flat, flat[1:])}
    if indices.dtype.kind not in "iu" or not flat or len(steps) > 1 or 0 in steps \
            or not all(0 <= i < shape[axis] for i in flat):
        raise EdgecError(f"{ctx.where(op)} gathers indices {flat[:8]} from an axis of "
                         f"{shape[axis]}", "edgec takes GATHER at constant, in-range, evenly "
                         "spaced indices")
    step = steps.pop() if steps else 1
    plan = [(flat[0], len(flat), step) if d == axis else (0, n, 1) for d, n in enumerate(shape)]
    return _slice_nodes(op, ctx, op.inputs[0], op.outputs[0], plan,
                        f"{op.builtin.lower()}_{op.index}")


@converter("MEAN", "SUM", "REDUCE_MAX", "REDUCE_ANY")
def _reduce(op, ctx):
    """The reductions: the IR op of the builtin's name over sorted, distinct axes."""
    rank = len(ctx.tensor(op.inputs[0]).shape)
    axes = ctx.const(op, 1).reshape(-1)
    if not all(-rank <= int(a) < rank for a in axes):
        raise EdgecError(f"{ctx.where(op)}: axes {axes.tolist()} for a rank-{rank} input",
                         "check the model file is not corrupt")
    axes = tuple(sorted({int(a) % rank for a in axes}))
    return [ctx.node(op, op.builtin, op.inputs[:1],
                     {"axes": axes, "keep_dims": bool(op.options.get("keep_dims", False))})]


@converter("SOFTMAX")
def _softmax(op, ctx):
    return [ctx.node(op, "SOFTMAX", op.inputs[:1], {"beta": float(op.options.get("beta", 1.0))})]


@converter(*plain_ops())
def _plain(op, ctx):
    """The builtin of an IR op without attributes (LOGISTIC, TANH, ...) is that op."""
    return [ctx.node(op, op.builtin, op.inputs[:get_op(op.builtin).min_inputs], {})]


@converter("CAST")
def _cast(op, ctx):
    """TFLite's CAST has no options (its float targets are float32, float16, float64)."""
    return [ctx.node(op, "CAST", op.inputs[:1], {})]


@converter("LEAKY_RELU")
def _leaky_relu(op, ctx):
    return [ctx.node(op, "LEAKY_RELU", op.inputs[:1],
                     {"alpha": float(op.options.get("alpha", 0.0))})]


@converter("TRANSPOSE")
def _transpose(op, ctx):
    perm = tuple(int(p) for p in ctx.const(op, 1).reshape(-1))
    return [ctx.node(op, "TRANSPOSE", op.inputs[:1], {"perm": perm})]


def _pairs(ctx, op: TfOp, position: int, rank: int | None = None) -> tuple[tuple[int, int], ...]:
    """A constant [rank, 2] input (paddings, crops) as pairs; bounded like window pads."""
    array = ctx.const(op, position)
    rank = len(ctx.tensor(op.inputs[0]).shape) if rank is None else rank
    if array.size != 2 * rank or array.dtype.kind not in "iu":
        raise EdgecError(f"{ctx.where(op)}: input {position} holds {array.size} "
                         f"{array.dtype} values, expected {2 * rank} integers (two per axis)",
                         "check the model file is not corrupt")
    check_window(ctx.where(op), "paddings", array.reshape(-1))
    return tuple((int(a), int(b)) for a, b in array.reshape(-1, 2))


@converter("SPACE_TO_BATCH_ND")
def _space_to_batch_nd(op, ctx):
    return _block_op(op, ctx, "SPACE_TO_BATCH_ND", "paddings")


@converter("BATCH_TO_SPACE_ND")
def _batch_to_space_nd(op, ctx):
    return _block_op(op, ctx, "BATCH_TO_SPACE_ND", "crops")


def _block_op(op, ctx, ir_op: str, key: str):
    """The NHWC op; a rank-3 (N, W, C) tensor with one block size (the converter's dilated
    Conv1D) runs as (N, 1, W, C) with block (1, b) between two RESHAPEs."""
    block = tuple(int(b) for b in ctx.const(op, 1).reshape(-1))
    pairs = _pairs(ctx, op, 2, len(block))
    if len(ctx.tensor(op.inputs[0]).shape) != 3 or len(block) != 1:
        return [ctx.node(op, ir_op, op.inputs[:1], {"block_shape": block, key: pairs})]
    x, y = ctx.name(op.inputs[0]), ctx.name(op.outputs[0])
    x4, y4 = (_with_unit_h(ctx, name) for name in (x, y))
    name = f"{op.builtin.lower()}_{op.index}"
    return [Node("RESHAPE", [x], [x4], {"shape": ctx.graph.tensors[x4].shape}, f"{name}_h1"),
            Node(ir_op, [x4], [y4], {"block_shape": (1, block[0]),
                                     key: ((0, 0), pairs[0])}, name),
            Node("RESHAPE", [y4], [y], {"shape": ctx.graph.tensors[y].shape}, f"{name}_w")]


def _with_unit_h(ctx, name: str) -> str:
    """A new tensor like the (N, W, C) tensor ``name``, shaped (N, 1, W, C)."""
    t = ctx.graph.tensors[name]
    n, w, c = t.shape
    new = ctx.graph.unique_name(f"{name}_h1")
    ctx.graph.add_tensor(Tensor(new, (n, 1, w, c), t.dtype, quant=t.quant))
    return new


# UNIDIRECTIONAL_SEQUENCE_LSTM's 24 inputs: the ones edgec takes, in the IR op's order
# (x, input weights i f c o, recurrent weights i f c o, biases i f c o), then the two state
# tensors; the others (peephole, projection, layer norm) must be absent.
_LSTM_TAKEN = (0, 1, 2, 3, 4, 5, 6, 7, 8, 12, 13, 14, 15)
_LSTM_STATES = (18, 19)
_LSTM_ABSENT = {9: "peephole", 10: "peephole", 11: "peephole", 16: "projection",
                17: "projection", 20: "layer norm", 21: "layer norm", 22: "layer norm",
                23: "layer norm"}


@converter("UNIDIRECTIONAL_SEQUENCE_LSTM")
def _lstm(op, ctx):
    """A standard LSTM; its variable state tensors become constants at their zero point (the
    state starts there each inference, as a fresh TFLM interpreter's does)."""
    ins = list(op.inputs) + [-1] * (24 - len(op.inputs))
    act = op.options.get("fused_activation_function", "TANH")
    missing = [i for i in _LSTM_TAKEN + _LSTM_STATES if ins[i] < 0]
    extra = sorted({_LSTM_ABSENT[i] for i in _LSTM_ABSENT if ins[i] >= 0})
    if missing or extra or act != "TANH" or float(op.options.get("proj_clip", 0.0)) > 0:
        what = ("CIFG (no input gate)" if ins[1] < 0 else
                f"missing inputs {missing}" if missing else
                f"{', '.join(extra)}" if extra else f"activation {act} / projection clip")
        raise EdgecError(f"{ctx.where(op)} uses {what}, which edgec's LSTM does not support",
                         "edgec compiles the standard (Keras) LSTM: input, forget, cell and "
                         "output gates, tanh, no peephole, projection or layer norm")
    states = [_initial_state(ctx, ins[i]) for i in _LSTM_STATES]
    attrs = {"time_major": bool(op.options.get("time_major", False)),
             "cell_clip": float(op.options.get("cell_clip", 0.0))}
    node = ctx.node(op, "UNIDIRECTIONAL_SEQUENCE_LSTM", [ins[i] for i in _LSTM_TAKEN], attrs)
    node.inputs.extend(states)
    return [node]


@converter("SVDF")
def _svdf(op, ctx):
    """SVDF; its variable state tensor becomes a constant holding the state before the
    first inference (its zero point, as TFLM resets it). The state persists between
    inferences (edgec.ir.ops.svdf)."""
    ins = list(op.inputs) + [-1] * (5 - len(op.inputs))
    if ins[4] < 0:
        raise EdgecError(f"{ctx.where(op)} has no state tensor (input 4)",
                         "check the model file is not corrupt")
    attrs = {"rank": int(op.options.get("rank", 1)), "activation": _activation(op, ctx)}
    node = ctx.node(op, "SVDF", ins[:4], attrs)
    node.inputs.append(_initial_state(ctx, ins[4]))
    return [node]


def _initial_state(ctx, index: int) -> str:
    """The IR constant for TFLite state tensor ``index``: itself when constant, else (a
    variable) a new constant at its zero point, the value TFLM resets it to."""
    ir = ctx.graph.tensors[ctx.name(index)]
    if ir.is_const:
        return ir.name
    name = ctx.graph.unique_name(f"{ir.name}_initial")
    zp = ir.quant.zp if ir.quant is not None else 0
    ctx.graph.add_tensor(Tensor(name, ir.shape, ir.dtype,
                                np.full(ir.shape, zp, storage_dtype(ir.dtype)), ir.quant))
    return name
