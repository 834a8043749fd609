"""ONNX Resize the RESIZE ops do not express, as separable constant weights (float).

ONNX's Resize is separable: along each resized axis, output index ``o`` is a fixed weighted
sum of input indices, ``y[o] = sum_i M[o, i] * x[i]``, ``M`` a constant ``[out, in]``
matrix that depends on the sizes and attributes only. Cubic interpolation (coefficient
``cubic_coeff_a``, ``exclude_outside``), antialiasing (a filter widened by ``1 / scale``
when downsampling), the ``half_pixel_symmetric`` and ``tf_crop_and_resize`` coordinate modes
(``extrapolation_value`` outside the crop: ``M``'s row is zero and a constant is added),
``keep_aspect_ratio_policy`` and scales that do not give whole sizes (ONNX floors the size
and maps coordinates by the given scale) all become such matrices. Each axis is then a
MatMul by a constant: the last axis ``X @ M^T`` (FULLY_CONNECTED), the one before it
``M @ X`` (BATCH_MATMUL with a constant first operand), any other axis transposed to the
last. Axes are resized first to last, as ONNX's reference does.

The weights follow the operator's definition (ONNX ``Resize``, opset 19): source coordinate
per coordinate mode, the taps nearest the source (ties to the smaller index), edge
clamping, and the mode's coefficients. They are computed in float64 and stored in float32;
the generated code sums in float32, within the float tolerance of onnxruntime."""

from __future__ import annotations

import math

import numpy as np
import onnx

from edgec.errors import EdgecError
from edgec.frontends.onnx_common import attrs, bind_alias, opset
from edgec.frontends.onnx_context import Context
from edgec.frontends.onnx_registry import registered_converter


def _text(value, default: str) -> str:
    value = default if value is None else value
    return value.decode() if isinstance(value, bytes) else str(value)


def resize_separable(ctx: Context, node: onnx.NodeProto) -> None:
    """Resize as one constant MatMul per resized axis (module docstring)."""
    a = attrs(node)
    shape, out = ctx.shape(node.input[0]), ctx.shape(node.output[0])
    if ctx.value(node.input[0]).kind not in ("float", "deq"):
        raise EdgecError(f"Resize '{node.name}' resizes integer values with weights",
                         "dequantize the input first (DequantizeLinear)")
    scales, roi = _scales(ctx, node, a, shape, out)
    x = node.input[0]
    mode = _text(a.get("mode"), "nearest")
    rank = len(shape)
    current = list(shape)
    resized = [d for d in range(rank) if not (
        math.isclose(scales[d], 1.0) and out[d] == shape[d]
        and (roi is None or (math.isclose(roi[d], 0.0) and math.isclose(roi[d + rank], 1.0))))]
    for k, axis in enumerate(resized):
        weights, extrapolated = axis_weights(
            shape[axis], out[axis], scales[axis], mode,
            _text(a.get("coordinate_transformation_mode"), "half_pixel"),
            _text(a.get("nearest_mode"), "round_prefer_floor"),
            float(a.get("cubic_coeff_a", -0.75)), bool(a.get("antialias", 0)),
            bool(a.get("exclude_outside", 0)),
            None if roi is None else (roi[axis], roi[axis + rank]))
        current[axis] = out[axis]
        target = node.output[0] if k == len(resized) - 1 and not extrapolated.any() \
            else f"{node.output[0]}_axis{axis}"
        _matmul_axis(ctx, node, x, weights, axis, tuple(current), target)
        if extrapolated.any():
            fill = np.where(extrapolated, np.float32(a.get("extrapolation_value", 0.0)),
                            np.float32(0)).astype(np.float32)
            fill = fill.reshape((-1,) + (1,) * (rank - 1 - axis))
            const = f"{node.output[0]}_extrapolation{axis}"
            ctx.consts[const] = fill
            done = node.output[0] if k == len(resized) - 1 else f"{target}_filled"
            ctx.shapes[done] = tuple(current)
            _convert(ctx, onnx.helper.make_node("Add", [target, const], [done],
                                                name=node.name))
            target = done
        x = target
    if not resized:
        bind_alias(ctx, x, node.output[0])


def _scales(ctx: Context, node: onnx.NodeProto, a: dict, shape, out):
    """Per-axis scale factors (float64, as the coordinate maps use them) and the roi."""
    rank = len(shape)
    names = list(node.input) + [""] * 4
    if opset(ctx) < 11:
        roi_name, scales_name, sizes_name = "", names[1], ""
    else:
        roi_name, scales_name, sizes_name = names[1], names[2], names[3]
    for name, what in ((roi_name, "roi"), (scales_name, "scales"), (sizes_name, "sizes")):
        if name and not ctx.is_const(name):
            raise EdgecError(f"Resize '{node.name}' takes its {what} at run time",
                             "export the model with constant resize parameters")
    axes = [d % rank for d in a.get("axes", range(rank))]
    roi = None
    if roi_name and ctx.const(roi_name).size:
        given = ctx.const(roi_name).astype(np.float64).reshape(-1)
        roi = [0.0] * rank + [1.0] * rank
        for i, d in enumerate(axes):
            roi[d], roi[rank + d] = float(given[i]), float(given[len(axes) + i])
    sizes = ctx.const(sizes_name).reshape(-1) if sizes_name and \
        ctx.const(sizes_name).size else None
    if sizes is None:
        given = ctx.const(scales_name).reshape(-1) if scales_name else \
            np.asarray(a.get("scales", []), np.float32)
        factors = [1.0] * rank
        for i, d in enumerate(axes):
            factors[d] = float(np.float32(given[i]))
        return factors, roi
    factors = [out[d] / shape[d] for d in range(rank)]
    policy = _text(a.get("keep_aspect_ratio_policy"), "stretch")
    if policy != "stretch":
        wanted = [float(sizes[i]) / shape[d] for i, d in enumerate(axes)]
        scale = min(wanted) if policy == "not_larger" else max(wanted)
        factors = [scale if d in axes else 1.0 for d in range(rank)]
    return factors, roi


def _convert(ctx: Context, node: onnx.NodeProto) -> None:
    registered_converter(node.op_type)(ctx, node)


def _matmul_axis(ctx: Context, node: onnx.NodeProto, x: str, weights: np.ndarray, axis: int,
                 out_shape: tuple, target: str) -> None:
    """``target`` = ``x`` with ``axis`` multiplied by ``weights`` ``[out, in]``."""
    rank = len(out_shape)
    w = f"{target}_weights"
    ctx.shapes[target] = out_shape
    if axis == rank - 1:
        ctx.consts[w] = np.ascontiguousarray(weights.T.astype(np.float32))
        _convert(ctx, onnx.helper.make_node("MatMul", [x, w], [target], name=node.name))
        return
    if axis == rank - 2:
        ctx.consts[w] = weights.astype(np.float32)
        _convert(ctx, onnx.helper.make_node("MatMul", [w, x], [target], name=node.name))
        return
    perm = list(range(rank))
    perm[axis], perm[-1] = perm[-1], perm[axis]
    moved, product = f"{target}_moved", f"{target}_product"
    ctx.shapes[moved] = tuple(ctx.shape(x)[p] for p in perm)
    _convert(ctx, onnx.helper.make_node("Transpose", [x], [moved], perm=perm, name=node.name))
    ctx.shapes[product] = tuple(out_shape[p] for p in perm)
    ctx.consts[w] = np.ascontiguousarray(weights.T.astype(np.float32))
    _convert(ctx, onnx.helper.make_node("MatMul", [moved, w], [product], name=node.name))
    _convert(ctx, onnx.helper.make_node("Transpose", [product], [target], perm=perm,
                                        name=node.name))


def _source(y, in_w: int, out_w: int, scale: float, coord: str, roi):
    """Source coordinates of output indices ``y`` (float64), and which are extrapolated."""
    length = scale * in_w  # ONNX's "output_width": the unrounded output length
    outside = np.zeros(out_w, bool)
    if coord == "align_corners":
        x = np.zeros(out_w) if length == 1 else y * (in_w - 1) / (length - 1)
    elif coord == "asymmetric":
        x = y / scale
    elif coord == "tf_crop_and_resize":
        lo, hi = roi
        x = np.full(out_w, (hi - lo) * (in_w - 1) / 2) if length == 1 else \
            y * (hi - lo) * (in_w - 1) / (length - 1)
        x = x + lo * (in_w - 1)
        outside = (x < 0) | (x > in_w - 1)
    elif coord == "pytorch_half_pixel":
        x = np.full(out_w, -0.5) if length == 1 else (y + 0.5) / scale - 0.5
    elif coord == "half_pixel":
        x = (y + 0.5) / scale - 0.5
    elif coord == "half_pixel_symmetric":
        offset = in_w / 2 * (1 - out_w / length)
        x = offset + (y + 0.5) / scale - 0.5
    else:
        raise EdgecError(f"Resize uses coordinate mode {coord}",
                         "coordinate modes: half_pixel, half_pixel_symmetric, "
                         "pytorch_half_pixel, align_corners, asymmetric, tf_crop_and_resize")
    return x, outside


def _coefficients(ratio: float, scale: float, mode: str, nearest: str, a: float,
                  antialias: bool) -> np.ndarray:
    """The tap weights of one output, ``ratio`` in (0, 1] past its left tap."""
    if mode == "nearest":
        if ratio == 1.0:
            return np.array([0.0, 1.0])
        up = {"round_prefer_floor": ratio > 0.5, "round_prefer_ceil": ratio >= 0.5,
              "floor": False, "ceil": True}[nearest]
        return np.array([0.0, 1.0]) if up else np.array([1.0, 0.0])
    if not antialias:
        if mode == "linear":
            return np.array([1 - ratio, ratio])
        return np.array([_cubic(1 + ratio, a), _cubic(ratio, a), _cubic(1 - ratio, a),
                         _cubic(2 - ratio, a)])
    scale = min(scale, 1.0)  # the filter widens only when downsampling
    reach = 1 if mode == "linear" else 2
    start = int(np.floor(-reach / scale) + 1)
    taps = (np.arange(start, 2 - start if mode == "cubic" else start + 2 - 2 * start)
            - ratio) * scale
    weights = np.clip(1 - np.abs(taps), 0, 1) if mode == "linear" else \
        np.array([_cubic(t, a) for t in taps])
    return weights / weights.sum()


def _cubic(t: float, a: float) -> float:
    """Keys' cubic convolution kernel with coefficient ``a``."""
    t = abs(t)
    if t <= 1:
        return ((a + 2) * t - (a + 3)) * t * t + 1
    if t < 2:
        return ((a * t - 5 * a) * t + 8 * a) * t - 4 * a
    return 0.0


def axis_weights(in_w: int, out_w: int, scale: float, mode: str, coord: str, nearest: str,
                 a: float, antialias: bool, exclude_outside: bool, roi=None):
    """The ``[out_w, in_w]`` resampling matrix of one axis (float64) and the outputs that
    take the extrapolation value (``tf_crop_and_resize`` outside the crop)."""
    if mode not in ("nearest", "linear", "cubic") or nearest not in (
            "round_prefer_floor", "round_prefer_ceil", "floor", "ceil"):
        raise EdgecError(f"Resize uses mode {mode}, nearest mode {nearest}",
                         "modes: nearest, linear, cubic; nearest modes: round_prefer_floor, "
                         "round_prefer_ceil, floor, ceil")
    y = np.arange(out_w, dtype=np.float64)
    x, outside = _source(y, in_w, out_w, scale, coord, roi)
    matrix = np.zeros((out_w, in_w))
    for o in range(out_w):
        if outside[o]:
            continue
        left = math.floor(x[o])
        ratio = 1.0 if x[o] == left else x[o] - left
        coeffs = _coefficients(ratio, scale, mode, nearest, a, antialias)
        n = len(coeffs)
        # the n taps nearest x (ties to the smaller index): n even, they start left of x
        # (one further left when x is whole); n odd, centred on the nearest index
        if n % 2 == 0:
            first = left - n // 2 + (0 if x[o] == left else 1)
        else:
            first = left - (n - 1) // 2 + (0 if x[o] - left <= 0.5 else 1)
        taps = np.arange(first, first + n)
        if exclude_outside:
            coeffs = np.where((taps < 0) | (taps >= in_w), 0.0, coeffs)
            total = coeffs.sum()
            coeffs = coeffs / (total if total != 0 else 1.0)
        np.add.at(matrix[o], np.clip(taps, 0, in_w - 1), coeffs)
    return matrix, outside
