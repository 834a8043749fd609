"""PAD and PADV2 (imported as PAD with a value): random paddings of rank 1-4 tensors against
TFLite Micro (int8) and LiteRT (float)."""

import numpy as np
import pytest

from tests.ops import act_quant, assert_float_matches_litert, float_data, int8_data
from tests.refs import assert_matches_tflm
from tests.tflite_builder import TFLiteBuilder


def _model(rng, dtype: str, v2: bool):
    rank = int(rng.integers(1, 5))
    shape = tuple(int(d) for d in rng.integers(1, 6, rank))
    pads = rng.integers(0, 4, (rank, 2))
    if rank == 4 and rng.integers(0, 2):
        pads[0] = pads[3] = 0  # TFLM's image-style fast path: only H and W padded
    out_shape = tuple(int(d + p.sum()) for d, p in zip(shape, pads))
    b = TFLiteBuilder()
    quant = dict(zip(("scale", "zero_point"), act_quant(rng))) if dtype == "int8" else {}
    x = b.tensor("x", shape, dtype, **quant)
    y = b.tensor("y", out_shape, dtype, **quant)
    inputs = [x, b.const("pads", pads.astype(np.int32))]
    if v2:
        value = int8_data(rng, (1,)) if dtype == "int8" else float_data(rng, (1,))
        inputs.append(b.tensor("value", (), dtype, data=value.reshape(()), **quant))
    b.op("PADV2" if v2 else "PAD", inputs, [y])
    data = int8_data(rng, shape) if dtype == "int8" else float_data(rng, shape)
    return b.build(inputs=[x], outputs=[y]), [data]


@pytest.mark.parametrize("v2", [False, True], ids=["PAD", "PADV2"])
@pytest.mark.parametrize("seed", range(8))
def test_int8_matches_tflm(seed, v2):
    assert_matches_tflm(*_model(np.random.default_rng(seed), "int8", v2))


@pytest.mark.parametrize("v2", [False, True], ids=["PAD", "PADV2"])
@pytest.mark.parametrize("seed", range(4))
def test_float_matches_litert(seed, v2):
    assert_float_matches_litert(*_model(np.random.default_rng(100 + seed), "float32", v2))


def test_int8_pad_value_is_the_output_zero_point():
    b = TFLiteBuilder()
    x = b.tensor("x", (2, 3), "int8", scale=0.1, zero_point=-77)
    y = b.tensor("y", (3, 5), "int8", scale=0.1, zero_point=-77)
    b.op("PAD", [x, b.const("pads", [[1, 0], [0, 2]])], [y])
    data = np.arange(6, dtype=np.int8).reshape(2, 3)
    (out,) = assert_matches_tflm(b.build(inputs=[x], outputs=[y]), [data])
    assert (out[0] == -77).all() and (out[:, 3:] == -77).all()
