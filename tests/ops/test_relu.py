"""RELU and RELU6: every int8 code against TFLite Micro, with equal and with different input
and output quantization (TFLM's RELU requantizes, its RELU6 clamps the raw input and ignores
the output quantization); float against LiteRT."""

import numpy as np
import pytest

from tests.ops import (act_quant, assert_float_matches_litert, every_code, float_data,
                       unary_model)
from tests.refs import assert_matches_tflm

OPS = ("RELU", "RELU6")


@pytest.mark.parametrize("op", OPS)
@pytest.mark.parametrize("seed", range(8))
def test_int8_every_code_matches_tflm(op, seed):
    rng = np.random.default_rng(seed)
    in_q = act_quant(rng)
    out_q = in_q if seed % 2 == 0 else act_quant(rng)
    assert_matches_tflm(unary_model(op, (2, 128), in_q, out_q), [every_code(rng)])


# (input scale, zp, output scale, zp) where dividing the scales in float32 instead of double
# changes some RELU outputs (found by search); TFLM's result is the double one.
SENSITIVE_RELU = [(0.4727713167667389, 37, 0.6135200262069702, 38),
                  (0.0032721846364438534, 31, 0.002269723452627659, -51),
                  (0.101735420525074, 56, 0.07663187384605408, -34)]


@pytest.mark.parametrize("quants", SENSITIVE_RELU)
def test_int8_relu_scale_ratio_precision_matches_tflm(quants):
    rng = np.random.default_rng(1)
    assert_matches_tflm(unary_model("RELU", (2, 128), quants[:2], quants[2:]),
                        [every_code(rng)])


def test_int8_relu6_upper_bound_rounds_six_over_scale_in_float32():
    """6 / 0.34285715 is 17.4999995 in double but 17.5 in float32, which rounds to 18."""
    rng = np.random.default_rng(2)
    q = (0.34285715222358704, -128)
    out = assert_matches_tflm(unary_model("RELU6", (2, 128), q, q), [every_code(rng)])
    assert out[0].max() == -128 + 18


@pytest.mark.parametrize("op", OPS)
@pytest.mark.parametrize("seed", range(3))
def test_float_matches_litert(op, seed):
    rng = np.random.default_rng(40 + seed)
    assert_float_matches_litert(unary_model(op, (4, 30), None, None),
                                [float_data(rng, (4, 30)) * 5])
