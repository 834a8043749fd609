"""CONCATENATION: 1-4 inputs along random (also negative) axes against TFLite Micro (int8)
and LiteRT (float); int8 inputs with another quantization than the output are user errors."""

import numpy as np
import pytest

from edgec.errors import EdgecError
from edgec.ir import Graph, Node, QuantParams, Tensor, interpret
from tests.ops import assert_float_matches_litert, quant_kwargs, random_data
from tests.refs import assert_matches_tflm
from tests.tflite_builder import TFLiteBuilder


def _model(rng, dtype: str):
    rank = int(rng.integers(1, 5))
    base = [int(d) for d in rng.integers(1, 5, rank)]
    axis = int(rng.integers(-rank, rank))
    sizes = [int(s) for s in rng.integers(1, 6, int(rng.integers(1, 5)))]
    shapes = [tuple(base[:axis % rank] + [s] + base[axis % rank + 1:]) for s in sizes]
    out_shape = tuple(base[:axis % rank] + [sum(sizes)] + base[axis % rank + 1:])
    b = TFLiteBuilder()
    quant = quant_kwargs(rng, dtype)
    xs = [b.tensor(f"x{i}", s, dtype, **quant) for i, s in enumerate(shapes)]
    y = b.tensor("y", out_shape, dtype, **quant)
    b.op("CONCATENATION", xs, [y], axis=axis, fused_activation_function="NONE")
    return b.build(inputs=xs, outputs=[y]), [random_data(rng, s, dtype) for s in shapes]


@pytest.mark.parametrize("seed", range(10))
def test_int8_matches_tflm(seed):
    assert_matches_tflm(*_model(np.random.default_rng(seed), "int8"))


@pytest.mark.parametrize("seed", range(4))
def test_float_matches_litert(seed):
    assert_float_matches_litert(*_model(np.random.default_rng(100 + seed), "float32"))


def test_int8_inputs_needing_a_rescale_are_an_error():
    q = {"a": QuantParams([0.1], [3]), "b": QuantParams([0.2], [3])}
    g = Graph(tensors={
        "a": Tensor("a", (1, 2), "int8", quant=q["a"]),
        "b": Tensor("b", (1, 2), "int8", quant=q["b"]),
        "y": Tensor("y", (1, 4), "int8", quant=q["a"])},
        nodes=[Node("CONCATENATION", ["a", "b"], ["y"], {"axis": 1}, "c")],
        inputs=["a", "b"], outputs=["y"])
    with pytest.raises(EdgecError, match="input 'b' is quantized"):
        interpret(g, [np.zeros((1, 2), np.int8)] * 2)
