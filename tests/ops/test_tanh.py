"""TANH: every int8 code under random input quantizations against TFLite Micro; float
against LiteRT."""

import numpy as np
import pytest

from tests.ops import assert_float_matches_litert, every_code, float_data, unary_model
from tests.refs import assert_matches_tflm


@pytest.mark.parametrize("seed", range(12))
def test_int8_every_code_matches_tflm(seed):
    rng = np.random.default_rng(seed)
    in_q = (float(np.float32(10 ** rng.uniform(-3.5, 1))), int(rng.integers(-128, 128)))
    assert_matches_tflm(unary_model("TANH", (2, 128), in_q, (1 / 128, 0)), [every_code(rng)])


@pytest.mark.parametrize("scale", [2.0 ** -7, 0.1, 0.5, 1.0])
def test_int8_power_of_two_and_round_scales_match_tflm(scale):
    rng = np.random.default_rng(8)
    assert_matches_tflm(unary_model("TANH", (1, 4, 4, 16), (scale, 9), (1 / 128, 0)),
                        [every_code(rng, (1, 4, 4, 16))])


@pytest.mark.parametrize("seed", range(3))
def test_float_matches_litert(seed):
    rng = np.random.default_rng(30 + seed)
    x = float_data(rng, (3, 50)) * 4
    x[0, :2] = [-50.0, 50.0]
    assert_float_matches_litert(unary_model("TANH", (3, 50), None, None), [x])
