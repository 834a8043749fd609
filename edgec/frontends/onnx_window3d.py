"""3-D pools (PyTorch ``MaxPool3d``, ``AvgPool3d``) and 3-D ConvTranspose as 2-D ops.

An ONNX MaxPool or AveragePool on an
(N, C, D, H, W) input runs as two 2-D pools, as both are separable:

1. the (H, W) window of every depth slice: (N, C*D, H, W) -> (N, C*D, OH, OW);
2. the D window: (N, C, D, OH*OW) with a (kD, 1) window -> (N, C, OD, OH*OW),

with a RESHAPE before, between and after. A maximum over a box is the maximum over D of the
maxima over (H, W). An average over the taps that count is the average over D of the
averages over (H, W): the counted taps of a box are a product of one set per axis (the
in-bounds taps, or with ``count_include_pad`` the explicit pads too), so the count is a
product and the sum nests. Float results agree with the one-step average within rounding.
Pads, strides, dilations and ``ceil_mode`` split by axis; each stage is the 2-D converter
itself. A 3-D ConvTranspose: ``lift_3d_transpose``."""

from __future__ import annotations

import functools

import numpy as np
import onnx
from onnx import helper

from edgec.errors import EdgecError
from edgec.frontends.onnx_common import attrs, keep_kind
from edgec.frontends.onnx_context import Context
from edgec.frontends.onnx_decompose import constant, step


def lift_3d(convert):
    """Wrap a 2-D pool converter so it also takes (N, C, D, H, W) inputs."""

    @functools.wraps(convert)
    def wrapper(ctx: Context, node: onnx.NodeProto) -> None:
        if len(ctx.shape(node.input[0])) != 5:
            return convert(ctx, node)
        if len(node.output) > 1 and node.output[1]:
            raise EdgecError(f"{node.op_type} '{node.name}' has a second output (indices)",
                             "export the model without the pooling indices")
        a = attrs(node)
        if a.get("auto_pad", "NOTSET") not in ("NOTSET", "VALID"):
            raise EdgecError(f"{node.op_type} '{node.name}' pads a 3-D window with auto_pad "
                             f"{a['auto_pad']}", "export the pool with explicit pads")
        n, c, d, h, w = ctx.shape(node.input[0])
        _, _, od, oh, ow = ctx.shape(node.output[0])
        kernel = list(a["kernel_shape"])
        strides = list(a.get("strides", [1, 1, 1]))
        dilations = list(a.get("dilations", [1, 1, 1]))
        pads = list(a.get("pads", [0] * 6)) if a.get("auto_pad", "NOTSET") == "NOTSET" \
            else [0] * 6
        common = {k: v for k, v in a.items() if k in ("ceil_mode", "count_include_pad")}
        x, out = node.input[0], node.output[0]
        planes = _reshaped(ctx, node, x, f"{out}_planes", (n, c * d, h, w))
        hw_out = f"{out}_hw"
        ctx.shapes[hw_out] = (n, c * d, oh, ow)
        convert(ctx, helper.make_node(
            node.op_type, [planes], [hw_out], name=f"{node.name}_hw", **common,
            kernel_shape=kernel[1:], strides=strides[1:], dilations=dilations[1:],
            pads=[pads[1], pads[2], pads[4], pads[5]]))
        columns = _reshaped(ctx, node, hw_out, f"{out}_columns", (n, c, d, oh * ow))
        d_out = f"{out}_d"
        ctx.shapes[d_out] = (n, c, od, oh * ow)
        convert(ctx, helper.make_node(
            node.op_type, [columns], [d_out], name=f"{node.name}_d", **common,
            kernel_shape=[kernel[0], 1], strides=[strides[0], 1], dilations=[dilations[0], 1],
            pads=[pads[0], 0, pads[3], 0]))
        _reshaped(ctx, node, d_out, out, (n, c, od, oh, ow))

    return wrapper


def _reshaped(ctx: Context, node: onnx.NodeProto, src: str, dst: str, shape) -> str:
    """``src`` reshaped to ``shape`` (ONNX order), bound to ``dst``. The stages compute in
    float or on a dequantized int8 input (a QDQ pool's QuantizeLinear reads only the last
    RESHAPE), so no value here awaits its scale."""
    ctx.shapes[dst] = tuple(shape)
    v = ctx.value(src)
    reshape = helper.make_node("Reshape", [src], [dst], name=node.name or dst)
    keep_kind(ctx, v, reshape, "RESHAPE", [ctx.in_layout(v, None, src)],
              {"shape": tuple(shape)}, None)
    return dst


def lift_3d_transpose(convert):
    """Wrap the 2-D ConvTranspose converter so it also takes (N, C, D, H, W) inputs (float,
    one group, explicit pads): for each depth tap kd, the 2-D ConvTranspose of every input
    depth slice by the weights' slice kd; the slices, joined along depth, are placed into
    the output depths ``id * stride + kd * dilation - pad`` (a constant 0/1 MatMul along
    depth, which also sums the taps landing on one depth); then the bias."""

    @functools.wraps(convert)
    def wrapper(ctx: Context, node: onnx.NodeProto) -> None:
        if len(ctx.shape(node.input[0])) != 5:
            return convert(ctx, node)
        a = attrs(node)
        weights = np.asarray(ctx.const(node.input[1], "the weight"), np.float32)
        if int(a.get("group", 1)) != 1 or a.get("auto_pad", "NOTSET") != "NOTSET" or \
                "output_shape" in a:
            raise EdgecError(f"ConvTranspose '{node.name}' is 3-D with groups, auto_pad or "
                             "output_shape", "3-D ConvTranspose takes one group and "
                             "explicit pads")
        n, c, d, h, w = ctx.shape(node.input[0])
        kd = weights.shape[2]
        _, m, od, oh, ow = ctx.shape(node.output[0])
        strides = list(a.get("strides", [1, 1, 1]))
        dilations = list(a.get("dilations", [1, 1, 1]))
        pads = list(a.get("pads", [0] * 6))
        extra = list(a.get("output_padding", [0, 0, 0]))
        out, x = node.output[0], node.input[0]
        depth_first = step(ctx, node, "Transpose", [x], f"{out}_depth_first", (n, d, c, h, w),
                           perm=[0, 2, 1, 3, 4])
        slices = _reshaped(ctx, node, depth_first, f"{out}_slices", (n * d, c, h, w))
        pieces = []
        for k in range(kd):
            wk = constant(ctx, f"{out}_w{k}", np.ascontiguousarray(weights[:, :, k]))
            plane = f"{out}_tap{k}"
            ctx.shapes[plane] = (n * d, m, oh, ow)
            convert(ctx, helper.make_node(
                "ConvTranspose", [slices, wk], [plane], name=f"{node.name}_tap{k}",
                kernel_shape=list(weights.shape[3:]), strides=strides[1:],
                dilations=dilations[1:], pads=[pads[1], pads[2], pads[4], pads[5]],
                output_padding=extra[1:]))
            pieces.append(_reshaped(ctx, node, plane, f"{plane}_depths", (n, d, m, oh, ow)))
        taps = step(ctx, node, "Concat", pieces, f"{out}_taps", (n, kd * d, m, oh, ow),
                    axis=1) if kd > 1 else pieces[0]
        place = np.zeros((kd * d, od), np.float32)
        for k in range(kd):
            for i in range(d):
                o = i * strides[0] + k * dilations[0] - pads[0]
                if 0 <= o < od:
                    place[k * d + i, o] = 1.0
        last = step(ctx, node, "Transpose", [taps], f"{out}_taps_last", (n, m, oh, ow, kd * d),
                    perm=[0, 2, 3, 4, 1])
        placed = step(ctx, node, "MatMul", [last, constant(ctx, f"{out}_place", place)],
                      f"{out}_placed", (n, m, oh, ow, od))
        bias = node.input[2] if len(node.input) > 2 else ""
        result = step(ctx, node, "Transpose", [placed], out if not bias else f"{out}_nobias",
                      (n, m, od, oh, ow), perm=[0, 1, 4, 2, 3])
        if bias:
            b = constant(ctx, f"{out}_bias", np.asarray(ctx.const(bias), np.float32)
                         .reshape(m, 1, 1, 1))
            step(ctx, node, "Add", [result, b], out, (n, m, od, oh, ow))

    return wrapper
