"""DEPTHWISE_CONV_2D: random single-op models against TFLite Micro (int8) and LiteRT (float)."""

import numpy as np
import pytest

from tests.ops import (ACTIVATIONS, assert_float_matches_litert, conv_quant, conv_window,
                       float_data, int8_data, int8_weights, int32_bias, model_macs,
                       pick_activation)
from tests.refs import assert_matches_tflm
from tests.tflite_builder import TFLiteBuilder


def _geometry(rng):
    g = dict(n=int(rng.integers(1, 3)), h=int(rng.integers(1, 12)), w=int(rng.integers(1, 12)),
             c=int(rng.integers(1, 8)), m=int(rng.choice([1, 1, 2, 3])))
    return conv_window(rng, g)


def _model(g, dtype, w_arr, bias_arr, activation, quant=None):
    """One DEPTHWISE_CONV_2D; ``quant`` = (x (s, zp), w scales, y (s, zp)) for int8."""
    b = TFLiteBuilder()
    oc = g["c"] * g["m"]
    if dtype == "int8":
        (xs, xz), ws, (ys, yz) = quant
        x = b.tensor("x", (g["n"], g["h"], g["w"], g["c"]), "int8", scale=xs, zero_point=xz)
        w = b.tensor("w", w_arr.shape, "int8", data=w_arr, scale=ws, zero_point=[0] * ws.size,
                     quantized_dimension=3)
        bias = None if bias_arr is None else b.tensor(
            "b", (oc,), "int32", data=bias_arr, scale=xs * ws, zero_point=[0] * ws.size)
        y = b.tensor("y", (g["n"], g["oh"], g["ow"], oc), "int8", scale=ys, zero_point=yz)
    else:
        x = b.tensor("x", (g["n"], g["h"], g["w"], g["c"]), "float32")
        w = b.tensor("w", w_arr.shape, "float32", data=w_arr)
        bias = None if bias_arr is None else b.tensor("b", (oc,), "float32", data=bias_arr)
        y = b.tensor("y", (g["n"], g["oh"], g["ow"], oc), "float32")
    # No bias means two inputs: TFLM and LiteRT both fail on an absent (-1) third input.
    b.op("DEPTHWISE_CONV_2D", [x, w] if bias is None else [x, w, bias], [y],
         padding=g["padding"], stride_h=g["sh"], stride_w=g["sw"], dilation_h_factor=g["dh"],
         dilation_w_factor=g["dw"], depth_multiplier=g["m"], fused_activation_function=activation)
    return b.build(inputs=[x], outputs=[y])


@pytest.mark.parametrize("seed", range(24))
def test_int8_matches_tflm(seed):
    rng = np.random.default_rng(seed)
    g = _geometry(rng)
    oc = g["c"] * g["m"]
    activation = pick_activation(rng)
    x_q, ws, y_q = conv_quant(rng, g["kh"] * g["kw"], oc, per_channel=bool(rng.integers(0, 4)),
                              activation=activation)
    w_arr = int8_weights(rng, (1, g["kh"], g["kw"], oc))
    bias = int32_bias(rng, oc) if rng.integers(0, 4) else None
    model = _model(g, "int8", w_arr, bias, activation, (x_q, ws, y_q))
    assert_matches_tflm(model, [int8_data(rng, (g["n"], g["h"], g["w"], g["c"]))])


def test_int8_saturation_with_left_shift_multiplier():
    """Extreme inputs and a requantization multiplier above 1 (positive shift): most outputs
    hit the clamps and the left-shift path of MultiplyByQuantizedMultiplier is taken."""
    rng = np.random.default_rng(99)
    g = dict(n=1, h=6, w=5, c=3, m=2, kh=3, kw=3, sh=1, sw=1, dh=1, dw=1, padding="SAME",
             oh=6, ow=5)
    w_arr = np.where(rng.integers(0, 2, (1, 3, 3, 6)), 127, -127).astype(np.int8)
    ws = np.array([0.5, 0.25, 0.9, 0.05, 0.7, 0.3], np.float32)
    bias = np.array([10**6, -10**6, 0, 12345, -54321, 7], np.int32)
    x = np.where(rng.integers(0, 2, (1, 6, 5, 3)), 127, -128).astype(np.int8)
    model = _model(g, "int8", w_arr, bias, "NONE", ((1.0, 127), ws, (0.013, -3)))
    out = assert_matches_tflm(model, [x])[0]
    assert np.isin(out, [-128, 127]).mean() > 0.5


@pytest.mark.parametrize("seed", range(6))
def test_float_matches_litert(seed):
    rng = np.random.default_rng(100 + seed)
    g = _geometry(rng)
    oc = g["c"] * g["m"]
    w_arr = float_data(rng, (1, g["kh"], g["kw"], oc))
    bias = float_data(rng, (oc,)) if seed % 3 else None
    model = _model(g, "float32", w_arr, bias, ACTIVATIONS[seed % 4])
    assert_float_matches_litert(model, [float_data(rng, (g["n"], g["h"], g["w"], g["c"]))])


def test_macs_of_the_keyword_spotting_model():
    """DS-CNN (conv, depthwise, pool, FC): 2,656,768 MACs, measured on the MLPerf Tiny file."""
    total, ops = model_macs("kws_dscnn_int8.tflite")
    assert {"DEPTHWISE_CONV_2D", "AVERAGE_POOL_2D", "FULLY_CONNECTED"} <= ops
    assert total == 2_656_768
