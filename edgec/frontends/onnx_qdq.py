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
- int16 and uint16 activations (onnxruntime's ``QuantType.QInt16``/``QUInt16``) become int16
  IR tensors, uint16 with the zero point less 32768, and run as TFLite's 16x8 mode
  (``edgec.ir.int16``): symmetric int16 activations, int8 weights, int32 biases. An int16
  op takes int16 activations and writes int16 (the dtype of its first activation input);
  a zero point other than 0, or a Q/DQ that mixes 8 and 16 bits on one tensor, is refused.
  onnxruntime computes such a model in float between its Q/DQ pairs; edgec computes it in
  integers as TFLite Micro does, so the two differ by rounding (docs/QUANTIZATION.md).
- Per-axis QuantizeLinear of an activation (a 1-D scale and ``axis``) must be read only by
  DequantizeLinear nodes with the same parameters: the pair is per-channel fake quantization,
  run in float. The tensor is cut into one STRIDED_SLICE per channel, each quantized with its
  own scale and zero point (QUANTIZE) and dequantized (DEQUANTIZE), and the channels joined
  again (CONCATENATION); ops on either side compute in float (an op whose output goes to a
  per-axis QuantizeLinear is not made an int8 op: TFLite's int8 kernels take per-tensor
  activations only). This is exact: QUANTIZE and DEQUANTIZE compute ``x / scale`` and
  ``scale * (q - zp)`` in float32 as QuantizeLinear and DequantizeLinear do; the one
  difference is the rounding of exact halves (TFLite rounds them away from zero, ONNX to
  even), as in the per-tensor QUANTIZE.
- A Q/DQ whose integers are used as they are is a computation, not an annotation ("computed",
  ``_computes_quantize`` / ``_computes_dequantize``): a QuantizeLinear of a float tensor to a
  graph output, per-axis ones not followed only by their DequantizeLinear, blocked ones, the
  sub-byte types (int4, uint4, int2, uint2: no quantized IR kernels take them), and
  DequantizeLinear of plain integers (a graph input, a computed QuantizeLinear), and any
  Q/DQ of an activation with a run-time scale or zero point. They become
  float ops and a CAST with ONNX's exact semantics (``_quantize_values``,
  ``_dequantize_values``; docs/QUANTIZATION.md).
"""

from __future__ import annotations

import ml_dtypes
import numpy as np
import onnx

from edgec.errors import EdgecError
from edgec.limits import check_scales
from edgec.frontends import onnx_layout as lay
from edgec.frontends.onnx_common import attrs
from edgec.frontends.onnx_float_qdq import float_qdq
from edgec.frontends.onnx_context import Context, QConst, Value
from edgec.frontends.onnx_registry import converter
from edgec.frontends.onnx_ops_math import as_numeric
from edgec.ir import QuantParams
from edgec.ir.graph import INT_DTYPES, NARROW_INT_DTYPES, storage_dtype

_SHAPE_OPS = ("RESHAPE", "TRANSPOSE")


def _params(ctx: Context, node: onnx.NodeProto) -> tuple[np.ndarray, np.ndarray, int | None]:
    """Scale, zero point and axis (``None`` when per tensor) of a Q/DQ node."""
    scale = np.asarray(ctx.const(node.input[1], f"the scale of {node.op_type}"), np.float32)
    if len(node.input) > 2 and node.input[2]:
        zp = ctx.consts.get(node.input[2])
        if zp is None:
            raise EdgecError(f"{node.op_type} '{node.name}' has a non-constant zero point",
                             "export with constant quantization parameters")
    else:  # QuantizeLinear's output_dtype, else ONNX's default output type uint8
        dtype = _DTYPES.get(attrs(node).get("output_dtype", 0), "uint8")
        zp = np.zeros(scale.shape, storage_dtype(dtype)).astype(_narrow_np.get(dtype, dtype))
    check_scales(f"{node.op_type} '{node.name}'", scale)
    if np.asarray(zp).size not in (1, scale.size) or (np.asarray(zp).dtype.kind not in "iu"
                                                       and zp.dtype.name not in NARROW_INT_DTYPES):
        raise EdgecError(f"{node.op_type} '{node.name}' has {np.asarray(zp).size} "
                         f"{np.asarray(zp).dtype} zero points for {scale.size} scales",
                         "give one integer zero point per scale")
    axis = attrs(node).get("axis", 1) if scale.size > 1 else None
    return scale.reshape(-1), zp, axis


_DTYPES = {onnx.helper.np_dtype_to_tensor_dtype(np.dtype(d)): d for d in INT_DTYPES}
_DTYPES.update({onnx.TensorProto.INT4: "int4", onnx.TensorProto.UINT4: "uint4",
                onnx.TensorProto.INT2: "int2", onnx.TensorProto.UINT2: "uint2"})
_narrow_np = {"int4": ml_dtypes.int4, "uint4": ml_dtypes.uint4, "int2": ml_dtypes.int2,
              "uint2": ml_dtypes.uint2}


_UINT8_SHIFT = 128  # uint8 code - 128 = int8 code of the same real value
# The IR dtype of each activation type, and what to subtract from its codes (uint -> int).
_ACTIVATION_TYPES = {np.dtype(np.int8): ("int8", 0), np.dtype(np.uint8): ("int8", 128),
                     np.dtype(np.int16): ("int16", 0), np.dtype(np.uint16): ("int16", 1 << 15)}


def _activation_quant(ctx: Context, node: onnx.NodeProto, scale, zp) -> tuple[QuantParams, str]:
    """The IR quantization and dtype (int8 or int16) of a per-tensor Q/DQ node (or one
    channel of a per-axis one) on an activation."""
    if zp.dtype not in _ACTIVATION_TYPES:
        raise EdgecError(f"{node.op_type} '{node.name}' uses {zp.dtype} activations",
                         "quantize activations to int8/uint8 (e.g. onnxruntime's "
                         "quantize_static(activation_type=QInt8)) or to symmetric int16 "
                         "(QInt16 with extra_options={'ActivationSymmetric': True})")
    dtype, shift = _ACTIVATION_TYPES[zp.dtype]  # uint8: also ONNX's default (no zero point)
    zp = zp.astype(np.int64).reshape(-1)
    if shift:
        integer = node.output[0] if node.op_type == "QuantizeLinear" else node.input[0]
        uint_at_edge = [n for n in (integer,)
                        if n in ctx.graph_outputs or n in {i.name for i in ctx.model.graph.input}]
        if uint_at_edge:
            uint = _uint_name(shift)
            raise EdgecError(f"{node.op_type} '{node.name}' makes the {uint} tensor "
                             f"'{uint_at_edge[0]}' a graph input or output",
                             f"edgec runs {uint} QDQ as {dtype} inside the model; give the "
                             f"model float inputs and outputs (or quantize them to {dtype})")
        zp = zp - shift
    if dtype == "int16" and np.any(zp != 0):
        raise EdgecError(f"{node.op_type} '{node.name}' quantizes an activation to 16 bits "
                         f"with zero point {int(zp[0]) + shift}",
                         "edgec runs int16 activations as TFLite's 16x8 mode, which is "
                         "symmetric: quantize with extra_options={'ActivationSymmetric': True}")
    return QuantParams(scale, zp), dtype


def _uint_name(shift: int) -> str:
    return "uint8" if shift == _UINT8_SHIFT else "uint16"


@converter("DequantizeLinear")
def dequantize_linear(ctx: Context, node: onnx.NodeProto) -> None:
    """Record a constant's quantization, or mark an int8 activation as dequantized."""
    if float_qdq(ctx, node):  # float8 / float4 (onnx_float_qdq)
        return
    if _run_time_params(ctx, node):
        _dequantize_values(ctx, node)
        return
    scale, zp, axis = _params(ctx, node)
    x = node.input[0]
    if ctx.is_const(x):
        data = as_numeric(np.asarray(ctx.consts[x]))  # int4 weights: int8 codes in [-8, 7]
        if axis is not None:
            axis %= data.ndim
        zp = zp.astype(np.int64).reshape(-1)
        if data.dtype == np.uint8:  # the same reals as int8 codes 128 lower
            data, zp = (data.astype(np.int16) - _UINT8_SHIFT).astype(np.int8), zp - _UINT8_SHIFT
        ctx.qconsts[node.output[0]] = QConst(data, scale, zp, axis)
        return
    v = ctx.value(x)
    if _computes_dequantize(ctx, node, v, zp, axis):
        _dequantize_values(ctx, node)
        return
    if axis is not None:
        _dequantize_per_axis(ctx, node, scale, zp, axis)
        return
    quant, dtype = _activation_quant(ctx, node, scale, zp)
    if v.kind not in ("int8", "deq"):
        raise EdgecError(f"DequantizeLinear '{node.name}' reads a {v.kind} tensor",
                         "its input must be an int8 or int16 tensor")
    tensor = ctx.tensor(v)
    _check_dtype(node, tensor.name, tensor.dtype, dtype)
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
    if float_qdq(ctx, node):  # float8 / float4 (onnx_float_qdq)
        return
    if _run_time_params(ctx, node):
        _quantize_values(ctx, node)
        return
    scale, zp, axis = _params(ctx, node)
    if _computes_quantize(ctx, node, zp, axis):
        _quantize_values(ctx, node)
        return
    if axis is not None:
        _quantize_per_axis(ctx, node, scale, zp, axis)
        return
    quant, dtype = _activation_quant(ctx, node, scale, zp)
    v = ctx.value(node.input[0])
    out = node.output[0]
    if v.kind == "pending":
        _check_dtype(node, v.name, ctx.tensor(v).dtype, dtype)
        set_quant(ctx, v.name, quant)  # and the op behind a pending RESHAPE (1-D windows)
        ctx.values[out] = Value(v.name, v.layout, "int8")
        return
    if v.kind == "deq" and ctx.tensor(v).quant == quant and ctx.tensor(v).dtype == dtype:
        ctx.values[out] = Value(v.name, v.layout, "int8")
        return
    if v.kind not in ("float", "deq"):
        raise EdgecError(f"QuantizeLinear '{node.name}' reads an integer tensor",
                         "its input must be a float tensor")
    src = ctx.tensor(v)
    ir = ctx.new_tensor(out, src.shape, dtype, quant)
    ctx.add_node("QUANTIZE", [v.name], [ir], {}, node.name or out)
    ctx.values[out] = Value(ir, v.layout, "int8")


# --- Q/DQ as computations: integers that leave (or enter) the quantized graph as they are ---

_ROUNDER = np.float32(1.5 * 2 ** 23)  # v + this - this == rint(v) for |v| <= 2**22


def _computes_quantize(ctx: Context, node: onnx.NodeProto, zp, axis) -> bool:
    """Whether a QuantizeLinear is a computation whose integers are used as they are (a
    graph output, sub-byte, blocked, uint8/uint16 at the edge, an int16 zero point, a
    per-axis one not followed by its DequantizeLinear) rather than an annotation."""
    kind, out = ctx.value(node.input[0]).kind, node.output[0]
    if kind == "pending":
        return False  # a quantized op's output: its scale (or a refusal), as before
    if zp.dtype not in _ACTIVATION_TYPES or attrs(node).get("block_size", 0):
        return True
    if kind == "float" and out in ctx.graph_outputs:
        return True  # ONNX's rounding (half to even), not TFLite's QUANTIZE (half away)
    if axis is not None:
        readers = ctx.consumers.get(out, [])
        return out in ctx.graph_outputs or not readers or any(
            r.op_type != "DequantizeLinear" or not _same_params(ctx, node, r) for r in readers)
    # uint8/uint16 have int8/int16 twins inside the graph; an asymmetric int16 activation
    # inside it stays refused (edgec's int16 kernels are symmetric: the hint says how)
    return out in ctx.graph_outputs and _ACTIVATION_TYPES[zp.dtype][1] != 0 or (
        out in ctx.graph_outputs and _asymmetric_int16(zp))


def _computes_dequantize(ctx: Context, node: onnx.NodeProto, v: Value, zp, axis) -> bool:
    """Whether a DequantizeLinear computes floats from plain integers (a graph input, a
    computed QuantizeLinear) rather than marking a quantized activation."""
    if v.kind == "int" or attrs(node).get("block_size", 0):
        return True
    if v.kind != "int8" or ctx.tensor(v).quant is not None:
        return False  # inside a quantized graph: as before
    if axis is not None:
        return node.input[0] not in ctx.fake_quantized
    return _asymmetric_int16(zp)


def _asymmetric_int16(zp) -> bool:
    """Whether a (u)int16 zero point is not the symmetric one that int16 kernels take."""
    dtype, shift = _ACTIVATION_TYPES.get(zp.dtype, ("", 0))
    return dtype == "int16" and bool(np.any(zp.astype(np.int64) - shift != 0))


def _broadcastable(ctx: Context, node: onnx.NodeProto, param: np.ndarray) -> np.ndarray:
    """A scale or zero point in the shape that broadcasts against input 0 (ONNX's rules:
    per tensor, per axis, or blocked along ``axis`` by ``block_size``)."""
    shape = ctx.shape(node.input[0])
    param = np.asarray(param)
    if param.size == 1 and param.ndim <= 1:
        return param.reshape(())
    a = attrs(node)
    axis, block = a.get("axis", 1) % len(shape), a.get("block_size", 0)
    if not block:
        if param.ndim != 1 or param.size != shape[axis]:
            raise EdgecError(f"{node.op_type} '{node.name}' has {param.size} scales or zero "
                             f"points for {shape[axis]} channels on axis {axis}",
                             "give one per channel (or set block_size)")
        return param.reshape([param.size if d == axis else 1 for d in range(len(shape))])
    blocked = np.repeat(param, block, axis=axis).take(range(shape[axis]), axis=axis) \
        if param.ndim == len(shape) and param.shape[axis] * block >= shape[axis] else None
    if blocked is None or blocked.shape != tuple(shape):
        raise EdgecError(f"{node.op_type} '{node.name}' has scales of shape "
                         f"{list(param.shape)} for blocks of {block} of {list(shape)}",
                         "give one scale per block of the axis, the input's size elsewhere")
    return blocked


def _run_time_params(ctx: Context, node: onnx.NodeProto) -> bool:
    """Whether the scale or zero point of a Q/DQ of an activation is a run-time tensor (it
    is then computed; a constant's DequantizeLinear needs constant parameters)."""
    params = [n for n in node.input[1:3] if n]
    return not ctx.is_const(node.input[0]) and any(not ctx.is_const(n) for n in params)


def _operand(ctx: Context, node: onnx.NodeProto, index: int, out: str):
    """Scale (``index`` 1) or zero point (2) of a computed Q/DQ as a float operand that
    broadcasts against input 0: a constant array, or the ONNX name of a float value (a
    run-time one cast to float32 and reshaped to its axis); None when absent."""
    if len(node.input) <= index or not node.input[index]:
        return None
    name = node.input[index]
    if ctx.is_const(name):
        return _broadcastable(ctx, node, as_numeric(np.asarray(ctx.consts[name]))
                              ).astype(np.float32)
    if ctx.plain_int(name):
        name = _cast(ctx, node, name, "float32", f"{out}_float")
    shape, x_shape = ctx.shape(name), tuple(ctx.shape(node.input[0]))
    size, block = int(np.prod(shape, dtype=np.int64)), attrs(node).get("block_size", 0)
    axis = attrs(node).get("axis", 1) % len(x_shape)
    blocks = tuple(n * block if d == axis else n for d, n in enumerate(shape))
    if ctx.value(name).kind != "float" or (block and blocks != x_shape):
        raise EdgecError(f"{node.op_type} '{node.name}' takes '{node.input[index]}' at run "
                         f"time as {ctx.value(name).kind} {list(shape)}, which edgec cannot "
                         f"broadcast to {list(x_shape)}",
                         "give float scales, integer zero points and whole blocks")
    if size == 1 and not block:
        return name
    if not block:
        return _reshape(ctx, node, name, tuple(size if d == axis else 1
                                               for d in range(len(x_shape))), f"{out}_axis")
    # blocked: [.., n, ..] -> [.., n, 1, ..] * ones [.., 1, block, ..] -> [.., n * block, ..]
    split = _reshape(ctx, node, name, shape[:axis + 1] + (1,) + shape[axis + 1:], f"{out}_split")
    ones = np.ones([block if d == axis + 1 else 1 for d in range(len(shape) + 1)], np.float32)
    repeated = np.broadcast_shapes(ctx.shape(split), ones.shape)
    ir = ctx.new_tensor(f"{out}_repeated", repeated, "float32")
    ctx.add_node("MUL", [ctx.value(split).name, ctx.const_tensor(f"{out}_ones", ones)], [ir],
                 {}, node.name or out)
    ctx.values[f"{out}_repeated"] = Value(ir, None, "float")
    ctx.shapes[f"{out}_repeated"] = repeated
    return _reshape(ctx, node, f"{out}_repeated", x_shape, f"{out}_blocks")


def _reshape(ctx: Context, node: onnx.NodeProto, name: str, shape: tuple, out: str) -> str:
    """Float value ``name`` reshaped (in ONNX order) to ``shape``, bound to ONNX name ``out``."""
    v = ctx.value(name)
    ir = ctx.new_tensor(out, shape, "float32")
    ctx.add_node("RESHAPE", [ctx.in_layout(v, None, name)], [ir], {"shape": tuple(shape)},
                 node.name or out)
    ctx.values[out], ctx.shapes[out] = Value(ir, None, "float"), tuple(shape)
    return out


def _output_dtype(ctx: Context, node: onnx.NodeProto) -> str:
    """The integer type a QuantizeLinear writes: its zero point's, else ``output_dtype``,
    else uint8."""
    zp = node.input[2] if len(node.input) > 2 and node.input[2] else None
    if zp is None:
        return _DTYPES.get(attrs(node).get("output_dtype", 0), "uint8")
    if ctx.is_const(zp):
        dtype = np.asarray(ctx.consts[zp]).dtype.name
    else:
        dtype = ctx.tensor(ctx.value(zp)).dtype
    if dtype not in (*_DTYPES.values(),):
        raise EdgecError(f"QuantizeLinear '{node.name}' quantizes to {dtype}",
                         f"edgec computes QuantizeLinear to {', '.join(_DTYPES.values())}")
    return dtype


def _quantize_values(ctx: Context, node: onnx.NodeProto) -> None:
    """QuantizeLinear computed: ``saturate(rint(x / scale) + zp)`` in the zero point's type,
    as float ops (DIV by the scale; ADD of 1.5 * 2^23 and of ``zp - 1.5 * 2^23``, which
    rounds half to even exactly as ``rint`` for every quotient that does not saturate;
    MAXIMUM/MINIMUM to a sub-byte range) and a CAST, saturating, to the integer type. A
    run-time zero point is added after ``- 1.5 * 2^23``, both exact."""
    out = node.output[0]
    dtype = _output_dtype(ctx, node)
    step = _float_steps(ctx, node)
    scale, zp = _operand(ctx, node, 1, f"{out}_scale"), _operand(ctx, node, 2, f"{out}_zp")
    step("DIV", node.input[0], scale, f"{out}_scaled")
    last = step("ADD", f"{out}_scaled", _ROUNDER, f"{out}_rounded")
    if isinstance(zp, str):
        last = step("ADD", last, -_ROUNDER, f"{out}_integer")
        last = step("ADD", last, zp, f"{out}_shifted")
    else:
        zp = np.float32(0) if zp is None else zp
        last = step("ADD", last, zp - _ROUNDER, f"{out}_shifted")
    if dtype in NARROW_INT_DTYPES:  # CAST wraps sub-byte integers: clamp first
        info = (ml_dtypes.iinfo(_narrow_np[dtype]))
        step("MAXIMUM", last, np.float32(info.min), f"{out}_low")
        last = step("MINIMUM", f"{out}_low", np.float32(info.max), f"{out}_clamped")
    _cast(ctx, node, last, dtype, out)


def _dequantize_values(ctx: Context, node: onnx.NodeProto) -> None:
    """DequantizeLinear computed: ``(float(x) - float(zp)) * scale`` in float32, as ONNX
    does: a CAST, a SUB of the zero point (when not 0) and a MUL by the scale."""
    x, out = node.input[0], node.output[0]
    if not ctx.plain_int(x):
        raise EdgecError(f"DequantizeLinear '{node.name}' reads '{x}', which is not an "
                         "integer tensor", "dequantize int8/uint8/int16/... tensors")
    scale, zp = _operand(ctx, node, 1, f"{out}_scale"), _operand(ctx, node, 2, f"{out}_zp")
    last = _cast(ctx, node, x, "float32", f"{out}_float")
    step = _float_steps(ctx, node)
    if isinstance(zp, str) or (zp is not None and np.any(zp != 0)):
        last = step("SUB", last, zp, f"{out}_centered")
    step("MUL", last, scale, out)


_ONNX_OPS = {"DIV": "Div", "ADD": "Add", "SUB": "Sub", "MUL": "Mul"}


def _float_steps(ctx: Context, node: onnx.NodeProto):
    """``step(op, x, operand, out)``: float ``op(x, operand)`` named ``out`` (``operand`` a
    constant array, or the ONNX name of a float value); returns ``out``."""
    from edgec.frontends.onnx_ops_math import _float_div, binary, binary_with_const

    def step(op: str, x: str, operand, out: str) -> str:
        if not isinstance(operand, str):
            binary_with_const(ctx, node, op, x, np.asarray(operand, np.float32), out)
            return out
        ctx.shapes[out] = tuple(np.broadcast_shapes(ctx.shape(x), ctx.shape(operand)))
        made = onnx.helper.make_node(_ONNX_OPS[op], [x, operand], [out], name=node.name)
        (_float_div if op == "DIV" else binary)(ctx, made)
        return out
    return step


def _cast(ctx: Context, node: onnx.NodeProto, x: str, dtype: str, out: str) -> str:
    """CAST of value ``x`` to ``dtype``, bound to ONNX name ``out`` (a plain integer or a
    float value)."""
    v = ctx.value(x)
    ir = ctx.new_tensor(out, ctx.tensor(v).shape, dtype)
    ctx.add_node("CAST", [v.name], [ir], {}, node.name or out)
    ctx.shapes[out] = ctx.shape(x)
    ctx.values[out] = Value(ir, v.layout, "float" if dtype == "float32" else "int")
    return out


def _same_params(ctx: Context, a: onnx.NodeProto, b: onnx.NodeProto) -> bool:
    def params(n):
        scale, zp, axis = _params(ctx, n)
        rank = len(ctx.shape(n.input[0]))
        return scale.tobytes(), zp.dtype, zp.tobytes(), None if axis is None else axis % rank
    return params(a) == params(b)


def _quantize_per_axis(ctx: Context, node: onnx.NodeProto, scale, zp, axis: int) -> None:
    """Per-axis QuantizeLinear of an activation: its float fake quantization (with the
    DequantizeLinear that must follow), one QUANTIZE/DEQUANTIZE pair per channel."""
    out = node.output[0]
    readers = ctx.consumers.get(out, [])
    if out in ctx.graph_outputs or not readers or any(
            r.op_type != "DequantizeLinear" or not _same_params(ctx, node, r) for r in readers):
        raise EdgecError(f"QuantizeLinear '{node.name}' quantizes an activation per axis and "
                         "its integers are used as they are",
                         "edgec runs per-axis activation quantization as float fake "
                         "quantization: follow it with a DequantizeLinear of the same "
                         "parameters only (or quantize activations per tensor)")
    x = node.input[0]
    v = ctx.as_float(ctx.value(x), x)
    shape = ctx.shape(x)
    axis %= len(shape)
    if zp.size not in (1, shape[axis]) or scale.size != shape[axis]:
        raise EdgecError(f"QuantizeLinear '{node.name}' has {scale.size} scales for "
                         f"{shape[axis]} channels on axis {axis}",
                         "give one scale and zero point per channel (blocked quantization "
                         "is not supported)")
    zp = np.broadcast_to(zp.reshape(-1), scale.shape)
    t = ctx.tensor(v)
    ir_axis = lay.full(v.layout, len(shape)).index(axis)
    parts = []
    for c in range(shape[axis]):
        quant, dtype = _activation_quant(ctx, node, scale[c:c + 1], zp[c:c + 1])
        begin = tuple(c if d == ir_axis else 0 for d in range(len(t.shape)))
        size = tuple(1 if d == ir_axis else n for d, n in enumerate(t.shape))
        part = ctx.new_tensor(f"{out}_c{c}", size, "float32")
        ctx.add_node("STRIDED_SLICE", [v.name], [part],
                     {"begin": begin, "size": size, "steps": (1,) * len(size)})
        q = ctx.new_tensor(f"{out}_c{c}_q", size, dtype, quant)
        ctx.add_node("QUANTIZE", [part], [q], {}, node.name or out)
        parts.append(ctx.new_tensor(f"{out}_c{c}_fq", size, "float32"))
        ctx.add_node("DEQUANTIZE", [q], [parts[-1]], {}, node.name or out)
    joined = ctx.new_tensor(f"{out}_fq", t.shape, "float32")
    ctx.add_node("CONCATENATION", parts, [joined], {"axis": ir_axis}, node.name or out)
    ctx.values[out] = Value(joined, v.layout, "float")
    ctx.fake_quantized[out] = (scale, zp, axis)


def _dequantize_per_axis(ctx: Context, node: onnx.NodeProto, scale, zp, axis: int) -> None:
    """DequantizeLinear after a per-axis QuantizeLinear: the fake quantization it made."""
    x = node.input[0]
    if x not in ctx.fake_quantized:
        raise EdgecError(f"DequantizeLinear '{node.name}' dequantizes the activation '{x}' "
                         "per axis", "edgec runs per-axis activation quantization as float "
                         "fake quantization: give the model a float input and a per-axis "
                         "QuantizeLinear before this node (or quantize per tensor)")
    ctx.values[node.output[0]] = ctx.values[x]


def _check_dtype(node: onnx.NodeProto, tensor: str, actual: str, wanted: str) -> None:
    """A Q/DQ node must agree with the integer type of the tensor it gives parameters to."""
    if actual != wanted:
        raise EdgecError(f"{node.op_type} '{node.name}' treats '{tensor}' as {wanted}, but "
                         f"it is computed in {actual}",
                         "quantize all activations to the same width (8 bits, or 16 bits "
                         "as TFLite's 16x8 mode: int16 activations, int8 weights)")


def set_quant(ctx: Context, name: str, quant: QuantParams) -> None:
    """Set the quantization of an int8 tensor whose scale was unknown (an int8 graph input),
    and of every tensor joined to it by RESHAPE/TRANSPOSE, which share its scale."""
    todo = [name]
    while todo:
        t = ctx.tensor(todo.pop())
        if t.quant is not None or t.dtype not in ("int8", "int16"):
            continue
        t.quant = QuantParams(quant.scale, quant.zero_point)
        for node in ctx.graph.nodes:
            if node.op in _SHAPE_OPS and node.inputs[0] == t.name:
                todo.append(node.outputs[0])
            elif node.op in _SHAPE_OPS and node.outputs[0] == t.name:
                todo.append(node.inputs[0])
