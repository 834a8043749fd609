"""AVERAGE_POOL_2D and MAX_POOL_2D: random single-op models against TFLite Micro (int8) and
LiteRT (float); windows larger than the input, SAME padding with uneven edges, activations."""

import numpy as np
import pytest

from edgec.errors import EdgecError
from edgec.ir import Graph, Node, QuantParams, Tensor, interpret
from tests.ops import (ACTIVATIONS, act_quant, assert_float_matches_litert, float_data,
                       int8_data, pick_activation, pick_padding, window_out)
from tests.refs import assert_matches_tflm
from tests.tflite_builder import TFLiteBuilder

POOLS = ("AVERAGE_POOL_2D", "MAX_POOL_2D")


def _model(rng, op: str, dtype: str, activation: str):
    """A random pooling model and an input for it."""
    n, h, w, c = (int(rng.integers(1, 3)), int(rng.integers(1, 13)), int(rng.integers(1, 13)),
                  int(rng.integers(1, 8)))
    fh, fw = int(rng.integers(1, 6)), int(rng.integers(1, 6))
    sh, sw = int(rng.integers(1, 4)), int(rng.integers(1, 4))
    padding = pick_padding(rng, (h, w), (fh, fw), (1, 1))
    y_shape = (n, window_out(h, fh, sh, 1, padding), window_out(w, fw, sw, 1, padding), c)
    b = TFLiteBuilder()
    if dtype == "int8":
        s, zp = act_quant(rng)  # TFLM requires equal input and output quantization
        x = b.tensor("x", (n, h, w, c), "int8", scale=s, zero_point=zp)
        y = b.tensor("y", y_shape, "int8", scale=s, zero_point=zp)
        data = int8_data(rng, (n, h, w, c))
    else:
        x = b.tensor("x", (n, h, w, c), "float32")
        y = b.tensor("y", y_shape, "float32")
        data = float_data(rng, (n, h, w, c))
    b.op(op, [x], [y], padding=padding, stride_h=sh, stride_w=sw, filter_height=fh,
         filter_width=fw, fused_activation_function=activation)
    return b.build(inputs=[x], outputs=[y]), [data]


@pytest.mark.parametrize("op", POOLS)
@pytest.mark.parametrize("seed", range(20))
def test_int8_matches_tflm(op, seed):
    rng = np.random.default_rng(seed)
    assert_matches_tflm(*_model(rng, op, "int8", pick_activation(rng)))


@pytest.mark.parametrize("op", POOLS)
@pytest.mark.parametrize("seed", range(5))
def test_float_matches_litert(op, seed):
    rng = np.random.default_rng(100 + seed)
    assert_float_matches_litert(*_model(rng, op, "float32", ACTIVATIONS[seed % 4]))


def test_int8_average_rounds_half_away_from_zero_over_valid_taps():
    """A 2x2 SAME window at the image edge averages 1, 2 or 4 taps; sums chosen so that
    every count sees exact halves of both signs."""
    b = TFLiteBuilder()
    x = b.tensor("x", (1, 3, 3, 2), "int8", scale=0.5, zero_point=-3)
    y = b.tensor("y", (1, 2, 2, 2), "int8", scale=0.5, zero_point=-3)
    b.op("AVERAGE_POOL_2D", [x], [y], padding="SAME", stride_h=2, stride_w=2,
         filter_height=2, filter_width=2, fused_activation_function="NONE")
    data = np.array([[1, -1], [2, -2], [5, -5], [1, -1], [2, -2], [7, -7],
                     [3, -3], [4, -4], [-128, 127]], np.int8).reshape(1, 3, 3, 2)
    (out,) = assert_matches_tflm(b.build(inputs=[x], outputs=[y]), [data])
    # (1+2+1+2)/4 = 1.5 -> 2; (5+7)/2 = 6; (3+4)/2 = 3.5 -> 4; the corner alone.
    np.testing.assert_array_equal(out[0, :, :, 0], [[2, 6], [4, -128]])
    np.testing.assert_array_equal(out[0, :, :, 1], [[-2, -6], [-4, 127]])


def test_int8_pool_with_different_output_quantization_is_an_error():
    g = Graph(tensors={
        "x": Tensor("x", (1, 4, 4, 1), "int8", quant=QuantParams([0.1], [0])),
        "y": Tensor("y", (1, 2, 2, 1), "int8", quant=QuantParams([0.2], [0]))},
        nodes=[Node("MAX_POOL_2D", ["x"], ["y"], {"filter": (2, 2), "strides": (2, 2)}, "p")],
        inputs=["x"], outputs=["y"])
    with pytest.raises(EdgecError, match="equal input and output quantization"):
        interpret(g, np.zeros((1, 4, 4, 1), np.int8))
