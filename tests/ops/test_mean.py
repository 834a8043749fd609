"""MEAN: random axes, keep_dims and quantizations against TFLite Micro (int8) and LiteRT
(float), including the 4-D spatial mean of global average pooling and long reductions."""

import numpy as np
import pytest

from edgec.ir.quant import mean_multiplier
from tests.ops import act_quant, assert_float_matches_litert, float_data, int8_data
from tests.refs import assert_matches_tflm
from tests.tflite_builder import TFLiteBuilder


def _model(shape, axes, keep_dims: bool, dtype: str, in_q=None, out_q=None):
    rank = len(shape)
    reduced = {a % rank for a in axes}
    if keep_dims:
        out_shape = tuple(1 if i in reduced else d for i, d in enumerate(shape))
    else:
        out_shape = tuple(d for i, d in enumerate(shape) if i not in reduced)
    b = TFLiteBuilder()
    q_in = dict(zip(("scale", "zero_point"), in_q)) if in_q else {}
    q_out = dict(zip(("scale", "zero_point"), out_q)) if out_q else {}
    x = b.tensor("x", shape, dtype, **q_in)
    y = b.tensor("y", out_shape, dtype, **q_out)
    b.op("MEAN", [x, b.const("axes", list(axes))], [y], keep_dims=keep_dims)
    return b.build(inputs=[x], outputs=[y])


def _random_axes(rng, rank: int) -> list[int]:
    count = int(rng.integers(1, rank + 1))
    axes = [int(a) for a in rng.choice(rank, count, replace=False)]
    return [a - rank if rng.integers(0, 2) else a for a in axes]


@pytest.mark.parametrize("seed", range(24))
def test_int8_matches_tflm(seed):
    rng = np.random.default_rng(seed)
    shape = tuple(int(d) for d in rng.integers(1, 8, int(rng.integers(2, 5))))
    in_q = act_quant(rng)
    out_q = in_q if seed % 3 == 0 else act_quant(rng)
    axes = _random_axes(rng, len(shape))
    model = _model(shape, axes, bool(rng.integers(0, 2)), "int8", in_q, out_q)
    assert_matches_tflm(model, [int8_data(rng, shape)])


@pytest.mark.parametrize("keep_dims", [True, False])
@pytest.mark.parametrize("same_quant", [True, False])
def test_int8_global_average_pool_over_height_and_width(keep_dims, same_quant):
    """The converter's global average pooling: 4-D input, axes (1, 2), 1024 values each."""
    rng = np.random.default_rng(int(keep_dims) * 2 + int(same_quant))
    in_q = (0.05, -20)
    out_q = in_q if same_quant else (0.011, 9)
    model = _model((2, 32, 32, 5), [1, 2], keep_dims, "int8", in_q, out_q)
    assert_matches_tflm(model, [int8_data(rng, (2, 32, 32, 5))])


def test_int8_saturates_when_the_output_scale_is_small():
    rng = np.random.default_rng(5)
    x = np.clip(int8_data(rng, (1, 6, 7, 3)).astype(np.int64) + 60, -128, 127).astype(np.int8)
    out = assert_matches_tflm(_model((1, 6, 7, 3), [2], False, "int8", (0.5, 0), (0.01, 0)),
                              [x])[0]
    assert (out == 127).mean() > 0.5


def test_mean_multiplier_folds_the_count_into_the_multiplier():
    """For a power-of-two count the division is exactly a shift."""
    mult, shift = mean_multiplier(0.5, 0.5, 1)
    assert (mult, shift) == (1 << 30, 1)
    assert mean_multiplier(0.5, 0.5, 16) == (1 << 30, 1 - 4)


@pytest.mark.parametrize("seed", range(6))
def test_float_matches_litert(seed):
    rng = np.random.default_rng(100 + seed)
    shape = tuple(int(d) for d in rng.integers(1, 8, int(rng.integers(2, 5))))
    model = _model(shape, _random_axes(rng, len(shape)), bool(seed % 2), "float32")
    assert_float_matches_litert(model, [float_data(rng, shape)])


def test_float_spatial_mean_keep_dims():
    rng = np.random.default_rng(7)
    model = _model((2, 9, 11, 3), [2, 1], True, "float32")
    assert_float_matches_litert(model, [float_data(rng, (2, 9, 11, 3))])
