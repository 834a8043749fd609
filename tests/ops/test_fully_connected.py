"""FULLY_CONNECTED: random single-op models against TFLite Micro (int8) and LiteRT (float),
both of TFLM's int8 paths (per-tensor and per-channel weights), keep_num_dims, and the MAC
count of a real model."""

import numpy as np
import pytest

from edgec.ir.quant import multiply_by_quantized_multiplier, quantize_multiplier
from tests.ops import (ACTIVATIONS, assert_float_matches_litert, conv_quant, float_data,
                       int8_data, int8_weights, int32_bias, model_macs, pick_activation)
from tests.refs import assert_matches_tflm
from tests.tflite_builder import TFLiteBuilder


def _shapes(rng, keep_num_dims: bool):
    """(input shape, K, O, output shape): K divides the input; with keep_num_dims it is the
    last dimension."""
    k, o = int(rng.integers(1, 40)), int(rng.integers(1, 12))
    lead = tuple(int(d) for d in rng.integers(1, 4, int(rng.integers(1, 3))))
    if keep_num_dims:
        return lead + (k,), k, o, lead + (o,)
    rows = int(np.prod(lead))
    x_shape = [(rows, k), (rows * k,), (1, rows, k)][int(rng.integers(0, 3))]
    return x_shape, k, o, (rows, o)


def _model(x_shape, y_shape, dtype, w_arr, bias_arr, activation, keep_num_dims, quant=None):
    """One FULLY_CONNECTED; ``quant`` = (x (s, zp), w scales, w zp, y (s, zp)) for int8."""
    b = TFLiteBuilder()
    o = w_arr.shape[0]
    if dtype == "int8":
        (xs, xz), ws, wz, (ys, yz) = quant
        x = b.tensor("x", x_shape, "int8", scale=xs, zero_point=xz)
        w = b.tensor("w", w_arr.shape, "int8", data=w_arr, scale=ws, zero_point=[wz] * ws.size)
        bias = None if bias_arr is None else b.tensor(
            "b", (o,), "int32", data=bias_arr, scale=xs * ws, zero_point=[0] * ws.size)
        y = b.tensor("y", y_shape, "int8", scale=ys, zero_point=yz)
    else:
        x = b.tensor("x", x_shape, "float32")
        w = b.tensor("w", w_arr.shape, "float32", data=w_arr)
        bias = None if bias_arr is None else b.tensor("b", (o,), "float32", data=bias_arr)
        y = b.tensor("y", y_shape, "float32")
    b.op("FULLY_CONNECTED", [x, w, bias], [y], fused_activation_function=activation,
         keep_num_dims=keep_num_dims)
    return b.build(inputs=[x], outputs=[y])


def _int8_case(rng, per_channel: bool, keep_num_dims: bool, w_zero_point: int = 0):
    x_shape, k, o, y_shape = _shapes(rng, keep_num_dims)
    activation = pick_activation(rng)
    x_q, ws, y_q = conv_quant(rng, k, o, per_channel, activation)
    w_arr = int8_weights(rng, (o, k))
    bias = int32_bias(rng, o) if rng.integers(0, 4) else None
    model = _model(x_shape, y_shape, "int8", w_arr, bias, activation, keep_num_dims,
                   (x_q, ws, w_zero_point, y_q))
    return model, [int8_data(rng, x_shape)]


@pytest.mark.parametrize("seed", range(12))
def test_int8_per_tensor_weights_match_tflm(seed):
    rng = np.random.default_rng(seed)
    assert_matches_tflm(*_int8_case(rng, per_channel=False, keep_num_dims=bool(seed % 2)))


@pytest.mark.parametrize("seed", range(12))
def test_int8_per_channel_weights_match_tflm(seed):
    rng = np.random.default_rng(50 + seed)
    assert_matches_tflm(*_int8_case(rng, per_channel=True, keep_num_dims=bool(seed % 2)))


@pytest.mark.parametrize("seed", range(3))
def test_int8_per_tensor_weight_zero_point_is_subtracted(seed):
    """TFLM's per-tensor path adds the weight offset in the sums (legacy asymmetric weights)."""
    rng = np.random.default_rng(80 + seed)
    assert_matches_tflm(*_int8_case(rng, per_channel=False, keep_num_dims=False,
                                    w_zero_point=int(rng.integers(-20, 21))))


def test_int8_per_tensor_multiplier_uses_the_double_scale_product():
    """TFLM's source suggests the per-tensor multiplier comes from the scale product rounded
    to float32; the installed TFLM computes it in double, as for conv. With these scales the
    two differ, and accumulators of +-131155 (set through the bias, the input being all zero
    point) land on different sides of a rounding boundary."""
    xs, ws, ys = 0.024332387372851372, 0.009218175895512104, 0.3080444633960724
    bias = np.array([131155, -131155, 131154, 5], np.int32)
    model = _model((1, 3), (1, 4), "int8", np.ones((4, 3), np.int8), bias, "NONE", False,
                   ((xs, 0), np.array([ws], np.float32), 0, (ys, 0)))
    (out,) = assert_matches_tflm(model, [np.zeros((1, 3), np.int8)])
    float_product = float(np.float32(xs) * np.float32(ws))
    with_float = multiply_by_quantized_multiplier(bias, *quantize_multiplier(float_product / ys))
    assert (out[0, :2] != with_float[:2]).all()


def test_int8_saturation_long_rows_and_left_shift():
    """K = 1500 rows of extreme values (|acc| near 5e7) with multipliers far above 1."""
    rng = np.random.default_rng(11)
    w_arr = np.where(rng.integers(0, 2, (6, 1500)), 127, -127).astype(np.int8)
    x = np.where(rng.integers(0, 2, (2, 1500)), 127, -128).astype(np.int8)
    ws = np.array([1e-2, 2e-6, 5e-7, 3.0, 1e-6, 4e-7], np.float32)
    bias = np.array([2**30, -2**30, 99, -99, 5 * 10**6, 0], np.int32)
    model = _model((2, 1500), (2, 6), "int8", w_arr, bias, "NONE", False,
                   ((0.7, 127), ws, 0, (0.1, -1)))
    out = assert_matches_tflm(model, [x])[0]
    assert np.isin(out[:, [0, 3]], [-128, 127]).all() and len(np.unique(out)) > 4


@pytest.mark.parametrize("seed", range(6))
def test_float_matches_litert(seed):
    rng = np.random.default_rng(100 + seed)
    keep = bool(seed % 2)
    x_shape, k, o, y_shape = _shapes(rng, keep)
    bias = float_data(rng, (o,)) if seed % 3 else None
    model = _model(x_shape, y_shape, "float32", float_data(rng, (o, k)), bias,
                   ACTIVATIONS[seed % 4], keep)
    assert_float_matches_litert(model, [float_data(rng, x_shape)])


def test_macs_of_the_fc_autoencoder_model():
    """The MLPerf Tiny anomaly-detection model is ten FULLY_CONNECTED layers: 264,192 MACs."""
    assert model_macs("ad_fc_autoencoder_int8.tflite") == (264_192, {"FULLY_CONNECTED"})
