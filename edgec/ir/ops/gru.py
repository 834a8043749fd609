"""GRU: a gated recurrent unit over a sequence, ONNX's GRU (forward) semantics, float32.

Inputs: ``x`` [B, T, I] ([T, B, I] with ``time_major``), ``w`` [3H, I] and ``r`` [3H, H] in
gate order update z, reset r, candidate h (ONNX's zrh), biases ``wb`` and ``rb`` [3H] and the
initial state ``h0`` [B, H]. Per step:
``z = sigmoid(W_z x + wb_z + R_z h + rb_z)``, ``r`` likewise,
``n = tanh(W_h x + wb_h + R_h (r * h) + rb_h)``, or with ``linear_before_reset`` (Keras's
``reset_after``, PyTorch's GRU) ``n = tanh(W_h x + wb_h + r * (R_h h + rb_h))``,
``h = (1 - z) * n + z * h``. Output: every step's h, [B, T, H] ([T, B, H]), or the last one
[B, H] without ``return_sequences``; ``reverse`` visits the steps backwards (as the LSTM).

float32 only: TFLite has no GRU builtin and TFLM no integer GRU to be exact with (the
converter writes Keras's GRU as a WHILE loop or unrolled ops, see docs/IR.md "Recurrent
state"). The state is per sequence, or with ``carry_state`` kept for the next inference
(as the LSTM's). Post-training quantization (``Ptq.DECOMPOSE``) rewrites it into float primitive ops
per time step and quantizes those (``edgec.quantize.recurrent.decompose_gru``).
"""

from __future__ import annotations

import numpy as np

from edgec.errors import EdgecError
from edgec.ir.ops.lstm import by_batch, sigmoid_float, sizes, steps, to_output
from edgec.ir.registry import Ptq, define_op, kernel

X, W, R, WB, RB, H0 = range(6)


def _shape(node, ins):
    x, w, r = ins[X], ins[W], ins[R]
    batch, _, features = sizes(node, x.shape)
    hidden = r.shape[-1]
    if w.shape != (3 * hidden, features) or r.shape != (3 * hidden, hidden) \
            or ins[H0].size != batch * hidden:
        raise EdgecError(f"node '{node.name}' (GRU): weights {list(w.shape)} / "
                         f"{list(r.shape)} do not fit input {list(x.shape)}",
                         "weights are [3H, I] and [3H, H] (gates z, r, h), h0 [B, H]")
    if not node.attrs["return_sequences"]:
        return [(batch, hidden)]
    return [tuple(x.shape[:2]) + (hidden,)]


def _macs(node, ins, outs):
    hidden = ins[R].shape[1]
    steps = ins[X].size // ins[X].shape[2]
    return steps * 3 * hidden * (ins[X].shape[2] + hidden)


define_op("GRU", attrs={"time_major": False, "linear_before_reset": False,
                        "return_sequences": True, "reverse": False, "carry_state": False},
          infer_shapes=_shape, macs=_macs, min_inputs=6, dtypes=("float32",),
          ptq=Ptq.DECOMPOSE, carries_state=(H0,),
          updates_state=lambda call: _final_state(call),
          doc="GRU over a sequence (ONNX semantics); inputs (x, W [3H, I], R [3H, H], "
              "Wb [3H], Rb [3H], h0)",
          exempt={"frontend": "no TFLite builtin: GRU comes from ONNX",
                  "export": "no TFLite builtin to write it as"})


def _final_state(call) -> dict[int, np.ndarray]:
    """With ``carry_state`` (``--recurrent-state carry``): the hidden state after the
    sequence, the next inference's initial state; else none (per sequence)."""
    if not call.attrs["carry_state"]:
        return {}
    return {H0: _run(call)[1].reshape(call.inputs[H0].shape)}


@kernel("GRU", "float32")
def gru_float(call):
    ys, h = _run(call)
    return [to_output(call.node, ys, h)]


def _run(call) -> tuple[dict, np.ndarray]:
    """(hidden state per time index, the last hidden state)."""
    x = by_batch(call.node, call.inputs[X].astype(np.float32))
    w, r, wb, rb = (call.inputs[i].astype(np.float32) for i in (W, R, WB, RB))
    hidden = r.shape[1]
    h = call.inputs[H0].reshape(x.shape[0], hidden).astype(np.float32)
    gates = [slice(g * hidden, (g + 1) * hidden) for g in range(3)]
    ys = {}
    for t in steps(call.node, x.shape[1]):
        xw = [x[:, t] @ w[s].T + wb[s] for s in gates]
        z = sigmoid_float(xw[0] + (h @ r[gates[0]].T + rb[gates[0]]))
        rr = sigmoid_float(xw[1] + (h @ r[gates[1]].T + rb[gates[1]]))
        if call.attrs["linear_before_reset"]:
            n = np.tanh(xw[2] + rr * (h @ r[gates[2]].T + rb[gates[2]]))
        else:
            n = np.tanh(xw[2] + ((rr * h) @ r[gates[2]].T + rb[gates[2]]))
        h = ((np.float32(1) - z) * n + z * h).astype(np.float32)
        ys[t] = h
    return ys, h
