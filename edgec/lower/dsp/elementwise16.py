"""16x8 ADD, SUB and MUL of two same-shape tensors (``templates/kernels/dsp/elementwise_16x8.c.j2``).

int8's DSP ADD looks each input up in a 256-entry table; int16 inputs would need 65,536
entries. These kernels compute TFLM's arithmetic per element instead (``edgec.ir.ops.
elementwise``: ADD/SUB shift each input left by 15 and scale it, add, scale to the output;
MUL scales the product), each ``MultiplyByQuantizedMultiplier`` as ``requant.py``'s one 64-bit
multiply-accumulate and shift where its multiplier and shift allow (the output zero point
folded into the rounding constant), as ``floor((x + 1) / 2)`` for a multiplier of exactly 1/2
(the larger-scale input of every ADD and SUB), step by step otherwise (``edgec_mbqm_right``), two
elements per turn with a packed clamp and one word store. MUL with a multiplier that needs the
slow form (a real multiplier of 1/2 or more: a left shift) and broadcasting keep the portable
rule. The output may overwrite either input (in place).
"""

from __future__ import annotations

from edgec.cdefs import CParam
from edgec.ir.ops.elementwise import add_sub_params, check_int16_mul, mul_multiplier
from edgec.ir.quant import activation_range
from edgec.lower import consts, templates
from edgec.lower.dsp.requant import requant_table
from edgec.lower.registry import KernelPlan, Param, lowering_variant

TEMPLATE = "dsp/elementwise_16x8.c.j2"
HELPERS = ("dsp/_intrinsics.h.j2", "dsp/_int16.h.j2")


def _rows(pairs, zps) -> tuple[list, list[str]]:
    """requant.py's rows (each its own form) of ``(multiplier, shift)`` pairs, the zero point
    folded into a fast row; None when a pair needs a left shift."""
    rows, forms = [], []
    for (mult, shift), zp in zip(pairs, zps):
        if shift > 0:
            return None, []
        table, fast = requant_table([mult], [shift], zp)
        rows.extend(int(v) for v in table[0])
        forms.append("fast" if fast else "half" if (mult, shift) == (1 << 30, 0) else "exact")
    return rows, forms


def _plan(ctx) -> KernelPlan | None:
    a, b, y = ctx.ins[0], ctx.ins[1], ctx.outs[0]
    op = ctx.node.op
    if y.dtype != "int16" or a.shape != y.shape or b.shape != y.shape:
        return None
    if op == "MUL":
        check_int16_mul(ctx.node, a.quant, b.quant, y.quant, "int16")
        lo, hi = activation_range(ctx.attrs["activation"], y.quant.s, y.quant.zp, "int16")
        rows, forms = _rows([(0, 0), (0, 0), mul_multiplier(a.quant, b.quant, y.quant)],
                            [0, 0, y.quant.zp])
        if rows is None or forms[2] != "fast":
            return None
        params = [0, 0, y.quant.zp, lo, hi]
    else:
        p = add_sub_params(op, a.quant, b.quant, y.quant, ctx.attrs["activation"], "int16")
        rows, forms = _rows([(p.input1_multiplier, p.input1_shift),
                             (p.input2_multiplier, p.input2_shift),
                             (p.output_multiplier, p.output_shift)], [0, 0, p.output_offset])
        if rows is None:
            return None
        params = [p.input1_offset, p.input2_offset, p.output_offset, p.act_min, p.act_max]
    offsets = any(params[:2])
    arrays = {"rq": consts.int32_array(rows), "params": consts.int32_array(params)}
    names = {role: f"{ctx.func_name}_{role}" for role in arrays}

    def render() -> str:
        return templates.render(TEMPLATE, forms=forms, size=y.size, op=op, offsets=offsets)

    c_params = [Param("a", ctx.node.inputs[0]), Param("b", ctx.node.inputs[1])]
    c_params += [Param(role, names[role]) for role in arrays]
    c_params.append(Param("y", ctx.node.outputs[0]))
    key = ("dsp16", tuple(forms), offsets, templates.digest(TEMPLATE),
           *(templates.digest(h) for h in HELPERS))
    signature = [CParam("a", "int16_t", const=True, restrict=False),
                 CParam("b", "int16_t", const=True, restrict=False)]
    signature += [CParam(role, "int32_t", const=True) for role in arrays]
    signature.append(CParam("y", "int16_t", restrict=False))
    return KernelPlan(c_params, {names[r]: arrays[r] for r in arrays}, c_template=render,
                      signature=signature, helpers=("dsp", "dsp_int16"), key=key,
                      in_place=("a", "b"))


@lowering_variant("ADD", "dsp", "int16")
def add_dsp16(ctx):
    """16x8 ADD (TFLM ``reference_integer_ops::AddFunc`` on int16) of same-shape tensors."""
    return _plan(ctx)


@lowering_variant("SUB", "dsp", "int16")
def sub_dsp16(ctx):
    """16x8 SUB (TFLM ``reference_ops::SubElementwise`` on int16) of same-shape tensors."""
    return _plan(ctx)


@lowering_variant("MUL", "dsp", "int16")
def mul_dsp16(ctx):
    """16x8 MUL (TFLM ``reference_integer_ops::MulElementwise`` on int16) of same-shape
    tensors."""
    return _plan(ctx)
