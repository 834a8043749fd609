"""FULLY_CONNECTED, int8 and float32: ``x`` as ``[B, K]`` rows times ``[O, K]`` weights.

int8 follows the reference's two TFLM paths (``edgec.ir.ops.fully_connected``): per-channel
multipliers, or one multiplier with the weight zero point subtracted in the sums. The input zero
point is folded into the bias (``consts.folded_bias``); a non-zero weight zero point is a
parameter (``params[4]``) and only then does the C subtract it, which is part of the kernel key.
int4 weights (W4A8, per tensor) take the same int8 kernel, read packed two per byte (``_int4``).
"""

from __future__ import annotations

import numpy as np

from edgec.ir.ops.fully_connected import int8_multipliers
from edgec.ir.quant import activation_range
from edgec.lower import consts
from edgec.lower.registry import Built, KernelPlan, Param, lowering_rule
from edgec.lower.rules import _int4
from edgec.lower.rules._te import (clamp_float, const_param, int16_accumulator,
                                   int16_requant_params,
                                   int16_requant_plan_parts, named_constants, placeholder,
                                   requantized_int8, requantized_int16, sum_fits_int32)
from edgec.lower.te_quant import fast_form
from edgec.lower.tir import attach


def _rows(ctx) -> tuple[int, int, int]:
    out, k = ctx.ins[1].shape
    return ctx.ins[0].size // k, k, out


def _schedule(stages, out: int):
    """``block`` outputs share one pass over the input row: its accumulators innermost and
    unrolled, so each input value is loaded once for all of them."""
    block = next(b for b in (4, 2, 1) if out % b == 0)

    def schedule(sch):
        _, oi = sch.split(sch.get_loops(sch.get_sblock("y"))[1], [None, block])
        sch.unroll(oi)
        attach(sch, "y", 2, *stages)
        attach(sch, "y", 1, "acc")
        acc = sch.get_sblock("acc")
        loops = sch.get_loops(acc)[2:]  # the block's accumulators (when block > 1), then r
        if block > 1:
            if len(loops) > 1:
                sch.reorder(loops[1], loops[0])
            sch.unroll(loops[0])
        if len(loops) > (block > 1):
            sch.decompose_reduction(acc, sch.get_loops(acc)[2])
    return schedule


def _int8_constants(ctx, rows_k_out) -> tuple[dict, int]:
    _, _, out = rows_k_out
    x_q, y_q = ctx.ins[0].quant, ctx.outs[0].quant
    mult, shift, w_offset = int8_multipliers(x_q, ctx.ins[1].quant, y_q)
    mult, shift = consts.requant_arrays(mult, shift, out, ctx.node.name)
    raw = consts.constant_input(ctx, 1, "weights")
    w = raw.astype(np.int64) - w_offset
    bias = consts.folded_bias(consts.constant_input(ctx, 2, "bias"), w.sum(axis=1), x_q.zp)
    lo, hi = activation_range(ctx.attrs["activation"], y_q.s, y_q.zp)
    params = consts.int32_array([x_q.zp, y_q.zp, lo, hi, w_offset])
    return {**_int4.packed_constants(ctx, raw), "bias": bias, "mult": mult, "shift": shift,
            "params": params}, w_offset


@lowering_rule("FULLY_CONNECTED", "int8")
def fully_connected_int8(ctx) -> KernelPlan:
    """int8 FULLY_CONNECTED (TFLM ``FullyConnected`` / ``FullyConnectedPerChannel``), int8 or
    int4 weights."""
    from edgec.lower.rules.conv import accumulator_dtype

    rows, k, out = _rows(ctx)
    constants, w_offset = _int8_constants(ctx, (rows, k, out))
    subtract_offset = w_offset != 0
    int4 = _int4.packed_bits(ctx)
    # |x * (w - offset)| < 2**15 when the offset is used, 2**14 otherwise.
    acc_dtype = accumulator_dtype(k * (2 if subtract_offset else 1))
    form = None
    if acc_dtype == "int32" and sum_fits_int32(k << (15 if subtract_offset else 14),
                                               constants["bias"]):
        form = fast_form(constants["mult"], constants["shift"])

    def build() -> Built:
        from tvm import te

        x = placeholder((rows, k), "int8", "x")
        w, read = _int4.weight_input((out, k), "int8", int4)
        b, mult, shift = (placeholder((out,), "int32", n) for n in ("bias", "mult", "shift"))
        prm = placeholder((5,), "int32", "params")
        r = te.reduce_axis((0, k), "r")

        def weight(o, i):
            value = read(o, i).astype(acc_dtype)
            return value - prm[4].astype(acc_dtype) if subtract_offset else value

        acc = te.compute((rows, out), lambda n, o: te.sum(
            x[n, r].astype(acc_dtype) * weight(o, r), axis=[r]), name="acc")
        y, stages = requantized_int8(acc, b, mult, shift, prm, 1, form)
        return Built([x, w, b, mult, shift, prm, y], _schedule(stages, out))

    return KernelPlan(_int4.requantized_params(ctx), named_constants(ctx, constants), build=build, key=(acc_dtype, subtract_offset, form))


@lowering_rule("FULLY_CONNECTED", "int16")
def fully_connected_int16(ctx) -> KernelPlan:
    """16x8 FULLY_CONNECTED (TFLM ``FullyConnected[PerChannel]`` on int16, int64 bias): sums
    of ``x * (w - weight_zp)`` (int64, or int32 where they cannot overflow it), TFLite's
    int64 ``MultiplyByQuantizedMultiplier``."""
    rows, k, out = _rows(ctx)
    w_offset = int(ctx.ins[1].quant.zp) if ctx.ins[1].quant.per_tensor else 0
    w = consts.constant_input(ctx, 1, "weights").astype(np.int64) - w_offset
    constants, int32_bias = int16_requant_plan_parts(ctx, out, w.sum(axis=1))
    bias_dtype = "int32" if int32_bias else "int64"
    w_dtype = "int8"
    if w_offset:  # the weights with their zero point removed (|w| < 2**8), else the model's
        constants["w"], w_dtype = w.astype(np.int16), "int16"
    acc_dtype = int16_accumulator(w)

    def build() -> Built:
        from tvm import te

        x = placeholder((rows, k), "int16", "x")
        wt = placeholder((out, k), w_dtype, "w")
        b = placeholder((out,), bias_dtype, "bias")
        mult, shift = (placeholder((out,), "int32", n) for n in ("mult", "shift"))
        prm = placeholder((3,), "int32", "params")
        r = te.reduce_axis((0, k), "r")
        acc = te.compute((rows, out), lambda n, o: te.sum(
            x[n, r].astype(acc_dtype) * wt[o, r].astype(acc_dtype), axis=[r]), name="acc")
        y, stages = requantized_int16(acc, b, mult, shift, prm, 1, int32_bias)
        return Built([x, wt, b, mult, shift, prm, y], _schedule(stages, out))

    params = int16_requant_params(ctx)
    if w_offset:
        params[1] = const_param(ctx, "w")
    return KernelPlan(params, named_constants(ctx, constants), build=build,
                      key=("16x8", w_dtype, acc_dtype, bias_dtype))


@lowering_rule("FULLY_CONNECTED", "float32")
def fully_connected_float(ctx) -> KernelPlan:
    """float32 FULLY_CONNECTED, float32 accumulation."""
    rows, k, out = _rows(ctx)
    bias = consts.constant_input(ctx, 2, "bias")
    bias = np.zeros(out, np.float32) if bias is None else bias.astype(np.float32)
    bounds = consts.activation_bounds(ctx.attrs["activation"])

    def build() -> Built:
        from tvm import te

        x = placeholder((rows, k), "float32", "x")
        w = placeholder((out, k), "float32", "w")
        b = placeholder((out,), "float32", "bias")
        r = te.reduce_axis((0, k), "r")
        acc = te.compute((rows, out), lambda n, o: te.sum(x[n, r] * w[o, r], axis=[r]),
                         name="acc")
        y = te.compute((rows, out), lambda n, o: clamp_float(acc[n, o] + b[o], bounds), name="y")
        return Built([x, w, b, y], _schedule([], out))

    params = [Param("x", ctx.node.inputs[0]), Param("w", ctx.node.inputs[1]),
              const_param(ctx, "bias"), Param("y", ctx.node.outputs[0])]
    return KernelPlan(params, {f"{ctx.func_name}_bias": bias}, build=build)
