"""SUM and REDUCE_MAX over axes, int8 and float32, and REDUCE_ANY over bools (``edgec.ir.ops.reduce``).

int8 SUM is MEAN's kernel (``quantized_sum_plan``: TFLM ``QuantizedMeanOrSum``) with the
multiplier of ``input_scale / output_scale`` not divided by the count. REDUCE_MAX keeps the
largest value (int8: stored code, input and output share one quantization) in an accumulator
starting at the dtype's lowest finite value, TFLM's ``numeric_limits<T>::lowest()`` (-inf
inputs give -FLT_MAX, as in TFLite). The output keeps the order of the kept dimensions, so one
flat layout serves ``keep_dims`` either way.
"""

from __future__ import annotations

import numpy as np

from edgec.ir.graph import key_dtype
from edgec.ir.ops.reduce import sum_multiplier
from edgec.lower.registry import Built, KernelPlan, Param, lowering_rule
from edgec.lower.rules._te import placeholder
from edgec.lower.rules.mean import _geometry, _schedule, float_sum_plan, quantized_sum_plan


@lowering_rule("SUM", "int8", "int16")
def sum_int8(ctx) -> KernelPlan:
    """int8 / int16 SUM (TFLM ``QuantizedMeanOrSum``, ``compute_sum``)."""
    return quantized_sum_plan(ctx, sum_multiplier(ctx.ins[0].quant.s, ctx.outs[0].quant.s))


@lowering_rule("SUM", "float32")
def sum_float(ctx) -> KernelPlan:
    """float32 SUM: the float32 sum over the axes."""
    return float_sum_plan(ctx, divide=False)


@lowering_rule("REDUCE_MAX", "int8")
@lowering_rule("REDUCE_MAX", "float32")
@lowering_rule("REDUCE_ANY", "bool")
def reduce_max(ctx) -> KernelPlan:
    """REDUCE_MAX: the largest value over the axes (int8 compares stored codes); REDUCE_ANY:
    the same over bools, stored as the bytes 0 / 1 (their largest is their logical or)."""
    shape, axes, kept, _ = _geometry(ctx)
    dtype = key_dtype(ctx.dtype)

    def build() -> Built:
        from tvm import te, tirx

        x = placeholder(shape, dtype, "x")
        reduce = {a: te.reduce_axis((0, shape[a]), f"r{a}") for a in axes}
        out_shape = tuple(shape[d] for d in kept) or (1,)
        lowest = tirx.const(float(np.finfo(np.float32).min), "float32") \
            if dtype == "float32" else tirx.const(False, "bool") if dtype == "bool" \
            else tirx.const(int(np.iinfo(dtype).min), dtype)
        largest = te.comm_reducer(lambda a, b: tirx.max(a, b), lambda t: lowest, name="largest")

        def value(*i):
            index = [reduce[d] if d in reduce else i[kept.index(d)] for d in range(len(shape))]
            return largest(x[tuple(index)], axis=list(reduce.values()))

        acc = te.compute(out_shape, value, name="acc")
        y = te.compute(out_shape, lambda *i: acc(*i), name="y")
        return Built([x, y], _schedule(len(out_shape), []))

    return KernelPlan([Param("x", ctx.node.inputs[0]), Param("y", ctx.node.outputs[0])],
                      build=build)
