"""UNIDIRECTIONAL_SEQUENCE_LSTM, int8, int16 (16x8) and float32, as C templates
(``templates/kernels/lstm_integer.c.j2``, ``lstm_float.c.j2``).

Not TE: a step reads the hidden state the previous step wrote, so the sequence is a loop
carrying state, and the int8 gates are TFLite's int16 table lookups with data-dependent
interpolation. The integer template (int8 and 16x8) follows ``edgec.ir.ops.lstm`` step by
step, its int16 sigmoid/tanh and dot products are the named helpers of ``lstm_int16.h.j2``,
its requantizations ``edgec_mbqm_left`` (``requant.h.j2``) and, for 16x8's int64 gate sums,
``edgec_mbqm64`` with the 16-bit multipliers precomputed; every Prepare-time number
(``lstm.integer_params``) is one int32 array. The scratch holds the cell state, the four gates and the hidden state of one
step; the initial states are copied in at every call (per-sequence state), or with
``carry_state`` h0 and c0 are persistent state buffers (``KernelPlan.states``) that the
kernel reads at the start and writes the final states back to (docs/IR.md "Recurrent state").
Run-time initial states (ONNX graph inputs) are read like the constant ones; with
``cell_output`` y is the final cell state (int16 for the integer kernels).
"""

from __future__ import annotations

import numpy as np

from edgec.cdefs import C_TYPES, CParam
from edgec.ir.int16 import reduced_multiplier
from edgec.ir.ops import lstm
from edgec.lower import consts, templates
from edgec.lower.registry import KernelPlan, Param, lowering_rule
from edgec.lower.rules._te import const_param

INTEGER_TEMPLATE, FLOAT_TEMPLATE = "lstm_integer.c.j2", "lstm_float.c.j2"
STATE_MACROS = "_lstm_state.j2"  # the update after the gates, shared with the DSP kernel


def sizes_of(ctx) -> dict:
    batch, steps, features = lstm.sizes(ctx.node, ctx.ins[lstm.X].shape)
    return {"batch": batch, "steps": steps, "features": features,
            "hidden": ctx.ins[lstm.W_IN].shape[0], "time_major": bool(ctx.attrs["time_major"]),
            "return_sequences": bool(ctx.attrs["return_sequences"]),
            "reverse": bool(ctx.attrs["reverse"]), "carry": bool(ctx.attrs["carry_state"]),
            "cell_output": bool(ctx.attrs["cell_output"])}


STATES = ("h0", "c0")


def output_ctype(ctx) -> str:
    """The C type of y: the hidden state's, or the int16 cell state's with cell_output."""
    return C_TYPES[ctx.outs[0].dtype]


def tensor_params(ctx) -> tuple[list[Param], list[CParam]]:
    """x, wi0..3, wr0..3, b0..3, h0, c0 as C parameters (read-only, but for carried
    states)."""
    names = ["x"] + [f"wi{g}" for g in range(4)] + [f"wr{g}" for g in range(4)] \
        + [f"b{g}" for g in range(4)] + list(STATES)
    carry = bool(ctx.attrs["carry_state"])
    params = [Param(n, src) for n, src in zip(names, ctx.node.inputs)]
    signature = [CParam(n, C_TYPES[t.dtype], const=not (carry and n in STATES))
                 for n, t in zip(names, ctx.ins)]
    return params, signature


def states_of(ctx) -> tuple[str, ...]:
    return STATES if ctx.attrs["carry_state"] else ()


@lowering_rule("UNIDIRECTIONAL_SEQUENCE_LSTM", "int8")
def lstm_int8(ctx) -> KernelPlan:
    """TFLM's int8 LSTM (8x8_16: int16 gates and cell state)."""
    return _integer_plan(ctx, wide=False)


@lowering_rule("UNIDIRECTIONAL_SEQUENCE_LSTM", "int16")
def lstm_int16(ctx) -> KernelPlan:
    """TFLM's 16x8 LSTM (int16 activations, int8 weights, int64 biases)."""
    return _integer_plan(ctx, wide=True)


def integer_values(ctx, wide: bool) -> np.ndarray:
    """The integer kernels' ``params`` array (the template's header lists it)."""
    p = lstm.integer_params(ctx.node, ctx.ins)
    gates = p["in_mult"] + p["in_shift"] + p["rec_mult"] + p["rec_shift"]
    if wide:  # the int64 requantization's 16-bit multipliers and total shifts
        mult, total = reduced_multiplier(p["in_mult"] + p["rec_mult"],
                                         p["in_shift"] + p["rec_shift"])
        gates = [*mult[:4], *total[:4], *mult[4:], *total[4:]]
    values = gates + [*p["forget_cell"], *p["input_cell"], *p["hidden"]] \
        + [p["x_zp"], p["h_zp"], p["cell_clip"], p["tanh_mult"], p["tanh_left"]]
    return consts.int32_array(values)


def _integer_plan(ctx, wide: bool) -> KernelPlan:
    values = integer_values(ctx, wide)
    sizes = sizes_of(ctx)
    params, signature = tensor_params(ctx)
    params += [const_param(ctx, "params"), Param("y", ctx.node.outputs[0])]
    signature += [CParam("params", "int32_t", const=True), CParam("y", output_ctype(ctx)),
                  CParam("scratch", "int16_t")]
    state = sizes["batch"] * sizes["hidden"]
    return KernelPlan(params, {f"{ctx.func_name}_params": values},
                      c_template=lambda: templates.render(
                          INTEGER_TEMPLATE, wide=wide, **sizes,
                          x_narrow=narrow_sums(ctx, lstm.W_IN, int(values[22])),
                          h_narrow=narrow_sums(ctx, lstm.W_REC, int(values[23]))),
                      signature=signature, helpers=("mbqm_left", "lstm_int16"),
                      key=(templates.digest(INTEGER_TEMPLATE),
                           templates.digest(STATE_MACROS), templates.digest("lstm_int16.h.j2")),
                      scratch_bytes=5 * 2 * state + (2 if wide else 1) * state,
                      states=states_of(ctx))


def narrow_sums(ctx, first: int, zp: int) -> bool:
    """Whether no 16x8 gate sum of the four weights from input ``first`` on can leave int32
    (int16 values minus ``zp`` times a weight row): then the C sums in int32, the same sums
    as TFLM's int64 ones, cheaper on 32-bit cores (on the M4 1.2x -> 1.0x int8's)."""
    weights = [t.data for t in ctx.ins[first:first + 4]]
    if any(w is None for w in weights):
        return False
    peak = (1 << 15) + abs(int(zp))
    rows = max(int(np.abs(w.astype(np.int64)).sum(axis=1).max(initial=0)) for w in weights)
    return peak * rows < (1 << 31)


@lowering_rule("UNIDIRECTIONAL_SEQUENCE_LSTM", "float32")
def lstm_float(ctx) -> KernelPlan:
    """float32 LSTM, TFLM's order of operations."""
    sizes = sizes_of(ctx)
    clip = float(np.float32(ctx.attrs["cell_clip"]))
    literal = f"{clip:.9e}f" if clip > 0 else ""
    params, signature = tensor_params(ctx)
    params.append(Param("y", ctx.node.outputs[0]))
    signature += [CParam("y", "float"), CParam("scratch", "float")]
    state = sizes["batch"] * sizes["hidden"]
    return KernelPlan(params, c_template=lambda: templates.render(
                          FLOAT_TEMPLATE, cell_clip=literal, **sizes),
                      signature=signature, key=(templates.digest(FLOAT_TEMPLATE),),
                      scratch_bytes=6 * 4 * state, math=("expf", "tanhf"),
                      states=states_of(ctx))
