"""WHILE loops whose trip count is known at import, unrolled into subgraph 0.

The TensorFlow converter writes a Keras recurrent layer (LSTM, GRU, SimpleRNN; ``unroll``
False, the default) as one WHILE operator: its ``cond`` subgraph compares two step counters
with the sequence length (LESS, LESS, LOGICAL_AND), its ``body`` subgraph computes one time
step, and the loop-carried tensors (the counters, the states, the input sequence, the output
buffer of ``return_sequences=True``) are the inputs and outputs of both (the converter
lowers TensorFlow's TensorList ops to these plain tensors). The counters start
as constants and the body adds a constant to them, so ``tflite_fold`` evaluates them; the
body reads the input step with GATHER at the counter and writes the output buffer with
SLICE / CONCATENATION at offsets computed from it, all constants once the counter is.

``unroll_while`` evaluates the condition at import (its operators must fold to a constant,
else the trip count is not static and the loop is refused) and imports a copy of the body
per step, the carried tensors threaded from one copy to the next; the WHILE's outputs then
stand for the last step's. Body tensors whose shape depends on the step (the buffer's
slices, shape signature -1) get the shape their operator gives with the step's constants;
a slice with no elements (the first and the last step's) is left out of the CONCATENATION
that reads it. The body's constants (weights) are shared by every step. The graph holds the
loop as unrolled operators, exactly as the body computes them, step after step; the
``slice_concat`` pass then turns the buffer's step-by-step rebuilding into one
concatenation of the rows.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from edgec.errors import EdgecError
from edgec.frontends.tflite_fold import FOLDERS
from edgec.frontends.tflite_schema import TfOp, TfSubgraph

# What to do instead, for every loop edgec cannot unroll.
LOOP_HINT = ("for a Keras LSTM/GRU/SimpleRNN, build the layer with unroll=True and a fixed "
             "sequence length (keras.Input((steps, features))): the converter "
             "then writes the steps without WHILE")
# Unrolled, loops must stay a graph a microcontroller's flash holds (and a bad file's
# condition must not run forever): at most this many operators (condition, body and one per
# step) in all steps of all loops of a model.
MAX_UNROLLED_OPS = 50_000


def unroll_while(ctx, op: TfOp) -> None:
    """Import WHILE ``op`` as its body repeated for every step its condition allows."""
    keys = ("cond_subgraph_index", "body_subgraph_index")
    cond, body = (_subgraph(ctx, op, key) for key in keys)
    carried = list(op.inputs)
    if len(op.outputs) != len(carried) or len(cond.outputs) != 1 or any(
            len(g.inputs) != len(carried) for g in (cond, body)) \
            or len(body.outputs) != len(carried) or -1 in carried:
        raise EdgecError(f"{ctx.where(op)}: its {len(carried)} inputs, {len(op.outputs)} "
                         "outputs and the condition's and body's inputs and outputs do not "
                         "match", "check the model file is not corrupt")
    running = {int(op.options[key]) for key in keys}
    if running & ctx.open_subgraphs:
        raise EdgecError(f"{ctx.where(op)} runs a subgraph that is already running (a "
                         "recursive loop)", "check the model file is not corrupt")
    ctx.open_subgraphs |= running
    step = 0
    while _condition(ctx, op, cond, carried, step):
        ctx.unrolled_ops += len(cond.ops) + len(body.ops) + 1
        if ctx.unrolled_ops > MAX_UNROLLED_OPS:
            raise EdgecError(f"{ctx.where(op)}: unrolled to step {step}, the model already "
                             f"holds {MAX_UNROLLED_OPS} loop operators; edgec unrolls loops "
                             "at import", "shorten the sequence, or keep the layer one "
                             "operator: a tf_keras (Keras 2) LSTM converts to "
                             "UNIDIRECTIONAL_SEQUENCE_LSTM")
        carried = _inline(ctx, op, body, carried, step, fold_only=False)
        step += 1
    ctx.open_subgraphs -= running
    for out, value in zip(op.outputs, carried):
        a, b = ctx.tensor(out), ctx.tensor(value)
        if a.shape != b.shape or a.type_name != b.type_name:
            raise EdgecError(f"{ctx.where(op)}: output '{a.name}' is {a.type_name}"
                             f"{list(a.shape)}, its last step wrote {b.type_name}"
                             f"{list(b.shape)}", LOOP_HINT)
        ctx.aliases[out] = value


def _subgraph(ctx, op: TfOp, key: str) -> TfSubgraph:
    index = int(op.options.get(key, -1))
    if not 0 < index < len(ctx.model.subgraphs):
        raise EdgecError(f"{ctx.where(op)} names subgraph {index} as its {key[:4]}, the model "
                         f"has {len(ctx.model.subgraphs)}", "check the model file is not corrupt")
    return ctx.model.subgraphs[index]


def _condition(ctx, op: TfOp, cond: TfSubgraph, carried: list[int], step: int) -> bool:
    """Whether the loop runs step ``step``: the condition evaluated at import."""
    (out,) = _inline(ctx, op, cond, carried, step, fold_only=True)
    value = ctx.value(out)
    if value is None or value.size != 1:
        raise EdgecError(f"{ctx.where(op)}: the loop's condition does not give one value known "
                         "at import", LOOP_HINT)
    return bool(value.reshape(-1)[0])


def _inline(ctx, op: TfOp, graph: TfSubgraph, args: list[int], step: int,
            fold_only: bool) -> list[int]:
    """Import one copy of ``graph`` reading ``args``; its outputs' indices. With
    ``fold_only`` every operator must be evaluated at import (the loop's condition)."""
    mapping = dict(zip(graph.inputs, args))
    shared = ctx.subgraph_constants.setdefault(id(graph), {})

    def index(local: int) -> int:
        if local < 0:
            return -1
        if local not in mapping:
            t = graph.tensors[local]
            if t.data is not None:  # weights: one tensor for every step
                if local not in shared:
                    shared[local] = ctx.add_tensor(t)
                mapping[local] = shared[local]
            else:
                mapping[local] = ctx.add_tensor(replace(t, name=f"{t.name}_step{step}"))
        return mapping[local]

    for body_op in graph.ops:
        copy = TfOp(f"{op.index}.{step}.{body_op.index}", body_op.builtin,
                    [index(i) for i in body_op.inputs], [index(o) for o in body_op.outputs],
                    body_op.options)
        if _step_shapes(ctx, copy):
            continue  # an empty slice: nothing to compute
        if not fold_only:
            ctx.import_op(copy)
        elif not ctx.fold(copy):
            raise EdgecError(f"{ctx.where(op)}: the loop's condition reads values computed at "
                             f"run time ({copy.builtin}), so its number of steps is not known "
                             "at import", LOOP_HINT)
    return [index(o) for o in graph.outputs]


def _step_shapes(ctx, op: TfOp) -> bool:
    """Give ``op``'s outputs of step-dependent shape (signature -1) the shape this step's
    constants make; True when the one output has no elements (and ``op`` is skipped)."""
    outs = [ctx.tensor(o) for o in op.outputs]
    if not any(t.signature and -1 in t.signature for t in outs) or op.builtin not in FOLDERS \
            or len(outs) != 1:
        return False
    values, ins = [], []
    for i in op.inputs:
        t = ctx.tensor(i) if i >= 0 else None
        ins.append(t)
        value = ctx.value(i) if i >= 0 else None
        if t is not None and value is None:  # data known at run time only: its shape
            value = np.zeros(t.shape, np.float32 if t.dtype is None else t.dtype)
        values.append(value)
    try:
        shape = np.shape(FOLDERS[op.builtin](op, values, ins))
    except (ValueError, IndexError, TypeError, AttributeError, OverflowError) as exc:
        raise EdgecError(f"cannot work out the shape of {ctx.where(op)} at this step: "
                         f"{type(exc).__name__}: {exc}", LOOP_HINT) from exc
    out = op.outputs[0]
    ctx.tensors[out] = replace(outs[0], shape=tuple(int(d) for d in shape), signature=None)
    if 0 in shape:
        ctx.empty.add(out)
        return True
    return False
