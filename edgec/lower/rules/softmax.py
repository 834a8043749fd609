"""SOFTMAX over the last axis: int8 input (int8 or int16 output) and float32; LOG_SOFTMAX
int8 and float32.

int8 input is a C template (``templates/kernels/softmax_int8.c.j2``), not TE: TFLM's kernel
is gemmlowp fixed point with data-dependent control (count-leading-zeros normalisation, a
bit-by-bit barrel of exp factors, Newton-Raphson for 1/sum) and two passes per row that TE
could only express as many whole-row stages with scratch buffers. The template follows
``edgec.ir.fixedpoint`` line by line; its parameters are ``params = [input multiplier, input
left shift, diff_min]``. The output type changes only the final shift and the clamp.

int8 LOG_SOFTMAX is a template for the same reasons (``log_softmax_int8.c.j2``, following
``edgec.ir.ops.log_softmax`` and ``edgec.ir.fixedpoint.log_x_for_x_ge_1``); its parameters are
``params = [input multiplier, input left shift, reverse scaling divisor, reverse scaling right
shift, diff_min]``.

float32 is TE: row maximum, ``exp((x - max) * beta)`` summed, each exp divided by the sum.
"""

from __future__ import annotations

import numpy as np

from edgec.cdefs import C_TYPES, CParam
from edgec.errors import EdgecError
from edgec.ir.ops.softmax import ACCUMULATION_INTEGER_BITS, OUTPUT_QUANT, softmax_params
from edgec.lower import consts, templates
from edgec.lower.registry import Built, KernelPlan, Param, lowering_rule
from edgec.lower.rules._te import const_param, placeholder
from edgec.lower.tir import attach, init_before, inline

# Each exp adds at most 2**19 (1.0 in Q12.19) to the int32 sum.
MAX_INT8_DEPTH = 4095
TEMPLATE = "softmax_int8.c.j2"


def _rows(ctx) -> tuple[int, int]:
    depth = ctx.ins[0].shape[-1]
    return ctx.ins[0].size // depth, depth


def _check_output(ctx) -> str:
    """The output dtype, after checking the quantization TFLM requires of it."""
    out = ctx.outs[0]
    zp, scale, tol = OUTPUT_QUANT.get(out.dtype, (None, None, None))
    if zp is None or out.quant is None or out.quant.zp != zp \
            or abs(out.quant.s - np.float32(scale)) > tol:
        raise EdgecError(f"SOFTMAX '{ctx.node.name}': no lowering for a {out.dtype} output "
                         f"quantized {out.quant}", "int8 softmax writes int8 with scale 1/256, "
                         "zero point -128, or int16 with scale 1/65536, zero point -32768")
    return out.dtype


@lowering_rule("SOFTMAX", "int8")
def softmax_int8(ctx) -> KernelPlan:
    """int8 SOFTMAX (TFLM ``reference_ops::Softmax``) to int8 or int16, from the template."""
    out_dtype = _check_output(ctx)
    rows, depth = _rows(ctx)
    if depth > MAX_INT8_DEPTH:
        raise EdgecError(f"SOFTMAX '{ctx.node.name}' over {depth} values: more than "
                         f"{MAX_INT8_DEPTH} would overflow TFLM's int32 sum")
    p = softmax_params(ctx.attrs["beta"], ctx.ins[0].quant.s)
    constants = {f"{ctx.func_name}_params": consts.int32_array(
        [p.input_multiplier, p.input_left_shift, p.diff_min])}
    info = np.iinfo(out_dtype)

    def render() -> str:
        return templates.render(
            TEMPLATE, rows=rows, depth=depth, out_ctype=C_TYPES[out_dtype], out_min=int(info.min), out_max=int(info.max),
            exponent_base=ACCUMULATION_INTEGER_BITS + 31 - info.bits)

    params = [Param("x", ctx.node.inputs[0]), const_param(ctx, "params"),
              Param("y", ctx.node.outputs[0])]
    signature = [CParam("x", "int8_t", const=True), CParam("params", "int32_t", const=True),
                 CParam("y", C_TYPES[out_dtype])]
    return KernelPlan(params, constants, c_template=render, signature=signature,
                      key=(templates.digest(TEMPLATE),))


TEMPLATE_INT16 = "softmax_int16.c.j2"


@lowering_rule("SOFTMAX", "int16")
def softmax_int16(ctx) -> KernelPlan:
    """int16 SOFTMAX (TFLM ``SoftmaxInt16``), from the template; its two tables are derived
    constants (``edgec.ir.int16.softmax_luts``, 1 KiB each)."""
    from edgec.ir.int16 import check_q015, softmax_luts
    from edgec.ir.ops.softmax import softmax_int16_params

    check_q015(ctx.node, ctx.ins[0].quant, ctx.outs[0].quant)
    rows, depth = _rows(ctx)
    if depth > 65536:
        raise EdgecError(f"SOFTMAX '{ctx.node.name}' over {depth} values: more than 65536 "
                         "would overflow TFLM's int32 sum of exps")
    mult, shift = softmax_int16_params(ctx.attrs["beta"], ctx.ins[0].quant.s)
    mult_a, shift_a = consts.requant_arrays(mult, shift, 1, ctx.node.name)
    exp_lut, recip_lut = softmax_luts()
    constants = {f"{ctx.func_name}_params": consts.int32_array([mult_a[0], shift_a[0]]),
                 f"{ctx.func_name}_exp_lut": exp_lut, f"{ctx.func_name}_recip_lut": recip_lut}
    helper = "mbqm_left" if shift > 0 else "mbqm"

    def render() -> str:
        return templates.render(TEMPLATE_INT16, rows=rows, depth=depth, mbqm=f"edgec_{helper}")

    params = [Param("x", ctx.node.inputs[0]), const_param(ctx, "params"),
              const_param(ctx, "exp_lut"), const_param(ctx, "recip_lut"),
              Param("y", ctx.node.outputs[0])]
    signature = [CParam("x", "int16_t", const=True), CParam("params", "int32_t", const=True),
                 CParam("exp_lut", "int16_t", const=True),
                 CParam("recip_lut", "int16_t", const=True), CParam("y", "int16_t")]
    return KernelPlan(params, constants, c_template=render, signature=signature,
                      helpers=(helper,), key=(templates.digest(TEMPLATE_INT16), helper))


def _float_schedule(sch):
    inline(sch, "e")
    attach(sch, "y", 0, "total", "peak")
    init_before(sch, "total", 1)
    init_before(sch, "peak", 1)


@lowering_rule("SOFTMAX", "float32")
def softmax_float(ctx) -> KernelPlan:
    """float32 SOFTMAX: ``exp((x - max) * beta) / sum`` per row."""
    rows, depth = _rows(ctx)
    beta = float(np.float32(ctx.attrs["beta"]))

    def build() -> Built:
        from tvm import te, tirx

        x = placeholder((rows, depth), "float32", "x")
        k1, k2 = te.reduce_axis((0, depth), "k1"), te.reduce_axis((0, depth), "k2")
        peak = te.compute((rows,), lambda r: te.max(x[r, k1], axis=[k1]), name="peak")
        e = te.compute((rows, depth), lambda r, c: tirx.exp(
            (x[r, c] - peak[r]) * tirx.const(beta, "float32")), name="e")
        total = te.compute((rows,), lambda r: te.sum(e[r, k2], axis=[k2]), name="total")
        y = te.compute((rows, depth), lambda r, c: e[r, c] / total[r], name="y")
        return Built([x, y], _float_schedule)

    return KernelPlan([Param("x", ctx.node.inputs[0]), Param("y", ctx.node.outputs[0])],
                      build=build, key=(beta,))


TEMPLATE_LOG = "log_softmax_int8.c.j2"


@lowering_rule("LOG_SOFTMAX", "int8")
def log_softmax_int8(ctx) -> KernelPlan:
    """int8 LOG_SOFTMAX (TFLM ``reference_ops::LogSoftmaxQuantized``), from the template."""
    from edgec.ir import fixedpoint as fp
    from edgec.ir.ops import log_softmax as ls

    what = f"LOG_SOFTMAX '{ctx.node.name}'"
    ls.check_output_quant(ctx.outs[0].quant, what)
    rows, depth = _rows(ctx)
    if depth > MAX_INT8_DEPTH:
        raise EdgecError(f"{what} over {depth} values: more than {MAX_INT8_DEPTH} would "
                         "overflow TFLM's int32 sum of exps")
    p = ls.log_softmax_params(float(ctx.ins[0].quant.s), what)
    constants = {f"{ctx.func_name}_params": consts.int32_array(
        [p.input_multiplier, p.input_left_shift, p.reverse_scaling_divisor,
         -p.reverse_scaling_shift, p.diff_min])}
    accum_bits = ls.INPUT_INTEGER_BITS + 1  # log_x's accumulator: one more integer bit

    def render() -> str:
        return templates.render(
            TEMPLATE_LOG, rows=rows, depth=depth, input_bits=ls.ACCUMULATION_INTEGER_BITS,
            shifted_quarter=int(fp.rescale(1 << 29, 0, accum_bits)))

    params = [Param("x", ctx.node.inputs[0]), const_param(ctx, "params"),
              Param("y", ctx.node.outputs[0])]
    signature = [CParam("x", "int8_t", const=True), CParam("params", "int32_t", const=True),
                 CParam("y", "int8_t")]
    return KernelPlan(params, constants, c_template=render, signature=signature,
                      key=(templates.digest(TEMPLATE_LOG),))


@lowering_rule("LOG_SOFTMAX", "float32")
def log_softmax_float(ctx) -> KernelPlan:
    """float32 LOG_SOFTMAX: ``(x - max) - logf(sum(expf(x - max)))`` per row."""
    rows, depth = _rows(ctx)

    def build() -> Built:
        from tvm import te, tirx

        x = placeholder((rows, depth), "float32", "x")
        k1, k2 = te.reduce_axis((0, depth), "k1"), te.reduce_axis((0, depth), "k2")
        peak = te.compute((rows,), lambda r: te.max(x[r, k1], axis=[k1]), name="peak")
        e = te.compute((rows, depth), lambda r, c: tirx.exp(x[r, c] - peak[r]), name="e")
        total = te.compute((rows,), lambda r: te.sum(e[r, k2], axis=[k2]), name="total")
        y = te.compute((rows, depth), lambda r, c: (x[r, c] - peak[r]) - tirx.log(total[r]),
                       name="y")
        return Built([x, y], _float_schedule)

    return KernelPlan([Param("x", ctx.node.inputs[0]), Param("y", ctx.node.outputs[0])],
                      build=build)
