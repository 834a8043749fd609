"""Python references of the camera path: the frames Zephyr's ``video_sw_generator`` produces
(what the native_sim camera app sees) and the image preprocessing steps of
``templates/preprocess/`` (grayscale, resize, histogram equalisation, int8 quantization) in
float32 numpy, computed as the C computes them, so the firmware's model input and results
can be compared with the reference interpreter on the same frames.
"""

from __future__ import annotations

import numpy as np

F = np.float32
# video_sw_generator's colour bars (Zephyr 4.1, XRGB32): black, blue, red, purple, green,
# aqua, yellow, white, one eighth of the width each.
COLOR_BARS_XRGB32 = (0xFF000000, 0xFF0000FF, 0xFFFF0000, 0xFFFF00FF, 0xFF00FF00, 0xFF00FFFF,
                     0xFFFFFF00, 0xFFFFFFFF)


def sw_generator_frame(height: int, width: int) -> np.ndarray:
    """The generator's colour-bar frame as the app reads it: height x width x 3 float32
    (R, G, B of each XRGB32 pixel, 0..255)."""
    bar = width // 8
    xrgb = np.array([COLOR_BARS_XRGB32[min(x // bar, 7)] for x in range(width)],
                    dtype=np.uint32)
    rgb = np.stack([(xrgb >> 16) & 0xFF, (xrgb >> 8) & 0xFF, xrgb & 0xFF], axis=-1)
    return np.broadcast_to(rgb.astype(F), (height, width, 3)).copy()


def grayscale(rgb: np.ndarray) -> np.ndarray:
    """0.299 R + 0.587 G + 0.114 B, summed left to right in float32 (the C's order)."""
    r, g, b = (rgb[..., k].astype(F) for k in range(3))
    return (F(0.299) * r + F(0.587) * g) + F(0.114) * b


def resize(image: np.ndarray, height: int, width: int) -> np.ndarray:
    """Nearest neighbour: output (y, x) takes input (y * H // height, x * W // width)."""
    h, w = image.shape[:2]
    rows, cols = np.arange(height) * h // height, np.arange(width) * w // width
    return image[rows][:, cols]


def equalize(image: np.ndarray) -> np.ndarray:
    """Histogram equalisation over 256 levels (a value's level: rounded half up, clamped to
    0..255): level -> floor((cdf - cdf_min) * 255 / (n - cdf_min) + 0.5), cdf_min the first
    non-zero cumulative count; all 0 when the image has one level."""
    levels = np.clip(np.floor(image.astype(F) + F(0.5)), 0, 255).astype(np.int64)
    cdf = np.cumsum(np.bincount(levels.ravel(), minlength=256))
    n, cdf_min = levels.size, int(cdf[cdf > 0][0])
    if n <= cdf_min:
        return np.zeros_like(image, dtype=F)
    mapped = np.floor((cdf - cdf_min).astype(F) * F(255.0) / F(n - cdf_min) + F(0.5))
    return mapped.astype(F)[levels]


def quantize_int8(x: np.ndarray, scale: float, zero_point: int) -> np.ndarray:
    """The app's float -> int8: x / scale rounded half away from zero, plus the zero point,
    saturated."""
    q = (x.astype(F) / F(scale)).astype(F)
    q = np.sign(q) * np.floor(np.abs(q) + F(0.5)) + zero_point
    return np.clip(q, -128, 127).astype(np.int8)


STEPS = {"grayscale": lambda x, p: grayscale(x)[..., None],
         "resize": lambda x, p: resize(x, int(p.get("height") or x.shape[0]),
                                       int(p.get("width") or x.shape[1])),
         "equalize": lambda x, p: equalize(x)}


def preprocess_image(frame: np.ndarray, steps: list) -> np.ndarray:
    """``frame`` (H x W x C float32) through the app config's image steps, in order."""
    x = frame.astype(F)
    for step in steps:
        name, params = (step, {}) if isinstance(step, str) else next(iter(step.items()))
        if name not in STEPS:
            raise ValueError(f"no image reference for step '{name}' (have: {', '.join(STEPS)})")
        x = STEPS[name](x, params or {})
    return x
