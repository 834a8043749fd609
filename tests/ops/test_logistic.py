"""LOGISTIC: every int8 code under random input quantizations (wide scales reach the
saturation radius) against TFLite Micro; float inputs across TFLM's cutoffs against LiteRT."""

import numpy as np
import pytest

from edgec.errors import EdgecError
from tests.ops import assert_float_matches_litert, every_code, float_data, unary_model
from tests.refs import assert_matches_tflm, run_edgec_tflite


@pytest.mark.parametrize("seed", range(12))
def test_int8_every_code_matches_tflm(seed):
    rng = np.random.default_rng(seed)
    in_q = (float(np.float32(10 ** rng.uniform(-3.5, 1))), int(rng.integers(-128, 128)))
    assert_matches_tflm(unary_model("LOGISTIC", (2, 128), in_q, (1 / 256, -128)),
                        [every_code(rng)])


@pytest.mark.parametrize("scale", [2.0 ** -7, 0.1, 0.5, 1.0])
def test_int8_power_of_two_and_round_scales_match_tflm(scale):
    rng = np.random.default_rng(7)
    assert_matches_tflm(unary_model("LOGISTIC", (1, 4, 4, 16), (scale, -3), (1 / 256, -128)),
                        [every_code(rng, (1, 4, 4, 16))])


@pytest.mark.parametrize("seed", range(3))
def test_float_matches_litert(seed):
    rng = np.random.default_rng(20 + seed)
    x = float_data(rng, (3, 50)) * 8
    x[0, :4] = [-100.0, -9.5, 17.0, 90.0]  # beyond both of TFLM's cutoffs
    assert_float_matches_litert(unary_model("LOGISTIC", (3, 50), None, None), [x])


def test_output_zero_point_other_than_minus_128_is_rejected():
    model = unary_model("LOGISTIC", (4,), (0.1, 0), (1 / 256, 0))
    with pytest.raises(EdgecError, match="zero point -128"):
        run_edgec_tflite(model, [np.zeros(4, np.int8)])
