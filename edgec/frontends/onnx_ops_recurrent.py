"""ONNX converters for the recurrent ops: LSTM -> UNIDIRECTIONAL_SEQUENCE_LSTM and
GRU -> GRU, float, forward direction.

ONNX keeps the gates of all directions in one tensor (LSTM: W [dirs, 4H, I] in gate order
i, o, f, c; GRU: W [dirs, 3H, I] in z, r, h, the order edgec's GRU keeps) and both biases in
B [dirs, 2 x gates x H]. ``layout`` 0 is time-major X [T, B, I] and Y [T, dirs, B, H]; 1 is
batch-major X [B, T, I] and Y [B, T, dirs, H]. Y becomes the op's per-step output reshaped;
Y_h is a second node of the same op returning only the last step (Y_c, the final cell state,
has no IR op: a model that reads it is refused). Refused with the reason: reverse and
bidirectional directions, run-time weights or initial states, sequence_lens shorter than the
sequence, peepholes, input_forget, clip and activations other than the defaults.
"""

from __future__ import annotations

import numpy as np
import onnx

from edgec.errors import EdgecError
from edgec.frontends.onnx_common import attrs
from edgec.frontends.onnx_context import Context, Value
from edgec.frontends.onnx_registry import converter

_DEFAULT_ACTIVATIONS = {"LSTM": ["Sigmoid", "Tanh", "Tanh"], "GRU": ["Sigmoid", "Tanh"]}
_LSTM_GATES = (0, 2, 3, 1)  # ONNX i, o, f, c -> edgec i, f, c, o


def _input(node: onnx.NodeProto, i: int) -> str:
    return node.input[i] if len(node.input) > i else ""


def _refuse(node: onnx.NodeProto, what: str, hint: str) -> EdgecError:
    return EdgecError(f"{node.op_type} '{node.name}' {what}, which edgec does not support",
                      hint)


def _check(ctx: Context, node: onnx.NodeProto, steps: int) -> dict:
    """The node's attributes after refusing what edgec cannot run."""
    a = attrs(node)
    if a.get("direction", b"forward") not in (b"forward", "forward"):
        raise _refuse(node, f"runs direction {a['direction']!r}", "export a forward "
                      "(unidirectional) layer; a bidirectional one as two forward layers")
    names = [v.decode() if isinstance(v, bytes) else v for v in a.get("activations", [])]
    if names and names != _DEFAULT_ACTIVATIONS[node.op_type]:
        raise _refuse(node, f"uses activations {names}",
                      f"the default activations {_DEFAULT_ACTIVATIONS[node.op_type]} only")
    if "clip" in a or a.get("input_forget", 0):
        raise _refuse(node, "uses clip or input_forget", "export without them")
    for i, what in ((1, "W"), (2, "R")):
        if not ctx.is_const(node.input[i]):
            raise EdgecError(f"{node.op_type} '{node.name}': {what} ('{node.input[i]}') is "
                             "computed at run time", "export the weights as initializers")
    lens = _input(node, 4)
    if lens and (not ctx.is_const(lens) or np.any(ctx.const(lens) != steps)):
        raise _refuse(node, "has sequence_lens other than the whole sequence",
                      f"give every sequence its full length {steps}")
    return a


def _state(ctx: Context, node: onnx.NodeProto, i: int, batch: int, hidden: int,
           what: str) -> str:
    """The initial state input ``i`` as an IR constant [B, H] (zeros when absent)."""
    name = _input(node, i)
    if not name:
        return ctx.const_tensor(f"{node.output[1] or node.name}_{what}0",
                                np.zeros((batch, hidden), np.float32))
    if not ctx.is_const(name):
        raise EdgecError(f"{node.op_type} '{node.name}': the initial {what} state "
                         f"('{name}') is computed at run time",
                         "edgec starts every sequence from a constant state; export "
                         "initial_h / initial_c as initializers or leave them out")
    return ctx.const_tensor(name, ctx.const(name).reshape(batch, hidden).astype(np.float32))


def _outputs(ctx: Context, node: onnx.NodeProto, op: str, inputs: list[str], attrs_: dict,
             layout: int, batch: int, hidden: int) -> None:
    """Y (per-step output) and Y_h (last step) of the ONNX node, each one IR node."""
    y, y_h = (_input_out(node, k) for k in (0, 1))
    if _input_out(node, 2) and (ctx.consumers.get(node.output[2]) or
                                node.output[2] in ctx.graph_outputs):
        raise _refuse(node, "has its final cell state Y_c read",
                      "read Y or Y_h; the final cell state is not an output of edgec's LSTM")
    for onnx_out, sequences in ((y, True), (y_h, False)):
        if not onnx_out:
            continue
        seq = inputs[0]
        x_shape = ctx.tensor(seq).shape
        shape = (x_shape[0], x_shape[1], hidden) if sequences else (batch, hidden)
        out = ctx.new_tensor(f"{onnx_out}_{'seq' if sequences else 'last'}", shape, "float32")
        ctx.add_node(op, inputs, [out], {**attrs_, "return_sequences": sequences},
                     f"{node.name or onnx_out}{'' if sequences else '_last'}")
        onnx_shape = ctx.shape(onnx_out)
        final = ctx.new_tensor(onnx_out, onnx_shape, "float32")
        ctx.add_node("RESHAPE", [out], [final], {"shape": tuple(onnx_shape)})
        ctx.values[onnx_out] = Value(final, None, "float")
    del layout


def _input_out(node: onnx.NodeProto, k: int) -> str:
    return node.output[k] if len(node.output) > k else ""


def _sequence(ctx: Context, node: onnx.NodeProto) -> tuple[str, int, int, int]:
    """The float input in ONNX order, its layout attribute, batch and steps."""
    v = ctx.as_float(ctx.value(node.input[0]), node.input[0])
    x = ctx.in_layout(v, None, node.input[0])
    layout = int(attrs(node).get("layout", 0))
    t0, t1, _ = ctx.tensor(x).shape
    steps, batch = (t1, t0) if layout else (t0, t1)
    return x, layout, batch, steps


@converter("LSTM")
def lstm(ctx: Context, node: onnx.NodeProto) -> None:
    """LSTM (forward) -> UNIDIRECTIONAL_SEQUENCE_LSTM, float."""
    x, layout, batch, steps = _sequence(ctx, node)
    a = _check(ctx, node, steps)
    hidden = int(a["hidden_size"])
    peep = _input(node, 7)
    if peep and (not ctx.is_const(peep) or np.any(ctx.const(peep) != 0)):
        raise _refuse(node, "uses peepholes (P)", "export an LSTM without peepholes")
    w = ctx.const(node.input[1]).reshape(4, hidden, -1).astype(np.float32)
    r = ctx.const(node.input[2]).reshape(4, hidden, hidden).astype(np.float32)
    bias = _input(node, 3)
    b = ctx.const(bias).reshape(2, 4, hidden).sum(axis=0).astype(np.float32) if bias \
        else np.zeros((4, hidden), np.float32)
    base = node.name or node.output[0] or node.output[1]
    names = ("input", "forget", "cell", "output")
    inputs = [x] + [ctx.const_tensor(f"{base}_w_{names[i]}", w[g]) for i, g in
                    enumerate(_LSTM_GATES)] \
        + [ctx.const_tensor(f"{base}_r_{names[i]}", r[g]) for i, g in enumerate(_LSTM_GATES)] \
        + [ctx.const_tensor(f"{base}_b_{names[i]}", b[g]) for i, g in enumerate(_LSTM_GATES)] \
        + [_state(ctx, node, 5, batch, hidden, "h"), _state(ctx, node, 6, batch, hidden, "c")]
    _outputs(ctx, node, "UNIDIRECTIONAL_SEQUENCE_LSTM", inputs,
             {"time_major": layout == 0}, layout, batch, hidden)


@converter("GRU")
def gru(ctx: Context, node: onnx.NodeProto) -> None:
    """GRU (forward) -> GRU, float."""
    x, layout, batch, steps = _sequence(ctx, node)
    a = _check(ctx, node, steps)
    hidden = int(a["hidden_size"])
    w = ctx.const(node.input[1]).reshape(3 * hidden, -1).astype(np.float32)
    r = ctx.const(node.input[2]).reshape(3 * hidden, hidden).astype(np.float32)
    bias = _input(node, 3)
    b = ctx.const(bias).reshape(2, 3 * hidden).astype(np.float32) if bias \
        else np.zeros((2, 3 * hidden), np.float32)
    base = node.name or node.output[0] or node.output[1]
    inputs = [x, ctx.const_tensor(f"{base}_w", w), ctx.const_tensor(f"{base}_r", r),
              ctx.const_tensor(f"{base}_wb", b[0]), ctx.const_tensor(f"{base}_rb", b[1]),
              _state(ctx, node, 5, batch, hidden, "h")]
    _outputs(ctx, node, "GRU", inputs, {"time_major": layout == 0,
                                        "linear_before_reset": bool(a.get(
                                            "linear_before_reset", 0))},
             layout, batch, hidden)
