"""RESHAPE: random shapes (with and without a -1 and a shape tensor) against TFLite Micro
(int8) and LiteRT (float); malformed shapes are user errors."""

import numpy as np
import pytest

from edgec.errors import EdgecError
from edgec.ir import Node, Tensor, get_op
from tests.ops import assert_float_matches_litert, quant_kwargs, random_data
from tests.refs import assert_matches_tflm
from tests.tflite_builder import TFLiteBuilder


def _factor(rng, size: int) -> list[int]:
    """A random shape with ``size`` elements."""
    dims = []
    while size > 1 and len(dims) < 4:
        d = int(rng.choice([f for f in range(1, size + 1) if size % f == 0]))
        dims.append(d)
        size //= d
    return dims + [size] if size > 1 or not dims else dims


def _model(rng, dtype: str):
    shape = tuple(int(d) for d in rng.integers(1, 6, int(rng.integers(1, 5))))
    new_shape = _factor(rng, int(np.prod(shape)))
    given = list(new_shape)
    if rng.integers(0, 2):
        given[int(rng.integers(0, len(given)))] = -1
    b = TFLiteBuilder()
    quant = quant_kwargs(rng, dtype)
    x = b.tensor("x", shape, dtype, **quant)
    y = b.tensor("y", new_shape, dtype, **quant)
    b.op("RESHAPE", [x, b.const("shape", given)], [y], new_shape=given)
    return b.build(inputs=[x], outputs=[y]), [random_data(rng, shape, dtype)]


@pytest.mark.parametrize("seed", range(8))
def test_int8_matches_tflm(seed):
    assert_matches_tflm(*_model(np.random.default_rng(seed), "int8"))


@pytest.mark.parametrize("seed", range(4))
def test_float_matches_litert(seed):
    assert_float_matches_litert(*_model(np.random.default_rng(100 + seed), "float32"))


@pytest.mark.parametrize("shape", [(4, 4), (3, -1, -1), (7, -1), (0, 24)])
def test_bad_shapes_raise(shape):
    node = Node("RESHAPE", ["x"], ["y"], {"shape": shape}, "r")
    with pytest.raises(EdgecError, match="cannot reshape"):
        get_op("RESHAPE").infer_shapes(node, [Tensor("x", (2, 3, 4), "int8")])


def test_minus_one_is_inferred():
    node = Node("RESHAPE", ["x"], ["y"], {"shape": (2, -1)}, "r")
    assert get_op("RESHAPE").infer_shapes(node, [Tensor("x", (2, 3, 4), "int8")]) == [(2, 12)]
