"""ONNX converters for elementwise math and activations: Add, Sub, Mul, Sum, Mean, Neg, Abs,
Div, Reciprocal, Sqrt, Exp, Log, Erf, Pow, PRelu, Relu, Clip, Sigmoid,
HardSigmoid, Swish, Tanh, Softmax, LogSoftmax, Identity, Dropout, float-to-float Cast."""

from __future__ import annotations

import numpy as np
import onnx

from edgec.errors import EdgecError
from edgec.frontends import onnx_layout as lay
from edgec.frontends.onnx_common import (attrs, bind_alias, const_operand, fuse_activation,
                                         opset, operand, plain_int_op, quant_mode)
from edgec.frontends.onnx_context import Context, QConst, Value
from edgec.frontends.onnx_decompose import constant, step
from edgec.frontends.onnx_registry import converter
from edgec.ir import QuantParams, get_op
from edgec.ir.floats import E8M0_ROUND_MODES, OTHER_FLOATS, is_float
from edgec.ir.graph import INT_DTYPES, NARROW_INT_DTYPES, storage_dtype
from edgec.ir.ops.cast import cast_values
from edgec.ir.ops.pow_fmod import OTHER_FLOAT_DTYPES

_BINARY = {"Add": "ADD", "Sub": "SUB", "Mul": "MUL", "Max": "MAXIMUM", "Min": "MINIMUM",
           "PRelu": "PRELU"}


@converter("Max", "Min", "Sum")
def max_min(ctx: Context, node: onnx.NodeProto) -> None:
    """Max/Min/Sum of two inputs -> MAXIMUM/MINIMUM/ADD (one input is Identity; more are
    chained left to right, as ONNX's reference sums)."""
    if len(node.input) == 1:
        bind_alias(ctx, node.input[0], node.output[0])
        return
    if len(node.input) > 2:  # a chain of two-input ones, left to right
        partial = f"{node.output[0]}_{node.op_type.lower()}{len(node.input) - 1}"
        head = onnx.helper.make_node(node.op_type, node.input[:-1], [partial],
                                     name=f"{node.name}_{len(node.input) - 1}")
        ctx.shapes[partial] = tuple(np.broadcast_shapes(*(ctx.shape(i)
                                                          for i in node.input[:-1])))
        ctx.consumers[partial] = [node]
        max_min(ctx, head)
        node = onnx.helper.make_node(node.op_type, [partial, node.input[-1]],
                                     list(node.output), name=node.name)
    if node.op_type == "Sum":
        node = onnx.helper.make_node("Add", list(node.input), list(node.output), name=node.name)
    binary(ctx, node)


@converter("Cast", "CastLike")
def cast(ctx: Context, node: onnx.NodeProto) -> None:
    """Cast/CastLike of a float32 activation to float32 is its input; a constant cast like an
    activation (CastLike's target is not constant) becomes float32. Between float32 and plain
    integers (docs/IR.md "Plain integers") -> CAST (constants are cast at import). Other
    casts are refused."""
    if node.op_type == "Cast":
        target = attrs(node).get("to")
    else:
        like = node.input[1]
        target = (helper_dtype(ctx.const(like).dtype) if ctx.is_const(like)
                  else helper_dtype(np.float32) if ctx.value(like).kind in ("float", "deq")
                  else helper_dtype(ctx.tensor(ctx.value(like)).dtype) if ctx.plain_int(like)
                  else None)
    if target == onnx.TensorProto.STRING:
        raise EdgecError(f"{node.op_type} '{node.name}' converts to strings",
                         "edgec compiles numeric models; strings stay outside the model")
    if ctx.is_const(node.input[0]) and target == onnx.TensorProto.FLOAT:
        ctx.consts[node.output[0]] = np.asarray(ctx.const(node.input[0])).astype(np.float32)
        return
    if _cast_plain(ctx, node, target):
        return
    v = None if ctx.is_const(node.input[0]) else ctx.value(node.input[0])
    if target != onnx.TensorProto.FLOAT or v is None or v.kind not in ("float", "deq"):
        raise EdgecError(f"{node.op_type} '{node.name}' converts a tensor to another type",
                         "edgec computes in float32 (or quantized int8/int16); export the "
                         "model without casts of activations")
    bind_alias(ctx, node.input[0], node.output[0])


def _cast_plain(ctx: Context, node: onnx.NodeProto, target) -> bool:
    """A Cast between floats (float32, float64, the minifloats of ``edgec.ir.floats``) and
    plain integers, or of a constant: CAST (or nothing, to the same type), with the node's
    ``saturate`` (float8 targets) and ``round_mode`` (E8M0). Not handled (False): anything else."""
    dtype = _IR_DTYPES.get(target)
    x = node.input[0]
    if dtype is None:
        return False
    saturate = bool(attrs(node).get("saturate", 1))
    round_mode = attrs(node).get("round_mode", "up")  # to float8 E8M0 (opset 24)
    if dtype == "float8_e8m0fnu" and round_mode not in E8M0_ROUND_MODES:
        raise EdgecError(f"Cast '{node.name}' has round_mode '{round_mode}'",
                         f"use one of {', '.join(E8M0_ROUND_MODES)}")
    if ctx.is_const(x):
        data = as_numeric(np.asarray(ctx.const(x)))
        if not (data.dtype.kind in "iu" or is_float(data.dtype)) or x in ctx.qconsts:
            return False
        ctx.consts[node.output[0]] = cast_values(data, dtype, saturate, round_mode)
        return True
    v = ctx.value(x)
    if not ctx.plain_int(x) and v.kind != "float":
        return False
    if ctx.tensor(v).dtype == dtype:
        bind_alias(ctx, x, node.output[0])
        return True
    out = ctx.new_tensor(node.output[0], ctx.tensor(v).shape, dtype)
    ir_attrs = {} if saturate else {"saturate": False}
    if dtype == "float8_e8m0fnu" and round_mode != "up":
        ir_attrs["round_mode"] = round_mode
    ctx.add_node("CAST", [v.name], [out], ir_attrs, node.name or node.output[0])
    ctx.values[node.output[0]] = Value(out, v.layout, "float" if dtype == "float32" else "int")
    return True


# ONNX element types CAST converts between (floats and the plain integers).
_IR_DTYPES = {onnx.helper.np_dtype_to_tensor_dtype(np.dtype(d)): d
              for d in ("float32", *INT_DTYPES, *OTHER_FLOATS)}
_IR_DTYPES.update({onnx.TensorProto.INT4: "int4", onnx.TensorProto.UINT4: "uint4",
                   onnx.TensorProto.INT2: "int2", onnx.TensorProto.UINT2: "uint2"})


def as_numeric(data: np.ndarray) -> np.ndarray:
    """An ONNX int4/uint4/int2/uint2 array (``ml_dtypes``) as its IR storage (int8/uint8)."""
    if data.dtype.name in NARROW_INT_DTYPES:
        return data.astype(storage_dtype(data.dtype.name))
    return data


def helper_dtype(dtype) -> int:
    return onnx.helper.np_dtype_to_tensor_dtype(np.dtype(dtype))


@converter("Mean")
def mean(ctx: Context, node: onnx.NodeProto) -> None:
    """Mean of n inputs -> their Sum, then a float MUL by 1/n (within 2 ulp of ONNX's
    division by n)."""
    if len(node.input) == 1:
        bind_alias(ctx, node.input[0], node.output[0])
        return
    total = f"{node.output[0]}_sum"
    ctx.shapes[total] = ctx.shape(node.output[0])
    ctx.consumers[total] = [node]
    max_min(ctx, onnx.helper.make_node("Sum", list(node.input), [total], name=node.name))
    binary_with_const(ctx, node, "MUL", total,
                      np.array([1.0 / len(node.input)], np.float32), node.output[0])


@converter("Div")
def div(ctx: Context, node: onnx.NodeProto) -> None:
    """Div of an activation by a constant -> a float MUL by its reciprocal (within 2 ulp of
    the division); a division by an activation (or of a constant) -> float DIV. Plain
    integers -> integer DIV (truncating toward zero; x / 0 is 0, docs/IR.md)."""
    x, y = node.input
    if any(ctx.plain_int(i) for i in node.input):
        plain_int_op(ctx, node, "DIV", [x, y])
        return
    if not ctx.is_const(y) or ctx.is_const(x):
        _float_div(ctx, node)
        return
    divisor = np.asarray(ctx.const(y, "the divisor"))
    if divisor.dtype.kind != "f":
        raise EdgecError(f"Div '{node.name}' divides by {divisor.dtype} values",
                         "edgec divides float tensors by float constants")
    with np.errstate(divide="ignore"):
        reciprocal = (np.float32(1) / divisor.astype(np.float32)).astype(np.float32)
    out_shape = ctx.shape(node.output[0])
    if np.broadcast_shapes(ctx.shape(x), reciprocal.shape) != ctx.shape(x):
        raise EdgecError(f"Div '{node.name}' broadcasts its input to {list(out_shape)}",
                         "the divisor must broadcast to the dividend's shape")
    binary_with_const(ctx, node, "MUL", x, reciprocal, node.output[0])


def _float_div(ctx: Context, node: onnx.NodeProto) -> None:
    """Float DIV of two tensors (numpy broadcasting), at least one computed at run time."""
    for i in node.input:
        if ctx.is_const(i) and np.asarray(ctx.const(i)).dtype.kind != "f":
            raise EdgecError(f"Div '{node.name}' divides {np.asarray(ctx.const(i)).dtype} "
                             "values", "edgec divides float tensors")
    float_binary(ctx, node, "DIV", list(node.input))


def float_binary(ctx: Context, node: onnx.NodeProto, op: str, names: list[str]) -> None:
    """Float ``op`` of two float tensors ``names`` (numpy broadcasting), at least one computed
    at run time, bound to the node's output (DIV, POW, FMOD). float64 and minifloat
    activations (plain values, ``edgec.ir.floats``) keep their type: ``op`` on it."""
    acts = [i for i in names if not ctx.is_const(i)]
    if any(ctx.plain_int(a) for a in acts):
        plain_int_op(ctx, node, op, names)
        return
    rank = len(ctx.shape(node.output[0]))
    layout = _common_layout(ctx, acts, rank)
    inputs = [operand(ctx, i, layout, False) if i in acts
              else const_operand(ctx, i, layout, rank, False) for i in names]
    ctx.emit(node, op, inputs, {}, layout, False)


_FLOAT_UNARY = {"Sqrt": "SQRT", "Exp": "EXP", "Log": "LOG", "Erf": "ERF"}


@converter(*_FLOAT_UNARY)
def float_unary(ctx: Context, node: onnx.NodeProto) -> None:
    """Sqrt, Exp, Log, Erf -> float SQRT, EXP, LOG, ERF."""
    x = node.input[0]
    if ctx.plain_int(x):
        raise EdgecError(f"{node.op_type} '{node.name}' computes on integers",
                         f"edgec's {node.op_type} takes float tensors")
    layout = ctx.value(x).layout
    ctx.emit(node, _FLOAT_UNARY[node.op_type], [operand(ctx, x, layout, False)], {}, layout,
             False)


@converter("Reciprocal")
def reciprocal(ctx: Context, node: onnx.NodeProto) -> None:
    """Reciprocal -> float DIV of 1 by x (the correctly rounded ``1 / x``, as ONNX's)."""
    one = constant(ctx, f"{node.output[0]}_one", np.float32(1.0))
    step(ctx, node, "Div", [one, node.input[0]], node.output[0], ctx.shape(node.output[0]))


# Pow by a constant exponent, as the exact ops it equals: x ** 1 is x, x ** 2 the correctly
# rounded x * x, x ** 0.5 the correctly rounded square root (powf and sqrtf differ only at
# -0 and -inf, where powf gives +0 and +inf).
_POW = {1.0: None, 2.0: "Mul", 0.5: "Sqrt"}
_POW_INT_BASES = ("int32", "int64")  # ONNX's integer Pow bases (POW's plain-integer kernels)


@converter("Pow")
def pow_(ctx: Context, node: onnx.NodeProto) -> None:
    """Pow -> POW (numpy broadcasting), the output of the base's type as ONNX's. A float
    base by a constant scalar exponent 1, 2 or 0.5 is itself, MUL, SQRT; an exponent of
    another type is cast to the base's (CAST; constants at import). An int32 / int64 base
    with a float exponent computes in float32: CAST, POW, CAST back (truncating, as ONNX's
    reference casts numpy's float64 power). float64, float16 and bfloat16 bases keep their
    type."""
    x, y = node.input
    base, exponent = _pow_dtype(ctx, x), _pow_dtype(ctx, y)
    out, shape = node.output[0], ctx.shape(node.output[0])
    if base == "float32" and _pow_fast(ctx, node):
        return
    if base in _POW_INT_BASES and exponent == "float32":
        as_float = step(ctx, node, "Cast", [x], f"{out}_base_float", ctx.shape(x),
                        to=onnx.TensorProto.FLOAT)
        power = step(ctx, node, "Pow", [as_float, y], f"{out}_float", shape)
        step(ctx, node, "Cast", [power], out, shape, to=helper_dtype(base))
        return
    if base not in ("float32", *OTHER_FLOAT_DTYPES, *_POW_INT_BASES):
        raise EdgecError(f"Pow '{node.name}' raises {base} values",
                         "Pow takes a float (float16 to float64), int32 or int64 base")
    if exponent != base:
        y = step(ctx, node, "Cast", [y], f"{out}_exponent", ctx.shape(y),
                 to=helper_dtype(base))
    if is_float(base):  # float64 / float16 / bfloat16 keep their type
        float_binary(ctx, node, "POW", [x, y])
    else:
        plain_int_op(ctx, node, "POW", [x, y])


def _pow_dtype(ctx: Context, name: str) -> str:
    """The element type of Pow's input ``name``: float32 for float (and dequantized) values."""
    if ctx.is_const(name):
        kind = np.asarray(ctx.const(name)).dtype
        return "float32" if kind.kind == "f" else kind.name
    return ctx.tensor(ctx.value(name)).dtype if ctx.plain_int(name) else "float32"


def _pow_fast(ctx: Context, node: onnx.NodeProto) -> bool:
    """Pow of a float activation by a constant scalar 1, 2 or 0.5 that does not broadcast
    the base: as the exact op it equals (True), else nothing (False)."""
    x, y = node.input
    if ctx.is_const(x) or not ctx.is_const(y):
        return False
    exponent = np.asarray(ctx.const(y))
    out_shape = ctx.shape(node.output[0])
    if exponent.size != 1 or float(exponent.ravel()[0]) not in _POW or \
            ctx.shape(x) != out_shape:
        return False
    op_type = _POW[float(exponent.ravel()[0])]
    if op_type is None:
        bind_alias(ctx, x, node.output[0])
    else:
        step(ctx, node, op_type, [x, x] if op_type == "Mul" else [x], node.output[0],
             out_shape)
    return True


@converter("Abs")
def abs_(ctx: Context, node: onnx.NodeProto) -> None:
    """Abs -> MAXIMUM of x and -x (a float MUL by -1; plain integers: 0 - x, so the type's
    minimum stays itself, as numpy's abs)."""
    x, out = node.input[0], node.output[0]
    if ctx.plain_int(x) and ctx.tensor(ctx.value(x)).dtype.startswith("u"):
        bind_alias(ctx, x, out)  # unsigned: its own absolute value
        return
    if ctx.plain_int(x):
        negated = f"{out}_negated"
        ctx.shapes[negated] = ctx.shape(x)
        _negate_plain_int(ctx, node, x, negated)
        plain_int_op(ctx, node, "MAXIMUM", [x, negated])
        return
    negated = f"{out}_negated"
    ctx.shapes[negated] = ctx.shape(x)
    binary_with_const(ctx, node, "MUL", x, np.array([-1.0], np.float32), negated)
    v = ctx.as_float(ctx.value(x), x)
    n = ctx.value(negated)
    ir = ctx.new_tensor(out, ctx.tensor(n).shape, "float32")
    ctx.add_node("MAXIMUM", [ctx.in_layout(v, n.layout, x), n.name], [ir], {},
                 node.name or out)
    ctx.values[out] = Value(ir, n.layout, "float")


@converter("Swish")
def swish(ctx: Context, node: onnx.NodeProto) -> None:
    """Swish -> x * LOGISTIC(alpha * x), in float."""
    x, out = node.input[0], node.output[0]
    alpha = float(np.float32(attrs(node).get("alpha", 1.0)))
    scaled = x
    if alpha != 1.0:
        scaled = f"{out}_alpha"
        ctx.shapes[scaled] = ctx.shape(x)
        binary_with_const(ctx, node, "MUL", x, np.array([alpha], np.float32), scaled)
    s = ctx.as_float(ctx.value(scaled), scaled)
    gate = ctx.new_tensor(f"{out}_sigmoid", ctx.tensor(s).shape, "float32")
    ctx.add_node("LOGISTIC", [s.name], [gate], {}, node.name or out)
    v = ctx.as_float(ctx.value(x), x)
    ir = ctx.new_tensor(out, ctx.tensor(s).shape, "float32")
    ctx.add_node("MUL", [ctx.in_layout(v, s.layout, x), gate], [ir], {}, node.name or out)
    ctx.values[out] = Value(ir, s.layout, "float")


@converter("Neg")
def neg(ctx: Context, node: onnx.NodeProto) -> None:
    """Neg -> float MUL by -1 (exact: it flips the sign bit); plain integers: SUB from 0
    (wrapping, as numpy's negative)."""
    if ctx.plain_int(node.input[0]):
        _negate_plain_int(ctx, node, node.input[0], node.output[0])
        return
    binary_with_const(ctx, node, "MUL", node.input[0], np.array([-1.0], np.float32),
                      node.output[0])


def _negate_plain_int(ctx: Context, node: onnx.NodeProto, x: str, out: str) -> None:
    zero = f"{out}_zero"
    ctx.consts[zero] = np.zeros((), ctx.tensor(ctx.value(x)).dtype)
    plain_int_op(ctx, node, "SUB", [zero, x], out)


@converter("HardSigmoid")
def hard_sigmoid(ctx: Context, node: onnx.NodeProto) -> None:
    """HardSigmoid -> float MUL by alpha, ADD of beta, MAXIMUM 0, MINIMUM 1: ONNX's
    ``clip(alpha * x + beta, 0, 1)`` rounded to float32 after each step, as its reference."""
    a = attrs(node)
    x, out = node.input[0], node.output[0]
    steps = [("MUL", a.get("alpha", 0.2)), ("ADD", a.get("beta", 0.5)), ("MAXIMUM", 0.0),
             ("MINIMUM", 1.0)]
    for k, (op, c) in enumerate(steps):
        target = out if k == len(steps) - 1 else f"{out}_hard_sigmoid{k}"
        ctx.shapes.setdefault(target, ctx.shape(x))
        binary_with_const(ctx, node, op, x, np.array([c], np.float32), target)
        x = target


@converter("Add", "Sub", "Mul", "PRelu")
def binary(ctx: Context, node: onnx.NodeProto) -> None:
    """Add/Sub/Mul/PRelu -> ADD/SUB/MUL/PRELU (numpy broadcasting); an Add of a per-channel constant
    right after a conv or fully-connected op becomes that op's bias."""
    if node.op_type == "Add" and _fold_bias(ctx, node):
        return
    acts = [i for i in node.input if not ctx.is_const(i)]
    if node.op_type != "PRelu" and any([ctx.plain_int(a) for a in acts]):
        plain_int_op(ctx, node, _BINARY[node.op_type], list(node.input))
        return
    quantized = quant_mode(ctx, node, acts) and all(
        i in ctx.qconsts for i in node.input if ctx.is_const(i))
    rank = len(ctx.shape(node.output[0]))
    layout = _common_layout(ctx, acts, rank)
    inputs = [operand(ctx, i, layout, quantized) if i in acts
              else const_operand(ctx, i, layout, rank, quantized) for i in node.input]
    ctx.emit(node, _BINARY[node.op_type], inputs, {}, layout, quantized)


def _common_layout(ctx: Context, acts: list[str], rank: int):
    """The layout of the first full-rank activation; ONNX order when ranks differ."""
    if any(len(ctx.shape(a)) != rank for a in acts):
        return None
    return next((ctx.value(a).layout for a in acts if ctx.value(a).layout is not None), None)


def _fold_bias(ctx: Context, node: onnx.NodeProto) -> bool:
    """Fold ``op(x) + c`` into ``op``'s bias when ``c`` is constant per output channel."""
    x, c = node.input if not ctx.is_const(node.input[0]) else node.input[::-1]
    if ctx.is_const(x) or not ctx.is_const(c):
        return False
    v = ctx.value(x)
    prod = ctx.producer.get(v.name)
    if prod is None or get_op(prod.op).weight_axis is None or not ctx.single_consumer(x) \
            or prod.attrs["activation"] != "NONE" or v.kind not in ("float",
                                                                                "pending"):
        return False
    channels = ctx.tensor(v).shape[-1]
    out_shape = ctx.shape(node.output[0])
    const_shape = (1,) * (len(out_shape) - len(ctx.shape(c))) + ctx.shape(c)
    axis = lay.full(v.layout, len(out_shape))[-1]  # the IR's channel axis, in ONNX order
    if out_shape != ctx.shape(x) or any(d != 1 for i, d in enumerate(const_shape) if i != axis):
        return False
    if v.kind == "pending":
        if c not in ctx.qconsts or ctx.qconsts[c].data.dtype != np.int32:
            return False
        bias = ctx.qconsts[c].data.reshape(-1).astype(np.int32)
        quant = bias_quant(ctx.qconsts[c])
    else:
        bias, quant = ctx.const(c).astype(np.float32).reshape(-1), None
    bias = np.broadcast_to(bias, (channels,))
    if len(prod.inputs) > 2 and prod.inputs[2]:
        if v.kind == "pending":
            return False
        bias = bias + ctx.tensor(prod.inputs[2]).data
    bias_ir = ctx.const_tensor(c, np.ascontiguousarray(bias), quant)
    prod.inputs[2:] = [ctx.int16_bias(bias_ir) if ctx.tensor(v).dtype == "int16" else bias_ir]
    ctx.values[node.output[0]] = v
    return True


def bias_quant(qc: QConst) -> QuantParams:
    """The quantization of an int32 bias (per channel on its only axis, or per tensor)."""
    return QuantParams(qc.scale, qc.zero_point, 0 if qc.scale.size > 1 else None)


def binary_with_const(ctx: Context, node: onnx.NodeProto, op: str, x: str, const: np.ndarray,
                      out: str) -> None:
    """Float ``op(x, const)`` with ``const`` in ONNX layout, bound to ONNX name ``out``."""
    v = ctx.as_float(ctx.value(x), x)
    shape = ctx.shape(x)
    const = const.reshape((1,) * (len(shape) - const.ndim) + const.shape)
    if v.layout is not None:
        const = const.transpose(v.layout)
    c = ctx.const_tensor(f"{out}_const", const)
    ir = ctx.new_tensor(out, lay.permute_shape(shape, v.layout), "float32")
    ctx.add_node(op, [v.name, c], [ir], {}, node.name or out)
    ctx.shapes[out] = shape
    ctx.values[out] = Value(ir, v.layout, "float")


def _activation(ctx: Context, node: onnx.NodeProto, activation: str) -> None:
    x, out = node.input[0], node.output[0]
    if fuse_activation(ctx, x, out, activation):
        return
    if activation not in ("RELU", "RELU6"):
        raise EdgecError(f"{node.op_type} '{node.name}' clamps to [-1, 1] after an op that "
                         "cannot fuse it", "only Relu and Clip(0, 6) exist as standalone ops")
    _unary(ctx, node, activation)


def _unary(ctx: Context, node: onnx.NodeProto, op: str) -> None:
    x = node.input[0]
    quantized = quant_mode(ctx, node, [x])
    layout = ctx.value(x).layout
    ctx.emit(node, op, [operand(ctx, x, layout, quantized)], {}, layout, quantized)


@converter("Relu")
def relu(ctx: Context, node: onnx.NodeProto) -> None:
    """Relu -> the producer's fused activation, else RELU."""
    _activation(ctx, node, "RELU")


_CLIP_RANGES = {(0.0, 6.0): "RELU6", (0.0, np.inf): "RELU", (-1.0, 1.0): "RELU_N1_TO_1"}


@converter("Clip")
def clip(ctx: Context, node: onnx.NodeProto) -> None:
    """Clip(0, 6) / Clip(0, inf) / Clip(-1, 1) -> a fused activation, RELU6 or RELU; other
    ranges on float values -> MAXIMUM by the lower bound, then MINIMUM by the upper one
    (so a lower bound above the upper gives the upper, as ONNX says); no bounds -> the input;
    bounds computed at run time -> ``_clip_run_time``."""
    if opset(ctx) >= 11 and ctx.plain_int(node.input[0]):  # integer bounds, exactly
        _clip_plain_int(ctx, node)
        return
    if opset(ctx) < 11:
        a = attrs(node)
        lo, hi = a.get("min", -np.inf), a.get("max", np.inf)
    else:
        if any(i and not ctx.is_const(i) for i in node.input[1:3]):
            _clip_run_time(ctx, node)
            return
        bound = [float(ctx.const(i, "a Clip bound")) if i else None for i in
                 list(node.input[1:3]) + [""] * (3 - len(node.input))]
        lo = -np.inf if bound[0] is None else bound[0]
        hi = np.inf if bound[1] is None else bound[1]
    if np.isneginf(lo) and np.isposinf(hi):  # no bounds: the input, whatever its type
        bind_alias(ctx, node.input[0], node.output[0])
        return
    activation = _CLIP_RANGES.get((float(lo), float(hi)))
    standalone = activation in ("RELU", "RELU6") or (
        activation is not None and fuse_activation(ctx, node.input[0], node.output[0],
                                                   activation))
    if standalone and activation not in ("RELU", "RELU6"):
        return
    if not standalone and _clip_int8(ctx, node, float(lo), float(hi)):
        return
    if not standalone and ctx.value(node.input[0]).kind in ("float", "deq"):
        _clip_float(ctx, node, float(lo), float(hi))
        return
    if activation is None:
        raise EdgecError(f"Clip '{node.name}' clamps to [{lo}, {hi}]",
                         "supported ranges: [0, 6], [0, inf) and [-1, 1]")
    _activation(ctx, node, activation)


def _clip_run_time(ctx: Context, node: onnx.NodeProto) -> None:
    """Clip with a bound computed at run time (a float tensor of one value) -> float MAXIMUM
    by the lower bound, then MINIMUM by the upper one (a constant bound is a constant operand
    of the same ops), as ``min(max(x, lo), hi)``: a lower bound above the upper gives the
    upper, as ONNX says."""
    x, out = node.input[0], node.output[0]
    steps = [(op, b) for op, b in (("Max", node.input[1] if len(node.input) > 1 else ""),
                                   ("Min", node.input[2] if len(node.input) > 2 else "")) if b]
    for k, (op, bound) in enumerate(steps):
        if ctx.is_const(bound) and np.asarray(ctx.const(bound)).dtype.kind != "f" or \
                not ctx.is_const(bound) and ctx.value(bound).kind not in ("float", "deq"):
            raise EdgecError(f"Clip '{node.name}' has an integer bound ('{bound}')",
                             "edgec clips float tensors by float bounds")
        target = out if k == len(steps) - 1 else f"{out}_clip_low"
        ctx.shapes.setdefault(target, ctx.shape(out))
        ctx.consumers.setdefault(target, [node])
        binary(ctx, onnx.helper.make_node(op, [x, bound], [target], name=node.name))
        x = target


def _requantized_alike(ctx: Context, onnx_name: str, quant: QuantParams) -> bool:
    """Whether every reader of ``onnx_name`` is a QuantizeLinear with ``quant`` (int8 or the
    equivalent uint8 parameters)."""
    readers = ctx.consumers.get(onnx_name, [])
    if not readers or onnx_name in ctx.graph_outputs:
        return False
    for q in readers:
        if q.op_type != "QuantizeLinear" or len(q.input) < 3 or not ctx.is_const(q.input[1]) \
                or q.input[2] not in ctx.consts:
            return False
        scale, zp = ctx.consts.get(q.input[1]), ctx.consts[q.input[2]]
        if scale is None or np.asarray(scale).size != 1 or np.asarray(zp).size != 1:
            return False
        shift = {np.dtype(np.uint8): 128, np.dtype(np.uint16): 1 << 15}.get(zp.dtype, 0)
        if (float(np.float32(scale.reshape(-1)[0])), int(zp.reshape(-1)[0]) - shift) != \
                (float(quant.s), int(quant.zp)):
            return False
    return True


def _clip_int8(ctx: Context, node: onnx.NodeProto, lo: float, hi: float) -> bool:
    """Clip of a dequantized int8 tensor requantized with the same parameters: MAXIMUM /
    MINIMUM by the bounds' int8 codes, exact (quantization is monotonic and maps each code to
    itself). Other cases are not handled here."""
    v = ctx.value(node.input[0])
    if v.kind != "deq" or not _requantized_alike(ctx, node.output[0], ctx.tensor(v).quant):
        return False
    q = ctx.tensor(v).quant
    x = v.name
    steps = [(op, bound) for op, bound in (("MAXIMUM", lo), ("MINIMUM", hi))
             if np.isfinite(bound)]
    shape, dtype = ctx.tensor(v).shape, ctx.tensor(v).dtype
    info = np.iinfo(dtype)
    for k, (op, bound) in enumerate(steps):
        code = np.clip(np.round(np.float32(bound) / np.float32(q.s)) + q.zp, info.min, info.max)
        c = ctx.const_tensor(f"{node.output[0]}_{op.lower()}_code",
                             np.full((1,) * len(shape), code, dtype),
                             QuantParams(q.scale, q.zero_point))
        out = ctx.new_tensor(f"{node.output[0]}_{op.lower()}", shape, dtype,
                             QuantParams(q.scale, q.zero_point))
        ctx.add_node(op, [x, c], [out], {}, node.name or node.output[0])
        x = out
    ctx.values[node.output[0]] = Value(x, v.layout, "deq")
    return True


def _clip_float(ctx: Context, node: onnx.NodeProto, lo: float, hi: float) -> None:
    x, out = node.input[0], node.output[0]
    steps = [(op, bound) for op, bound in (("MAXIMUM", lo), ("MINIMUM", hi))
             if np.isfinite(bound)]
    if not steps:
        bind_alias(ctx, x, out)
        return
    for k, (op, bound) in enumerate(steps):
        target = out if k == len(steps) - 1 else f"{out}_clip_low"
        binary_with_const(ctx, node, op, x, np.array([bound], np.float32), target)
        x = target


def _clip_plain_int(ctx: Context, node: onnx.NodeProto) -> None:
    """Clip of plain integers: MAXIMUM by ``min``, then MINIMUM by ``max`` (each if given, a
    constant or a run-time tensor of the same integer type)."""
    x, out = node.input[0], node.output[0]
    steps = [(op, bound) for op, bound in zip(("MAXIMUM", "MINIMUM"), list(node.input[1:3]))
             if bound]
    if not steps:
        bind_alias(ctx, x, out)
        return
    for k, (op, bound) in enumerate(steps):
        target = out if k == len(steps) - 1 else f"{out}_clip_low"
        ctx.shapes.setdefault(target, ctx.shape(x))
        plain_int_op(ctx, node, op, [x, bound], target)
        x = target


@converter("Sigmoid")
def sigmoid(ctx: Context, node: onnx.NodeProto) -> None:
    """Sigmoid -> LOGISTIC (quantized: then requantized to the QuantizeLinear's scale)."""
    _fixed_output(ctx, node, "LOGISTIC", ctx.value(node.input[0]).layout)


@converter("Tanh")
def tanh(ctx: Context, node: onnx.NodeProto) -> None:
    """Tanh -> TANH (quantized: then requantized to the QuantizeLinear's scale)."""
    _fixed_output(ctx, node, "TANH", ctx.value(node.input[0]).layout)


def _fixed_output(ctx: Context, node: onnx.NodeProto, op: str, layout) -> None:
    """``op`` on input 0 in ``layout``. TFLite fixes the output quantization of quantized
    LOGISTIC, TANH and SOFTMAX (int8 and int16 alike: ``OpDef.fixed_quant``); a QDQ graph may
    ask for another (onnxruntime calibrates int16 ones): the op writes TFLite's, and a
    QUANTIZE requantizes it to the QuantizeLinear's (dropped when they are equal)."""
    x = node.input[0]
    quantized = quant_mode(ctx, node, [x])
    x_ir = operand(ctx, x, layout, quantized)
    if not quantized:
        ctx.emit(node, op, [x_ir], {}, layout, False)
        return
    dtype = ctx.tensor(x_ir).dtype
    scale, zp = get_op(op).fixed_quant_int16 if dtype == "int16" else get_op(op).fixed_quant
    fixed = ctx.new_tensor(f"{node.output[0]}_{op.lower()}", ctx.tensor(x_ir).shape, dtype,
                           QuantParams(np.float32(scale), zp))
    ctx.add_node(op, [x_ir], [fixed], {}, node.name or node.output[0])
    ctx.emit(node, "QUANTIZE", [fixed], {}, layout, True)


@converter("HardSwish")
def hard_swish(ctx: Context, node: onnx.NodeProto) -> None:
    """HardSwish -> HARD_SWISH."""
    _unary(ctx, node, "HARD_SWISH")


@converter("LeakyRelu")
def leaky_relu(ctx: Context, node: onnx.NodeProto) -> None:
    """LeakyRelu -> LEAKY_RELU (alpha defaults to 0.01)."""
    x = node.input[0]
    quantized = quant_mode(ctx, node, [x])
    layout = ctx.value(x).layout
    alpha = float(np.float32(attrs(node).get("alpha", 0.01)))
    ctx.emit(node, "LEAKY_RELU", [operand(ctx, x, layout, quantized)], {"alpha": alpha},
             layout, quantized)


@converter("Softmax", "LogSoftmax")
def softmax(ctx: Context, node: onnx.NodeProto) -> None:
    """Softmax -> SOFTMAX, LogSoftmax -> float LOG_SOFTMAX, which work on the last IR axis:
    the input is laid out so that the ONNX axis comes last (free when it is the channel axis
    of an NHWC tensor)."""
    x = node.input[0]
    shape = ctx.shape(x)
    rank = len(shape)
    axis = attrs(node).get("axis", -1 if opset(ctx) >= 13 else 1) % rank
    if opset(ctx) < 13 and any(d != 1 for d in shape[axis + 1:]):
        raise EdgecError(f"Softmax '{node.name}' (opset < 13) normalises over axes {axis}.. "
                         "together", "export with opset 13 or later, or softmax the last axis")
    if opset(ctx) < 13:
        axis = max((i for i in range(axis, rank) if shape[i] != 1), default=rank - 1)
    v = ctx.value(x)
    order = [p for p in lay.full(v.layout, rank) if p != axis] + [axis]
    layout = lay.normalize(order)
    if node.op_type == "LogSoftmax":  # float only: a quantized input is dequantized
        ctx.emit(node, "LOG_SOFTMAX", [operand(ctx, x, layout, False)], {}, layout, False)
        return
    # TFLite's int8 softmax writes scale 1/256, zero point -128 only; a QDQ graph may ask for
    # another scale (onnxruntime picks 1/255): requantized to it.
    _fixed_output(ctx, node, "SOFTMAX", layout)


@converter("Identity", "Dropout")
def identity(ctx: Context, node: onnx.NodeProto) -> None:
    """Identity and inference-mode Dropout are another name for their input. Dropout's mask
    output keeps every element in inference mode: a constant of trues (a model output of it
    is filled by the run function); so is training mode with a constant ratio 0 (nothing is
    dropped); training mode with another ratio is random, and refused."""
    if node.op_type == "Dropout" and len(node.input) > 2 and node.input[2]:
        _check_inference_dropout(ctx, node)
    if len(node.output) > 1 and node.output[1]:
        ctx.consts[node.output[1]] = np.ones(ctx.shape(node.input[0]), bool)
    bind_alias(ctx, node.input[0], node.output[0])


def _check_inference_dropout(ctx: Context, node: onnx.NodeProto) -> None:
    """A Dropout with a ``training_mode`` input runs as identity only when training_mode is a
    constant false, or the ratio is a constant 0."""
    training = node.input[2]
    if not ctx.is_const(training):
        raise EdgecError(f"Dropout '{node.name}' takes training_mode at run time",
                         "export the model in inference mode (training_mode false)")
    ratio_name = node.input[1] if len(node.input) > 1 else ""
    ratio = 0.5 if not ratio_name else \
        float(ctx.const(ratio_name)) if ctx.is_const(ratio_name) else None
    if bool(np.asarray(ctx.const(training)).any()) and ratio != 0.0:
        what = "a run-time ratio" if ratio is None else f"ratio {ratio:g}"
        raise EdgecError(f"Dropout '{node.name}' runs in training mode with {what}: its "
                         "mask is random", "export the model in inference mode (model.eval() "
                         "in PyTorch), or give it ratio 0")
