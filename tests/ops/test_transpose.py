"""TRANSPOSE: random permutations of rank 1-5 tensors against TFLite Micro (int8) and LiteRT
(float)."""

import numpy as np
import pytest

from edgec.errors import EdgecError
from edgec.ir import Node, Tensor, get_op
from tests.ops import assert_float_matches_litert, quant_kwargs, random_data
from tests.refs import assert_matches_tflm
from tests.tflite_builder import TFLiteBuilder


def _model(rng, dtype: str):
    rank = int(rng.integers(1, 6))
    shape = tuple(int(d) for d in rng.integers(1, 6, rank))
    perm = [int(p) for p in rng.permutation(rank)]
    b = TFLiteBuilder()
    quant = quant_kwargs(rng, dtype)
    x = b.tensor("x", shape, dtype, **quant)
    y = b.tensor("y", tuple(shape[p] for p in perm), dtype, **quant)
    b.op("TRANSPOSE", [x, b.const("perm", perm)], [y])
    return b.build(inputs=[x], outputs=[y]), [random_data(rng, shape, dtype)]


@pytest.mark.parametrize("seed", range(10))
def test_int8_matches_tflm(seed):
    assert_matches_tflm(*_model(np.random.default_rng(seed), "int8"))


@pytest.mark.parametrize("seed", range(4))
def test_float_matches_litert(seed):
    assert_float_matches_litert(*_model(np.random.default_rng(100 + seed), "float32"))


@pytest.mark.parametrize("perm", [(0, 0, 1), (0, 1), (0, 1, 3)])
def test_non_permutations_raise(perm):
    node = Node("TRANSPOSE", ["x"], ["y"], {"perm": perm}, "t")
    with pytest.raises(EdgecError, match="not a permutation"):
        get_op("TRANSPOSE").infer_shapes(node, [Tensor("x", (2, 3, 4), "int8")])
