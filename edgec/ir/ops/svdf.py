"""SVDF: a rank-decomposed filter over time with a state of the last ``memory`` inputs'
feature projections (TFLM's keyword models). Stateful: the state persists between inferences.

Inputs: ``x`` [B, I], feature weights ``wf`` [F, I], time weights ``wt`` [F, M], optional
``bias`` [U] (U = F / rank), ``state`` [B, M * F] (its value before the first inference,
the zero point from the converter). Output [B, U]. Per inference:
1. the state of each filter shifts left by one step (TFLM shifts the whole buffer by one
   element; the element moving into a filter's last slot is overwritten in step 2);
2. the newest slot gets ``wf x``;
3. each filter's state is weighted by its time weights and summed; ``rank`` filters at a
   time are summed into a unit, plus the bias; float applies the fused activation.

int8 follows TFLM's ``EvalIntegerSvdfReference`` (``svdf_common.cc``): int8 feature weights,
int16 (or int8) time weights and state; step 2 is ``MultiplyByQuantizedMultiplier`` with
``input_scale * feature_scale / state_scale``, clamped to the state type, plus the state zero
point, stored wrapping to the state type (the installed TFLM adds the zero point after the
clamp; later TFLM adds it before; only an int8 state has a nonzero one, and the tests pin
the installed behaviour); step 3 sums ``wt * (state - state_zp)`` in int32, adds the int32 bias, and
requantizes by ``state_scale * time_scale / output_scale``, plus the output zero point,
clamped to int8. Both scales are computed in float32 (TFLM's Prepare multiplies and divides
floats, then widens). The int8 kernel applies no fused activation (TFLM ignores it).

Post-training quantization turns a float SVDF into the int8 one (``edgec.quantize.recurrent``,
``run_float`` calibrates the state).

``updates_state`` gives the state after the inference: ``edgec.ir.interpret(state=...)`` and
the generated C (a static buffer, ``<prefix>_reset()``) carry it to the next one.
"""

from __future__ import annotations

import numpy as np

from edgec.errors import EdgecError
from edgec.ir.quant import apply_float_activation, multiply_by_quantized_multiplier, \
    quantize_multiplier, wrap32
from edgec.ir.registry import Ptq, define_op, kernel

X, WF, WT, BIAS, STATE = range(5)


def _shape(node, ins):
    if len(ins) != 5 or ins[STATE] is None:
        raise EdgecError(f"node '{node.name}' (SVDF) has no state input (input 4)")
    x, wf, wt, state = ins[X], ins[WF], ins[WT], ins[STATE]
    rank = int(node.attrs["rank"])
    if len(x.shape) != 2 or len(wf.shape) != 2 or len(wt.shape) != 2 or wf.shape[1] != \
            x.shape[1] or wt.shape[0] != wf.shape[0] or wf.shape[0] % max(rank, 1) or \
            rank < 1 or state.size != x.shape[0] * wt.shape[0] * wt.shape[1]:
        raise EdgecError(f"node '{node.name}' (SVDF): shapes x {list(x.shape)}, feature "
                         f"weights {list(wf.shape)}, time weights {list(wt.shape)}, state "
                         f"{list(state.shape)} and rank {rank} do not fit",
                         "x [B, I], weights [F, I] and [F, M], state [B, M * F], F % rank == 0")
    return [(x.shape[0], wf.shape[0] // rank)]


def _macs(node, ins, outs):
    return ins[WF].size * ins[X].shape[0] + ins[WT].size * ins[X].shape[0]


def int8_multipliers(x_q, wf_q, wt_q, state_q, out_q) -> tuple[tuple[int, int], tuple[int, int]]:
    """TFLM's two requantizations: feature -> state and time -> output (float32 math)."""
    x_s, wf_s, wt_s, st_s, out_s = (np.float32(q.s) for q in (x_q, wf_q, wt_q, state_q, out_q))
    return (quantize_multiplier(float(np.float32(x_s * wf_s) / st_s)),
            quantize_multiplier(float(np.float32(st_s * wt_s) / out_s)))


def _int8(call) -> tuple[np.ndarray, np.ndarray]:
    ins, tensors = call.inputs, call.in_tensors
    st_t = tensors[STATE]
    if any(tensors[i].quant is None for i in (X, WF, WT, STATE)):
        raise EdgecError(f"SVDF '{call.node.name}': int8 needs quantized input, weights and "
                         "state")
    (m1, s1), (m2, s2) = int8_multipliers(*(tensors[i].quant for i in (X, WF, WT, STATE)),
                                          call.out_q())
    batch, filters, memory = ins[X].shape[0], ins[WT].shape[0], ins[WT].shape[1]
    info = np.iinfo(st_t.dtype)
    st_zp = st_t.quant.zp
    state = ins[STATE].reshape(batch, filters, memory).astype(np.int64)
    state = np.concatenate([state[:, :, 1:], state[:, :, :1]], axis=2)
    dot = wrap32((ins[X].astype(np.int64) - tensors[X].quant.zp) @ ins[WF].astype(np.int64).T)
    newest = np.clip(multiply_by_quantized_multiplier(dot, m1, s1), info.min, info.max) + st_zp
    span = 1 << info.bits  # the zero point is added after the clamp: the store wraps
    state[:, :, -1] = (newest - info.min) % span + info.min
    scratch = wrap32(np.einsum("bfm,fm->bf", state - st_zp, ins[WT].astype(np.int64)))
    units = wrap32(scratch.reshape(batch, -1, int(call.attrs["rank"])).sum(axis=2))
    if ins[BIAS] is not None:
        units = wrap32(units + ins[BIAS].astype(np.int64))
    y = multiply_by_quantized_multiplier(units, m2, s2) + call.out_q().zp
    return (np.clip(y, -128, 127).astype(np.int8),
            state.reshape(ins[STATE].shape).astype(st_t.dtype))


def run_float(attrs: dict, ins: list) -> tuple[np.ndarray, np.ndarray]:
    """One float inference: ``(output, state after it)`` from the float input arrays
    (post-training quantization calibrates the state with it)."""
    batch, filters, memory = ins[X].shape[0], ins[WT].shape[0], ins[WT].shape[1]
    state = ins[STATE].reshape(batch, filters, memory).astype(np.float32)
    state = np.concatenate([state[:, :, 1:], state[:, :, :1]], axis=2)
    state[:, :, -1] = (ins[X].astype(np.float64) @ ins[WF].astype(np.float64).T)
    scratch = np.einsum("bfm,fm->bf", state.astype(np.float64), ins[WT].astype(np.float64))
    units = scratch.reshape(batch, -1, int(attrs["rank"])).sum(axis=2)
    if ins[BIAS] is not None:
        units = units + ins[BIAS].astype(np.float64)
    y = apply_float_activation(units.astype(np.float32), attrs["activation"])
    return y, state.reshape(ins[STATE].shape)


def _float(call) -> tuple[np.ndarray, np.ndarray]:
    return run_float(call.attrs, call.inputs)


def _run(call) -> tuple[np.ndarray, np.ndarray]:
    return (_int8 if call.inputs[X].dtype == np.int8 else _float)(call)


define_op("SVDF", attrs={"rank": 1, "activation": "NONE"}, infer_shapes=_shape, macs=_macs,
          min_inputs=3, requantizes=True,
          ptq=Ptq.RECURRENT,
          doc="stateful rank-decomposed time filter; inputs (x, w_feature, w_time, bias?, "
              "state)",
          updates_state=lambda call: {STATE: _run(call)[1]})


@kernel("SVDF", "int8", "float32")
def svdf(call):
    return [_run(call)[0]]
