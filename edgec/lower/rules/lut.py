"""int8 elementwise ops as a 256-entry lookup table: int8 LOGISTIC, TANH and HARD_SWISH.

Why a table and not gemmlowp's ``FixedPoint<int32, 4>`` in C: an int8 input has only 256
codes, so running the reference kernel (``edgec.ir.ops.logistic`` / ``tanh``) on all of them
in Python gives a table that is bit-exact by construction, with no second implementation of
the fixed-point polynomial and Newton-Raphson steps to keep in step with the reference. The
table depends only on quantization values, so it is a derived constant and one C text serves
every node of a size; per element the kernel is one load instead of some twenty int64
multiplies, for 256 bytes of flash per node.

``table_plan`` fits any op on an int8 input whose output element depends on that element
alone. RELU, RELU6 and int8 QUANTIZE keep their requantizing TE kernels (``unary.py``): they
are a few instructions per element already and need no per-node table.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from edgec.ir import get_op
from edgec.ir.registry import KernelCall
from edgec.lower.registry import Built, KernelPlan, Param, lowering_rule, same_layout_inputs
from edgec.lower.rules._te import const_param, placeholder
from edgec.lower.tir import attach

CODES = np.arange(-128, 128, dtype=np.int8)


def reference_table(ctx) -> np.ndarray:
    """The node's reference kernel applied to every int8 code; entry ``code + 128``.

    The kernel sees the node's own tensors, reshaped to the 256 codes, so its checks (e.g.
    LOGISTIC's output zero point) reject a node exactly as ``interpret`` would."""
    x_t, y_t = ctx.ins[0], ctx.outs[0]
    call = KernelCall(ctx.node, [CODES], [replace(x_t, shape=CODES.shape, data=None)],
                      [replace(y_t, shape=CODES.shape)])
    (table,) = get_op(ctx.node.op).kernel_for("int8")(call)
    return np.ascontiguousarray(table, dtype=y_t.dtype)


def table_plan(ctx) -> KernelPlan:
    """``y[i] = table[x[i] + 128]`` over the flat element count, ``table`` from the reference;
    ``y`` may overwrite ``x`` when their element sizes match (each ``x[i]`` is read once,
    just before ``y[i]`` is written)."""
    size, out_dtype = ctx.outs[0].size, ctx.outs[0].dtype

    def build() -> Built:
        from tvm import te

        x = placeholder((size,), "int8", "x")
        table = placeholder(CODES.shape, out_dtype, "table")
        y = te.compute((size,), lambda i: table[x[i].astype("int32") + 128], name="y")
        return Built([x, table, y], lambda sch: None)

    params = [Param("x", ctx.node.inputs[0]), const_param(ctx, "table"),
              Param("y", ctx.node.outputs[0])]
    return KernelPlan(params, {f"{ctx.func_name}_table": reference_table(ctx)}, build=build,
                      in_place=same_layout_inputs(ctx, {"x": 0}))


@lowering_rule("LOGISTIC", "int8")
def logistic_int8(ctx) -> KernelPlan:
    """int8 LOGISTIC (TFLM ``reference_integer_ops::Logistic``) by table."""
    return table_plan(ctx)


@lowering_rule("TANH", "int8")
def tanh_int8(ctx) -> KernelPlan:
    """int8 TANH (TFLM ``reference_integer_ops::Tanh``) by table."""
    return table_plan(ctx)


@lowering_rule("LEAKY_RELU", "int8")
def leaky_relu_int8(ctx) -> KernelPlan:
    """int8 LEAKY_RELU (TFLM ``reference_ops::QuantizeLeakyRelu``) by table."""
    return table_plan(ctx)


@lowering_rule("HARD_SWISH", "int8")
def hard_swish_int8(ctx) -> KernelPlan:
    """int8 HARD_SWISH (TFLM ``reference_ops::HardSwish``, 16-bit fixed point) by table."""
    return table_plan(ctx)


def _sigmoid_table_plan(ctx, pot_shifts: tuple[int, ...], fraction_bits: int, saturated: int,
                        finish) -> KernelPlan:
    """int16 LOGISTIC / TANH (``edgec.ir.int16``): the input scaled by ``params = [multiplier,
    left shift, rounding]``, TFLite's 256-entry sigmoid table read at ``|v| >> fraction_bits``
    and interpolated with the low bits, ``finish(v, r)`` giving the int32 output. A table of
    all 65536 codes would cost 128 KiB of flash per node; this one is 1 KiB."""
    from edgec.ir.int16 import check_q015, lut_input_params, sigmoid_table
    from edgec.lower import consts

    check_q015(ctx.node, ctx.ins[0].quant, ctx.outs[0].quant)
    mult, shift = lut_input_params(ctx.ins[0].quant.s, pot_shifts)
    if mult == 0:
        mult, shift = 3 << shift, 0
    params = consts.int32_array([mult, shift, (1 << (shift - 1)) if shift > 0 else 0])
    size = ctx.outs[0].size

    def build() -> Built:
        from tvm import te, tirx

        x = placeholder((size,), "int16", "x")
        table = placeholder((256,), "int32", "table")
        prm = placeholder((3,), "int32", "params")
        v = te.compute((size,), lambda i: (x[i].astype("int32") * prm[0] + prm[2]) >> prm[1],
                       name="v")

        def interpolated(i):
            a = tirx.abs(v[i])
            index = tirx.min(a >> fraction_bits, 254)
            low = table[index]
            frac = a & ((1 << fraction_bits) - 1)
            value = low * (1 << fraction_bits) + frac * (table[index + 1] - low)
            return tirx.Select(a >= (255 << fraction_bits), tirx.const(saturated, "int32"), value)

        r = te.compute((size,), interpolated, name="r")
        y = te.compute((size,), lambda i: finish(v[i], r[i]).astype("int16"), name="y")
        return Built([x, table, prm, y], lambda sch: attach(sch, "y", 0, "r", "v"))

    params_c = [Param("x", ctx.node.inputs[0]), const_param(ctx, "table"),
                const_param(ctx, "params"), Param("y", ctx.node.outputs[0])]
    constants = {f"{ctx.func_name}_table": sigmoid_table().astype(np.int32),
                 f"{ctx.func_name}_params": params}
    return KernelPlan(params_c, constants, build=build,
                      in_place=same_layout_inputs(ctx, {"x": 0}))


@lowering_rule("LOGISTIC", "int16")
def logistic_int16(ctx) -> KernelPlan:
    """int16 LOGISTIC (TFLM ``reference_integer_ops::Logistic``): interpolated sigmoid table."""
    from tvm import tirx

    def finish(v, r):
        return tirx.Select(v >= 0, r + (1 << 9), (1 << 25) - r + (1 << 9) - 1) >> 10

    return _sigmoid_table_plan(ctx, (0,), 9, 0x7FFF << 10, finish)


@lowering_rule("TANH", "int16")
def tanh_int16(ctx) -> KernelPlan:
    """int16 TANH (TFLM ``reference_integer_ops::Tanh``): 2 sigmoid(2x) - 1 from the table."""
    from tvm import tirx

    def finish(v, r):
        return tirx.Select(v >= 0, r - (1 << 23) + (1 << 7), (1 << 23) - r + (1 << 7) - 1) >> 8

    return _sigmoid_table_plan(ctx, (0, 1), 8, 0xFFFF << 8, finish)
