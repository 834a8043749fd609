"""Sliding-window helpers shared by convolution and pooling kernels."""

from __future__ import annotations

import numpy as np


def conv_out_size(size: int, kernel: int, stride: int, dilation: int, before: int,
                  after: int) -> int:
    """Output length of a window op along one axis with explicit padding."""
    effective = (kernel - 1) * dilation + 1
    return (size + before + after - effective) // stride + 1


def window_output_shape(x_shape, kernel_hw, strides, dilations, pads, channels):
    """NHWC output shape of a 2-D window op; ``pads`` is (top, left, bottom, right)."""
    n, h, w, _ = x_shape
    top, left, bottom, right = pads
    oh = conv_out_size(h, kernel_hw[0], strides[0], dilations[0], top, bottom)
    ow = conv_out_size(w, kernel_hw[1], strides[1], dilations[1], left, right)
    return (n, oh, ow, channels)


def patches(x: np.ndarray, kernel_hw, strides, dilations, pads, fill) -> np.ndarray:
    """im2col view: ``[N, OH, OW, KH, KW, C]`` windows of NHWC ``x`` padded with ``fill``."""
    top, left, bottom, right = pads
    xp = np.pad(x, ((0, 0), (top, bottom), (left, right), (0, 0)), constant_values=fill)
    kh, kw = kernel_hw
    sh, sw = strides
    dh, dw = dilations
    n, hp, wp, c = xp.shape
    oh = (hp - ((kh - 1) * dh + 1)) // sh + 1
    ow = (wp - ((kw - 1) * dw + 1)) // sw + 1
    s = xp.strides
    view = np.lib.stride_tricks.as_strided(
        xp, shape=(n, oh, ow, kh, kw, c),
        strides=(s[0], s[1] * sh, s[2] * sw, s[1] * dh, s[2] * dw, s[3]), writeable=False)
    return view


def valid_mask(x_shape, kernel_hw, strides, dilations, pads) -> np.ndarray:
    """``[1, OH, OW, KH, KW, 1]`` booleans: which window taps fall inside the unpadded input."""
    ones = np.ones((1, x_shape[1], x_shape[2], 1), np.int8)
    return patches(ones, kernel_hw, strides, dilations, pads, 0).astype(bool)
