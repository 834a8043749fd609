"""CONV_2D: random single-op models against TFLite Micro (int8) and LiteRT (float)."""

import numpy as np
import pytest

from tests.ops import (ACTIVATIONS, assert_float_matches_litert, conv_quant, conv_window,
                       float_data, int8_data, int8_weights, int32_bias, model_macs,
                       pick_activation)
from tests.refs import assert_matches_tflm
from tests.tflite_builder import TFLiteBuilder


def _geometry(rng):
    g = dict(n=int(rng.integers(1, 3)), h=int(rng.integers(1, 11)), w=int(rng.integers(1, 11)),
             ic=int(rng.integers(1, 8)), oc=int(rng.integers(1, 10)))
    return conv_window(rng, g)


def _model(g, dtype, w_arr, bias_arr, activation, quant=None):
    """One CONV_2D; ``quant`` = (x (s, zp), w scales, y (s, zp)) for int8."""
    b = TFLiteBuilder()
    x_shape, y_shape = (g["n"], g["h"], g["w"], g["ic"]), (g["n"], g["oh"], g["ow"], g["oc"])
    if dtype == "int8":
        (xs, xz), ws, (ys, yz) = quant
        x = b.tensor("x", x_shape, "int8", scale=xs, zero_point=xz)
        w = b.tensor("w", w_arr.shape, "int8", data=w_arr, scale=ws, zero_point=[0] * ws.size)
        bias = None if bias_arr is None else b.tensor(
            "b", (g["oc"],), "int32", data=bias_arr, scale=xs * ws, zero_point=[0] * ws.size)
        y = b.tensor("y", y_shape, "int8", scale=ys, zero_point=yz)
    else:
        x = b.tensor("x", x_shape, "float32")
        w = b.tensor("w", w_arr.shape, "float32", data=w_arr)
        bias = None if bias_arr is None else b.tensor("b", (g["oc"],), "float32", data=bias_arr)
        y = b.tensor("y", y_shape, "float32")
    b.op("CONV_2D", [x, w] if bias is None else [x, w, bias], [y], padding=g["padding"],
         stride_h=g["sh"], stride_w=g["sw"], dilation_h_factor=g["dh"],
         dilation_w_factor=g["dw"], fused_activation_function=activation)
    return b.build(inputs=[x], outputs=[y])


@pytest.mark.parametrize("seed", range(24))
def test_int8_matches_tflm(seed):
    rng = np.random.default_rng(seed)
    g = _geometry(rng)
    activation = pick_activation(rng)
    x_q, ws, y_q = conv_quant(rng, g["kh"] * g["kw"] * g["ic"], g["oc"],
                              per_channel=bool(rng.integers(0, 4)), activation=activation)
    w_arr = int8_weights(rng, (g["oc"], g["kh"], g["kw"], g["ic"]))
    bias = int32_bias(rng, g["oc"]) if rng.integers(0, 4) else None
    model = _model(g, "int8", w_arr, bias, activation, (x_q, ws, y_q))
    assert_matches_tflm(model, [int8_data(rng, (g["n"], g["h"], g["w"], g["ic"]))])


def test_int8_large_accumulators_and_left_shift_multiplier():
    """A 5x5x40 window of extreme values (|acc| up to 8e6, bias near 1e8) and multipliers
    above 1: the clamps, the positive-shift path and large-bias rounding all matter."""
    rng = np.random.default_rng(7)
    g = dict(n=1, h=7, w=6, ic=40, oc=5, kh=5, kw=5, sh=2, sw=1, dh=1, dw=1, padding="SAME",
             oh=4, ow=6)
    w_arr = np.where(rng.integers(0, 2, (5, 5, 5, 40)), 127, -127).astype(np.int8)
    ws = np.array([0.4, 0.02, 5e-6, 1.5, 2e-6], np.float32)
    bias = np.array([10**8, -10**8, 123456, -7, 2**20], np.int32)
    x = np.where(rng.integers(0, 2, (1, 7, 6, 40)), 127, -128).astype(np.int8)
    model = _model(g, "int8", w_arr, bias, "NONE", ((0.9, -128), ws, (0.05, 5)))
    out = assert_matches_tflm(model, [x])[0]
    assert np.isin(out[..., :2], [-128, 127]).all() and len(np.unique(out[..., 2:])) > 10


@pytest.mark.parametrize("seed", range(6))
def test_float_matches_litert(seed):
    rng = np.random.default_rng(100 + seed)
    g = _geometry(rng)
    w_arr = float_data(rng, (g["oc"], g["kh"], g["kw"], g["ic"]))
    bias = float_data(rng, (g["oc"],))  # LiteRT's float CONV_2D requires a bias
    model = _model(g, "float32", w_arr, bias, ACTIVATIONS[seed % 4])
    assert_float_matches_litert(model, [float_data(rng, (g["n"], g["h"], g["w"], g["ic"]))])


def test_macs_of_the_image_classification_model():
    """ResNet-8 (nine convolutions and a dense layer): 12,501,632 MACs on the MLPerf Tiny file."""
    total, ops = model_macs("ic_resnet8_int8.tflite")
    assert "CONV_2D" in ops and total == 12_501_632


@pytest.mark.parametrize("seed", range(6))
def test_grouped_int8_matches_tflm_and_float_litert(seed):
    """Filters shallower than the input: TFLM's groups = input depth / filter depth."""
    rng = np.random.default_rng(300 + seed)
    groups = int(rng.integers(2, 4))
    g = dict(n=1, h=int(rng.integers(3, 8)), w=int(rng.integers(3, 8)),
             ic=groups * int(rng.integers(1, 4)), oc=groups * int(rng.integers(1, 4)))
    g = conv_window(rng, g)
    w_shape = (g["oc"], g["kh"], g["kw"], g["ic"] // groups)
    activation = pick_activation(rng)
    x_q, ws, y_q = conv_quant(rng, g["kh"] * g["kw"] * g["ic"] // groups, g["oc"],
                              per_channel=True, activation=activation)
    model = _model(g, "int8", int8_weights(rng, w_shape), int32_bias(rng, g["oc"]), activation,
                   (x_q, ws, y_q))
    assert_matches_tflm(model, [int8_data(rng, (g["n"], g["h"], g["w"], g["ic"]))])
    model = _model(g, "float32", float_data(rng, w_shape), float_data(rng, (g["oc"],)),
                   activation)
    assert_float_matches_litert(model, [float_data(rng, (g["n"], g["h"], g["w"], g["ic"]))])
