"""DequantizeLinear / QuantizeLinear whose quantized type is a float8 or float4 format
(``edgec.ir.floats``): not integer quantization but a scaled float cast, written as float ops.

- DequantizeLinear(x, scale[, zero point]) -> ``CAST(x -> float32) * scale`` (MUL; ONNX's
  reference multiplies in float32), then a CAST to the scale's type (or ``output_dtype``)
  when that is not float32 (float16).
- QuantizeLinear(x, scale, zero point) -> ``x / scale`` (DIV, in x's type: float32) then a
  CAST into the zero point's format with the node's ``saturate`` (float8).

ONNX requires a zero zero point for these formats; a nonzero one is refused. The scale must
be a constant, per tensor or per axis (``axis``), except a DequantizeLinear's scalar scale
without a zero point, which may be fed at run time; blocked quantization is refused.
"""

from __future__ import annotations

import numpy as np
import onnx

from edgec.errors import EdgecError
from edgec.frontends.onnx_common import attrs
from edgec.frontends.onnx_context import Context, Value
from edgec.ir.floats import MINIFLOATS

# The formats handled here: float8 and float4 (float16 / bfloat16 are not quantized types,
# nor is E8M0, which ONNX allows as a scale only).
_FORMATS = tuple(d for d in MINIFLOATS
                 if d.startswith(("float8", "float4")) and d != "float8_e8m0fnu")
_NP_TO_IR = {np.dtype(d): d for d in (*MINIFLOATS, "float32", "float64")}


def _dtype(ctx: Context, name: str) -> str | None:
    if not name:
        return None
    if ctx.is_const(name):
        return np.asarray(ctx.const(name)).dtype.name
    return ctx.tensor(ctx.value(name)).dtype


def float_qdq(ctx: Context, node: onnx.NodeProto) -> bool:
    """Convert ``node`` when its quantized type is float8/float4; False for other nodes."""
    quantized = node.input[0] if node.op_type == "DequantizeLinear" else (
        node.input[2] if len(node.input) > 2 else "")
    fmt = _dtype(ctx, quantized)
    if fmt not in _FORMATS:
        return False
    a = attrs(node)
    if a.get("block_size", 0):
        raise EdgecError(f"{node.op_type} '{node.name}' quantizes {fmt} in blocks",
                         "use per-tensor or per-axis scales")
    x, scale_name = node.input[0], node.input[1]
    runtime_scale = node.op_type == "DequantizeLinear" and not ctx.is_const(scale_name) \
        and not (len(node.input) > 2 and node.input[2]) and not ctx.is_const(x) \
        and len(ctx.shape(scale_name)) == 0
    if not ctx.is_const(scale_name) and not runtime_scale:
        raise EdgecError(f"the scale of {node.op_type} ('{scale_name}') must be a constant",
                         "export the model with constant folding")
    if len(node.input) > 2 and node.input[2]:
        if not ctx.is_const(node.input[2]):
            raise EdgecError(f"the zero point of {node.op_type} ('{node.input[2]}') must be "
                             "a constant", "export the model with constant folding")
        zp = np.asarray(ctx.const(node.input[2])).astype(np.float64)
        if np.any(zp != 0):
            raise EdgecError(f"{node.op_type} '{node.name}' has a nonzero {fmt} zero point",
                             f"ONNX requires zero points of 0 for {fmt}")
    if ctx.is_const(x):
        raise EdgecError(f"{node.op_type} '{node.name}' has a constant {fmt} input",
                         "dequantize the constant before export")
    shape = ctx.shape(node.output[0])
    scale = _scale(ctx, node, scale_name, shape) if runtime_scale \
        else np.asarray(ctx.const(scale_name))
    if runtime_scale:
        pass
    elif scale.size > 1:  # per axis: broadcast along ``axis``
        axis = int(a.get("axis", 1)) % len(shape)
        scale = scale.reshape([-1 if k == axis else 1 for k in range(len(shape))])
    else:
        scale = scale.reshape((1,) * len(shape))
    v = ctx.value(x)
    src = ctx.in_layout(v, None, x)
    out = node.output[0]
    where = node.name or out
    if node.op_type == "DequantizeLinear":
        wide = ctx.new_tensor(f"{out}_float", shape, "float32")
        ctx.add_node("CAST", [src], [wide], {}, f"{where}_cast")
        target = _NP_TO_IR.get(np.dtype(onnx.helper.tensor_dtype_to_np_dtype(
            a["output_dtype"])) if a.get("output_dtype") else
            np.dtype(scale[1]) if runtime_scale else scale.dtype, "float32")
        product = ctx.new_tensor(out if target == "float32" else f"{out}_scaled", shape,
                                 "float32")
        factor = scale[0] if runtime_scale else ctx.const_tensor(f"{out}_scale",
                                                                    scale.astype(np.float32))
        ctx.add_node("MUL", [wide, factor], [product], {"activation": "NONE"}, where)
        if target == "float32":
            ctx.values[out] = Value(product, None, "float")
            return True
        y = ctx.new_tensor(out, shape, target)
        ctx.add_node("CAST", [product], [y], {}, f"{where}_output")
        ctx.values[out] = Value(y, None, "int")
        return True
    if ctx.tensor(v).dtype != "float32":
        raise EdgecError(f"QuantizeLinear '{node.name}' quantizes a {ctx.tensor(v).dtype} "
                         f"tensor to {fmt}", "quantize float32 tensors")
    quotient = ctx.new_tensor(f"{out}_scaled", shape, "float32")
    ctx.add_node("DIV", [src, ctx.const_tensor(f"{out}_scale", scale.astype(np.float32))],
                 [quotient], {"activation": "NONE"}, where)
    y = ctx.new_tensor(out, shape, fmt)
    saturate = bool(a.get("saturate", 1))
    ctx.add_node("CAST", [quotient], [y], {} if saturate else {"saturate": False},
                 f"{where}_cast")
    ctx.values[out] = Value(y, None, "int")
    return True


def _scale(ctx: Context, node: onnx.NodeProto, name: str, shape) -> tuple[str, str]:
    """A scalar scale fed at run time (DequantizeLinear without a zero point): the IR tensor
    of its float32 value, broadcast to ``shape``'s rank, and its dtype."""
    v = ctx.value(name)
    dtype = ctx.tensor(v).dtype
    if dtype not in ("float32", "float16", "bfloat16", "float64"):
        raise EdgecError(f"the scale of {node.op_type} '{node.name}' is {dtype}",
                         "scales are floats")
    src = ctx.in_layout(v, None, name)
    base = f"{node.output[0]}_scale"
    if dtype != "float32":
        wide = ctx.new_tensor(f"{base}_float", (), "float32")
        ctx.add_node("CAST", [src], [wide], {}, f"{base}_cast")
        src = wide
    shaped = ctx.new_tensor(base, (1,) * len(shape), "float32")
    ctx.add_node("RESHAPE", [src], [shaped], {"shape": (1,) * len(shape)}, base)
    return shaped, dtype
