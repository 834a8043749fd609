"""RESIZE_NEAREST_NEIGHBOR and RESIZE_BILINEAR: NHWC images to ``size`` = (OH, OW).

Source coordinates follow TFLite (``reference_ops::ResizeNearestNeighbor``,
``ResizeBilinear``, ``ResizeBilinearInteger``), computed in float32 as there: the scale is
``in / out``, or ``(in - 1) / (out - 1)`` with ``align_corners`` (and ``out > 1``). With a
``coordinate`` (an ONNX ``coordinate_transformation_mode``; float64 as ONNX's reference, scale
``out / in``) and, for nearest, a ``rounding`` (ONNX ``nearest_mode``), the source coordinate
is ONNX's instead, clamped to the image; bilinear then interpolates between its floor and the
next pixel (int8 bilinear has TFLite's coordinates only).

- Nearest: ``floor((o + offset) * scale)`` with offset 0.5 under ``half_pixel_centers``, or
  ``round`` (half away from zero) under ``align_corners``; clamped to ``in - 1`` (and to 0
  with half-pixel centers). Values are copied: int8 keeps the input's quantization.
- Bilinear, float: source ``o * scale`` (or ``(o + 0.5) * scale - 0.5``), its floor and
  ceiling clamped to the image as the two taps, TFLite's four products summed in float32.
- Bilinear, int8 (TFLM ``ResizeBilinearInteger``): 10-bit fixed-point coordinates
  (``scale_10 = ((1 << 10) * in + out / 2) / out``, half-pixel ``o * scale_10 + scale_10 / 2 -
  512``), taps ``scaled / 1024`` (at least 0) and ``(scaled + 1023) / 1024`` (at most in - 1),
  the four raw codes times their 10-bit weights summed in int64, then ``(sum +- 2**19) /
  2**20`` (rounding half away from zero, C division). Codes are interpolated directly: input
  and output share one quantization, as TFLM requires.
"""

from __future__ import annotations

import numpy as np

from edgec.errors import EdgecError
from edgec.ir.registry import REQUIRED, Channels, Ptq, define_op, kernel

RESIZE_ATTRS = {"size": REQUIRED, "align_corners": False, "half_pixel_centers": False,
                "coordinate": "", "rounding": ""}
# ONNX coordinate_transformation_mode -> source coordinate of output position o (float64),
# for a scale s = out / in; "" (the default) means TFLite's, from the two flags.
ONNX_COORDINATES = {
    "half_pixel": lambda o, s, n_in, n_out: (o + 0.5) / s - 0.5,
    "pytorch_half_pixel": lambda o, s, n_in, n_out: (o + 0.5) / s - 0.5 if n_out > 1 else 0 * o,
    "align_corners": lambda o, s, n_in, n_out: (o * (n_in - 1) / (n_out - 1) if n_out > 1
                                                else 0 * o),
    "asymmetric": lambda o, s, n_in, n_out: o / s,
    "tf_half_pixel_for_nn": lambda o, s, n_in, n_out: (o + 0.5) / s,
}
# ONNX nearest_mode -> integer source index.
ONNX_ROUNDING = {"round_prefer_floor": lambda x: np.ceil(x - 0.5),
                 "round_prefer_ceil": lambda x: np.floor(x + 0.5),
                 "floor": np.floor, "ceil": np.ceil}


def _shape(node, ins):
    x = ins[0]
    oh, ow = (int(v) for v in node.attrs["size"])
    if oh < 1 or ow < 1:
        raise EdgecError(f"node '{node.name}' ({node.op}) resizes to {oh}x{ow}",
                         "the output size must be at least 1x1")
    return [(x.shape[0], oh, ow, x.shape[3])]


for _op, _what in (("RESIZE_NEAREST_NEIGHBOR", "nearest-neighbour"),
                   ("RESIZE_BILINEAR", "bilinear")):
    define_op(_op, attrs=dict(RESIZE_ATTRS), infer_shapes=_shape, ranks=(4,),
              ptq=Ptq.SAME_AS_INPUT, channels=Channels.SAME,
              doc=f"{_what} resize of an NHWC image to size (OH, OW), TFLite's coordinates")


def _scale(size_in: int, size_out: int, align_corners: bool) -> np.float32:
    if align_corners and size_out > 1:
        return np.float32(size_in - 1) / np.float32(size_out - 1)
    return np.float32(size_in) / np.float32(size_out)


def nearest_indices(size_in: int, size_out: int, align_corners: bool,
                    half_pixel: bool) -> np.ndarray:
    """TFLite's ``GetNearestNeighbor`` for every output position, as int32."""
    scale = _scale(size_in, size_out, align_corners)
    offset = np.float32(0.5 if half_pixel else 0.0)
    pos = (np.arange(size_out).astype(np.float32) + offset) * scale
    idx = (np.sign(pos) * np.floor(np.abs(pos) + np.float32(0.5)) if align_corners
           else np.floor(pos)).astype(np.int64)
    idx = np.minimum(idx, size_in - 1)
    if half_pixel:
        idx = np.maximum(idx, 0)
    return idx.astype(np.int32)


def bilinear_float_taps(size_in: int, size_out: int, align_corners: bool, half_pixel: bool):
    """(lower, upper, fraction) per output position: TFLite's ``ComputeInterpolationValues``;
    the fraction is ``scaled - lower`` in float32 (it may be negative at the border)."""
    scale = _scale(size_in, size_out, align_corners)
    o = np.arange(size_out).astype(np.float32)
    scaled = ((o + np.float32(0.5)) * scale - np.float32(0.5)) if half_pixel else o * scale
    lower = np.maximum(np.floor(scaled).astype(np.int64), 0)
    upper = np.minimum(np.ceil(scaled).astype(np.int64), size_in - 1)
    return lower.astype(np.int32), upper.astype(np.int32), (scaled - lower).astype(np.float32)


def _trunc_div(a, b: int):
    q = np.abs(a) // b
    return np.where(a < 0, -q, q)


def bilinear_int_taps(size_in: int, size_out: int, align_corners: bool, half_pixel: bool):
    """(lower, upper, scaled) per output position in TFLM's 10-bit fixed point
    (``ComputeInterpolationValuesInteger``); ``scaled - 1024 * lower`` is the upper tap's
    weight."""
    if align_corners and size_out > 1:
        scale_10 = ((1 << 10) * (size_in - 1) + (size_out - 1) // 2) // (size_out - 1)
    else:
        scale_10 = ((1 << 10) * size_in + size_out // 2) // size_out
    o = np.arange(size_out, dtype=np.int64)
    scaled = o * scale_10 + scale_10 // 2 - (1 << 9) if half_pixel else o * scale_10
    lower = np.maximum(_trunc_div(scaled, 1 << 10), 0)
    upper = np.minimum(_trunc_div(scaled + (1 << 10) - 1, 1 << 10), size_in - 1)
    return lower.astype(np.int32), upper.astype(np.int32), scaled.astype(np.int32)


def check_same_quant(call) -> None:
    """int8 resizes copy or interpolate codes: input and output share one quantization."""
    a, b = call.in_q(0), call.out_q()
    if a is None or b is None or (float(a.s), int(a.zp)) != (float(b.s), int(b.zp)):
        raise EdgecError(f"node '{call.node.name}' ({call.node.op}): int8 input and output "
                         "must share one quantization (scale and zero point)",
                         "TFLite writes them equal; quantize the output like the input")


def onnx_source(attrs, n_in: int, n_out: int) -> np.ndarray:
    """ONNX's source coordinate of every output position, clamped to ``[0, n_in - 1]``."""
    coordinate = ONNX_COORDINATES[attrs["coordinate"]]
    o = np.arange(n_out, dtype=np.float64)
    return np.clip(coordinate(o, n_out / n_in, n_in, n_out), 0, n_in - 1)


def onnx_nearest(attrs, n_in: int, n_out: int) -> np.ndarray:
    """ONNX nearest: the rounded source coordinate (``rounding``), within the image."""
    coordinate = ONNX_COORDINATES[attrs["coordinate"]]
    o = np.arange(n_out, dtype=np.float64)
    index = ONNX_ROUNDING[attrs["rounding"]](coordinate(o, n_out / n_in, n_in, n_out))
    return np.clip(index, 0, n_in - 1).astype(np.int32)


def onnx_linear(attrs, n_in: int, n_out: int):
    """ONNX linear as (lower, upper, fraction): floor of the clamped source and the pixel
    after it (within the image)."""
    x = onnx_source(attrs, n_in, n_out)
    lower = np.floor(x)
    upper = np.minimum(lower + 1, n_in - 1)
    return lower.astype(np.int32), upper.astype(np.int32), (x - lower).astype(np.float32)


def check_resize_attrs(node) -> None:
    """A known ONNX coordinate (and rounding, for nearest), and none for int8 bilinear."""
    a = node.attrs
    if not a["coordinate"]:
        return
    rounding_ok = a["rounding"] in ONNX_ROUNDING if node.op == "RESIZE_NEAREST_NEIGHBOR" \
        else not a["rounding"]
    if a["coordinate"] not in ONNX_COORDINATES or not rounding_ok:
        raise EdgecError(f"node '{node.name}' ({node.op}) has coordinate {a['coordinate']!r} "
                         f"and rounding {a['rounding']!r}",
                         f"coordinates: {', '.join(ONNX_COORDINATES)}; roundings (nearest): "
                         f"{', '.join(ONNX_ROUNDING)}")


def resize_tables(node, in_shape, fn, onnx_fn=None):
    """The per-row and per-column tables of ``fn`` (TFLite's coordinates) or ``onnx_fn``."""
    a = node.attrs
    check_resize_attrs(node)
    (_, h, w, _), (oh, ow) = in_shape, a["size"]
    if a["coordinate"]:
        if onnx_fn is None:
            raise EdgecError(f"node '{node.name}' ({node.op}): int8 bilinear resizing has "
                             "TFLite's coordinates only",
                             "use align_corners / half_pixel_centers, or resize in float")
        return onnx_fn(a, h, int(oh)), onnx_fn(a, w, int(ow))
    flags = (bool(a["align_corners"]), bool(a["half_pixel_centers"]))
    return fn(h, int(oh), *flags), fn(w, int(ow), *flags)


def _taps(call, fn, onnx_fn=None):
    return resize_tables(call.node, call.inputs[0].shape, fn, onnx_fn)


@kernel("RESIZE_NEAREST_NEIGHBOR", "int8", "float32")
def resize_nearest(call):
    if call.inputs[0].dtype == np.int8:
        check_same_quant(call)
    rows, cols = _taps(call, nearest_indices, onnx_nearest)
    return [call.inputs[0][:, rows][:, :, cols]]


@kernel("RESIZE_BILINEAR", "float32")
def resize_bilinear_float(call):
    x = call.inputs[0].astype(np.float32)
    (y0, y1, fy), (x0, x1, fx) = _taps(call, bilinear_float_taps, onnx_linear)
    fy, fx = fy[None, :, None, None], fx[None, None, :, None]
    one = np.float32(1.0)
    out = (x[:, y0][:, :, x0] * (one - fy) * (one - fx) + x[:, y1][:, :, x0] * fy * (one - fx)
           + x[:, y0][:, :, x1] * (one - fy) * fx + x[:, y1][:, :, x1] * fy * fx)
    return [out.astype(np.float32)]


@kernel("RESIZE_BILINEAR", "int8")
def resize_bilinear_int8(call):
    check_same_quant(call)
    x = call.inputs[0].astype(np.int64)
    (y0, y1, sy), (x0, x1, sx) = _taps(call, bilinear_int_taps)
    wy = (sy.astype(np.int64) - (y0.astype(np.int64) << 10))[None, :, None, None]
    wx = (sx.astype(np.int64) - (x0.astype(np.int64) << 10))[None, None, :, None]
    one = 1 << 10
    total = (x[:, y0][:, :, x0] * (one - wy) * (one - wx) + x[:, y1][:, :, x0] * wy * (one - wx)
             + x[:, y0][:, :, x1] * (one - wy) * wx + x[:, y1][:, :, x1] * wy * wx)
    rounded = _trunc_div(total + np.where(total > 0, 1 << 19, -(1 << 19)), 1 << 20)
    return [rounded.astype(np.int8)]
