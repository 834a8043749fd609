"""SOFTMAX lowered to C (int8 input to int8 or int16 from the template, float32 TE) against
the reference interpreter."""

import numpy as np
import pytest

from edgec.errors import EdgecError
from edgec.ir import QuantParams, Tensor
from edgec.lower import lower_graph
from edgec.options import BuildOptions
from tests.lower.harness import check_against_reference, needs_gcc, single_node_graph

pytestmark = needs_gcc

SHAPES = [(1, 10), (3, 12), (2, 2, 5), (1, 1)]


def _softmax_graph(rng, shape, dtype, beta, scale):
    if dtype == "float32":
        x, y = Tensor("x", shape, dtype), Tensor("y", shape, dtype)
    else:
        x = Tensor("x", shape, dtype, quant=QuantParams(np.float32(scale),
                                                        int(rng.integers(-128, 128))))
        y = Tensor("y", shape, dtype, quant=QuantParams(np.float32(1 / 256), -128))
    return single_node_graph("SOFTMAX", [x], [y], {"beta": beta})


@pytest.mark.parametrize("shape", range(len(SHAPES)))
@pytest.mark.parametrize("scale", [0.0039, 0.05, 0.25, 2.0])
def test_int8_matches_reference(cache_dir, shape, scale):
    rng = np.random.default_rng([shape, int(scale * 1000)])
    graph = _softmax_graph(rng, SHAPES[shape], "int8", 1.0, scale)
    check_against_reference(graph, cache_dir, rng, sanitize=shape == 1 and scale == 0.05)


@pytest.mark.parametrize("shape", range(len(SHAPES)))
def test_float_matches_reference(cache_dir, shape):
    rng = np.random.default_rng(shape)
    graph = _softmax_graph(rng, SHAPES[shape], "float32", [1.0, 0.5, 2.0, 1.0][shape], 0)
    check_against_reference(graph, cache_dir, rng)


def _int16_output_graph(rng, shape, scale, out_zp=-32768):
    x = Tensor("x", shape, "int8", quant=QuantParams(np.float32(scale),
                                                     int(rng.integers(-128, 128))))
    y = Tensor("y", shape, "int16", quant=QuantParams(np.float32(1 / 65536), out_zp))
    return single_node_graph("SOFTMAX", [x], [y], {"beta": float(rng.uniform(0.5, 2.0))})


@pytest.mark.parametrize("shape", range(len(SHAPES) + 1))
@pytest.mark.parametrize("scale", [0.0039, 0.05, 2.0])
def test_int8_to_int16_matches_reference(cache_dir, shape, scale):
    rng = np.random.default_rng([shape, int(scale * 1000), 16])
    graph = _int16_output_graph(rng, (SHAPES + [(2, 300)])[shape], scale)
    check_against_reference(graph, cache_dir, rng, sanitize=shape == 1 and scale == 0.05)


def test_int16_output_quantization_is_checked(cache_dir):
    graph = _int16_output_graph(np.random.default_rng(0), (1, 4), 0.05, out_zp=0)
    with pytest.raises(EdgecError, match="int16"):
        lower_graph(graph, BuildOptions(cache_dir=cache_dir))
