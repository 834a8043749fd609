"""int8 SOFTMAX from a compile-time exp table (``templates/kernels/dsp/softmax_lut.c.j2``).

TFLM's int8 softmax (``reference_ops::Softmax``, ``edgec.ir.ops.softmax``) computes, per
element, gemmlowp's ``exp_on_negative_values`` of ``diff = x - row max`` scaled into Q5.26: a
polynomial and a barrel of up to seven fixed-point multiplies, twice per element (once to
sum, once to scale), about 270 instructions an element on the M4. ``diff`` is an int8
difference, one of 256 values, so Python evaluates that exp for each of them at compile time
with the interpreter's own arithmetic (exact by construction): ``lut[d]`` is exp(-d) in Q0.31
for ``d = max - x``, and 0 where ``-d`` is below ``diff_min`` (a dead difference: it adds 0
to the sum and its output is the output minimum, exactly what 0 gives). Only the live
differences are stored (``-diff_min + 1`` entries at most 256; larger ``d`` read as 0). Per
element the kernel then does a table load and add (the sum's ``Rescale`` to Q12.19 of a
non-negative value is ``(e + 2048) >> 12``), and, after the row's ``GetReciprocal`` (as in
the portable template), one 32x32->64 multiply, two rounding shifts and a clamp. Every value
the rounding steps see is non-negative, so gemmlowp's rounding reduces to adding half.

Registered as the DSP variant of SOFTMAX/int8 (int8 or int16 output, as TFLM requires); the C
is plain C99 (no intrinsic beats the table), so it runs unchanged on the host. Flash: the
table, at most 1 KiB per node (equal tables are emitted once).
"""

from __future__ import annotations

import numpy as np

from edgec.cdefs import C_TYPES, CParam
from edgec.ir import fixedpoint as fp
from edgec.ir.ops.softmax import ACCUMULATION_INTEGER_BITS, SCALED_DIFF_INTEGER_BITS, \
    softmax_params
from edgec.ir.quant import wrap32
from edgec.lower import consts, templates
from edgec.lower.registry import KernelPlan, Param, lowering_variant
from edgec.lower.rules.softmax import MAX_INT8_DEPTH, _check_output, _rows

TEMPLATE = "dsp/softmax_lut.c.j2"


def exp_table(multiplier: int, left_shift: int, diff_min: int) -> np.ndarray:
    """``lut[d]``: exp of the difference ``-d`` in Q0.31 as TFLM computes it, for the live
    differences ``0 <= d <= -diff_min`` (at most 256 entries)."""
    diff = -np.arange(min(256, -diff_min + 1), dtype=np.int64)
    scaled = fp.fp_mul(wrap32(diff << left_shift), multiplier)
    exps = fp.exp_on_negative_values(scaled, SCALED_DIFF_INTEGER_BITS)
    return consts.int32_array(np.where(diff >= diff_min, exps, 0))


@lowering_variant("SOFTMAX", "dsp", "int8")
def softmax_lut(ctx) -> KernelPlan | None:
    """int8 SOFTMAX (TFLM ``reference_ops::Softmax``) to int8 or int16, from an exp table."""
    out_dtype = _check_output(ctx)
    rows, depth = _rows(ctx)
    if depth > MAX_INT8_DEPTH:
        return None  # the portable rule says why
    p = softmax_params(ctx.attrs["beta"], ctx.ins[0].quant.s)
    lut = exp_table(p.input_multiplier, p.input_left_shift, p.diff_min)
    info = np.iinfo(out_dtype)
    name = f"{ctx.func_name}_lut"

    def render() -> str:
        return templates.render(TEMPLATE, rows=rows, depth=depth, entries=int(lut.size),
                                out_ctype=C_TYPES[out_dtype], out_min=int(info.min),
                                out_max=int(info.max),
                                exponent_base=ACCUMULATION_INTEGER_BITS + 31 - info.bits)

    params = [Param("x", ctx.node.inputs[0]), Param("lut", name),
              Param("y", ctx.node.outputs[0])]
    signature = [CParam("x", "int8_t", const=True), CParam("lut", "int32_t", const=True),
                 CParam("y", C_TYPES[out_dtype])]
    return KernelPlan(params, {name: lut}, c_template=render, signature=signature,
                      key=("dsp", int(lut.size), templates.digest(TEMPLATE)), form=TEMPLATE)
