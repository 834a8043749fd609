"""int8 and 16x8 UNIDIRECTIONAL_SEQUENCE_LSTM with the gate products on SMLAD
(``templates/kernels/dsp/lstm.c.j2``, helpers ``_lstm.h.j2``).

The portable kernel (``edgec.lower.rules.lstm``) spends ~11 instructions per
multiply-accumulate in its byte-at-a-time gate dot products. Here the four gates' input
weights are one ``[4 * hidden, features]`` matrix and the recurrent ones one ``[4 * hidden,
hidden]`` matrix, four rows interleaved (4 * hidden rows are always whole blocks of four),
the reduction zero-padded to a multiple of eight. Per step and batch row the input vector
and the hidden state are widened once into scratch (minus their zero points, SXTAB16 lane
order), and four gate rows take one pass: speed mode ``edgec_dot4`` over int16 weight pairs
(``layout.blocked``; the speed FULLY_CONNECTED's loop, 27 instructions per 32
multiply-accumulates), ``--optimize size``/``ram`` ``edgec_lstm_dot4_s8`` over int8 weights
(``layout.blocked8``, widened by SXTB16). The sums are the portable kernel's int32 ones
(int8: exact as TFLM's; SMLAD wraps as int32 addition does).

After the sums, TFLM's integer steps as in the portable kernel (its helpers,
``lstm_int16.h.j2``, and the shared cell update, ``_lstm_state.j2``), with two exact
shortcuts: saturation by SSAT, and each requantization whose sums the weights and biases
bound tightly enough as one SMMLAR (``edgec_lstm_mbqm``): int8 gates and the cell update
take TFLite's int32 MultiplyByQuantizedMultiplier in requant.py's SMMLAR form (the sum
doubled and left-shifted must fit int32); 16x8 gates take the int64 form
``(x * reduced + 2^(t-1)) >> t`` as SMMLAR of ``x << j`` and ``reduced << k`` with ``j + k
= 32 - t``. Requantizations that do not fit keep ``edgec_mbqm_left`` / ``edgec_mbqm64``.
Where hidden % 4 == 0 the four rows of a pass belong to one gate, and the sigmoid or tanh is
chosen once per pass (6 % fewer instructions than deciding per row).

Declined (portable kernel): weights that are not constants, 16x8 with a nonzero zero
point (TFLM's 16x8 has none; ``x - zp`` could leave int16) or with gate sums that could
leave int32 (the portable kernel sums those in int64, ``rules.lstm.narrow_sums``).

mps2-an386 (``edgec verify lstm.onnx --calibrate cal.npz --activations int8|int16
--per-layer``; ONNX LSTM 32 steps x 8 features -> 16 hidden), LSTM kernel instructions,
portable -> speed / size: int8 560,960 -> 212,400 / 252,960; 16x8 553,400 -> 211,440 /
253,840.
"""

from __future__ import annotations

import numpy as np

from edgec.cdefs import CParam
from edgec.ir.ops import lstm
from edgec.lower import templates
from edgec.lower.dsp import layout
from edgec.lower.dsp.common import compact
from edgec.lower.registry import KernelPlan, Param, lowering_variant
from edgec.lower.rules import lstm as portable
from edgec.lower.rules._te import const_param

TEMPLATE = "dsp/lstm.c.j2"
HELPERS = ("dsp/_intrinsics.h.j2", "dsp/_compact.h.j2", "dsp/_lstm.h.j2", "lstm_int16.h.j2", "requant.h.j2",
           "_lstm_state.j2")


def _pairs(k: int) -> int:
    """SMLAD loop passes of eight values for a reduction of ``k`` (at least one)."""
    return max(1, -(-k // 8))


def _matrix(weights: list[np.ndarray], pairs: int, int8: bool) -> np.ndarray:
    """The four gates' ``[hidden, k]`` weights as one zero-padded ``[4 * hidden, 8 * pairs]``
    matrix in the kernel's words: int16 pairs (``layout.blocked``) or, ``int8``, four int8
    weights a word (``layout.blocked8``)."""
    rows = np.concatenate(weights).astype(np.int16)
    padded = np.zeros((rows.shape[0], 8 * pairs), np.int16)
    padded[:, :rows.shape[1]] = rows
    return layout.blocked8(padded, 4) if int8 else layout.blocked(padded, 4)


def _mbqm_row(mult: int, shift: int, bound: int) -> list[int] | None:
    """The ``edgec_lstm_mbqm`` row of TFLite's int32 requantization of sums up to ``bound`` in
    magnitude, or None where a sum times ``2^(left + 1)`` could leave int32."""
    left, right = max(shift, 0), max(-shift, 0)
    if bound << (left + 1) >= 1 << 31 or right > 30:
        return None
    return [mult, 1 << (left + 1), (1 << (right - 1)) if right else 0, -1 if right else 0,
            right]


def _mbqm64_row(reduced: int, total: int, bound: int) -> list[int] | None:
    """The row of the 16x8 int64 requantization ``(x * reduced + 2^(total-1)) >> total`` of
    sums up to ``bound``: ``reduced << k`` times ``x << (32 - total - k)`` in one SMMLAR."""
    if not 1 <= total <= 32 or reduced <= 0:
        return None
    k = min(32 - total, 30 - int(reduced).bit_length() + 1)
    j = 32 - total - k
    if k < 0 or bound << j >= 1 << 31:
        return None
    return [reduced << k, 1 << j, 0, 0, 0]


def _gate_rows(ctx, values: np.ndarray, wide: bool) -> list[list[int]] | None:
    """The eight gate requantizations (four input gates, then four recurrent) as
    ``edgec_lstm_mbqm`` rows, or None where one of them cannot take it."""
    x_zp, h_zp = int(values[22]), int(values[23])
    lo, hi = (-32768, 32767) if wide else (-128, 127)
    rows = []
    for side, (first, zp) in enumerate([(lstm.W_IN, x_zp), (lstm.W_REC, h_zp)]):
        peak = max(abs(lo - zp), abs(hi - zp))
        for g in range(4):
            bound = peak * np.abs(ctx.ins[first + g].data.astype(np.int64)).sum(axis=1)
            if side == 0:
                bias = ctx.ins[lstm.BIAS + g].data
                if bias is None:
                    return None
                bound = bound + np.abs(bias.astype(np.int64))
            mult, shift = int(values[8 * side + g]), int(values[8 * side + 4 + g])
            bound = int(bound.max(initial=0))
            row = _mbqm64_row(mult, shift, bound) if wide else _mbqm_row(mult, shift, bound)
            if row is None:
                return None
            rows.append(row)
    return rows


# |forget * cell|, |input * cell gate|, |tanh * output|: a sigmoid (0..32767) times an int16
CELL_BOUND = 32768 * 32767


def _cell_rows(values: np.ndarray) -> list[list[int]] | None:
    """The cell update's three requantizations (params 16..21) as ``edgec_lstm_mbqm`` rows."""
    rows = [_mbqm_row(int(values[16 + 2 * k]), int(values[17 + 2 * k]), CELL_BOUND)
            for k in range(3)]
    return None if any(r is None for r in rows) else rows


@lowering_variant("UNIDIRECTIONAL_SEQUENCE_LSTM", "dsp", "int8", "int16")
def lstm_dsp(ctx):
    """TFLM's integer LSTM (8x8_16 or 16x8) with SMLAD gate products."""
    wide = ctx.ins[lstm.X].dtype == "int16"
    w_in = [t.data for t in ctx.ins[lstm.W_IN:lstm.W_IN + 4]]
    w_rec = [t.data for t in ctx.ins[lstm.W_REC:lstm.W_REC + 4]]
    if any(w is None for w in w_in + w_rec):
        return None
    values = portable.integer_values(ctx, wide)
    x_zp, h_zp = int(values[22]), int(values[23])
    if wide and (x_zp or h_zp or not portable.narrow_sums(ctx, lstm.W_IN, x_zp)
                 or not portable.narrow_sums(ctx, lstm.W_REC, h_zp)):
        return None
    sizes = portable.sizes_of(ctx)
    x_pairs, h_pairs = _pairs(sizes["features"]), _pairs(sizes["hidden"])
    params, signature = portable.tensor_params(ctx)
    keep = [0, *range(9, len(params))]  # x, b0..b3, h0, c0: the weights become wi, wr
    params = [params[i] for i in keep][:1] + [const_param(ctx, "wi"), const_param(ctx, "wr")] \
        + [params[i] for i in keep][1:]
    signature = [signature[i] for i in keep][:1] \
        + [CParam("wi", "int32_t", const=True), CParam("wr", "int32_t", const=True)] \
        + [signature[i] for i in keep][1:]
    gate_rows, cell_rows = _gate_rows(ctx, values, wide), _cell_rows(values)
    gq = (gate_rows or []) + (cell_rows or [])
    cell = None if cell_rows is None else 5 * len(gate_rows or [])
    gq = np.asarray(gq, np.int64).astype(np.int32).reshape(-1) if gq else None
    constants = {f"{ctx.func_name}_wi": _matrix(w_in, x_pairs, compact(ctx)),
                 f"{ctx.func_name}_wr": _matrix(w_rec, h_pairs, compact(ctx)),
                 f"{ctx.func_name}_params": values}
    params.append(const_param(ctx, "params"))
    signature.append(CParam("params", "int32_t", const=True))
    if gq is not None:
        constants[f"{ctx.func_name}_gq"] = gq
        params.append(const_param(ctx, "gq"))
        signature.append(CParam("gq", "int32_t", const=True))
    params.append(Param("y", ctx.node.outputs[0]))
    signature += [CParam("y", portable.output_ctype(ctx)), CParam("scratch", "int32_t")]
    state = sizes["batch"] * sizes["hidden"]
    geometry = dict(wide=wide, compact=compact(ctx), fast=gate_rows is not None, cell=cell, x_pairs=x_pairs, h_pairs=h_pairs, **sizes)
    return KernelPlan(params, constants,
                      c_template=lambda: templates.render(TEMPLATE, **geometry),
                      signature=signature, helpers=("dsp", "dsp_compact", "mbqm_left", "lstm_int16", "dsp_lstm") if compact(ctx)
                      else ("dsp", "mbqm_left", "lstm_int16", "dsp_lstm"),
                      key=("dsp", repr(sorted(geometry.items())), templates.digest(TEMPLATE),
                           *(templates.digest(h) for h in HELPERS)),
                      scratch_bytes=16 * (x_pairs + h_pairs) + 10 * state
                      + (2 if wide else 1) * state,
                      states=portable.states_of(ctx))
