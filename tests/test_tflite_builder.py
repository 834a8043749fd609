"""The test model writer: models it builds load and run in TFLite Micro and LiteRT and compute
what their tensors say (so op tests built on it test the ops, not the writer)."""

import numpy as np
import pytest

from tests.refs import describe_mismatch, run_litert, run_tflm
from tests.tflite_builder import TFLiteBuilder


def _float_conv_model(x_arr_shape, w, bias):
    b = TFLiteBuilder()
    x = b.tensor("x", x_arr_shape, "float32")
    wt = b.tensor("w", w.shape, "float32", data=w)
    bt = b.tensor("b", bias.shape, "float32", data=bias)
    n, h, wd, _ = x_arr_shape
    y = b.tensor("y", (n, h - 2, wd - 2, w.shape[0]), "float32")
    b.op("CONV_2D", [x, wt, bt], [y], padding="VALID", stride_w=1, stride_h=1,
         fused_activation_function="NONE")
    return b.build(inputs=[x], outputs=[y])


@pytest.mark.parametrize("runner", [run_tflm, run_litert], ids=["tflm", "litert"])
def test_float_conv_computes_a_convolution(runner):
    rng = np.random.default_rng(1)
    w = rng.standard_normal((4, 3, 3, 2)).astype(np.float32)
    bias = rng.standard_normal(4).astype(np.float32)
    x = rng.standard_normal((1, 6, 7, 2)).astype(np.float32)
    (y,) = runner(_float_conv_model(x.shape, w, bias), [x])
    windows = np.lib.stride_tricks.sliding_window_view(x, (3, 3), axis=(1, 2))  # n,oh,ow,c,kh,kw
    expected = np.einsum("nhwcij,oijc->nhwo", windows, w) + bias
    np.testing.assert_allclose(y, expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("runner", [run_tflm, run_litert], ids=["tflm", "litert"])
def test_float_fully_connected_with_absent_bias(runner):
    rng = np.random.default_rng(2)
    w = rng.standard_normal((5, 16)).astype(np.float32)
    b = TFLiteBuilder()
    x = b.tensor("x", (3, 16), "float32")
    wt = b.tensor("w", w.shape, "float32", data=w)
    y = b.tensor("y", (3, 5), "float32")
    b.op("FULLY_CONNECTED", [x, wt, None], [y], fused_activation_function="RELU")
    xv = rng.standard_normal((3, 16)).astype(np.float32)
    (out,) = runner(b.build(inputs=[x], outputs=[y]), [xv])
    np.testing.assert_allclose(out, np.maximum(xv @ w.T, 0), rtol=1e-5, atol=1e-5)


def test_int8_per_channel_conv_agrees_between_tflm_and_litert_and_float_math():
    rng = np.random.default_rng(3)
    w_arr = rng.integers(-127, 128, (4, 3, 3, 3)).astype(np.int8)
    w_scales = rng.uniform(0.005, 0.02, 4).astype(np.float32)
    b_arr = rng.integers(-2000, 2000, 4).astype(np.int32)
    b = TFLiteBuilder()
    x = b.tensor("x", (1, 8, 8, 3), "int8", scale=0.1, zero_point=3)
    w = b.tensor("w", w_arr.shape, "int8", data=w_arr, scale=w_scales, zero_point=[0] * 4,
                 quantized_dimension=0)
    bias = b.tensor("b", (4,), "int32", data=b_arr, scale=0.1 * w_scales, zero_point=[0] * 4)
    y = b.tensor("y", (1, 8, 8, 4), "int8", scale=0.2, zero_point=-5)
    b.op("CONV_2D", [x, w, bias], [y], padding="SAME", stride_w=1, stride_h=1,
         dilation_w_factor=1, dilation_h_factor=1, fused_activation_function="RELU")
    model = b.build(inputs=[x], outputs=[y])
    xv = rng.integers(-128, 128, (1, 8, 8, 3)).astype(np.int8)
    (tflm,) = run_tflm(model, [xv])
    (litert,) = run_litert(model, [xv])
    assert describe_mismatch(litert, tflm) is None
    # The same convolution in float, requantized: at most one step away everywhere.
    xr = np.pad(0.1 * (xv.astype(np.float64) - 3), ((0, 0), (1, 1), (1, 1), (0, 0)))
    windows = np.lib.stride_tricks.sliding_window_view(xr, (3, 3), axis=(1, 2))
    real = np.einsum("nhwcij,oijc->nhwo", windows, w_arr * w_scales[:, None, None, None])
    real = np.maximum(real + b_arr * 0.1 * w_scales, 0)
    expected = np.clip(np.round(real / 0.2) - 5, -128, 127)
    assert np.max(np.abs(expected - tflm)) <= 1
