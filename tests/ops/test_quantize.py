"""QUANTIZE (float32 -> int8, int8 -> int8) and DEQUANTIZE (int8 -> float32) against TFLite
Micro, byte for byte: rounding of exact halves, clamping, the float32 division, every code."""

import numpy as np
import pytest

from tests.ops import act_quant, every_code, unary_model
from tests.refs import assert_matches_tflm


def _float_inputs(rng, scale: float, zp: int) -> np.ndarray:
    """Values covering the int8 range and beyond, plus quotients that are exact halves."""
    span = 300 * scale
    x = rng.uniform(-span, span, 200).astype(np.float32)
    halves = (np.arange(-140, 140) + 0.5 - zp) * np.float32(scale)
    return np.concatenate([x, halves.astype(np.float32), [0.0, -0.0]]).astype(np.float32)


@pytest.mark.parametrize("seed", range(10))
def test_float_to_int8_matches_tflm(seed):
    rng = np.random.default_rng(seed)
    scale, zp = act_quant(rng)
    x = _float_inputs(rng, scale, zp)
    assert_matches_tflm(unary_model("QUANTIZE", x.shape, None, (scale, zp)), [x])


def test_float_to_int8_divides_in_float32():
    """At this scale these inputs' quotients round one way in float32 and the other way in
    double (found by search): TFLM divides in float32."""
    scale = 0.0095701077952981
    codes = np.array([-110.5, -108.5, -63.5, -5.5, 10.5, 33.5, 88.5, 109.5])
    x = (codes * scale).astype(np.float32)
    x = np.concatenate([x, np.nextafter(x, np.float32(0)), np.nextafter(x, np.float32(np.inf))])
    assert_matches_tflm(unary_model("QUANTIZE", x.shape, None, (scale, 0)), [x])


@pytest.mark.parametrize("seed", range(8))
def test_int8_requantize_every_code_matches_tflm(seed):
    rng = np.random.default_rng(20 + seed)
    assert_matches_tflm(unary_model("QUANTIZE", (2, 128), act_quant(rng), act_quant(rng)),
                        [every_code(rng)])


@pytest.mark.parametrize("seed", range(6))
def test_dequantize_every_code_matches_tflm_bit_for_bit(seed):
    rng = np.random.default_rng(40 + seed)
    in_q = (float(np.float32(10 ** rng.uniform(-5, 2))), int(rng.integers(-128, 128)))
    assert_matches_tflm(unary_model("DEQUANTIZE", (2, 128), in_q, None), [every_code(rng)])
