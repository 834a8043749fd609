"""ONNX converters for the weighted and windowed ops: Conv, ConvTranspose, Gemm, MatMul,
BatchNormalization, LayerNormalization, MaxPool, AveragePool, GlobalAveragePool,
GlobalMaxPool."""

from __future__ import annotations

import numpy as np
import onnx

from edgec.errors import EdgecError
from edgec.frontends import onnx_layout as lay
from edgec.frontends.onnx_common import (attrs, const_operand, keep_kind, operand, quant_mode,
                                         require_2d_window, window_pads)
from edgec.frontends.onnx_context import Context, QConst, Value
from edgec.frontends.onnx_ops_math import bias_quant, binary, binary_with_const
from edgec.frontends.onnx_decompose import constant, step
from edgec.frontends.onnx_registry import converter
from edgec.frontends.onnx_window1d import lift_1d
from edgec.frontends.onnx_window3d import lift_3d, lift_3d_transpose
from edgec.ir import QuantParams, get_op


def _weights_quantized(ctx: Context, node: onnx.NodeProto) -> bool:
    """Weights are DQ(int8) and the bias, if any, DQ(int32): the op can run in int8."""
    w = node.input[1]
    b = node.input[2] if len(node.input) > 2 else ""
    return (w in ctx.qconsts and ctx.qconsts[w].data.dtype == np.int8
            and (not b or (b in ctx.qconsts and ctx.qconsts[b].data.dtype == np.int32)))


def _weight_tensor(ctx: Context, name: str, quantized: bool, axes: tuple[int, int],
                   layout_fn) -> str:
    """An IR weight constant: ``layout_fn`` maps the ONNX array to the IR layout; ``axes`` is
    the output-channel axis (ONNX, IR), where per-channel scales live."""
    if not quantized:
        return ctx.const_tensor(name, layout_fn(ctx.const(name, "the weight")).astype(np.float32))
    qc = ctx.qconsts[name]
    if np.any(qc.zero_point != 0):
        raise EdgecError(f"weight '{name}' has a non-zero zero point",
                         "quantize weights symmetrically (zero point 0), as TFLite does")
    if qc.scale.size == 1:
        return ctx.const_tensor(name, layout_fn(qc.data), QuantParams(qc.scale, qc.zero_point))
    if qc.axis != axes[0]:
        raise EdgecError(f"weight '{name}' is quantized per axis {qc.axis}, expected the "
                         f"output-channel axis {axes[0]}", "quantize weights per output channel")
    return ctx.const_tensor(name, layout_fn(qc.data),
                            QuantParams(qc.scale, qc.zero_point, axes[1]))


def _bias_tensor(ctx: Context, name: str, quantized: bool, size: int) -> str:
    if not name:
        return ""
    if quantized:
        qc = ctx.qconsts[name]
        if qc.data.size != size:
            raise EdgecError(f"bias '{name}' has {qc.data.size} values for {size} output "
                             "channels", "give one bias value per output channel")
        return ctx.const_tensor(name, qc.data.reshape(-1).astype(np.int32), bias_quant(qc))
    data = ctx.const(name, "the bias").astype(np.float32).reshape(-1)
    if data.size not in (1, size):
        raise EdgecError(f"bias '{name}' has {data.size} values for {size} output channels",
                         "give one bias value per output channel")
    data = np.broadcast_to(data, (size,))
    return ctx.const_tensor(name, data)


def _group(node: onnx.NodeProto, a: dict) -> int:
    """The ``group`` attribute of a Conv or ConvTranspose: an integer of at least 1."""
    group = a.get("group", 1)
    if not isinstance(group, int) or group < 1:
        raise EdgecError(f"{node.op_type} '{node.name}' has group={group!r}",
                         "group is a positive integer (1: an ordinary convolution)")
    return group


@converter("Conv")
@lift_1d
def conv(ctx: Context, node: onnx.NodeProto) -> None:
    """Conv -> CONV_2D (group 1, or grouped: filters of C / group channels) or
    DEPTHWISE_CONV_2D (group == input channels)."""
    a = attrs(node)
    n, c, h, w = require_2d_window(ctx, node)
    w_shape = ctx.shape(node.input[1])
    if len(w_shape) != 4:
        raise EdgecError(f"Conv '{node.name}' has weights of rank {len(w_shape)} for an input "
                         "of rank 4", "give weights of shape (out, in / group, kh, kw)")
    out_ch, _, kh, kw = w_shape
    group = _group(node, a)
    quantized = quant_mode(ctx, node, [node.input[0]]) and _weights_quantized(ctx, node)
    strides, dilations = tuple(a.get("strides", (1, 1))), tuple(a.get("dilations", (1, 1)))
    ir_attrs = {"strides": strides, "dilations": dilations,
                "pads": window_pads(a, (h, w), (kh, kw), strides, dilations)}
    if group == 1 or (group < c and c % group == 0 and out_ch % group == 0):
        op = "CONV_2D"
        weights = _weight_tensor(ctx, node.input[1], quantized, (0, 0),
                                 lambda x: x.transpose(0, 2, 3, 1))
    elif group == c and out_ch % c == 0:
        op = "DEPTHWISE_CONV_2D"
        ir_attrs["depth_multiplier"] = out_ch // c
        weights = _weight_tensor(ctx, node.input[1], quantized, (0, 3),
                                 lambda x: x.transpose(1, 2, 3, 0))
    else:
        raise EdgecError(f"Conv '{node.name}' has group={group} with {c} input and {out_ch} "
                         "output channels", "group must divide both channel counts")
    bias = _bias_tensor(ctx, node.input[2] if len(node.input) > 2 else "", quantized, out_ch)
    x = operand(ctx, node.input[0], lay.NHWC, quantized)
    ctx.emit(node, op, [x, weights] + ([bias] if bias else []), ir_attrs, lay.NHWC, quantized)


@converter("ConvTranspose")
@lift_3d_transpose
@lift_1d
def conv_transpose(ctx: Context, node: onnx.NodeProto) -> None:
    """ConvTranspose -> TRANSPOSE_CONV; weights (I, O, kH, kW) become OHWI. The pads come
    from ``pads``, ``auto_pad`` or ``output_shape`` as the spec computes them; what is
    cropped at the end beyond ``output_padding`` is the IR's bottom/right pad. A float
    ConvTranspose of G groups is G of them on STRIDED_SLICEs of the input channels, then a
    CONCATENATION."""
    a = attrs(node)
    n, c, h, w = require_2d_window(ctx, node)
    _, out_per_group, kh, kw = ctx.shape(node.input[1])
    group = _group(node, a)
    if group != 1 and (c % group or quant_mode(ctx, node, [node.input[0]])):
        raise EdgecError(f"ConvTranspose '{node.name}' has group={group} with {c} input "
                         "channels", "grouped ConvTranspose runs in float, with group "
                         "dividing the input channels")
    strides, dilations = tuple(a.get("strides", (1, 1))), tuple(a.get("dilations", (1, 1)))
    out_hw = ctx.shape(node.output[0])[2:]
    extra = tuple(a.get("output_padding", (0, 0)))
    auto = a.get("auto_pad", "NOTSET")
    begin, end = [], []
    for i, (size, k, s, d) in enumerate(zip((h, w), (kh, kw), strides, dilations)):
        full = (size - 1) * s + (k - 1) * d + 1 + extra[i]
        total = full - out_hw[i]
        if auto == "NOTSET" and "output_shape" not in a:
            begin.append(int(a.get("pads", (0, 0, 0, 0))[i]))
        elif auto == "VALID":
            begin.append(0)
        else:
            begin.append(total // 2 if auto == "SAME_UPPER" else total - total // 2)
        end.append(total - begin[-1] - extra[i])  # the crop at the end of the full result
    if min(begin) < 0:
        raise EdgecError(f"ConvTranspose '{node.name}' has output {list(out_hw)} larger than "
                         "its input and kernel give", "check output_shape and pads")
    ir_attrs = {"strides": strides, "dilations": dilations,
                "pads": (*begin, *(max(e, 0) for e in end)),
                "output_padding": tuple(max(-e, 0) for e in end)}
    if group != 1:
        _grouped_conv_transpose(ctx, node, group, ir_attrs)
        return
    quantized = quant_mode(ctx, node, [node.input[0]]) and _weights_quantized(ctx, node)
    weights = _weight_tensor(ctx, node.input[1], quantized, (1, 0),
                             lambda x: x.transpose(1, 2, 3, 0))
    bias = _bias_tensor(ctx, node.input[2] if len(node.input) > 2 else "", quantized,
                        out_per_group)
    x = operand(ctx, node.input[0], lay.NHWC, quantized)
    ctx.emit(node, "TRANSPOSE_CONV", [x, weights] + ([bias] if bias else []), ir_attrs,
             lay.NHWC, quantized)


def _grouped_conv_transpose(ctx: Context, node: onnx.NodeProto, group: int,
                            ir_attrs: dict) -> None:
    """Float ConvTranspose of ``group`` groups: input channels sliced per group (NHWC),
    one TRANSPOSE_CONV each with its weights and bias, outputs concatenated on channels."""
    x = operand(ctx, node.input[0], lay.NHWC, False)
    xt = ctx.tensor(x)
    per_in = xt.shape[3] // group
    w = ctx.const(node.input[1], "the weight").astype(np.float32)
    per_out = w.shape[1]
    b = ctx.const(node.input[2], "the bias").astype(np.float32).reshape(-1) \
        if len(node.input) > 2 and node.input[2] else None
    out_shape = lay.permute_shape(ctx.shape(node.output[0]), lay.NHWC)
    parts = []
    for k in range(group):
        n, h, wd, _ = xt.shape
        xs = ctx.new_tensor(f"{x}_group{k}", (n, h, wd, per_in), "float32")
        ctx.add_node("STRIDED_SLICE", [x], [xs], {"begin": (0, 0, 0, k * per_in),
                                                    "size": (n, h, wd, per_in),
                                                    "steps": (1, 1, 1, 1)},
                     f"{node.name}_group{k}_in")
        wk = ctx.const_tensor(f"{node.input[1]}_group{k}", np.ascontiguousarray(
            w[k * per_in:(k + 1) * per_in].transpose(1, 2, 3, 0)))
        inputs = [xs, wk]
        if b is not None:
            inputs.append(ctx.const_tensor(f"{node.input[2]}_group{k}",
                                           b[k * per_out:(k + 1) * per_out].copy()))
        yk = ctx.new_tensor(f"{node.output[0]}_group{k}", (*out_shape[:3], per_out), "float32")
        ctx.add_node("TRANSPOSE_CONV", inputs, [yk], dict(ir_attrs), f"{node.name}_group{k}")
        parts.append(yk)
    ctx.emit(node, "CONCATENATION", parts, {"axis": 3}, lay.NHWC, False)


def _fully_connected(ctx: Context, node: onnx.NodeProto, x_name: str, w_kn: str,
                     bias: str) -> None:
    """FULLY_CONNECTED from an ONNX ``[K, N]`` weight (``w_kn``) and optional bias."""
    quantized = quant_mode(ctx, node, [x_name]) and w_kn in ctx.qconsts \
        and ctx.qconsts[w_kn].data.dtype == np.int8 \
        and (not bias or (bias in ctx.qconsts and ctx.qconsts[bias].data.dtype == np.int32))
    rank = len(ctx.shape(x_name))
    n_out = ctx.shape(w_kn)[1]
    weights = _weight_tensor(ctx, w_kn, quantized, (1, 0), lambda x: x.T)
    b = _bias_tensor(ctx, bias, quantized, n_out)
    x = operand(ctx, x_name, None, quantized)
    ctx.emit(node, "FULLY_CONNECTED", [x, weights] + ([b] if b else []),
             {"keep_num_dims": rank > 2} if rank > 2 else {}, None, quantized)


@converter("MatMul")
def matmul(ctx: Context, node: onnx.NodeProto) -> None:
    """MatMul by a constant 2-D matrix -> FULLY_CONNECTED (a following bias Add folds in);
    of two activations (or a constant first operand) -> BATCH_MATMUL."""
    w = node.input[1]
    if not ctx.is_const(w) or len(ctx.shape(w)) != 2:
        _batch_matmul(ctx, node, node.input[0], w, False, False)
        return
    _fully_connected(ctx, node, node.input[0], w, "")


def _as_matrix(ctx: Context, node: onnx.NodeProto, name: str, shape) -> str:
    """ONNX value ``name`` (a vector) reshaped to the matrix ``shape``, as a new name."""
    new = f"{name}_matrix"
    ctx.shapes[new] = tuple(shape)
    if ctx.is_const(name):
        if name in ctx.qconsts:
            qc = ctx.qconsts[name]
            ctx.qconsts[new] = QConst(qc.data.reshape(shape), qc.scale, qc.zero_point,
                                      None if qc.axis is None else 0)
        else:
            ctx.consts[new] = ctx.const(name).reshape(shape)
        return new
    v = ctx.value(name)
    x = ctx.in_layout(v, None, name)
    keep_kind(ctx, Value(x, None, v.kind),
              onnx.helper.make_node("Reshape", [name], [new], name=node.name), "RESHAPE", [x],
              {"shape": tuple(shape)}, None)
    return new


def _batch_matmul(ctx: Context, node: onnx.NodeProto, a: str, b: str, adj_a: bool,
                  adj_b: bool) -> None:
    """BATCH_MATMUL of ``a`` and ``b`` in ONNX order. A 1-D operand is made a matrix as
    numpy's matmul says ([1, K] first, [K, 1] second), and the added axis dropped after (two
    vectors give a [1, 1] product reshaped to ONNX's scalar)."""
    if len(ctx.shape(a)) < 2 or len(ctx.shape(b)) < 2:
        a2 = _as_matrix(ctx, node, a, (1, *ctx.shape(a))) if len(ctx.shape(a)) < 2 else a
        b2 = _as_matrix(ctx, node, b, (*ctx.shape(b), 1)) if len(ctx.shape(b)) < 2 else b
        product = f"{node.output[0]}_matrix_product"
        ctx.shapes[product] = np.matmul(np.empty(ctx.shape(a2), np.int8),
                                        np.empty(ctx.shape(b2), np.int8)).shape
        mm = onnx.helper.make_node(node.op_type, [a2, b2], [product], name=node.name)
        ctx.consumers[product] = [node]
        _batch_matmul(ctx, mm, a2, b2, adj_a, adj_b)
        v = ctx.value(product)
        x = ctx.in_layout(v, None, product)
        keep_kind(ctx, Value(x, None, v.kind), node, "RESHAPE", [x],
                  {"shape": ctx.shape(node.output[0])}, None)
        return
    acts = [i for i in (a, b) if not ctx.is_const(i)]
    quantized = quant_mode(ctx, node, acts) and all(i in ctx.qconsts for i in (a, b)
                                                    if ctx.is_const(i))
    inputs = [operand(ctx, i, None, quantized) if i in acts
              else const_operand(ctx, i, None, len(ctx.shape(i)), quantized) for i in (a, b)]
    ctx.emit(node, "BATCH_MATMUL", inputs, {"adj_x": adj_a, "adj_y": adj_b}, None, quantized)


@converter("Gemm")
def gemm(ctx: Context, node: onnx.NodeProto) -> None:
    """Gemm with a constant B -> FULLY_CONNECTED; alpha, beta and transB fold into constants.
    Gemm with a non-constant B (or transA) -> BATCH_MATMUL (alpha 1), then ADD of beta * C."""
    a = attrs(node)
    if a.get("transA", 0) or not ctx.is_const(node.input[1]):
        _gemm_of_activations(ctx, node, a)
        return
    w = node.input[1]
    if a.get("transB", 0):
        _transpose_const(ctx, w, f"{w}_kn")
        w = f"{w}_kn"
    alpha = float(a.get("alpha", 1.0))
    if alpha != 1.0:  # scaling makes the weights float: the op then runs in float
        ctx.consts[f"{w}_alpha"] = ctx.const(w) * np.float32(alpha)
        w = f"{w}_alpha"
    bias = node.input[2] if len(node.input) > 2 else ""
    beta = float(a.get("beta", 1.0))
    if bias and beta != 1.0:
        ctx.consts[f"{bias}_beta"] = ctx.const(bias) * np.float32(beta)
        bias = f"{bias}_beta"
    if bias and bias not in ctx.qconsts and not _per_column(ctx, bias, ctx.shape(w)[1]):
        _gemm_matrix_bias(ctx, node, w, bias)
        return
    _fully_connected(ctx, node, node.input[0], w, bias)


def _gemm_of_activations(ctx: Context, node: onnx.NodeProto, a: dict) -> None:
    """BATCH_MATMUL; an alpha other than 1 is a float MUL of the product (ONNX's
    ``alpha * (A @ B)``), then the ADD of beta * C (C constant, or computed at run time)."""
    alpha = float(np.float32(a.get("alpha", 1.0)))
    bias = node.input[2] if len(node.input) > 2 else ""
    product = f"{node.output[0]}_gemm_product" if bias or alpha != 1.0 else node.output[0]
    ctx.shapes[product] = ctx.shape(node.output[0])
    mm = onnx.helper.make_node("Gemm", node.input[:2], [product], name=node.name)
    _batch_matmul(ctx, mm, node.input[0], node.input[1], bool(a.get("transA", 0)),
                  bool(a.get("transB", 0)))
    if alpha != 1.0:
        scaled = f"{node.output[0]}_gemm_alpha" if bias else node.output[0]
        binary_with_const(ctx, node, "MUL", product, np.array([alpha], np.float32), scaled)
        product = scaled
    if not bias:
        return
    beta = float(a.get("beta", 1.0))
    if beta != 1.0 and ctx.is_const(bias):
        ctx.consts[f"{bias}_beta"] = ctx.const(bias, "Gemm's C") * np.float32(beta)
        bias = f"{bias}_beta"
    elif beta != 1.0:  # C computed at run time: a float MUL by beta
        binary_with_const(ctx, node, "MUL", bias, np.array([beta], np.float32),
                          f"{bias}_beta")
        bias = f"{bias}_beta"
    binary(ctx, onnx.helper.make_node("Add", [product, bias], [node.output[0]], name=node.name))


def _per_column(ctx: Context, bias: str, n: int) -> bool:
    """True when the float bias ``C`` is one value per output column (rows all equal); it is
    then stored as that ``[N]`` vector."""
    c = ctx.const(bias, "Gemm's C")
    rows = np.broadcast_to(c, (max(c.shape[0], 1) if c.ndim == 2 else 1, n))
    if not (rows == rows[:1]).all():
        return False
    ctx.consts[bias] = np.ascontiguousarray(rows[0])
    return True


def _gemm_matrix_bias(ctx: Context, node: onnx.NodeProto, w: str, bias: str) -> None:
    """Gemm whose C varies by row ([M, N] or [M, 1]): FULLY_CONNECTED, then ADD of C."""
    product = f"{node.output[0]}_gemm_product"
    ctx.shapes[product] = ctx.shape(node.output[0])
    fc = onnx.helper.make_node("Gemm", [node.input[0], w], [product], name=node.name)
    _fully_connected(ctx, fc, node.input[0], w, "")
    add = onnx.helper.make_node("Add", [product, bias], [node.output[0]], name=node.name)
    binary(ctx, add)


def _transpose_const(ctx: Context, name: str, new: str) -> None:
    if name in ctx.qconsts:
        qc = ctx.qconsts[name]
        axis = None if qc.axis is None else 1 - qc.axis
        ctx.qconsts[new] = QConst(qc.data.T, qc.scale, qc.zero_point, axis)
    else:
        ctx.consts[new] = ctx.const(name).T


@converter("BatchNormalization")
def batch_norm(ctx: Context, node: onnx.NodeProto) -> None:
    """Folded into the preceding CONV/DEPTHWISE/FC when it alone reads that op's output,
    else MUL and ADD by per-channel constants; training mode: ``_batch_norm_training``."""
    if attrs(node).get("training_mode", 0):
        _batch_norm_training(ctx, node)
        return
    x = node.input[0]
    if not all(ctx.is_const(i) for i in node.input[1:5]):
        _batch_norm_run_time(ctx, node)
        return
    gamma, beta, mean, var = (ctx.const(i, "a BatchNormalization parameter").astype(np.float64)
                              for i in node.input[1:5])
    scale = gamma / np.sqrt(var + float(attrs(node).get("epsilon", 1e-5)))
    shift = beta - mean * scale
    if _fold_into_producer(ctx, node, scale, shift):
        return
    rank = len(ctx.shape(x))
    per_channel = (1, -1) + (1,) * (rank - 2)
    binary_with_const(ctx, node, "MUL", x, scale.astype(np.float32).reshape(per_channel),
                      f"{node.output[0]}_scaled")
    binary_with_const(ctx, node, "ADD", f"{node.output[0]}_scaled",
                      shift.astype(np.float32).reshape(per_channel), node.output[0])


def _batch_norm_run_time(ctx: Context, node: onnx.NodeProto) -> None:
    """BatchNormalization with statistics or parameters computed at run time: ONNX's
    ``(x - mean) / sqrt(var + epsilon) * scale + B`` as float SUB, ADD, SQRT, DIV, MUL and
    ADD, each parameter a ``[C, 1, ...]`` view broadcast over the spatial axes."""
    x, out = node.input[0], node.output[0]
    rank = len(ctx.shape(x))
    scale, bias, mean, var = (_per_channel_view(ctx, node, i, rank) for i in node.input[1:5])
    eps = np.float32(attrs(node).get("epsilon", 1e-5))
    if ctx.is_const(var):
        ctx.consts[f"{out}_std"] = np.sqrt(ctx.const(var).astype(np.float32) + eps)
    else:
        ctx.consts[f"{out}_epsilon"] = np.array(eps, np.float32)
        step(ctx, node, "Add", [var, f"{out}_epsilon"], f"{out}_var_eps", ctx.shape(var))
        step(ctx, node, "Sqrt", [f"{out}_var_eps"], f"{out}_std", ctx.shape(var))
    shape = ctx.shape(out)
    step(ctx, node, "Sub", [x, mean], f"{out}_centered", shape)
    step(ctx, node, "Div", [f"{out}_centered", f"{out}_std"], f"{out}_normalized", shape)
    step(ctx, node, "Mul", [f"{out}_normalized", scale], f"{out}_scaled", shape)
    step(ctx, node, "Add", [f"{out}_scaled", bias], out, shape)


def _batch_norm_training(ctx: Context, node: onnx.NodeProto) -> None:
    """BatchNormalization with ``training_mode=1`` as ONNX's reference computes it, in float:
    the batch mean and (population) variance over every axis but the channels (ReduceMean,
    Sub, Mul, ReduceMean), Y normalized by them (``_batch_norm_run_time``), and the optional
    outputs running_mean and running_var, ``input * momentum + batch * (1 - momentum)``
    (Mul, Mul, Add per statistic). Deterministic: no state is kept between inferences."""
    x, out = node.input[0], node.output[0]
    shape = ctx.shape(x)
    if len(shape) < 2 or ctx.plain_int(x):
        raise EdgecError(f"BatchNormalization '{node.name}' normalizes a rank-{len(shape)} or "
                         "integer tensor", "give it float32 [N, C, ...] input")
    axes = [0, *range(2, len(shape))]
    reduced = tuple(d if i == 1 else 1 for i, d in enumerate(shape))
    channels = (shape[1],)
    mean = step(ctx, node, "ReduceMean", [x], f"{out}_batch_mean", reduced, axes=axes,
                keepdims=1)
    centered = step(ctx, node, "Sub", [x, mean], f"{out}_batch_centered", shape)
    square = step(ctx, node, "Mul", [centered, centered], f"{out}_batch_square", shape)
    var = step(ctx, node, "ReduceMean", [square], f"{out}_batch_var", reduced, axes=axes,
               keepdims=1)
    stats = [step(ctx, node, "Reshape", [v], f"{v}_per_channel", channels) for v in (mean, var)]
    normalize = onnx.helper.make_node(
        "BatchNormalization", [*node.input[:3], *stats], [out], name=node.name,
        epsilon=float(attrs(node).get("epsilon", 1e-5)))
    _batch_norm_run_time(ctx, normalize)
    momentum = np.float32(attrs(node).get("momentum", 0.9))
    keep = constant(ctx, f"{out}_momentum", momentum)
    take = constant(ctx, f"{out}_one_minus_momentum", np.float32(1.0 - float(momentum)))
    for running, given, batch in zip(node.output[1:3], node.input[3:5], stats):
        if not running:
            continue
        kept = step(ctx, node, "Mul", [given, keep], f"{running}_kept", channels)
        taken = step(ctx, node, "Mul", [batch, take], f"{running}_taken", channels)
        step(ctx, node, "Add", [kept, taken], running, channels)


@converter("LayerNormalization")
def layer_normalization(ctx: Context, node: onnx.NodeProto) -> None:
    """LayerNormalization as ONNX's own function body, in float: MEAN over axes ``axis``..,
    SUB, MUL (the square), MEAN, ADD epsilon, SQRT, DIV of 1 (Reciprocal), MUL, MUL by Scale,
    ADD B. The optional Mean and InvStdDev outputs are those steps' results."""
    a = attrs(node)
    x = node.input[0]
    shape = ctx.shape(x)
    rank = len(shape)
    axis = int(a.get("axis", -1)) % rank
    if int(a.get("stash_type", 1)) != 1 or ctx.plain_int(x):
        raise EdgecError(f"LayerNormalization '{node.name}' computes in another type than "
                         "float32", "use stash_type 1 on float tensors")
    out = node.output[0]
    extra = list(node.output[1:]) + ["", ""]
    reduced = tuple(shape[:axis]) + (1,) * (rank - axis)
    axes = list(range(axis, rank))
    mean = step(ctx, node, "ReduceMean", [x], extra[0] or f"{out}_mean", reduced, axes=axes,
                keepdims=1)
    centered = step(ctx, node, "Sub", [x, mean], f"{out}_centered", shape)
    square = step(ctx, node, "Mul", [centered, centered], f"{out}_square", shape)
    var = step(ctx, node, "ReduceMean", [square], f"{out}_var", reduced, axes=axes, keepdims=1)
    ctx.consts[f"{out}_epsilon"] = np.array(np.float32(a.get("epsilon", 1e-5)))
    var_eps = step(ctx, node, "Add", [var, f"{out}_epsilon"], f"{out}_var_eps", reduced)
    std = step(ctx, node, "Sqrt", [var_eps], f"{out}_std", reduced)
    inv = step(ctx, node, "Reciprocal", [std], extra[1] or f"{out}_inv_std", reduced)
    normalized = step(ctx, node, "Mul", [centered, inv], f"{out}_normalized", shape)
    bias = node.input[2] if len(node.input) > 2 and node.input[2] else ""
    scaled = step(ctx, node, "Mul", [normalized, node.input[1]],
                  f"{out}_scaled" if bias else out, shape)
    if bias:
        step(ctx, node, "Add", [scaled, bias], out, shape)


def _per_channel_view(ctx: Context, node: onnx.NodeProto, name: str, rank: int) -> str:
    """A ``[C]`` parameter as ``[C, 1, ...]`` (ONNX order), constant or computed."""
    shape = (ctx.shape(name)[0],) + (1,) * (rank - 2)
    new = f"{name}_per_channel"
    if ctx.is_const(name):
        ctx.consts[new] = ctx.const(name).astype(np.float32).reshape(shape)
    else:
        step(ctx, node, "Reshape", [name], new, shape)
    return new


def _fold_into_producer(ctx: Context, node: onnx.NodeProto, scale, shift) -> bool:
    v = ctx.value(node.input[0])
    prod = ctx.producer.get(v.name)
    if v.kind != "float" or prod is None or get_op(prod.op).weight_axis is None \
            or prod.attrs["activation"] != "NONE" \
            or not ctx.single_consumer(node.input[0]):
        return False
    w = ctx.tensor(prod.inputs[1]).data.astype(np.float64)
    axis = get_op(prod.op).weight_axis
    shape = [1] * w.ndim
    shape[axis] = -1
    bias_name = prod.inputs[2] if len(prod.inputs) > 2 else ""
    bias = ctx.tensor(bias_name).data.astype(np.float64) if bias_name else 0.0
    new_w = (w * scale.reshape(shape)).astype(np.float32)
    new_b = (bias * scale + shift).astype(np.float32)
    prod.inputs[1:] = [ctx.const_tensor(f"{prod.inputs[1]}_bn", new_w),
                       ctx.const_tensor(f"{v.name}_bias_bn", new_b)]
    ctx.values[node.output[0]] = v
    return True


def _pool_attrs(ctx: Context, node: onnx.NodeProto) -> dict:
    """IR pool attributes; ``ceil_mode`` windows past the pads become extra bottom/right pads
    (their taps are skipped, so they count nowhere, as in ONNX)."""
    a = attrs(node)
    _, _, h, w = require_2d_window(ctx, node)
    kernel = tuple(a["kernel_shape"])
    strides = tuple(a.get("strides", (1, 1)))
    dilations = tuple(a.get("dilations", (1, 1)))
    pads = list(window_pads(a, (h, w), kernel, strides, dilations))
    if a.get("ceil_mode", 0):
        for axis, (size, k, st, d) in enumerate(zip((h, w), kernel, strides, dilations)):
            out = ctx.shape(node.output[0])[2 + axis]
            needed = (out - 1) * st + (k - 1) * d + 1 - (size + pads[axis] + pads[axis + 2])
            pads[axis + 2] += max(needed, 0)
    result = {"filter": kernel, "strides": strides, "pads": tuple(pads)}
    if dilations != (1, 1):
        result["dilations"] = dilations
    return result


@converter("MaxPool")
@lift_3d
@lift_1d
def max_pool(ctx: Context, node: onnx.NodeProto) -> None:
    """MaxPool -> MAX_POOL_2D; its Indices output -> MAX_POOL_2D_INDICES (float, int32)."""
    ir_attrs = _pool_attrs(ctx, node)
    if ctx.plain_int(node.input[0]):  # of plain integers: docs/IR.md "Plain integers"
        v = ctx.value(node.input[0])
        x = ctx.in_layout(v, lay.NHWC, node.input[0])
        keep_kind(ctx, Value(x, lay.NHWC, "int"), node, "MAX_POOL_2D", [x], ir_attrs, lay.NHWC)
        return
    quantized = quant_mode(ctx, node, [node.input[0]])
    x = operand(ctx, node.input[0], lay.NHWC, quantized)
    ctx.emit(node, "MAX_POOL_2D", [x], ir_attrs, lay.NHWC, quantized)
    if len(node.output) > 1 and node.output[1]:
        _max_pool_indices(ctx, node, ir_attrs)


def _max_pool_indices(ctx: Context, node: onnx.NodeProto, ir_attrs: dict) -> None:
    """ONNX's flat NCHW indices of the maxima (int64 in ONNX, int32 here: an index of a
    tensor edgec holds fits), from the float input in NHWC."""
    x = operand(ctx, node.input[0], lay.NHWC, False)
    out = node.output[1]
    ir = ctx.new_tensor(out, ctx.shape(out), "int32")
    attrs_ = dict(ir_attrs, storage_order=int(attrs(node).get("storage_order", 0)))
    ctx.add_node("MAX_POOL_2D_INDICES", [x], [ir], attrs_, node.name or out)
    ctx.values[out] = Value(ir, None, "index")


@converter("AveragePool")
@lift_3d
@lift_1d
def average_pool(ctx: Context, node: onnx.NodeProto) -> None:
    """AveragePool -> AVERAGE_POOL_2D; count_include_pad=1 pads explicitly first."""
    ir_attrs = _pool_attrs(ctx, node)
    quantized = quant_mode(ctx, node, [node.input[0]])
    x = operand(ctx, node.input[0], lay.NHWC, quantized)
    a = attrs(node)
    if a.get("count_include_pad", 0) and any(ir_attrs["pads"]):
        # Explicit pads count as zeros; ceil_mode's extra pads beyond them do not.
        _, _, h, w = ctx.shape(node.input[0])
        explicit = window_pads(a, (h, w), ir_attrs["filter"], ir_attrs["strides"],
                               ir_attrs.get("dilations", (1, 1)))
        x = _explicit_pad(ctx, x, explicit)
        ir_attrs["pads"] = (0, 0, *(p - e for p, e in zip(ir_attrs["pads"][2:], explicit[2:])))
    ctx.emit(node, "AVERAGE_POOL_2D", [x], ir_attrs, lay.NHWC, quantized)


def _explicit_pad(ctx: Context, x: str, pads) -> str:
    """PAD an NHWC tensor with zeros (the zero point for int8) so padded taps are averaged."""
    top, left, bottom, right = pads
    t = ctx.tensor(x)
    n, h, w, c = t.shape
    out = ctx.new_tensor(f"{x}_padded", (n, h + top + bottom, w + left + right, c), t.dtype,
                         t.quant)
    ctx.add_node("PAD", [x], [out], {"pads": ((0, 0), (top, bottom), (left, right), (0, 0))})
    return out


@converter("GlobalAveragePool")
def global_average_pool(ctx: Context, node: onnx.NodeProto) -> None:
    """GlobalAveragePool -> MEAN over H, W with keep_dims (what TFLite makes of Keras'
    GlobalAveragePooling2D)."""
    require_2d_window(ctx, node)
    quantized = quant_mode(ctx, node, [node.input[0]])
    x = operand(ctx, node.input[0], lay.NHWC, quantized)
    ctx.emit(node, "MEAN", [x], {"axes": (1, 2), "keep_dims": True}, lay.NHWC, quantized)


@converter("GlobalMaxPool")
def global_max_pool(ctx: Context, node: onnx.NodeProto) -> None:
    """GlobalMaxPool -> MAX_POOL_2D with the whole plane as its window."""
    _, _, h, w = require_2d_window(ctx, node)
    quantized = quant_mode(ctx, node, [node.input[0]])
    x = operand(ctx, node.input[0], lay.NHWC, quantized)
    ctx.emit(node, "MAX_POOL_2D", [x], {"filter": (h, w)}, lay.NHWC, quantized)
