"""UNIDIRECTIONAL_SEQUENCE_LSTM: a standard (Keras) LSTM layer over a whole sequence.

Inputs (15; TFLite's 24 without the absent optional ones): ``x`` [B, T, I] (or [T, B, I]
with ``time_major``), the four input weights [H, I] and four recurrent weights [H, H] in gate
order input, forget, cell, output, the four gate biases [H], the initial hidden state [B, H]
and the initial cell state [B, H]. Output: every step's hidden state, [B, T, H] ([T, B, H]),
or with ``return_sequences`` false only the last one, [B, H] (what ONNX's Y_h and Keras's
``return_sequences=False`` read; TFLite writes a slice after the op instead), or with
``cell_output`` (and ``return_sequences`` false) the final cell state, [B, H] (ONNX's Y_c;
int16 in the cell state's quantization when the LSTM is integer; no TFLite form). ``reverse``
visits the steps from the last to the first (ONNX's reverse direction; a bidirectional
layer is a forward and a reverse node): output t is still the state after input t.
No peephole, projection, layer norm or CIFG (the frontends refuse them).

Per step: ``gate = act(W x_t + b + R h)`` (sigmoid for i, f, o; tanh for the cell gate g),
``c = f * c + i * g`` (clipped to +-cell_clip when it is > 0), ``h = o * tanh(c)``.

int8 follows TFLite Micro's integer LSTM ("8x8_16", ``lstm_eval.h`` ``LstmStep`` with the
parameters of ``lstm_eval_common.cc`` ``PrepareGateParametersInteger``):
- each gate's two fully connected products are int8 FULLY_CONNECTED kernels writing int16 in
  Q3.12 (output scale 2**-12, zero point 0, clamp to int16): the input one with the gate bias,
  multiplier ``input_scale * weight_scale / 2**-12``; the recurrent one without bias,
  ``hidden_scale * weight_scale / 2**-12``; their sum saturates to int16;
- sigmoid and tanh are TFLite's int16 ``Logistic``/``Tanh`` (the 256-entry table of
  sigmoid(i/24) with linear interpolation): gates from Q3.12 (input multiplier 3), the
  hidden tanh from the cell state, whose scale must be a power of two 2**p, with left shift
  ``15 + p - 3`` (a negative one becomes a right shift after multiplying by 3); outputs Q0.15;
- products are TFLite's int16 ``MulElementwise`` (``MultiplyByQuantizedMultiplier`` of the
  int32 product): forget x cell -> cell scale (multiplier 2**-15), input x cell gate -> cell
  scale (2**-30 / cell_scale), tanh x output gate -> the hidden state's int8 quantization
  (2**-30 / hidden_scale, plus its zero point); the two cell terms add with int16 saturation;
- the output at each step is the int8 hidden state, copied (TFLM ignores the output tensor's
  quantization; the converter gives it the hidden state's).
int16 (TFLM's "16x8" LSTM, ``EvalLstm<int16_t, int8_t, int16_t, int64_t>``) is the same with
int16 input, hidden state and output, int8 weights and int64 biases: each gate product
accumulates in int64 and requantizes to Q3.12 with TFLite's int64
``MultiplyByQuantizedMultiplier`` (the multiplier reduced to 16 bits, one rounding:
``edgec.ir.int16``); the hidden state's product clamps to int16. The TFLite converter cannot
write this op in 16x8 ("not yet supported"); ``edgec quantize --activations int16`` makes it.
Float is the same formula in float32, TFLM's order of operations. Post-training quantization
(``Ptq.RECURRENT``, ``edgec.quantize.recurrent``) makes the int8 form from a float LSTM with
the TFLite converter's scales, calibrating the states with ``run_float``.

The initial states are constants (zero from the converter) or tensors computed at run time
(ONNX graph inputs: PyTorch's ``lstm(x, (h0, c0))``, the application streaming windows and
feeding Y_h / Y_c back; integer: h0 in the hidden state's quantization, c0 int16 in the cell
state's): the state starts from them at every inference (per sequence), or with ``carry_state`` (``--recurrent-state carry``) the
final hidden and cell states are kept for the next inference (``updates_state``), as TFLM
carries its variable tensors into the next Invoke unless reset. docs/IR.md "Recurrent state".
"""

from __future__ import annotations

import math

import numpy as np

from edgec.errors import EdgecError
from edgec.ir.int16 import (logistic_int16, multiply_by_quantized_multiplier_int64,
                            sigmoid_table, tanh_int16)
from edgec.ir.quant import conv_multipliers, multiply_by_quantized_multiplier, quantize_multiplier
from edgec.ir.registry import Ptq, define_op, kernel

GATES = ("input", "forget", "cell", "output")
X, W_IN, W_REC, BIAS, H0, C0 = 0, 1, 5, 9, 13, 14
N_INPUTS = 15
GATE_SCALE = 2.0 ** -12  # Q3.12: the fully connected outputs, activation inputs
ACT_SCALE = 2.0 ** -15  # Q0.15: sigmoid / tanh outputs


def sizes(node, x_shape) -> tuple[int, int, int]:
    """(batch, steps, input size) of the input shape."""
    if len(x_shape) != 3:
        raise EdgecError(f"node '{node.name}' (UNIDIRECTIONAL_SEQUENCE_LSTM): input shape "
                         f"{list(x_shape)} is not rank 3", "the input is [batch, time, features]")
    b, t, i = x_shape
    return (t, b, i) if node.attrs["time_major"] else (b, t, i)


def _shape(node, ins):
    x, w = ins[X], ins[W_IN]
    _, _, features = sizes(node, x.shape)
    if len(ins) != N_INPUTS or any(t is None for t in ins) or w.shape[1:] != (features,):
        raise EdgecError(f"node '{node.name}' (UNIDIRECTIONAL_SEQUENCE_LSTM) takes {N_INPUTS} "
                         "inputs (x, 4 input weights, 4 recurrent weights, 4 biases, h0, c0) "
                         f"with weights [H, {features}]")
    if node.attrs["cell_output"] and node.attrs["return_sequences"]:
        raise EdgecError(f"node '{node.name}' (UNIDIRECTIONAL_SEQUENCE_LSTM) returns its "
                         "final cell state and the sequence",
                         "cell_output takes return_sequences false")
    if not node.attrs["return_sequences"]:
        return [(sizes(node, x.shape)[0], w.shape[0])]
    return [tuple(x.shape[:2]) + (w.shape[0],)]


def _macs(node, ins, outs):
    hidden = ins[W_IN].shape[0]
    steps = ins[X].size // ins[X].shape[2]
    return steps * 4 * hidden * (ins[X].shape[2] + hidden)


define_op("UNIDIRECTIONAL_SEQUENCE_LSTM",
          attrs={"time_major": False, "cell_clip": 0.0, "return_sequences": True,
                 "reverse": False, "carry_state": False, "cell_output": False},
          infer_shapes=_shape, macs=_macs, min_inputs=N_INPUTS, requantizes=True,
          retypes=True,  # cell_output: an int8 LSTM writes its int16 cell state
          ptq=Ptq.RECURRENT, carries_state=(H0, C0),
          updates_state=lambda call: _final_states(call),
          doc="LSTM over a sequence; inputs (x, W_i,f,c,o [H, I], R_i,f,c,o [H, H], "
              "b_i,f,c,o, h0, c0)")


# -- int16 activations (TFLite reference_integer_ops Logistic / Tanh on int16) ------------

# TFLite's int16 Logistic / Tanh, shared with the int16 LOGISTIC and TANH ops
# (``edgec.ir.int16``: the table and its interpolation; multiplier 0 = power-of-two scale).
SIGMOID_TABLE = sigmoid_table()
sigmoid_int16 = logistic_int16


def cell_power(node, cell_q) -> int:
    """p with cell scale 2**p (TFLite's CheckedLog2); other scales are refused."""
    scale = cell_q.s if cell_q is not None else 0.0
    p = round(math.log2(scale)) if scale > 0 else 0
    if scale <= 0 or abs(math.log2(scale) - p) >= 1e-3:
        raise EdgecError(f"node '{node.name}' (UNIDIRECTIONAL_SEQUENCE_LSTM): the int16 cell "
                         f"state scale {scale} is not a power of two",
                         "TFLite's integer LSTM needs a power-of-two cell state scale")
    return p


def tanh_shift(power: int) -> tuple[int, int]:
    """(input multiplier, left shift) of the hidden state's tanh of a 2**power cell state."""
    shift = 15 + power - 3
    return (3, -shift) if shift < 0 else (0, shift)


# The integer LSTMs by activation dtype: (bias dtype, hidden state range).
INTEGER = {"int8": ("int32", (-128, 127)), "int16": ("int64", (-32768, 32767))}


def integer_params(node, ins) -> dict[str, np.ndarray | int]:
    """Every Prepare-time integer parameter of TFLM's integer LSTM, int8 or 16x8 (shared with
    the lowering): per gate (i, f, c, o) the input and recurrent multipliers/shifts, the
    three products' multipliers/shifts, the zero points, the cell clip and the cell scale
    power."""
    x_q, h_q, c_q = ins[X].quant, ins[H0].quant, ins[C0].quant
    dtype = ins[X].dtype
    bias_dtype, _ = INTEGER[dtype]
    for t in ins[W_IN:BIAS]:
        if t.dtype != "int8" or t.quant is None or not t.quant.per_tensor or t.quant.zp != 0:
            raise EdgecError(f"node '{node.name}' (UNIDIRECTIONAL_SEQUENCE_LSTM): weights "
                             f"'{t.name}' are not per-tensor symmetric int8",
                             "TFLite's integer LSTM takes per-tensor weights, zero point 0")
    if h_q is None or x_q is None or ins[C0].dtype != "int16" or ins[H0].dtype != dtype:
        raise EdgecError(f"node '{node.name}' (UNIDIRECTIONAL_SEQUENCE_LSTM): {dtype} needs "
                         f"quantized {dtype} input and hidden state and an int16 cell state")
    bad_bias = [t.name for t in ins[BIAS:H0] if t.dtype != bias_dtype]
    if bad_bias:
        raise EdgecError(f"node '{node.name}' (UNIDIRECTIONAL_SEQUENCE_LSTM): {dtype} "
                         f"activations take {bias_dtype} biases, '{bad_bias[0]}' is not",
                         f"TFLite Micro reads the biases of a {dtype} LSTM as {bias_dtype}")
    power = cell_power(node, c_q)
    cell_scale = c_q.s
    gate = [conv_multipliers(x_q.s, ins[W_IN + g].quant.scale, GATE_SCALE) for g in range(4)]
    rec = [conv_multipliers(h_q.s, ins[W_REC + g].quant.scale, GATE_SCALE) for g in range(4)]
    forget_cell = quantize_multiplier(ACT_SCALE * cell_scale / cell_scale)
    input_cell = quantize_multiplier(ACT_SCALE * ACT_SCALE / cell_scale)
    hidden = quantize_multiplier(ACT_SCALE * ACT_SCALE / h_q.s)
    clip = node.attrs["cell_clip"]
    qclip = int(min(max(clip / cell_scale, -32768.0), 32767.0)) if clip > 0 else 0
    tanh_mult, tanh_left = tanh_shift(power)
    return {"in_mult": [int(m[0][0]) for m in gate], "in_shift": [int(m[1][0]) for m in gate],
            "rec_mult": [int(m[0][0]) for m in rec], "rec_shift": [int(m[1][0]) for m in rec],
            "forget_cell": forget_cell, "input_cell": input_cell, "hidden": hidden,
            "x_zp": x_q.zp, "h_zp": h_q.zp, "cell_clip": qclip,
            "tanh_mult": tanh_mult, "tanh_left": tanh_left}


def _fc_int16(x, w, zp, bias, mult, shift, int64: bool) -> np.ndarray:
    """One gate product in Q3.12: TFLM's integer FullyConnected, its accumulator int32 (int8,
    int32 bias) or int64 (16x8, int64 bias; then the int64 requantization)."""
    acc = (x.astype(np.int64) - zp) @ w.astype(np.int64).T
    if bias is not None:
        acc = acc + bias.astype(np.int64)
    if int64:
        return np.clip(multiply_by_quantized_multiplier_int64(acc, mult, shift), -32768, 32767)
    return np.clip(multiply_by_quantized_multiplier(acc, mult, shift), -32768, 32767)


def _mul(a, b, ms, lo, hi, zp=0) -> np.ndarray:
    prod = a.astype(np.int64) * b.astype(np.int64)
    return np.clip(multiply_by_quantized_multiplier(prod, ms[0], ms[1]) + zp, lo, hi)


def by_batch(node, x) -> np.ndarray:
    """The input as [B, T, I]."""
    return np.swapaxes(x, 0, 1) if node.attrs["time_major"] else x


def steps(node, count: int) -> range:
    """The order the op visits the time steps: backwards with ``reverse``."""
    return range(count - 1, -1, -1) if node.attrs["reverse"] else range(count)


def to_output(node, ys: dict, h_last: np.ndarray) -> np.ndarray:
    """Per-step results (time index -> [B, H]) in the op's output layout, or the state after
    the last step visited alone."""
    if not node.attrs["return_sequences"]:
        return np.ascontiguousarray(h_last)
    y = np.stack([ys[t] for t in range(len(ys))], axis=1)
    return np.swapaxes(y, 0, 1) if node.attrs["time_major"] else y


def _run_integer(call) -> tuple[dict, np.ndarray, np.ndarray]:
    """TFLM's integer LSTM (int8 or 16x8) over the sequence: (hidden state per time index,
    the last hidden state, the last cell state)."""
    p = integer_params(call.node, call.in_tensors)
    dtype = call.in_tensors[X].dtype
    lo, hi = INTEGER[dtype][1]
    wide = dtype == "int16"
    ins = call.inputs
    x = by_batch(call.node, ins[X])
    h = ins[H0].reshape(x.shape[0], -1).astype(np.int64)
    c = ins[C0].reshape(x.shape[0], -1).astype(np.int64)
    ys = {}
    for t in steps(call.node, x.shape[1]):
        gates = []
        for g in range(4):
            a = _fc_int16(x[:, t], ins[W_IN + g], p["x_zp"], ins[BIAS + g],
                          p["in_mult"][g], p["in_shift"][g], wide)
            b = _fc_int16(h, ins[W_REC + g], p["h_zp"], None, p["rec_mult"][g],
                          p["rec_shift"][g], wide)
            s = np.clip(a + b, -32768, 32767)
            gates.append(tanh_int16(s) if g == 2 else sigmoid_int16(s))
        i, f, g, o = (v.astype(np.int64) for v in gates)
        c = _mul(f, c, p["forget_cell"], -32768, 32767)
        c = np.clip(c + _mul(i, g, p["input_cell"], -32768, 32767), -32768, 32767)
        if p["cell_clip"] > 0:
            c = np.clip(c, -p["cell_clip"], p["cell_clip"])
        th = tanh_int16(c, p["tanh_mult"], p["tanh_left"]).astype(np.int64)
        h = _mul(th, o, p["hidden"], lo, hi, p["h_zp"])
        ys[t] = h.astype(dtype)
    return ys, h.astype(dtype), c.astype(np.int16)


@kernel("UNIDIRECTIONAL_SEQUENCE_LSTM", "int16")
def lstm_int16(call):
    """TFLM's 16x8 LSTM."""
    ys, h, c = _run_integer(call)
    return [c if call.attrs["cell_output"] else to_output(call.node, ys, h)]


@kernel("UNIDIRECTIONAL_SEQUENCE_LSTM", "int8")
def lstm_int8(call):
    ys, h, c = _run_integer(call)
    return [c if call.attrs["cell_output"] else to_output(call.node, ys, h)]


def sigmoid_float(v: np.ndarray) -> np.ndarray:
    return (np.float32(1) / (np.float32(1) + np.exp(-v))).astype(np.float32)


def run_float(node, inputs) -> tuple[dict, np.ndarray, dict]:
    """The float LSTM over the sequence: (hidden state per time index, the last hidden
    state, cell state per time index). Post-training quantization calibrates the int16 cell
    state and the int8 hidden state from these."""
    ins = [None if a is None else a.astype(np.float32) for a in inputs]
    x = by_batch(node, ins[X])
    h = ins[H0].reshape(x.shape[0], -1)
    c = ins[C0].reshape(x.shape[0], -1)
    clip = np.float32(node.attrs["cell_clip"])
    ys, cells = {}, {}
    for t in steps(node, x.shape[1]):
        pre = [(x[:, t] @ ins[W_IN + g].T + ins[BIAS + g]) + h @ ins[W_REC + g].T
               for g in range(4)]
        i, f, o = sigmoid_float(pre[0]), sigmoid_float(pre[1]), sigmoid_float(pre[3])
        g = np.tanh(pre[2])
        c = (f * c + i * g).astype(np.float32)
        if clip > 0:
            c = np.clip(c, -clip, clip)
        h = (o * np.tanh(c)).astype(np.float32)
        ys[t], cells[t] = h, c
    return ys, h, cells


def _final_states(call) -> dict[int, np.ndarray]:
    """With ``carry_state``: the hidden and cell states after the sequence, the next
    inference's initial states (TFLM's variable tensors); else none (per sequence)."""
    if not call.attrs["carry_state"]:
        return {}
    if call.in_tensors[X].dtype == "float32":
        _, h, cells = run_float(call.node, call.inputs)
        c = list(cells.values())[-1]  # the cell state after the last step visited
    else:
        _, h, c = _run_integer(call)
    return {H0: h.reshape(call.inputs[H0].shape), C0: c.reshape(call.inputs[C0].shape)}


@kernel("UNIDIRECTIONAL_SEQUENCE_LSTM", "float32")
def lstm_float(call):
    ys, h, cells = run_float(call.node, call.inputs)
    if call.attrs["cell_output"]:
        return [np.ascontiguousarray(cells[list(steps(call.node, len(cells)))[-1]])]
    return [to_output(call.node, ys, h)]
