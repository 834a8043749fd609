"""Quantization parameters: TFLite's activation nudging, symmetric weights, int32 bias."""

import numpy as np
import pytest

from edgec.quantize.params import activation_quant, bias_quant, quantize_array, weight_quant


@pytest.mark.parametrize("lo,hi", [(-1.0, 3.0), (0.0, 6.0), (-5.0, -1.0), (0.3, 0.9),
                                   (-0.001, 100.0), (-2.5, 2.5)])
def test_activation_range_includes_zero_exactly(lo, hi):
    q = activation_quant(lo, hi)
    assert -128 <= q.zp <= 127
    assert quantize_array(np.array([0.0]), q)[0] == q.zp  # real 0 is exactly representable
    covered_lo, covered_hi = q.s * (-128 - q.zp), q.s * (127 - q.zp)
    step = q.s
    assert covered_lo <= min(lo, 0.0) + step and covered_hi >= max(hi, 0.0) - step


def test_activation_quant_of_relu_output_puts_zero_at_minus_128():
    q = activation_quant(0.0, 6.0)
    assert q.zp == -128 and q.s == np.float32(6.0 / 255)


def test_degenerate_range_gets_a_positive_scale():
    q = activation_quant(0.0, 0.0)
    assert q.s > 0 and q.zp == 0


@pytest.mark.parametrize("dtype,qmax", [("int8", 127), ("int4", 7)])
def test_weights_are_symmetric_per_channel(dtype, qmax):
    w = np.random.default_rng(0).normal(size=(5, 3, 3, 2)).astype(np.float32)
    w[2] = 0.0
    data, q = weight_quant(w, 0, dtype)
    assert q.axis == 0 and np.all(q.zero_point == 0) and q.scale.shape == (5,)
    assert data.dtype == np.int8 and data.min() >= -qmax and data.max() <= qmax
    peaks = np.abs(data.reshape(5, -1)).max(axis=1)
    assert list(peaks) == [qmax, qmax, 0, qmax, qmax]
    np.testing.assert_allclose(data * q.scale[:, None, None, None], w, atol=q.scale.max() / 2)


def test_depthwise_weights_use_the_last_axis():
    w = np.arange(24, dtype=np.float32).reshape(1, 2, 3, 4) - 12
    _, q = weight_quant(w, 3, "int8")
    assert q.axis == 3 and q.scale.shape == (4,)
    np.testing.assert_allclose(q.scale, np.abs(w).max(axis=(0, 1, 2)) / 127, rtol=1e-6)


def test_bias_scale_is_input_times_weight_scale():
    w_data, w_q = weight_quant(np.array([[1.0, -2.0], [0.5, 0.25]], np.float32), 0, "int8")
    in_q = activation_quant(-1.0, 1.0)
    data, q = bias_quant(np.array([0.3, -0.7], np.float32), in_q, w_q)
    assert data.dtype == np.int32 and q.axis == 0 and np.all(q.zero_point == 0)
    np.testing.assert_allclose(q.scale, np.float32(in_q.s) * w_q.scale, rtol=1e-7)
    np.testing.assert_array_equal(data, np.round(np.array([0.3, -0.7]) / q.scale))


def test_int4_clipping_never_loses_to_max_scaling():
    w = np.random.default_rng(1).standard_t(3, size=(8, 50)).astype(np.float32)  # heavy tails
    data, q = weight_quant(w, 0, "int4")
    peak = np.abs(w).max(axis=1, keepdims=True)
    max_scaled = np.clip(np.round(w / (peak / 7)), -7, 7) * (peak / 7)
    errors = ((data * q.scale[:, None] - w) ** 2).sum(axis=1)
    assert np.all(errors <= ((max_scaled - w) ** 2).sum(axis=1) + 1e-6)
    assert np.any(q.scale < peak[:, 0] / 7)  # some channel clips its outliers


def test_ternary_weights_are_minus_one_zero_one_with_the_least_error_scale():
    w = np.random.default_rng(2).normal(size=(6, 40)).astype(np.float32)
    w[3] = 0.0
    data, q = weight_quant(w, 0, "ternary")
    assert q.axis == 0 and q.scale.shape == (6,) and np.all(q.zero_point == 0)
    assert set(np.unique(data)) == {-1, 0, 1} and not data[3].any()
    errors = ((data * q.scale[:, None] - w) ** 2).sum(axis=1)
    peak = np.abs(w).max(axis=1, keepdims=True)
    for fraction in (1.0, 0.7, 0.3):  # any other scale does no better
        s = np.where(peak > 0, peak * fraction, 1.0)
        other = ((np.clip(np.round(w / s), -1, 1) * s - w) ** 2).sum(axis=1)
        assert np.all(errors <= other + 1e-5)
    assert np.all(q.scale[[0, 1, 2, 4, 5]] < 0.8 * peak[[0, 1, 2, 4, 5], 0])
