"""ONNX converters for data movement: Reshape, Flatten, Squeeze, Unsqueeze, Transpose,
Concat, Gather, Expand, Tile, Pad, Resize, Slice, Split, ReduceMean, ReduceSum, ReduceMax,
Shape.

These keep the kind of their input: on an int8 (or dequantized int8) tensor they move int8
data, as TFLite's RESHAPE/CONCATENATION/PAD do between quantized ops."""

from __future__ import annotations

import numpy as np
import onnx

from edgec.errors import EdgecError
from edgec.frontends import onnx_layout as lay
from edgec.frontends.onnx_common import (attrs, const_operand, keep_kind, operand, opset,
                                         plain_int_op, quant_mode)
from edgec.frontends.onnx_context import Context, Value
from edgec.frontends.onnx_registry import converter
from edgec.frontends.onnx_resize import resize_separable
from edgec.ir.ops.resize import ONNX_COORDINATES, ONNX_ROUNDING


@converter("Reshape", "Flatten", "Squeeze", "Unsqueeze")
def reshape(ctx: Context, node: onnx.NodeProto) -> None:
    """All four become RESHAPE to the ONNX output shape (of the input in ONNX order)."""
    shape = ctx.shape(node.output[0])  # first: a shape known only at run time is the cause
    v = ctx.value(node.input[0])
    x = ctx.in_layout(v, None, node.input[0])
    keep_kind(ctx, v, node, "RESHAPE", [x], {"shape": shape}, None)


@converter("Transpose")
def transpose(ctx: Context, node: onnx.NodeProto) -> None:
    """No IR op: the output is the same IR tensor seen in another layout. A TRANSPOSE is only
    materialized where a consumer needs a layout (so exporter-inserted pairs cancel)."""
    v = ctx.value(node.input[0])
    rank = len(ctx.shape(node.input[0]))
    perm = tuple(attrs(node).get("perm", range(rank - 1, -1, -1)))
    perm_inv = lay.inverse(perm)
    layout = lay.normalize([perm_inv[c] for c in lay.full(v.layout, rank)])
    ctx.values[node.output[0]] = Value(v.name, layout, v.kind)


@converter("Concat")
def concat(ctx: Context, node: onnx.NodeProto) -> None:
    """Concat -> CONCATENATION, in the layout of the first activation input; constant inputs
    become constant tensors in that layout (int8 ones keep their quantization)."""
    rank = len(ctx.shape(node.output[0]))
    axis = attrs(node)["axis"] % rank
    acts = [i for i in node.input if not ctx.is_const(i)]
    if any([ctx.plain_int(a) for a in acts]):
        plain_int_op(ctx, node, "CONCATENATION", list(node.input), ir_attrs=lambda layout: {
            "axis": lay.ir_axis(axis, layout, rank)})
        return
    layout = ctx.value(acts[0]).layout
    quantized = quant_mode(ctx, node, acts) and all(
        i in ctx.qconsts for i in node.input if ctx.is_const(i))
    inputs = [operand(ctx, i, layout, quantized) if i in acts
              else const_operand(ctx, i, layout, rank, quantized) for i in node.input]
    ctx.emit(node, "CONCATENATION", inputs, {"axis": lay.ir_axis(axis, layout, rank)}, layout,
             quantized)


def _scalar(value, node: onnx.NodeProto) -> float:
    value = np.asarray(value)
    if value.size != 1 or value.dtype.kind not in "fiub":
        raise EdgecError(f"Pad '{node.name}' has a padding value of {value.size} "
                         f"{value.dtype} elements, not one number",
                         "the constant_value input is a scalar")
    return float(value.reshape(-1)[0])


_PAD_MODES = {"reflect": "REFLECT", "edge": "EDGE", "wrap": "WRAP"}  # ONNX -> MIRROR_PAD


@converter("Pad")
def pad(ctx: Context, node: onnx.NodeProto) -> None:
    """Pad -> PAD (mode constant) or MIRROR_PAD (reflect, edge), in the input's layout; an
    ``axes`` input (opset 18) pads only those axes."""
    a = attrs(node)
    mode = a.get("mode", "constant")
    if isinstance(mode, bytes):
        mode = mode.decode()
    if mode != "constant" and mode not in _PAD_MODES:
        raise EdgecError(f"Pad '{node.name}' uses mode '{mode}'",
                         "modes: constant, reflect, edge, wrap")
    rank = len(ctx.shape(node.input[0]))
    pads = a["pads"] if opset(ctx) < 11 else ctx.const(node.input[1], "Pad's pads")
    pads = [int(p) for p in np.asarray(pads).reshape(-1)]
    if len(node.input) > 3 and node.input[3]:
        axes = [int(x) % rank for x in ctx.const(node.input[3], "Pad's axes").reshape(-1)]
        full = [0] * (2 * rank)
        for k, axis in enumerate(axes):
            full[axis], full[axis + rank] = pads[k], pads[k + len(axes)]
        pads = full
    if len(pads) != 2 * rank:
        raise EdgecError(f"Pad '{node.name}' has {len(pads)} pads for a rank-{rank} input",
                         "give a begin and an end pad per axis")
    fill = a.get("value", 0.0) if opset(ctx) < 11 else (
        _scalar(ctx.const(node.input[2], "Pad's value"), node)
        if len(node.input) > 2 and node.input[2] else 0.0)
    plain = ctx.plain_int(node.input[0])
    v = ctx.value(node.input[0])
    order = lay.full(v.layout, rank)
    ir_pads = tuple((pads[p], pads[p + rank]) for p in order)
    if mode != "constant":
        keep_kind(ctx, v, node, "MIRROR_PAD", [v.name],
                  {"pads": ir_pads, "mode": _PAD_MODES[mode]}, v.layout)
        return
    if plain and len(node.input) > 2 and node.input[2]:
        fill = int(np.asarray(ctx.const(node.input[2])).reshape(-1)[0])  # exact, any width
    if fill != 0.0 and v.kind not in ("float", "int"):
        raise EdgecError(f"Pad '{node.name}' pads a quantized tensor with {fill}",
                         "quantized padding must pad with 0.0 (the zero point)")
    ir_attrs = {"pads": ir_pads} if fill == 0.0 else {"pads": ir_pads, "value": fill}
    keep_kind(ctx, v, node, "PAD", [v.name], ir_attrs, v.layout)


# ONNX linear modes whose source coordinates are TFLite's (align_corners,
# half_pixel_centers): an int8 (QDQ) linear resize runs TFLM's integer kernel with them.
_TFLITE_LINEAR = {"asymmetric": (False, False), "align_corners": (True, False),
                  "half_pixel": (False, True)}
_RESIZE_OPS = {"nearest": "RESIZE_NEAREST_NEIGHBOR", "linear": "RESIZE_BILINEAR"}


def _text(value, default: str) -> str:
    value = default if value is None else value
    return value.decode() if isinstance(value, bytes) else str(value)


@converter("Resize")
def resize(ctx: Context, node: onnx.NodeProto) -> None:
    """Resize of H and W of an NCHW tensor -> RESIZE_NEAREST_NEIGHBOR / RESIZE_BILINEAR with
    ONNX's coordinates (``coordinate``, ``rounding``); an int8 linear resize takes TFLite's
    flags instead (``_TFLITE_LINEAR``), which TFLM's integer kernel needs. Every other float
    resize (cubic, antialias, other axes or coordinate modes, scales that do not give whole
    sizes ...) is a constant MatMul per axis (``onnx_resize``)."""
    a = attrs(node)
    mode = _text(a.get("mode"), "nearest")
    coord = _text(a.get("coordinate_transformation_mode"), "half_pixel")
    rounding = _text(a.get("nearest_mode"), "round_prefer_floor") if mode == "nearest" else ""
    _check_static_parameters(ctx, node)
    shape, out = ctx.shape(node.input[0]), ctx.shape(node.output[0])
    v = ctx.value(node.input[0])
    if len(shape) != 4 or tuple(out[:2]) != tuple(shape[:2]) or \
            a.get("antialias", 0) or a.get("exclude_outside", 0) or \
            _text(a.get("keep_aspect_ratio_policy"), "stretch") != "stretch" or \
            mode not in _RESIZE_OPS or coord not in ONNX_COORDINATES or \
            (rounding and rounding not in ONNX_ROUNDING) or \
            not _whole_scales(ctx, node, shape, out):
        if v.kind in ("float", "deq"):
            resize_separable(ctx, node)
            return
        raise EdgecError(f"Resize '{node.name}' of int8 values uses mode {mode}, coordinate "
                         f"mode {coord}{f', nearest mode {rounding}' if rounding else ''} "
                         f"(from {list(shape)} to {list(out)})",
                         "int8 resizes are TFLite's: H and W of NCHW, whole scales, modes "
                         f"nearest, linear; coordinate modes: {', '.join(ONNX_COORDINATES)}; "
                         "no antialias, exclude_outside or keep_aspect_ratio_policy")
    ir_attrs = {"size": tuple(int(d) for d in out[2:]), "coordinate": coord,
                "rounding": rounding}
    if mode == "linear" and v.kind != "float":
        if coord not in _TFLITE_LINEAR:
            raise EdgecError(f"Resize '{node.name}' resizes int8 values linearly with "
                             f"coordinate mode {coord}",
                             f"int8 linear resizing takes {', '.join(_TFLITE_LINEAR)}")
        align, half = _TFLITE_LINEAR[coord]
        ir_attrs = {"size": ir_attrs["size"], "align_corners": align,
                    "half_pixel_centers": half}
    x = ctx.in_layout(v, lay.NHWC, node.input[0])
    keep_kind(ctx, Value(x, lay.NHWC, v.kind), node, _RESIZE_OPS[mode], [x], ir_attrs,
              lay.NHWC)


def _check_static_parameters(ctx: Context, node: onnx.NodeProto) -> None:
    """Scales or sizes computed at run time give a run-time output shape."""
    if opset(ctx) < 11:
        return
    for k, what in ((2, "scales"), (3, "sizes")):
        if len(node.input) > k and node.input[k] and not ctx.is_const(node.input[k]):
            raise EdgecError(f"Resize '{node.name}' takes its {what} at run time, so its "
                             "output shape is not known when compiling",
                             f"export the model with constant {what} (edgec's tensors have "
                             "static shapes)")


def _whole_scales(ctx: Context, node: onnx.NodeProto, shape, out) -> bool:
    """With ``scales`` (no ``sizes``), ONNX maps coordinates by the scale, TFLite by
    ``in / out``: they agree when ``in * scale`` is the output size exactly."""
    if len(node.input) > 3 and node.input[3]:
        return True
    if len(node.input) < 3 or not node.input[2]:
        scales = np.asarray(attrs(node).get("scales", []), np.float32)  # opset < 11
    else:
        scales = ctx.const(node.input[2], "Resize's scales").astype(np.float32).reshape(-1)
    return not (scales.size == len(shape) and any(
        np.float32(i) * s != np.float32(o) for i, s, o in zip(shape[2:], scales[2:], out[2:])))


def _slice_to_ir(ctx: Context, node: onnx.NodeProto, out: str, plan: dict) -> None:
    """STRIDED_SLICE writing ONNX ``out``; ``plan`` maps ONNX axes to (begin, size, step),
    the other axes are kept whole. In the input's layout."""
    v = ctx.value(node.input[0])
    shape = ctx.shape(node.input[0])
    onnx_plan = [plan.get(d, (0, n, 1)) for d, n in enumerate(shape)]
    if any(size < 1 for _, size, _ in onnx_plan):
        raise EdgecError(f"{node.op_type} '{node.name}' makes an empty tensor",
                         "edgec's tensors have at least one element")
    ir_plan = [onnx_plan[d] for d in lay.full(v.layout, len(shape))]
    ctx.shapes.setdefault(out, tuple(p[1] for p in onnx_plan))
    part = onnx.helper.make_node(node.op_type, [node.input[0]], [out], name=node.name)
    keep_kind(ctx, v, part, "STRIDED_SLICE", [v.name],
              {"begin": tuple(p[0] for p in ir_plan), "size": tuple(p[1] for p in ir_plan),
               "steps": tuple(p[2] for p in ir_plan)}, v.layout)


@converter("Slice")
def slice_(ctx: Context, node: onnx.NodeProto) -> None:
    """Slice of an activation -> STRIDED_SLICE (ONNX's clamping of starts and ends)."""
    shape = ctx.shape(node.input[0])
    if opset(ctx) < 10:
        a = attrs(node)
        starts, ends = list(a["starts"]), list(a["ends"])
        axes, steps = list(a.get("axes", range(len(starts)))), [1] * len(starts)
    else:
        starts, ends = (ctx.const(node.input[k], "Slice's starts/ends").reshape(-1).tolist()
                        for k in (1, 2))
        axes = (ctx.const(node.input[3], "Slice's axes").reshape(-1).tolist()
                if len(node.input) > 3 and node.input[3] else list(range(len(starts))))
        steps = (ctx.const(node.input[4], "Slice's steps").reshape(-1).tolist()
                 if len(node.input) > 4 and node.input[4] else [1] * len(starts))
    plan = {}
    for b, e, axis, step in zip(starts, ends, axes, steps):
        axis, n, b, e, step = int(axis) % len(shape), shape[int(axis) % len(shape)], int(b), \
            int(e), int(step)
        if step == 0:
            raise EdgecError(f"Slice '{node.name}' has step 0", "steps must be non-zero")
        b, e = b + n if b < 0 else b, e + n if e < 0 else e
        b = min(max(b, 0), n) if step > 0 else min(max(b, 0), n - 1)
        e = min(max(e, 0), n) if step > 0 else min(max(e, -1), n - 1)
        plan[axis] = (b, max(0, -(-(e - b) // step)), step)
    _slice_to_ir(ctx, node, node.output[0], plan)


@converter("Split")
def split(ctx: Context, node: onnx.NodeProto) -> None:
    """Split of an activation -> one STRIDED_SLICE per output (sizes from the outputs)."""
    shape = ctx.shape(node.input[0])
    axis = int(attrs(node).get("axis", 0)) % len(shape)
    start = 0
    for out in node.output:
        size = ctx.shape(out)[axis]
        if out and not ctx.is_const(out):  # (an empty part is an empty constant)
            _slice_to_ir(ctx, node, out, {axis: (start, size, 1)})
        start += size


@converter("Gather")
def gather(ctx: Context, node: onnx.NodeProto) -> None:
    """Gather of an activation by constant indices (PyTorch's ``x[:, -1]``) -> STRIDED_SLICE:
    one when the indices step evenly, else one per index joined by CONCATENATION; then a
    RESHAPE to the output shape (a scalar index drops the axis). In ONNX order."""
    shape = ctx.shape(node.input[0])
    axis = int(attrs(node).get("axis", 0)) % len(shape)
    indices = np.asarray(ctx.const(node.input[1], "Gather's indices"))
    if indices.dtype.kind not in "iu" or indices.size == 0:
        raise EdgecError(f"Gather '{node.name}' has {indices.size} {indices.dtype} indices",
                         "gather by constant integer indices")
    n = shape[axis]
    flat = [int(i) for i in indices.reshape(-1)]
    if any(not -n <= i < n for i in flat):
        raise EdgecError(f"Gather '{node.name}' has an index outside [-{n}, {n - 1}]",
                         f"indices of axis {axis} are in [-{n}, {n - 1}]")
    flat = [i % n for i in flat]
    steps = {b - a for a, b in zip(flat, flat[1:])}
    if len(flat) == 1 or (len(steps) == 1 and steps.pop() > 0):
        runs = [(flat[0], len(flat), flat[1] - flat[0] if len(flat) > 1 else 1)]
    else:
        runs = [(i, 1, 1) for i in flat]
    out = node.output[0]
    v = ctx.value(node.input[0])
    ctx.values[f"{out}_onnx_order"] = Value(ctx.in_layout(v, None, node.input[0]), None, v.kind)
    ctx.shapes[f"{out}_onnx_order"] = shape
    parts = []
    for k, run in enumerate(runs):
        part = f"{out}_gather{k}"
        sliced = onnx.helper.make_node("Gather", [f"{out}_onnx_order"], [part], name=node.name)
        _slice_to_ir(ctx, sliced, part, {axis: run})
        parts.append(part)
    if len(parts) > 1:
        joined = onnx.helper.make_node("Concat", parts, [f"{out}_gathered"], name=node.name,
                                       axis=axis)
        ctx.shapes[joined.output[0]] = shape[:axis] + (len(flat),) + shape[axis + 1:]
        pv = ctx.value(parts[0])
        keep_kind(ctx, pv, joined, "CONCATENATION", [ctx.value(p).name for p in parts],
                  {"axis": axis}, None)
        parts = [joined.output[0]]
    last = ctx.value(parts[0])
    keep_kind(ctx, last, node, "RESHAPE", [last.name], {"shape": ctx.shape(out)}, None)


@converter("Expand")
def expand(ctx: Context, node: onnx.NodeProto) -> None:
    """Expand to a constant shape -> float MUL by ones of the output shape (exact: x * 1 is
    x, signed zeros and NaNs included); plain integers: their MUL by ones."""
    ctx.const(node.input[1], "Expand's shape")
    out_shape = ctx.shape(node.output[0])
    x = node.input[0]
    if out_shape == ctx.shape(x):
        v = ctx.value(x)
        keep_kind(ctx, v, node, "RESHAPE", [ctx.in_layout(v, None, x)],
                  {"shape": out_shape}, None)
        return
    if ctx.plain_int(x):
        ones = f"{node.output[0]}_ones"
        ctx.consts[ones] = np.ones(out_shape, ctx.tensor(ctx.value(x)).dtype)
        plain_int_op(ctx, node, "MUL", [x, ones])
        return
    v = ctx.as_float(ctx.value(x), x)
    ranked = (1,) * (len(out_shape) - len(ctx.shape(x))) + ctx.shape(x)
    x_ir = ctx.in_layout(v, None, x)
    if ranked != ctx.shape(x):  # the input first gets the output's rank
        ranked_ir = ctx.new_tensor(f"{node.output[0]}_ranked", ranked, "float32")
        ctx.add_node("RESHAPE", [x_ir], [ranked_ir], {"shape": ranked}, node.name)
        x_ir = ranked_ir
    ones = ctx.const_tensor(f"{node.output[0]}_ones", np.ones(out_shape, np.float32))
    out = ctx.new_tensor(node.output[0], out_shape, "float32")
    ctx.add_node("MUL", [x_ir, ones], [out], {}, node.name or node.output[0])
    ctx.values[node.output[0]] = Value(out, None, "float")


@converter("Tile")
def tile(ctx: Context, node: onnx.NodeProto) -> None:
    """Tile by constant repeats -> one CONCATENATION of copies per repeated axis (in ONNX
    order)."""
    repeats = [int(r) for r in ctx.const(node.input[1], "Tile's repeats").reshape(-1)]
    shape = ctx.shape(node.input[0])
    if len(repeats) != len(shape) or min(repeats) < 1:
        raise EdgecError(f"Tile '{node.name}' repeats {repeats} a {len(shape)}-D tensor",
                         "give one repeat count of at least 1 per axis")
    v = ctx.value(node.input[0])
    current, cur_shape = ctx.in_layout(v, None, node.input[0]), list(shape)
    axes = [d for d, r in enumerate(repeats) if r > 1]
    if not axes:
        keep_kind(ctx, v, node, "RESHAPE", [current], {"shape": tuple(shape)}, None)
        return
    for k, d in enumerate(axes):
        cur_shape[d] *= repeats[d]
        name = node.output[0] if k == len(axes) - 1 else f"{node.output[0]}_tile{k}"
        ctx.shapes[name] = tuple(cur_shape)
        step = onnx.helper.make_node("Concat", [], [name], name=node.name)
        keep_kind(ctx, v, step, "CONCATENATION", [current] * repeats[d], {"axis": d}, None)
        current = ctx.value(name).name


# Reductions: IR op, and the first opset taking the axes as an input instead of an attribute.
_REDUCTIONS = {"ReduceMean": ("MEAN", 18), "ReduceSum": ("SUM", 13), "ReduceMax": ("REDUCE_MAX", 18)}


@converter(*_REDUCTIONS)
def reduce(ctx: Context, node: onnx.NodeProto) -> None:
    """ReduceMean / ReduceSum / ReduceMax -> MEAN / SUM / REDUCE_MAX over the corresponding IR
    axes; no axes reduce all of them, or (``noop_with_empty_axes``) pass the input through."""
    op, axes_input_from = _REDUCTIONS[node.op_type]
    a = attrs(node)
    rank = len(ctx.shape(node.input[0]))
    if opset(ctx) >= axes_input_from and len(node.input) > 1 and node.input[1]:
        axes = [int(i) for i in ctx.const(node.input[1], f"{node.op_type}'s axes").reshape(-1)]
    else:
        axes = list(a.get("axes", []))
    v = ctx.value(node.input[0])
    if not axes and a.get("noop_with_empty_axes", 0):
        x = ctx.in_layout(v, None, node.input[0])
        keep_kind(ctx, v, node, "RESHAPE", [x], {"shape": ctx.shape(node.output[0])}, None)
        return
    if any(not -rank <= int(x) < rank for x in axes):
        raise EdgecError(f"{node.op_type} '{node.name}': axes {axes} for a rank-{rank} input",
                         f"use axes in [{-rank}, {rank - 1}]")
    axes = sorted({int(x) % rank for x in (axes or range(rank))})
    keep = bool(a.get("keepdims", 1))
    layout = v.layout if keep else lay.drop_axes(v.layout, axes, rank)
    quantized = quant_mode(ctx, node, [node.input[0]])
    ir_axes = tuple(sorted(lay.ir_axis(x, v.layout, rank) for x in axes))
    if v.kind == "bool":
        _reduce_bool(ctx, node, v, {"axes": ir_axes, "keep_dims": keep}, layout)
        return
    ctx.emit(node, op, [operand(ctx, node.input[0], v.layout, quantized)],
             {"axes": ir_axes, "keep_dims": keep}, layout, quantized)


def _reduce_bool(ctx: Context, node: onnx.NodeProto, v: Value, attrs: dict, layout) -> None:
    """ReduceMax of a bool tensor: REDUCE_ANY (the largest of bools is their logical or)."""
    if node.op_type != "ReduceMax":
        raise EdgecError(f"{node.op_type} '{node.name}' reduces a bool tensor",
                         "cast it to float or an integer type first")
    out = node.output[0]
    ir = ctx.new_tensor(out, lay.permute_shape(ctx.shape(out), layout), "bool")
    ctx.add_node("REDUCE_ANY", [ctx.in_layout(v, v.layout, node.input[0])], [ir], attrs,
                 node.name or out)
    ctx.values[out] = Value(ir, lay.normalize(layout), "bool")


@converter("Shape")
def shape(ctx: Context, node: onnx.NodeProto) -> None:
    """Shape of a static tensor is a constant (shape subgraphs then fold away)."""
    a = attrs(node)
    dims = ctx.shape(node.input[0])
    start, end = a.get("start", 0), a.get("end", len(dims))
    ctx.consts[node.output[0]] = np.array(dims[start:end], np.int64)
