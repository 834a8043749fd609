"""Python-side constants shared by rules: requantization arrays, scalar parameter blocks.

These depend on quantization values, so they are recomputed for every node; the C receives
them as arrays and stays the same for every node with the same shapes.
"""

from __future__ import annotations

import numpy as np

from edgec.errors import EdgecError
from edgec.ir.quant import activation_range, conv_multipliers, wrap32


def int32_array(values) -> np.ndarray:
    """``values`` as a contiguous int32 array, checking every value fits."""
    arr = np.asarray(values, dtype=np.int64).reshape(-1)
    if arr.size and (arr.min() < -(1 << 31) or arr.max() >= 1 << 31):
        raise ValueError(f"value out of int32 range in {arr}")
    return arr.astype(np.int32)


def requant_arrays(mult, shift, channels: int, node_name: str) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel multiplier and shift arrays of length ``channels`` (a per-tensor pair is
    repeated). A shift above 31 (a real multiplier of 2**31 or more) is refused: the C keeps
    ``x * 2**shift`` inside int64."""
    mult = np.broadcast_to(np.asarray(mult, np.int64), (channels,))
    shift = np.broadcast_to(np.asarray(shift, np.int64), (channels,))
    if shift.max(initial=0) > 31:
        raise EdgecError(f"node '{node_name}': requantization scale of 2**{int(shift.max())} "
                         "or more", "check the model's quantization scales")
    return int32_array(mult), int32_array(shift)


def conv_requant(ctx, channels: int) -> dict[str, np.ndarray]:
    """``mult``, ``shift`` and ``params`` = [input zp, output zp, act min, act max] of a
    conv-like int8 node (inputs x, w; output y)."""
    x_q, w_q, y_q = ctx.ins[0].quant, ctx.ins[1].quant, ctx.outs[0].quant
    mult, shift = requant_arrays(*conv_multipliers(x_q.s, w_q.scale, y_q.s), channels,
                                 ctx.node.name)
    lo, hi = activation_range(ctx.attrs["activation"], y_q.s, y_q.zp)
    return {"mult": mult, "shift": shift, "params": int32_array([x_q.zp, y_q.zp, lo, hi])}


def folded_bias(bias: np.ndarray | None, weight_sums: np.ndarray, input_zp: int) -> np.ndarray:
    """``bias - input_zp * sum(weights)`` per output channel, wrapped like TFLite's int32
    accumulator, so the kernel multiplies raw inputs and still matches ``(x - zp) * w``."""
    base = np.zeros(weight_sums.shape, np.int64) if bias is None else bias.astype(np.int64)
    return wrap32(base - input_zp * weight_sums.astype(np.int64)).astype(np.int32)


def activation_bounds(activation: str) -> tuple[float, float]:
    """The float clamp of a fused activation (infinite when there is none)."""
    from edgec.ir.quant import FLOAT_ACTIVATIONS

    lo, hi = FLOAT_ACTIVATIONS[activation]
    return float(lo), float(hi)


def constant_input(ctx, index: int, what: str) -> np.ndarray | None:
    """The data of input ``index`` (None when absent); a non-constant one raises, since the
    rules fold weights and biases at compile time."""
    t = ctx.ins[index] if len(ctx.ins) > index else None
    if t is not None and t.data is None:
        raise EdgecError(f"node '{ctx.node.name}' ({ctx.node.op}): the {what} must be constant",
                         "only models with constant weights and biases can be compiled")
    return None if t is None else t.data
