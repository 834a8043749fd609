"""SOFTMAX: int8 -> int8 and int8 -> int16 against TFLite Micro (random shapes, scales wide
enough to reach diff_min, several betas, rows holding every int8 code), float against LiteRT,
and TFLM's output quantization requirements."""

import numpy as np
import pytest

from edgec.errors import EdgecError
from tests.ops import assert_float_matches_litert, float_data, int8_data
from tests.refs import assert_matches_tflm, run_edgec_tflite
from tests.tflite_builder import TFLiteBuilder

OUT_QUANT = {"int8": (1 / 256, -128), "int16": (1 / 65536, -32768)}


def _model(shape, in_q, out_dtype, beta, out_q=None):
    b = TFLiteBuilder()
    if in_q is None:
        x = b.tensor("x", shape, "float32")
        y = b.tensor("y", shape, "float32")
    else:
        x = b.tensor("x", shape, "int8", scale=in_q[0], zero_point=in_q[1])
        s, zp = out_q or OUT_QUANT[out_dtype]
        y = b.tensor("y", shape, out_dtype, scale=s, zero_point=zp)
    b.op("SOFTMAX", [x], [y], beta=beta)
    return b.build(inputs=[x], outputs=[y])


def _random_case(rng):
    shape = tuple(int(d) for d in rng.integers(1, 5, int(rng.integers(0, 4))))
    shape += (int(rng.choice([1, 2, 10, 37, 300])),)
    # Scales up to 30 so that large differences fall below diff_min and give exactly 0.
    in_q = (float(np.float32(10 ** rng.uniform(-3, 1.5))), int(rng.integers(-128, 128)))
    beta = float(rng.choice([1.0, 0.5, 2.0, float(np.float32(rng.uniform(0.1, 3)))]))
    return shape, in_q, beta


@pytest.mark.parametrize("out_dtype", ["int8", "int16"])
@pytest.mark.parametrize("seed", range(10))
def test_int8_matches_tflm(out_dtype, seed):
    rng = np.random.default_rng(seed)
    shape, in_q, beta = _random_case(rng)
    assert_matches_tflm(_model(shape, in_q, out_dtype, beta), [int8_data(rng, shape)])


@pytest.mark.parametrize("out_dtype", ["int8", "int16"])
@pytest.mark.parametrize("scale", [1e-3, 0.01, 0.0625, 0.3, 1.0, 7.0, 40.0])
def test_int8_rows_with_every_code_match_tflm(out_dtype, scale):
    """Each row holds all 256 codes in a different order: every difference to the max."""
    rng = np.random.default_rng(int(scale * 1000))
    rows = np.stack([rng.permutation(256) - 128 for _ in range(3)]).astype(np.int8)
    rows[2] = np.clip(rows[2], -128, 20)  # a row whose max is not 127
    assert_matches_tflm(_model((3, 256), (scale, 5), out_dtype, 1.0), [rows])


@pytest.mark.parametrize("seed", range(5))
def test_float_matches_litert(seed):
    rng = np.random.default_rng(100 + seed)
    shape, _, beta = _random_case(rng)
    assert_float_matches_litert(_model(shape, None, "float32", beta),
                                [float_data(rng, shape) * 5])


@pytest.mark.parametrize("out_q", [(1 / 256, -127), (1 / 128, -128)])
def test_output_quantization_other_than_tflms_is_rejected(out_q):
    model = _model((1, 8), (0.1, 0), "int8", 1.0, out_q)
    with pytest.raises(EdgecError, match="requires scale"):
        run_edgec_tflite(model, [np.zeros((1, 8), np.int8)])
