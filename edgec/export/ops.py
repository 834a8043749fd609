"""IR node -> TFLite operator(s): one small emitter per IR op, registered in ``EMITTERS``.

An emitter gets the node and the ``ExportContext`` (``edgec.export.writer``), which turns IR
tensor names into file tensor indices (``ctx.index``), adds int32 parameter tensors
(``ctx.params``) and appends operators (``ctx.op``). Parameters that the IR holds as
attributes (reshape shape, pad amounts, axes, perm, block shapes) become constant inputs
again, as TFLite stores them.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from edgec.errors import EdgecError
from edgec.frontends.tflite_ops import same_padding
from edgec.ir.graph import Node
from edgec.ir.registry import check_op_names, plain_ops

Emitter = Callable[[Node, "object"], None]
EMITTERS: dict[str, Emitter] = {}


def emitter(*ops: str):
    """Register an emitter for one or more IR ops."""

    def register(fn: Emitter) -> Emitter:
        check_op_names(ops, f"TFLite export emitter {fn.__name__}")
        for name in ops:
            EMITTERS[name] = fn
        return fn

    return register


def tflite_padding(in_hw, kernel_hw, strides, dilations, pads) -> str | None:
    """``"VALID"`` or ``"SAME"`` when TFLite's padding computes exactly ``pads``
    (top, left, bottom, right), otherwise None."""
    if tuple(pads) == (0, 0, 0, 0):
        return "VALID"
    top, bottom = same_padding(in_hw[0], kernel_hw[0], strides[0], dilations[0])
    left, right = same_padding(in_hw[1], kernel_hw[1], strides[1], dilations[1])
    return "SAME" if tuple(pads) == (top, left, bottom, right) else None


def _window_options(node: Node, ctx, kernel_hw, dilated: bool) -> tuple[int, dict]:
    """The (possibly padded) input index and the common options of a window op. Pads
    TFLite cannot express become an explicit PAD before the op, which only convolutions
    allow: their padded taps add nothing, pools would count them."""
    a = node.attrs
    strides = tuple(a["strides"])
    dilations = tuple(a["dilations"]) if dilated else (1, 1)
    pads = tuple(a["pads"])
    x = ctx.graph.tensors[node.inputs[0]]
    padding = tflite_padding(x.shape[1:3], kernel_hw, strides, dilations, pads)
    source = ctx.index(node.inputs[0])
    if padding is None:
        if not dilated:
            raise EdgecError(f"node '{node.name}' ({node.op}) has pads {pads}, which TFLite's "
                             "SAME/VALID padding cannot express",
                             "TFLite pools exclude padded taps; only SAME or VALID export")
        source, padding = _explicit_pad(node, ctx, pads), "VALID"
    options = {"padding": padding, "stride_h": strides[0], "stride_w": strides[1],
               "fused_activation_function": a["activation"]}
    if dilated:
        options.update(dilation_h_factor=dilations[0], dilation_w_factor=dilations[1])
    return source, options


def _explicit_pad(node: Node, ctx, pads) -> int:
    """A PAD operator writing the input padded by ``pads`` (with the zero point, which a
    convolution's skipped taps equal); returns the padded tensor's index."""
    x = ctx.graph.tensors[node.inputs[0]]
    top, left, bottom, right = pads
    shape = (x.shape[0], x.shape[1] + top + bottom, x.shape[2] + left + right, x.shape[3])
    padded = ctx.activation(f"{node.inputs[0]}_padded", shape, x)
    amounts = ctx.params(f"{node.name}_paddings", [[0, 0], [top, bottom], [left, right], [0, 0]])
    ctx.op("PAD", [ctx.index(node.inputs[0]), amounts], [padded])
    return padded


def _rest(node: Node, ctx) -> list[int]:
    """File indices of the node's inputs after the first (-1 for an absent one)."""
    return [ctx.index(name) for name in node.inputs[1:]]


@emitter("CONV_2D")
def _conv_2d(node, ctx):
    w = ctx.graph.tensors[node.inputs[1]]
    source, options = _window_options(node, ctx, w.shape[1:3], dilated=True)
    ctx.op("CONV_2D", [source] + _rest(node, ctx), node.outputs, options)


@emitter("DEPTHWISE_CONV_2D")
def _depthwise_conv_2d(node, ctx):
    w = ctx.graph.tensors[node.inputs[1]]
    source, options = _window_options(node, ctx, w.shape[1:3], dilated=True)
    options["depth_multiplier"] = int(node.attrs["depth_multiplier"])
    ctx.op("DEPTHWISE_CONV_2D", [source] + _rest(node, ctx), node.outputs, options)


@emitter("TRANSPOSE_CONV")
def _transpose_conv(node, ctx):
    """Inputs (output shape, weights, x, bias?); SAME when the pads are TFLite's SAME pads of
    the output, VALID when nothing is cropped before."""
    a = node.attrs
    w, y = ctx.graph.tensors[node.inputs[1]], ctx.graph.tensors[node.outputs[0]]
    strides, pads = tuple(a["strides"]), tuple(a["pads"])
    if tuple(a["dilations"]) != (1, 1):
        raise EdgecError(f"node '{node.name}' (TRANSPOSE_CONV) has dilations "
                         f"{list(a['dilations'])}", "TFLite's TRANSPOSE_CONV has no dilation")
    same = tuple(same_padding(y.shape[1 + i], w.shape[1 + i], strides[i], 1)[0] for i in (0, 1))
    if pads[:2] == (0, 0):
        padding = "VALID"
    elif pads[:2] == same:
        padding = "SAME"
    else:
        raise EdgecError(f"node '{node.name}' (TRANSPOSE_CONV) has pads {pads}, which TFLite's "
                         "SAME/VALID padding of the output cannot express",
                         f"TFLite crops {same[0]} rows and {same[1]} columns (SAME) or none "
                         "(VALID) before the output")
    shape = ctx.params(f"{node.name}_output_shape", [int(d) for d in y.shape])
    inputs = [shape, ctx.index(node.inputs[1]), ctx.index(node.inputs[0])]
    if len(node.inputs) > 2 and node.inputs[2]:
        inputs.append(ctx.index(node.inputs[2]))
    ctx.op("TRANSPOSE_CONV", inputs, node.outputs,
           {"padding": padding, "stride_h": strides[0], "stride_w": strides[1],
            "fused_activation_function": a["activation"]})


@emitter("FULLY_CONNECTED")
def _fully_connected(node, ctx):
    options = {"fused_activation_function": node.attrs["activation"],
               "keep_num_dims": bool(node.attrs["keep_num_dims"])}
    ctx.op("FULLY_CONNECTED", [ctx.index(node.inputs[0])] + _rest(node, ctx), node.outputs,
           options)


@emitter("AVERAGE_POOL_2D", "MAX_POOL_2D")
def _pool_2d(node, ctx):
    if tuple(node.attrs["dilations"]) != (1, 1):
        raise EdgecError(f"node '{node.name}' ({node.op}) has dilations "
                         f"{list(node.attrs['dilations'])}", "TFLite's pools have no dilation")
    kernel_hw = tuple(node.attrs["filter"])
    source, options = _window_options(node, ctx, kernel_hw, dilated=False)
    options.update(filter_height=kernel_hw[0], filter_width=kernel_hw[1])
    ctx.op(node.op, [source], node.outputs, options)


@emitter("ADD", "SUB", "MUL", "DIV")
def _binary(node, ctx):
    if node.op == "DIV" and ctx.graph.tensors[node.inputs[0]].dtype == "int32":
        _check_int32_divisor(node, ctx)
    ctx.op(node.op, node.inputs, node.outputs,
           {"fused_activation_function": node.attrs["activation"]})


def _check_int32_divisor(node, ctx) -> None:
    """TFLite's int32 DIV truncates toward zero as edgec's does, but fails on a zero divisor
    (edgec gives 0) and leaves ``MIN / -1`` to C++: export it only by a constant divisor
    without 0 and -1, where the two agree on every dividend."""
    divisor = ctx.graph.tensors[node.inputs[1]].data
    if divisor is None or np.any((np.asarray(divisor) == 0) | (np.asarray(divisor) == -1)):
        raise EdgecError(f"node '{node.name}' (DIV) divides int32 by "
                         + ("a run-time tensor" if divisor is None else "0 or -1")
                         + ", where TFLite's DIV differs from edgec's (x / 0 is 0)",
                         "divide by a constant without 0 and -1, or build the C instead")


@emitter("CONCATENATION")
def _concatenation(node, ctx):
    ctx.op("CONCATENATION", node.inputs, node.outputs,
           {"axis": int(node.attrs["axis"]),
            "fused_activation_function": node.attrs["activation"]})


@emitter("RESHAPE")
def _reshape(node, ctx):
    shape = [int(d) for d in node.attrs["shape"]]
    ctx.op("RESHAPE", [ctx.index(node.inputs[0]), ctx.params(f"{node.name}_shape", shape)],
           node.outputs, {"new_shape": shape})


@emitter("PAD")
def _pad(node, ctx):
    x = ctx.graph.tensors[node.inputs[0]]
    inputs = [ctx.index(node.inputs[0]),
              ctx.params(f"{node.name}_paddings", [list(p) for p in node.attrs["pads"]])]
    value = node.attrs["value"]
    if value is None:
        ctx.op("PAD", inputs, node.outputs)
        return
    inputs.append(ctx.constant(f"{node.name}_value", np.asarray([value], x.dtype), x.quant))
    ctx.op("PADV2", inputs, node.outputs)


@emitter("MIRROR_PAD")
def _mirror_pad(node, ctx):
    mode = node.attrs["mode"]
    if mode not in ("REFLECT", "SYMMETRIC"):
        raise EdgecError(f"node '{node.name}' (MIRROR_PAD) has mode {mode}",
                         "TFLite's MIRROR_PAD has the modes REFLECT and SYMMETRIC only")
    inputs = [ctx.index(node.inputs[0]),
              ctx.params(f"{node.name}_paddings", [list(p) for p in node.attrs["pads"]])]
    ctx.op("MIRROR_PAD", inputs, node.outputs, {"mode": mode})


@emitter("RESIZE_NEAREST_NEIGHBOR", "RESIZE_BILINEAR")
def _resize(node, ctx):
    if node.attrs["coordinate"]:
        raise EdgecError(f"node '{node.name}' ({node.op}) uses ONNX's coordinate mode "
                         f"{node.attrs['coordinate']}",
                         "TFLite resizes with align_corners / half_pixel_centers only")
    size = ctx.params(f"{node.name}_size", [int(v) for v in node.attrs["size"]])
    ctx.op(node.op, [ctx.index(node.inputs[0]), size], node.outputs,
           {"align_corners": bool(node.attrs["align_corners"]),
            "half_pixel_centers": bool(node.attrs["half_pixel_centers"])})


@emitter("BATCH_MATMUL")
def _batch_matmul(node, ctx):
    ctx.op("BATCH_MATMUL", node.inputs, node.outputs,
           {"adj_x": bool(node.attrs["adj_x"]), "adj_y": bool(node.attrs["adj_y"])})


@emitter("STRIDED_SLICE")
def _strided_slice(node, ctx):
    """begin / end / strides constants; an end before index 0 (a negative stride reaching the
    first element) is written as the end mask."""
    a = node.attrs
    begin, strides = [int(b) for b in a["begin"]], [int(s) for s in a["steps"]]
    end = [b + s * (int(n) - 1) + (1 if s > 0 else -1) for b, s, n in zip(begin, strides,
                                                                          a["size"])]
    end_mask = sum(1 << i for i, e in enumerate(end) if e < 0)
    end = [max(e, 0) for e in end]
    inputs = [ctx.index(node.inputs[0]), ctx.params(f"{node.name}_begin", begin),
              ctx.params(f"{node.name}_end", end), ctx.params(f"{node.name}_strides", strides)]
    ctx.op("STRIDED_SLICE", inputs, node.outputs, {"end_mask": end_mask})


@emitter("MEAN", "SUM", "REDUCE_MAX", "REDUCE_ANY")
def _reduce(node, ctx):
    axes = ctx.params(f"{node.name}_axes", [int(a) for a in node.attrs["axes"]])
    ctx.op(node.op, [ctx.index(node.inputs[0]), axes], node.outputs,
           {"keep_dims": bool(node.attrs["keep_dims"])})


@emitter("SOFTMAX")
def _softmax(node, ctx):
    ctx.op("SOFTMAX", node.inputs, node.outputs,
           {"beta": float(node.attrs["beta"])})


@emitter("LEAKY_RELU")
def _leaky_relu(node, ctx):
    ctx.op("LEAKY_RELU", node.inputs, node.outputs, {"alpha": float(node.attrs["alpha"])})


@emitter(*plain_ops())
def _plain(node, ctx):
    """An op without attributes is the TFLite builtin of its name (LOGISTIC, TANH, ...)."""
    ctx.op(node.op, node.inputs, node.outputs)


@emitter("CAST")
def _cast(node, ctx):
    """TFLite's CAST (no options; ``saturate`` only concerns float8, which TFLite lacks)."""
    ctx.op("CAST", node.inputs, node.outputs)


@emitter("TRANSPOSE")
def _transpose(node, ctx):
    perm = ctx.params(f"{node.name}_perm", [int(p) for p in node.attrs["perm"]])
    ctx.op("TRANSPOSE", [ctx.index(node.inputs[0]), perm], node.outputs)


@emitter("SPACE_TO_BATCH_ND", "BATCH_TO_SPACE_ND")
def _space_batch(node, ctx):
    key = "paddings" if node.op == "SPACE_TO_BATCH_ND" else "crops"
    block = ctx.params(f"{node.name}_block_shape", [int(b) for b in node.attrs["block_shape"]])
    amounts = ctx.params(f"{node.name}_{key}", [list(p) for p in node.attrs[key]])
    ctx.op(node.op, [ctx.index(node.inputs[0]), block, amounts], node.outputs)


@emitter("UNIDIRECTIONAL_SEQUENCE_LSTM")
def _lstm(node, ctx):
    """The 24-input builtin; the initial states become the variable tensors TFLite resets to
    their zero point, so only that initial value can be written (a run-time initial state,
    or the final cell state as an output, is refused). An LSTM returning its last
    step only writes the whole sequence and a STRIDED_SLICE of the last step (shrinking the
    time axis), as the TFLite converter does. The builtin runs forward only: a reverse LSTM
    (ONNX's reverse direction, the backward half of a bidirectional one) is the forward one
    on the sequence reversed by REVERSE_V2 along time, its sequence output reversed back by
    another (TFLM's REVERSE_V2 takes int8, int16 and float32)."""
    if node.attrs.get("cell_output"):
        raise EdgecError(f"node '{node.name}' (UNIDIRECTIONAL_SEQUENCE_LSTM) returns the final "
                         "cell state (ONNX's Y_c), which TFLite's LSTM has no output for",
                         "build the model with edgec, or read Y or Y_h only")
    states = []
    for name in node.inputs[13:15]:
        t = ctx.graph.tensors[name]
        if t.data is None:
            raise EdgecError(f"node '{node.name}' (UNIDIRECTIONAL_SEQUENCE_LSTM): initial state "
                             f"'{name}' is computed at run time, and TFLite's LSTM keeps its "
                             "state in variable tensors that no input can set",
                             "build the model with edgec, or export it with constant "
                             "(zero) initial states")
        zp = t.quant.zp if t.quant is not None else 0
        if t.data is None or np.any(t.data != zp):
            raise EdgecError(f"node '{node.name}' (UNIDIRECTIONAL_SEQUENCE_LSTM): initial state "
                             f"'{name}' is not its zero point everywhere",
                             "TFLite state tensors start at their zero point; a model with "
                             "another initial state cannot be exported")
        states.append(ctx.variable(name, t))
    ins = node.inputs
    time = 0 if node.attrs["time_major"] else 1
    x_tensor = ctx.graph.tensors[ins[0]]
    x_shape = x_tensor.shape
    out = ctx.graph.tensors[node.outputs[0]]
    sequence_shape = x_shape[:2] + (out.shape[-1],)
    x = ins[0]
    if node.attrs["reverse"]:
        x = ctx.activation(f"{x_tensor.name}_reversed", x_shape, x_tensor)
        _reverse(ctx, node, ins[0], x, time)
    inputs = [x, *ins[1:9], -1, -1, -1, *ins[9:13], -1, -1, *states, -1, -1, -1, -1]
    outputs = node.outputs
    if not node.attrs["return_sequences"]:
        outputs = [ctx.activation(f"{out.name}_sequence", sequence_shape, out)]
    elif node.attrs["reverse"]:
        outputs = [ctx.activation(f"{out.name}_reversed", sequence_shape, out)]
    ctx.op("UNIDIRECTIONAL_SEQUENCE_LSTM", inputs, outputs,
           {"fused_activation_function": "TANH", "cell_clip": float(node.attrs["cell_clip"]),
            "proj_clip": 0.0, "time_major": bool(node.attrs["time_major"])})
    if node.attrs["return_sequences"]:
        if node.attrs["reverse"]:
            _reverse(ctx, node, outputs[0], node.outputs[0], time)
        return
    begin = [0, 0, 0]
    begin[time] = x_shape[time] - 1
    ctx.op("STRIDED_SLICE", [outputs[0], ctx.params(f"{node.name}_begin", begin),
                             ctx.params(f"{node.name}_end", list(sequence_shape)),
                             ctx.params(f"{node.name}_strides", [1, 1, 1])],
           node.outputs, {"shrink_axis_mask": 1 << time})


def _reverse(ctx, node, source, target, axis: int) -> None:
    """REVERSE_V2 of ``source`` along ``axis`` into ``target`` (names or file indices)."""
    ctx.op("REVERSE_V2", [source, ctx.params(f"{node.name}_time_axis", [axis])], [target])


@emitter("SVDF")
def _svdf(node, ctx):
    """SVDF with its state as the variable tensor TFLite resets to its zero point."""
    name = node.inputs[4]
    t = ctx.graph.tensors[name]
    zp = t.quant.zp if t.quant is not None else 0
    if t.data is None or np.any(t.data != zp):
        raise EdgecError(f"node '{node.name}' (SVDF): initial state '{name}' is not its zero "
                         "point everywhere", "TFLite state tensors start at their zero point")
    ctx.op("SVDF", [*node.inputs[:4], ctx.variable(name, t)], node.outputs,
           {"rank": int(node.attrs["rank"]),
            "fused_activation_function": node.attrs["activation"]})



@emitter("READ_VARIABLE")
def _read_variable(node, ctx):
    """READ_VARIABLE of the variable's VAR_HANDLE (``ExportContext.variable_handle``: the
    converter's form of a Keras stateful=True layer, CALL_ONCE initialising the variables)."""
    ctx.op("READ_VARIABLE", [ctx.variable_handle(node.inputs[0])], node.outputs)


@emitter("ASSIGN_VARIABLE")
def _assign_variable(node, ctx):
    """ASSIGN_VARIABLE (no outputs in TFLite): a reader of the IR node's output reads the
    assigned value itself."""
    ctx.op("ASSIGN_VARIABLE", [ctx.variable_handle(node.inputs[0]), node.inputs[1]], [])
    ctx.alias(node.outputs[0], node.inputs[1])
