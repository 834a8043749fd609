"""ONNX converters for the recurrent ops: LSTM -> UNIDIRECTIONAL_SEQUENCE_LSTM and
GRU -> GRU, float, one IR node per direction (forward, reverse, or both: bidirectional).

ONNX keeps the gates of all directions in one tensor (LSTM: W [dirs, 4H, I] in gate order
i, o, f, c; GRU: W [dirs, 3H, I] in z, r, h, the order edgec's GRU keeps) and both biases in
B [dirs, 2 x gates x H]. ``layout`` 0 is time-major X [T, B, I] and Y [T, dirs, B, H]; 1 is
batch-major X [B, T, I] and Y [B, T, dirs, H]. Y becomes the op's per-step output reshaped;
Y_h is a STRIDED_SLICE of Y's last visited step where Y is read, else a second node of the
same op returning only the last step; an LSTM's Y_c (read) is another node returning the
final cell state (``cell_output``); directions are concatenated. The
initial states (initial_h, an LSTM's initial_c) may be constants or computed at run time
(graph inputs: a STRIDED_SLICE per direction and a RESHAPE to [B, H] feed the op). Refused
with the reason: run-time weights, sequence_lens shorter than the sequence, input_forget,
clip and activations other than the defaults. An LSTM with peepholes is unrolled into primitive ops (``onnx_lstm_unrolled``).
"""

from __future__ import annotations

import numpy as np
import onnx

from edgec.errors import EdgecError
from edgec.frontends.onnx_common import attrs
from edgec.frontends.onnx_context import Context, Value
from edgec.frontends.onnx_lstm_unrolled import lstm_unrolled
from edgec.frontends.onnx_registry import converter

_DEFAULT_ACTIVATIONS = {"LSTM": ["Sigmoid", "Tanh", "Tanh"], "GRU": ["Sigmoid", "Tanh"]}
_LSTM_GATES = (0, 2, 3, 1)  # ONNX i, o, f, c -> edgec i, f, c, o
_DIRECTIONS = {"forward": [False], "reverse": [True], "bidirectional": [False, True]}


def _input(node: onnx.NodeProto, i: int) -> str:
    return node.input[i] if len(node.input) > i else ""


def _refuse(node: onnx.NodeProto, what: str, hint: str) -> EdgecError:
    return EdgecError(f"{node.op_type} '{node.name}' {what}, which edgec does not support",
                      hint)


def _directions(node: onnx.NodeProto, a: dict) -> list[bool]:
    """One entry per ONNX direction: whether that direction runs backwards."""
    direction = a.get("direction", b"forward")
    direction = direction.decode() if isinstance(direction, bytes) else direction
    if direction not in _DIRECTIONS:
        raise _refuse(node, f"has direction {direction!r}", "forward, reverse or bidirectional")
    return _DIRECTIONS[direction]


def _check(ctx: Context, node: onnx.NodeProto, steps: int) -> dict:
    """The node's attributes after refusing what edgec cannot run."""
    a = attrs(node)
    names = [v.decode() if isinstance(v, bytes) else v for v in a.get("activations", [])]
    default = _DEFAULT_ACTIVATIONS[node.op_type]
    if names and names != default * (len(names) // len(default)):
        raise _refuse(node, f"uses activations {names}", f"the default activations {default} "
                      "only")
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


def _states(ctx: Context, node: onnx.NodeProto, i: int, layout: int, dirs: int, batch: int,
            hidden: int) -> list:
    """The initial state input ``i`` per direction, [B, H] each (zeros when absent): an
    array when it is a constant, else (computed at run time, a graph input) the IR tensor of
    its [B, H] slice."""
    name = _input(node, i)
    if not name:
        return [np.zeros((batch, hidden), np.float32)] * dirs
    if not ctx.is_const(name):
        return _run_time_states(ctx, node, name, layout, dirs, batch, hidden)
    value = ctx.const(name).astype(np.float32)
    value = value.reshape(batch, dirs, hidden).swapaxes(0, 1) if layout else \
        value.reshape(dirs, batch, hidden)
    return [np.ascontiguousarray(value[d]) for d in range(dirs)]


def _state_tensor(ctx: Context, name: str, state) -> str:
    """The IR tensor of one direction's initial state: a run-time one as it is, a constant
    one as a new constant."""
    return state if isinstance(state, str) else ctx.const_tensor(name, state)


def _run_time_states(ctx: Context, node: onnx.NodeProto, name: str, layout: int, dirs: int,
                     batch: int, hidden: int) -> list[str]:
    """The run-time state ``name`` ([dirs, B, H], or [B, dirs, H] with layout 1) as one
    [B, H] tensor per direction: a STRIDED_SLICE per direction (when there are two), then a
    RESHAPE."""
    source = ctx.in_layout(ctx.as_float(ctx.value(name), name), None, name)
    axis = 1 if layout else 0
    full = (batch, dirs, hidden) if layout else (dirs, batch, hidden)
    states = []
    for d in range(dirs):
        piece = source
        if dirs > 1:
            begin, size = [0, 0, 0], list(full)
            begin[axis], size[axis] = d, 1
            piece = ctx.new_tensor(f"{name}_d{d}", tuple(size), "float32")
            ctx.add_node("STRIDED_SLICE", [source], [piece],
                         {"begin": begin, "size": size, "steps": [1, 1, 1]})
        state = ctx.new_tensor(f"{name}_d{d}_state", (batch, hidden), "float32")
        ctx.add_node("RESHAPE", [piece], [state], {"shape": (batch, hidden)})
        states.append(state)
    return states


def _outputs(ctx: Context, node: onnx.NodeProto, op: str, per_direction: list[list[str]],
             attrs_: dict, reverse: list[bool], layout: int, batch: int, hidden: int) -> None:
    """Y (every step), Y_h (last step) and an LSTM's Y_c (final cell state) of the ONNX node:
    per direction one IR node and a RESHAPE to its slice of the ONNX shape, then one
    CONCATENATION over the directions. Where Y is read, Y_h is a STRIDED_SLICE of its last
    visited step (the same values) instead of another run of the op."""
    if op != "UNIDIRECTIONAL_SEQUENCE_LSTM" and _input_out(node, 2):
        raise _refuse(node, "has a third output", f"{node.op_type} has outputs Y and Y_h")
    x_shape = ctx.tensor(per_direction[0][0]).shape
    y = _input_out(node, 0)
    sequence_outs: dict[int, str] = {}  # direction -> its node's per-step output, if read
    for k, (sequences, cell) in enumerate(((True, False), (False, False), (False, True))):
        onnx_out = _input_out(node, k)
        if not onnx_out or (k == 2 and not (ctx.consumers.get(onnx_out)
                                            or onnx_out in ctx.graph_outputs)):
            continue
        onnx_shape = tuple(ctx.shape(onnx_out))
        axis = (2 if layout else 1) if sequences else (1 if layout else 0)
        piece_shape = onnx_shape[:axis] + (1,) + onnx_shape[axis + 1:]
        pieces = []
        for d, inputs in enumerate(per_direction):
            shape = (x_shape[0], x_shape[1], hidden) if sequences else (batch, hidden)
            suffix = ("seq" if sequences else "cell" if cell else "last") \
                + ("_reverse" if reverse[d] else "")
            if k == 1 and d in sequence_outs:
                out = _last_step(ctx, sequence_outs[d], f"{onnx_out}_{suffix}", layout,
                                 reverse[d])
            else:
                out = ctx.new_tensor(f"{onnx_out}_{suffix}", shape, "float32")
                extra = {"cell_output": True} if cell else {}
                ctx.add_node(op, inputs, [out], {**attrs_, "return_sequences": sequences,
                                                 "reverse": reverse[d], **extra},
                             f"{node.name or onnx_out}_{suffix}")
            if k == 0 and (ctx.consumers.get(y) or y in ctx.graph_outputs):
                sequence_outs[d] = out
            piece = ctx.new_tensor(onnx_out if len(per_direction) == 1 else f"{out}_dir",
                                   piece_shape, "float32")
            ctx.add_node("RESHAPE", [out], [piece], {"shape": piece_shape})
            pieces.append(piece)
        final = pieces[0]
        if len(pieces) > 1:
            final = ctx.new_tensor(onnx_out, onnx_shape, "float32")
            ctx.add_node("CONCATENATION", pieces, [final], {"axis": axis})
        ctx.values[onnx_out] = Value(final, None, "float")


def _last_step(ctx: Context, sequence: str, name: str, layout: int, reverse: bool) -> str:
    """The state after the last step a node visited (the first time index when it runs in
    reverse), sliced from its per-step output [T, B, H] (layout 1: [B, T, H])."""
    full = list(ctx.tensor(sequence).shape)
    time = 1 if layout else 0
    begin, size = [0, 0, 0], list(full)
    begin[time], size[time] = 0 if reverse else full[time] - 1, 1
    out = ctx.new_tensor(name, tuple(size), "float32")
    ctx.add_node("STRIDED_SLICE", [sequence], [out],
                 {"begin": begin, "size": size, "steps": [1, 1, 1]})
    return out


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
    """LSTM -> UNIDIRECTIONAL_SEQUENCE_LSTM per direction, float."""
    x, layout, batch, steps = _sequence(ctx, node)
    a = _check(ctx, node, steps)
    reverse = _directions(node, a)
    dirs, hidden = len(reverse), int(a["hidden_size"])
    peep = _input(node, 7)
    if peep and not ctx.is_const(peep):
        raise EdgecError(f"LSTM '{node.name}': the peepholes P ('{peep}') are computed at run "
                         "time", "export the weights as initializers")
    if peep and np.any(ctx.const(peep) != 0):
        initial = [_states(ctx, node, i, layout, dirs, batch, hidden) for i in (5, 6)]
        lstm_unrolled(ctx, node, x, layout, batch, steps, reverse, hidden, initial)
        return
    w = ctx.const(node.input[1]).reshape(dirs, 4, hidden, -1).astype(np.float32)
    r = ctx.const(node.input[2]).reshape(dirs, 4, hidden, hidden).astype(np.float32)
    bias = _input(node, 3)
    b = ctx.const(bias).reshape(dirs, 2, 4, hidden).sum(axis=1).astype(np.float32) if bias \
        else np.zeros((dirs, 4, hidden), np.float32)
    h0 = _states(ctx, node, 5, layout, dirs, batch, hidden)
    c0 = _states(ctx, node, 6, layout, dirs, batch, hidden)
    base = node.name or node.output[0] or node.output[1]
    names = ("input", "forget", "cell", "output")
    per_direction = []
    for d in range(dirs):
        tag = f"{base}_d{d}"
        per_direction.append(
            [x] + [ctx.const_tensor(f"{tag}_w_{names[i]}", w[d, g])
                   for i, g in enumerate(_LSTM_GATES)]
            + [ctx.const_tensor(f"{tag}_r_{names[i]}", r[d, g]) for i, g in enumerate(_LSTM_GATES)]
            + [ctx.const_tensor(f"{tag}_b_{names[i]}", b[d, g]) for i, g in enumerate(_LSTM_GATES)]
            + [_state_tensor(ctx, f"{tag}_h0", h0[d]), _state_tensor(ctx, f"{tag}_c0", c0[d])])
    _outputs(ctx, node, "UNIDIRECTIONAL_SEQUENCE_LSTM", per_direction,
             {"time_major": layout == 0}, reverse, layout, batch, hidden)


@converter("GRU")
def gru(ctx: Context, node: onnx.NodeProto) -> None:
    """GRU -> GRU per direction, float."""
    x, layout, batch, steps = _sequence(ctx, node)
    a = _check(ctx, node, steps)
    reverse = _directions(node, a)
    dirs, hidden = len(reverse), int(a["hidden_size"])
    w = ctx.const(node.input[1]).reshape(dirs, 3 * hidden, -1).astype(np.float32)
    r = ctx.const(node.input[2]).reshape(dirs, 3 * hidden, hidden).astype(np.float32)
    bias = _input(node, 3)
    b = ctx.const(bias).reshape(dirs, 2, 3 * hidden).astype(np.float32) if bias \
        else np.zeros((dirs, 2, 3 * hidden), np.float32)
    h0 = _states(ctx, node, 5, layout, dirs, batch, hidden)
    base = node.name or node.output[0] or node.output[1]
    per_direction = [[x, ctx.const_tensor(f"{base}_d{d}_w", w[d]),
                      ctx.const_tensor(f"{base}_d{d}_r", r[d]),
                      ctx.const_tensor(f"{base}_d{d}_wb", b[d, 0]),
                      ctx.const_tensor(f"{base}_d{d}_rb", b[d, 1]),
                      _state_tensor(ctx, f"{base}_d{d}_h0", h0[d])] for d in range(dirs)]
    _outputs(ctx, node, "GRU", per_direction,
             {"time_major": layout == 0,
              "linear_before_reset": bool(a.get("linear_before_reset", 0))},
             reverse, layout, batch, hidden)
