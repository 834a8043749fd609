"""Quantization parameters in TFLite's conventions.

- Activations: asymmetric per-tensor int8; the range is widened to include 0 and the zero
  point is nudged onto an integer as TFLite's quantizer does (from whichever end, min or max,
  gives the smaller error), so that real 0 is exactly representable.
- Weights: symmetric per-channel (zero point 0) to ``[-qmax, qmax]``: 127 for int8, 7 for int4,
  1 for ternary ({-1, 0, +1} times the channel's scale).
- Bias: int32 with scale ``input_scale * weight_scale`` (per channel) and zero point 0.
- int16 activations (TFLite's 16x8 mode): symmetric per-tensor, zero point 0, the larger
  magnitude of the range mapped to 32767; biases of conv-like ops int64.
"""

from __future__ import annotations

import numpy as np

from edgec.ir.graph import QuantParams
from edgec.ir.quant import round_half_away

INT8_MIN, INT8_MAX = -128, 127
# The largest weight magnitude per weight dtype (symmetric: -qmax..qmax).
WEIGHT_QMAX = {"int8": 127, "int4": 7, "ternary": 1}
# A range this narrow or narrower (all values ~0) gets this scale, so nothing divides by 0.
_TINY = 1e-8


def activation_quant(lo: float, hi: float) -> QuantParams:
    """Per-tensor int8 quantization covering ``[lo, hi]`` widened to include 0."""
    lo, hi = min(float(lo), 0.0), max(float(hi), 0.0)
    if hi - lo <= _TINY:
        return QuantParams(np.float32(_TINY), 0)
    scale = float(np.float32((hi - lo) / (INT8_MAX - INT8_MIN)))
    from_min, from_max = INT8_MIN - lo / scale, INT8_MAX - hi / scale
    # TFLite picks the candidate whose end point is reproduced with the smaller error.
    from_min_error = abs(INT8_MIN) + abs(lo / scale)
    from_max_error = abs(INT8_MAX) + abs(hi / scale)
    zero_point = from_min if from_min_error < from_max_error else from_max
    nudged = int(np.clip(np.round(zero_point), INT8_MIN, INT8_MAX))
    return QuantParams(np.float32(scale), nudged)


def activation_quant_int16(lo: float, hi: float) -> QuantParams:
    """Per-tensor symmetric int16 quantization covering ``[lo, hi]`` (TFLite's 16x8 rule:
    scale ``max(|lo|, |hi|) / 32767``, zero point 0)."""
    peak = max(abs(float(lo)), abs(float(hi)))
    if peak <= _TINY:
        return QuantParams(np.float32(_TINY), 0)
    return QuantParams(np.float32(peak / 32767.0), 0)


ACTIVATION_QUANT = {"int8": activation_quant, "int16": activation_quant_int16}


def weight_quant(w: np.ndarray, axis: int | None, dtype: str) -> tuple[np.ndarray, QuantParams]:
    """Symmetric quantization of ``w`` per channel along ``axis`` (per tensor when None):
    ``(int8 array of the values, QuantParams)``.

    int8 scales map each channel's largest magnitude to 127 (TFLite's rule). With only 7
    steps a side, int4 instead clips: each channel's scale is the one, among fractions
    ``CLIP_FRACTIONS`` of the largest magnitude, with the least squared rounding error;
    ternary searches the same way over ``TERNARY_FRACTIONS`` (a channel's values below half its
    scale become 0, so the best scale is often far below the largest magnitude)."""
    qmax = WEIGHT_QMAX[dtype]
    w = np.asarray(w, np.float32)
    rows = w.reshape(1, -1) if axis is None else np.moveaxis(w, axis, 0).reshape(w.shape[axis], -1)
    peak = np.max(np.abs(rows), axis=1)
    scale = np.where(peak > 0, peak / np.float32(qmax), np.float32(1.0)).astype(np.float32)
    if dtype in SEARCHED_FRACTIONS:
        scale = _least_error_scale(rows, scale, qmax, SEARCHED_FRACTIONS[dtype])
    data = np.clip(round_half_away(rows / scale[:, None]), -qmax, qmax).astype(np.int8)
    if axis is None:
        data = data.reshape(w.shape)
    else:
        data = np.moveaxis(data.reshape((w.shape[axis],) + tuple(np.delete(w.shape, axis))),
                           0, axis)
    return data, QuantParams(scale, np.zeros(scale.shape, np.int64), axis)


CLIP_FRACTIONS = np.linspace(0.5, 1.0, 51, dtype=np.float32)
TERNARY_FRACTIONS = np.linspace(0.05, 1.0, 96, dtype=np.float32)
SEARCHED_FRACTIONS = {"int4": CLIP_FRACTIONS, "ternary": TERNARY_FRACTIONS}


def _least_error_scale(rows: np.ndarray, full_scale: np.ndarray, qmax: int,
                       fractions: np.ndarray = CLIP_FRACTIONS) -> np.ndarray:
    """Per row, the scale ``fraction * full_scale`` minimising the squared rounding error."""
    candidates = full_scale[:, None] * fractions[None, :]  # [rows, fractions]
    q = np.clip(round_half_away(rows[:, None, :] / candidates[:, :, None]), -qmax, qmax)
    error = np.sum((q * candidates[:, :, None] - rows[:, None, :]) ** 2, axis=2)
    return candidates[np.arange(rows.shape[0]), np.argmin(error, axis=1)].astype(np.float32)


def bias_quant(bias: np.ndarray, input_q: QuantParams, weight_q: QuantParams,
               dtype: str = "int32") -> tuple[np.ndarray, QuantParams]:
    """int32 (or int64) bias with scale ``input_scale * weight_scale`` per output channel."""
    channels = bias.shape[0]
    weight_scale = np.broadcast_to(weight_q.scale, (channels,))
    scale = (np.float32(input_q.s) * weight_scale).astype(np.float32)
    values = round_half_away(np.asarray(bias, np.float64) / scale.astype(np.float64))
    info = np.iinfo(dtype)
    data = np.clip(values, float(info.min), float(info.max)).astype(dtype)
    return data, QuantParams(scale, np.zeros(channels, np.int64), 0)


def tensor_quant(data: np.ndarray, dtype: str = "int8") -> tuple[np.ndarray, QuantParams]:
    """A float constant that an op reads like an activation (an ADD operand, ...):
    per-tensor over its own range, as an activation of ``dtype`` would be."""
    q = ACTIVATION_QUANT[dtype](float(np.min(data)), float(np.max(data)))
    return quantize_array(data, q, dtype), q


def quantize_array(x: np.ndarray, q: QuantParams, dtype: str = "int8") -> np.ndarray:
    """Float values to int8 (or int16) with per-tensor ``q`` (round half away from zero,
    clamped)."""
    values = round_half_away(np.asarray(x, np.float32) / np.float32(q.s)) + q.zp
    info = np.iinfo(dtype)
    return np.clip(values, info.min, info.max).astype(dtype)
