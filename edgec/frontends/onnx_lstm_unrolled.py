"""An ONNX LSTM with peepholes (input P), unrolled into float primitive ops step by step.

edgec's UNIDIRECTIONAL_SEQUENCE_LSTM has no peephole weights (TFLite Micro's LSTM kernel has
none either), so such an LSTM is written out, per direction and time step, as ONNX defines
it (default activations; gate order i, o, f, c in W, R and B; i, o, f in P):

    i = sigmoid(x W_i + h R_i + b_i + P_i * c)      f = sigmoid(x W_f + h R_f + b_f + P_f * c)
    g = tanh(x W_c + h R_c + b_c)                   c' = f * c + i * g
    o = sigmoid(x W_o + h R_o + b_o + P_o * c')     h' = o * tanh(c')

Each product by W or R is a FULLY_CONNECTED; the rest are ADD, MUL, LOGISTIC and TANH. The
graph grows with the sequence length (about 20 ops a step), so this suits short sequences.
Y, Y_h and Y_c are concatenations of the steps' h and the last h and c."""

from __future__ import annotations

import numpy as np
import onnx

from edgec.frontends.onnx_context import Context, Value
from edgec.frontends.onnx_decompose import constant, step


def lstm_unrolled(ctx: Context, node: onnx.NodeProto, x: str, layout: int, batch: int,
                  steps: int, reverse: list[bool], hidden: int, initial) -> None:
    """``initial``: (h0, c0) lists per direction of [B, H] arrays (constants) or IR tensor
    names (run-time states, graph inputs)."""
    dirs = len(reverse)
    w = ctx.const(node.input[1]).reshape(dirs, 4, hidden, -1).astype(np.float32)
    r = ctx.const(node.input[2]).reshape(dirs, 4, hidden, hidden).astype(np.float32)
    bias = node.input[3] if len(node.input) > 3 else ""
    b = ctx.const(bias).reshape(dirs, 2, 4, hidden).astype(np.float32).sum(axis=1) if bias \
        else np.zeros((dirs, 4, hidden), np.float32)
    p = ctx.const(node.input[7]).reshape(dirs, 3, hidden).astype(np.float32)
    tag = node.name or node.output[0] or node.output[1]
    hs: list[list[str]] = [[""] * steps for _ in range(dirs)]
    last = []
    for d in range(dirs):
        h, c = (_initial(ctx, f"{tag}_d{d}_{k}0", initial[j][d])
                for j, k in enumerate("hc"))
        for t in (range(steps - 1, -1, -1) if reverse[d] else range(steps)):
            name = f"{tag}_d{d}_t{t}"
            xt = _step_input(ctx, node, x, layout, t, batch, name)

            def gate(k: int, peephole: str = "", peep_index: int = 0) -> str:
                parts = [step(ctx, node, "MatMul", [xt, constant(ctx, f"{name}_w{k}",
                                                                 w[d, k].T.copy())],
                              f"{name}_xw{k}", (batch, hidden)),
                         step(ctx, node, "MatMul", [h, constant(ctx, f"{name}_r{k}",
                                                                r[d, k].T.copy())],
                              f"{name}_hr{k}", (batch, hidden))]
                total = step(ctx, node, "Add", parts, f"{name}_sum{k}", (batch, hidden))
                total = step(ctx, node, "Add", [total, constant(ctx, f"{name}_b{k}", b[d, k])],
                             f"{name}_pre{k}", (batch, hidden))
                if peephole:
                    peep = step(ctx, node, "Mul", [peephole, constant(
                        ctx, f"{name}_p{k}", p[d, peep_index])], f"{name}_peep{k}",
                        (batch, hidden))
                    total = step(ctx, node, "Add", [total, peep], f"{name}_peeped{k}",
                                 (batch, hidden))
                return total

            shape = (batch, hidden)
            i = step(ctx, node, "Sigmoid", [gate(0, c, 0)], f"{name}_i", shape)
            f = step(ctx, node, "Sigmoid", [gate(2, c, 2)], f"{name}_f", shape)
            g = step(ctx, node, "Tanh", [gate(3)], f"{name}_g", shape)
            c = step(ctx, node, "Add", [step(ctx, node, "Mul", [f, c], f"{name}_fc", shape),
                                        step(ctx, node, "Mul", [i, g], f"{name}_ig", shape)],
                     f"{name}_c", shape)
            o = step(ctx, node, "Sigmoid", [gate(1, c, 1)], f"{name}_o", shape)
            h = step(ctx, node, "Mul", [o, step(ctx, node, "Tanh", [c], f"{name}_tc", shape)],
                     f"{name}_h", shape)
            hs[d][t] = h
        last.append((h, c))
    _outputs(ctx, node, hs, last, layout, batch, hidden)


def _initial(ctx: Context, name: str, state) -> str:
    """The ONNX name of one direction's initial state: a constant array, or the IR tensor of
    a run-time one (bound to an ONNX value of the same name)."""
    if isinstance(state, str):
        ctx.values[state] = Value(state, None, "float")
        ctx.shapes[state] = tuple(ctx.tensor(state).shape)
        return state
    return constant(ctx, name, state)


def _step_input(ctx: Context, node: onnx.NodeProto, x: str, layout: int, t: int, batch: int,
                name: str) -> str:
    """X at step ``t`` as [B, I] (a Gather of one index on the time axis)."""
    return step(ctx, node, "Gather", [x, constant(ctx, f"{name}_index", np.array(t))],
                f"{name}_x", (batch, ctx.shape(x)[2]), axis=1 if layout else 0)


def _outputs(ctx: Context, node: onnx.NodeProto, hs, last, layout: int, batch: int,
             hidden: int) -> None:
    """Y [T, dirs, B, H] (layout 1: [B, T, dirs, H]), Y_h and Y_c [dirs, B, H] (layout 1:
    [B, dirs, H]), each read output as a concatenation of reshaped steps."""
    dirs, steps = len(hs), len(hs[0])
    outs = list(node.output) + [""] * 3
    if outs[0]:
        pieces = []
        for t in range(steps):
            for d in range(dirs):
                shape = (batch, 1, 1, hidden) if layout else (1, 1, batch, hidden)
                pieces.append(step(ctx, node, "Reshape", [hs[d][t]], f"{hs[d][t]}_y", shape))
        full = (batch, steps, dirs, hidden) if layout else (steps, dirs, batch, hidden)
        _concat(ctx, node, pieces, outs[0], full, layout)
    for k, which in ((1, 0), (2, 1)):
        if not outs[k]:
            continue
        shape = (batch, 1, hidden) if layout else (1, batch, hidden)
        pieces = [step(ctx, node, "Reshape", [last[d][which]], f"{last[d][which]}_last{k}",
                       shape) for d in range(dirs)]
        full = (batch, dirs, hidden) if layout else (dirs, batch, hidden)
        if len(pieces) == 1:
            step(ctx, node, "Reshape", pieces, outs[k], full)
        else:
            step(ctx, node, "Concat", pieces, outs[k], full, axis=1 if layout else 0)


def _concat(ctx: Context, node: onnx.NodeProto, pieces: list[str], out: str, full,
            layout: int) -> None:
    """Steps x directions pieces joined into Y."""
    if len(pieces) == 1:
        step(ctx, node, "Reshape", pieces, out, full)
        return
    dirs = full[2] if layout else full[1]
    steps = full[1] if layout else full[0]
    axis_t, axis_d = (1, 2) if layout else (0, 1)
    per_step = []
    for t in range(steps):
        group = pieces[t * dirs:(t + 1) * dirs]
        shape = list(full)
        shape[axis_t] = 1
        if len(group) == 1:
            per_step.append(group[0])
        else:
            per_step.append(step(ctx, node, "Concat", group, f"{out}_t{t}", shape, axis=axis_d))
    if len(per_step) == 1:
        step(ctx, node, "Reshape", per_step, out, full)
    else:
        step(ctx, node, "Concat", per_step, out, full, axis=axis_t)
