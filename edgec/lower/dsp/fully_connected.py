"""int8 FULLY_CONNECTED with SMLAD (``templates/kernels/dsp/fully_connected.c.j2``).

A matrix-vector product per input row: the row is extended once to int16 (minus the input
zero point) in the arena scratch, then four output channels share each loaded pair of row
words: per four row values, two words of row and eight of weights feed eight SMLADs. Weights
are int16 pairs in SXTAB16 lane order, four channels interleaved (``layout.blocked``). Weights
with a zero point (TFLM's per-tensor path subtracts it) keep the portable rule.

``--optimize size``: int8 weights as split words (``fc_split.py``,
``fully_connected_split.c.j2``): two output channels per word, 3 instructions per 4
multiply-accumulates; the row widened into scratch, or (``no_scratch``) read in place.

int4 weights (W4A8): ``edgec.lower.dsp.int4`` (``fully_connected_s4.c.j2``), in both modes.
"""

from __future__ import annotations

from edgec.ir.ops.fully_connected import int8_multipliers
from edgec.ir.quant import activation_range
from edgec.lower import consts
from edgec.lower.dsp import fc_split, int4, layout
from edgec.lower.dsp.common import (bias_or_zeros, compact, int8_output, int8_weights,
                                    kernel_plan)
from edgec.lower.registry import lowering_variant


def _quant(ctx, channels: int, mult, shift) -> dict:
    x_q, y_q = ctx.ins[0].quant, ctx.outs[0].quant
    mult, shift = consts.requant_arrays(mult, shift, channels, ctx.node.name)
    lo, hi = activation_range(ctx.attrs["activation"], y_q.s, y_q.zp)
    return {"mult": mult, "shift": shift,
            "params": consts.int32_array([x_q.zp, y_q.zp, lo, hi])}


def _accepts(ctx) -> bool:
    return int8_output(ctx) and int8_weights(ctx)


@lowering_variant("FULLY_CONNECTED", "dsp", "int8")
def fully_connected_dsp(ctx):
    """int8 FULLY_CONNECTED (TFLM ``FullyConnected[PerChannel]``) without a weight offset."""
    if ctx.ins[1].dtype == "int4":
        return int4.fully_connected_plan(ctx, _quant)
    return _plan(ctx, in_registers=False) if _accepts(ctx) else None


@lowering_variant("FULLY_CONNECTED", "no_scratch:dsp", "int8")
def fully_connected_dsp_no_scratch(ctx):
    """The kernel without its row scratch (a memory variant, ``edgec.ram``). Speed: the row
    read in place and widened in registers once per four output channels (32 instructions
    per 32 multiply-accumulates against 27 plus the one widening pass), rows of a multiple
    of four values. ``--optimize size``: the split-word kernel reading the int8 row in place
    (``fc_split.py``: 31 instructions per 32 against 29)."""
    if not _accepts(ctx) or (not compact(ctx) and ctx.ins[1].shape[1] % 4):
        return None
    return _plan(ctx, in_registers=True)


def _plan(ctx, in_registers: bool):
    mult, shift, w_offset = int8_multipliers(ctx.ins[0].quant, ctx.ins[1].quant,
                                             ctx.outs[0].quant)
    if w_offset != 0:
        return None
    cout, k = ctx.ins[1].shape
    groups = -(-k // 4)
    weights = consts.constant_input(ctx, 1, "weights")
    bias = bias_or_zeros(consts.constant_input(ctx, 2, "bias"), cout)
    quant = _quant(ctx, cout, mult, shift)
    geometry = dict(rows=ctx.ins[0].size // k, k=k, cout=cout, groups=groups)
    if compact(ctx):
        return fc_split.plan(ctx, weights, consts.constant_input(ctx, 2, "bias"), quant,
                             wide=not in_registers)
    return kernel_plan(ctx, "fully_connected.c.j2", layout.blocked(weights, 4), bias, quant,
                       scratch_bytes=0 if in_registers else groups * 8,
                       scratch_ctype="int32_t", in_registers=in_registers, **geometry)
