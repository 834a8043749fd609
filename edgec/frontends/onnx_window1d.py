"""1-D window ops (PyTorch ``Conv1d``, ``ConvTranspose1d``, ``MaxPool1d``, ``AvgPool1d``): an
ONNX Conv, ConvTranspose, MaxPool or AveragePool on an (N, C, W) input runs as its 2-D form on (N, C, 1, W), with a RESHAPE
on either side. Kernel, strides and dilations gain a leading 1, pads a leading 0 pair, and
Conv weights (O, I, K) become (O, I, 1, K) (ConvTranspose's (I, O, K) likewise)."""

from __future__ import annotations

import functools

import onnx
from onnx import helper

from edgec.errors import EdgecError
from edgec.frontends import onnx_layout as lay
from edgec.frontends.onnx_common import attrs, keep_kind
from edgec.frontends.onnx_context import Context, QConst, Value

_PER_AXIS = ("kernel_shape", "strides", "dilations", "output_shape")


def lift_1d(convert):
    """Wrap a 2-D window converter so it also takes (N, C, W) inputs."""

    @functools.wraps(convert)
    def wrapper(ctx: Context, node: onnx.NodeProto) -> None:
        if len(ctx.shape(node.input[0])) != 3:
            return convert(ctx, node)
        if len(node.output) > 1 and node.output[1]:
            raise EdgecError(f"{node.op_type} '{node.name}' has a second output (indices)",
                             "export the model without the pooling indices")
        n, c, w = ctx.shape(node.input[0])
        x = _reshaped(ctx, node, node.input[0], f"{node.input[0]}_h1", (n, c, 1, w))
        inputs = [x, *(_weights_h1(ctx, node, i) if k == 1 else i
                       for k, i in enumerate(node.input[1:], 1))]
        out = node.output[0]
        on, oc, ow = ctx.shape(out)
        ctx.shapes[f"{out}_h1"] = (on, oc, 1, ow)
        readers = ctx.consumers.get(out, [])
        if readers and out not in ctx.graph_outputs and \
                all(r.op_type == "QuantizeLinear" for r in readers):
            # A QDQ op: the 2-D form may run in int8; its output's scale comes from the
            # QuantizeLinear behind the RESHAPE (``onnx_qdq.set_quant`` follows RESHAPEs).
            ctx.consumers[f"{out}_h1"] = readers
        lifted = helper.make_node(node.op_type, inputs, [f"{out}_h1"], name=node.name,
                                  **_attrs_h1(attrs(node)))
        convert(ctx, lifted)
        _reshaped(ctx, node, f"{out}_h1", out, (on, oc, ow))

    return wrapper


def _reshaped(ctx: Context, node: onnx.NodeProto, src: str, dst: str, shape) -> str:
    ctx.shapes[dst] = tuple(shape)
    v = ctx.value(src)
    if v.kind == "pending" and v.layout == lay.NHWC:
        # int8 awaiting its scale (it cannot be transposed yet): NHWC (N, 1, W, C) is
        # (N, W, C) byte for byte, the ONNX (N, C, W) result in layout (0, 2, 1); the
        # RESHAPE output awaits the scale too.
        n, c, w = shape
        out = ctx.new_tensor(dst, (n, w, c), ctx.tensor(v).dtype)
        ctx.add_node("RESHAPE", [v.name], [out], {"shape": (n, w, c)}, node.name or dst)
        ctx.values[dst] = Value(out, (0, 2, 1), "pending")
        return dst
    x = ctx.in_layout(v, None, src)
    reshape = helper.make_node("Reshape", [src], [dst], name=node.name or dst)
    keep_kind(ctx, v, reshape, "RESHAPE", [x], {"shape": tuple(shape)}, None)
    return dst


def _weights_h1(ctx: Context, node: onnx.NodeProto, name: str) -> str:
    """Conv weights (O, I, K) as (O, I, 1, K), float or quantized."""
    if not ctx.is_const(name):
        raise EdgecError(f"{node.op_type} '{node.name}' takes its weights at run time",
                         "export the model with constant weights")
    new = f"{name}_h1"
    if name in ctx.qconsts:
        qc = ctx.qconsts[name]
        ctx.qconsts[new] = QConst(qc.data[:, :, None, :], qc.scale, qc.zero_point, qc.axis)
    else:
        ctx.consts[new] = ctx.const(name)[:, :, None, :]
    return new


def _attrs_h1(a: dict) -> dict:
    result = dict(a)
    for key in _PER_AXIS:
        if key in a:
            result[key] = [1, *a[key]]
    if "output_padding" in a:
        result["output_padding"] = [0, *a["output_padding"]]
    if "pads" in a:
        begin, end = a["pads"]
        result["pads"] = [0, begin, 0, end]
    return result
