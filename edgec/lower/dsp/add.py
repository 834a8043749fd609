"""int8 ADD and SUB of two same-shape tensors (``templates/kernels/dsp/add.c.j2``).

TFLM's ``AddFunc`` scales each input on its own before adding: ``MBQM((x + offset) << 20,
m, shift)``, a function of the int8 value alone. Python evaluates it for all 256 values of
each input at compile time (``edgec.ir.quant.multiply_by_quantized_multiplier``, the
interpreter's own arithmetic, so the tables are exact by construction; SUB negates the second
table, which is exact too: the scaled values stay far inside int32). Per element the kernel
then does two table loads, one add and the output requantization (``requant.py``'s SMMLAR
form on doubled tables when the output multiplier allows, which it does when every sum stays
below 2**30: four instructions and SSAT; TFLM's steps otherwise), four
elements per loaded word with a packed clamp and word store. In the SMMLAR form the right
shift is a literal of the C (``shift``: part of the kernel key), so SSAT shifts and saturates
in one instruction, the bytes are loaded one by one (LDRB: no lane extraction) and, where the
activation range is all of int8, the word is stored unclamped: 9 instructions per element
instead of 10.75 (IC's three ADDs 308,440 -> 258,120). Cost: two 1 KB tables of flash per
node. Broadcasting keeps the portable rule. The output may overwrite either input (in place).
"""

from __future__ import annotations

import numpy as np

from edgec.ir.ops.elementwise import ADD_SUB_LEFT_SHIFT, add_sub_params
from edgec.ir.quant import multiply_by_quantized_multiplier
from edgec.cdefs import CParam
from edgec.lower import consts, templates
from edgec.lower.dsp.common import HELPERS
from edgec.lower.dsp.requant import MMLA_MAX_SUM, mmla_row, requant_table
from edgec.lower.registry import KernelPlan, Param, lowering_variant

TEMPLATE = "dsp/add.c.j2"
BYTE_VALUES = np.arange(256, dtype=np.uint8).view(np.int8).astype(np.int64)  # by byte


def _table(offset: int, multiplier: int, shift: int) -> np.ndarray:
    """One input's scaled value for each of its 256 bytes (index = the byte as unsigned)."""
    lifted = (BYTE_VALUES + offset) << ADD_SUB_LEFT_SHIFT
    return multiply_by_quantized_multiplier(lifted, multiplier, shift)


def _plan(ctx, sign: int) -> KernelPlan | None:
    a, b, y = ctx.ins[0], ctx.ins[1], ctx.outs[0]
    if y.dtype != "int8" or a.shape != y.shape or b.shape != y.shape:
        return None
    p = add_sub_params(ctx.node.op, a.quant, b.quant, y.quant, ctx.attrs["activation"])
    tables = np.concatenate([_table(p.input1_offset, p.input1_multiplier, p.input1_shift),
                             sign * _table(p.input2_offset, p.input2_multiplier,
                                           p.input2_shift)])
    rq, fast = requant_table([p.output_multiplier], [p.output_shift], p.output_offset)
    row = mmla_row(p.output_multiplier, p.output_shift, p.output_offset)
    halves = np.abs(tables.reshape(2, 256)).max(axis=1)
    mmla = row is not None and int(halves.sum()) < MMLA_MAX_SUM
    if mmla:  # every sum below 2**30: doubled tables, the SMMLAR form
        tables, rq = 2 * tables, row
    nonneg = mmla and p.act_min >= p.output_offset
    # the SMMLAR form's right shift as a literal (SSAT shifts), no clamp for all of int8
    shift = int(row[2]) if mmla else None
    clamp = p.act_min > -128 or p.act_max < 127
    arrays = {"tables": consts.int32_array(tables), "rq": rq.reshape(-1),
              "params": consts.int32_array([0, p.output_offset, p.act_min, p.act_max])}
    names = {role: f"{ctx.func_name}_{role}" for role in arrays}

    def render() -> str:
        return templates.render(TEMPLATE, fast=fast, mmla=mmla, nonneg=nonneg, size=y.size,
                                shift=shift, clamp=clamp)

    c_params = [Param("a", ctx.node.inputs[0]), Param("b", ctx.node.inputs[1])]
    c_params += [Param(role, names[role]) for role in arrays]
    c_params.append(Param("y", ctx.node.outputs[0]))
    key = ("dsp", fast, mmla, nonneg, shift, clamp, templates.digest(TEMPLATE),
           templates.digest(HELPERS[0]))
    # Both inputs have the output's shape: a, b and y are not restrict (in place).
    signature = [CParam("a", "int8_t", const=True, restrict=False),
                 CParam("b", "int8_t", const=True, restrict=False)]
    signature += [CParam(role, "int32_t", const=True) for role in arrays]
    signature.append(CParam("y", "int8_t", restrict=False))
    return KernelPlan(c_params, {names[r]: arrays[r] for r in arrays}, c_template=render,
                      signature=signature, helpers=("dsp",), key=key, in_place=("a", "b"))


@lowering_variant("ADD", "dsp", "int8")
def add_dsp(ctx):
    """int8 ADD (TFLM ``reference_integer_ops::AddFunc``) of same-shape tensors."""
    return _plan(ctx, 1)


@lowering_variant("SUB", "dsp", "int8")
def sub_dsp(ctx):
    """int8 SUB (TFLM ``reference_ops::SubElementwise``) of same-shape tensors."""
    return _plan(ctx, -1)
