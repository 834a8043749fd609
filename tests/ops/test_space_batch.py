"""SPACE_TO_BATCH_ND and BATCH_TO_SPACE_ND on NHWC tensors.

int8 BATCH_TO_SPACE_ND is compared with TFLite Micro bit for bit. TFLite Micro's
SPACE_TO_BATCH_ND leaves padded elements unwritten, so int8 SPACE_TO_BATCH_ND is compared
with LiteRT's reference kernel (which pads with the zero point) everywhere and with TFLite
Micro on the elements taken from the input. Float goes against LiteRT.
"""

import numpy as np
import pytest

from tests.ops import act_quant, assert_float_matches_litert, float_data, int8_data
from tests.refs import assert_matches_tflm, run_edgec_tflite, run_litert, run_tflm
from tests.tflite_builder import TFLiteBuilder


def _s2b_case(rng):
    """(input shape, block, paddings, output shape) with the padded size divisible."""
    bh, bw = int(rng.integers(1, 4)), int(rng.integers(1, 4))
    n, c = int(rng.integers(1, 3)), int(rng.integers(1, 6))
    hp, wp = bh * int(rng.integers(1, 5)), bw * int(rng.integers(1, 5))
    t, l = int(rng.integers(0, min(hp, 3))), int(rng.integers(0, min(wp, 3)))
    h, w = int(rng.integers(1, hp - t + 1)), int(rng.integers(1, wp - l + 1))
    pads = [[t, hp - h - t], [l, wp - w - l]]
    return (n, h, w, c), [bh, bw], pads, (n * bh * bw, hp // bh, wp // bw, c)


def _model(op, x_shape, block, amounts, y_shape, dtype, quant):
    b = TFLiteBuilder()
    q = dict(zip(("scale", "zero_point"), quant)) if dtype == "int8" else {}
    x = b.tensor("x", x_shape, dtype, **q)
    y = b.tensor("y", y_shape, dtype, **q)
    b.op(op, [x, b.const("block", block), b.const("amounts", amounts)], [y])
    return b.build(inputs=[x], outputs=[y])


def _in_image_mask(x_shape, block, pads) -> np.ndarray:
    """Which SPACE_TO_BATCH_ND outputs come from the input (found by sending indices)."""
    graph_in = np.arange(1, np.prod(x_shape) + 1, dtype=np.int32).reshape(x_shape)
    n, h, w, c = x_shape
    padded = np.pad(graph_in, ((0, 0), *pads, (0, 0)))
    bh, bw = block
    hp, wp = padded.shape[1:3]
    moved = padded.reshape(n, hp // bh, bh, wp // bw, bw, c).transpose(2, 4, 0, 1, 3, 5)
    return moved.reshape(-1, hp // bh, wp // bw, c) != 0


@pytest.mark.parametrize("seed", range(10))
def test_int8_space_to_batch_matches_litert_and_tflm_inside_the_image(seed):
    rng = np.random.default_rng(seed)
    x_shape, block, pads, y_shape = _s2b_case(rng)
    model = _model("SPACE_TO_BATCH_ND", x_shape, block, pads, y_shape, "int8", act_quant(rng))
    x = int8_data(rng, x_shape)
    (ours,) = run_edgec_tflite(model, [x])
    np.testing.assert_array_equal(ours, run_litert(model, [x])[0])
    inside = _in_image_mask(x_shape, block, pads)
    np.testing.assert_array_equal(ours[inside], run_tflm(model, [x])[0][inside])


@pytest.mark.parametrize("seed", range(10))
def test_int8_batch_to_space_matches_tflm(seed):
    rng = np.random.default_rng(50 + seed)
    # The inverse of a SPACE_TO_BATCH_ND geometry: its output shape in, its paddings cropped.
    y_shape, block, crops, x_shape = _s2b_case(rng)
    model = _model("BATCH_TO_SPACE_ND", x_shape, block, crops, y_shape, "int8", act_quant(rng))
    assert_matches_tflm(model, [int8_data(rng, x_shape)])


@pytest.mark.parametrize("op", ["SPACE_TO_BATCH_ND", "BATCH_TO_SPACE_ND"])
@pytest.mark.parametrize("seed", range(4))
def test_float_matches_litert(op, seed):
    rng = np.random.default_rng(100 + seed)
    s_shape, block, amounts, b_shape = _s2b_case(rng)
    x_shape, y_shape = (s_shape, b_shape) if op == "SPACE_TO_BATCH_ND" else (b_shape, s_shape)
    model = _model(op, x_shape, block, amounts, y_shape, "float32", None)
    assert_float_matches_litert(model, [float_data(rng, x_shape)])


def test_round_trip_restores_the_input():
    """BATCH_TO_SPACE_ND with the same block and crops undoes SPACE_TO_BATCH_ND."""
    rng = np.random.default_rng(3)
    x_shape, block, pads, y_shape = (2, 5, 3, 2), [2, 3], [[1, 0], [2, 1]], (12, 3, 2, 2)
    quant = (0.1, 4)
    s2b = _model("SPACE_TO_BATCH_ND", x_shape, block, pads, y_shape, "int8", quant)
    b2s = _model("BATCH_TO_SPACE_ND", y_shape, block, pads, x_shape, "int8", quant)
    x = int8_data(rng, x_shape)
    (moved,) = run_edgec_tflite(s2b, [x])
    assert (moved[~_in_image_mask(x_shape, block, pads)] == 4).all()
    np.testing.assert_array_equal(run_edgec_tflite(b2s, [moved])[0], x)
