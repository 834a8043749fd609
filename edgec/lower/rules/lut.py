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
