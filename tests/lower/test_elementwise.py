"""ADD, SUB, MUL (with broadcasting) and RESHAPE lowered to C against the reference."""

import numpy as np
import pytest

from edgec.ir import QuantParams, Tensor
from tests.lower.harness import check_against_reference, needs_gcc, single_node_graph
from tests.lower.quantgen import act_q

pytestmark = needs_gcc

SHAPES = [((1, 4, 4, 3), (1, 4, 4, 3)), ((2, 3, 5), (5,)), ((1, 3, 1, 4), (1, 1, 2, 1))]
ACTIVATIONS = ["NONE", "RELU", "RELU6"]


def _binary_graph(rng, op, shapes, dtype, corner=""):
    out_shape = np.broadcast_shapes(*shapes)
    a = Tensor("a", shapes[0], dtype, quant=act_q(rng) if dtype == "int8" else None)
    b = Tensor("b", shapes[1], dtype, quant=act_q(rng) if dtype == "int8" else None)
    if dtype == "int8" and corner == "scales":
        # Very different input scales: one multiplier near 1, the other tiny.
        a.quant = QuantParams(np.float32(0.5), int(rng.integers(-128, 128)))
        b.quant = QuantParams(np.float32(0.0002), int(rng.integers(-128, 128)))
    y = Tensor("y", out_shape, dtype, quant=act_q(rng, corner if corner != "scales" else "")
               if dtype == "int8" else None)
    attrs = {"activation": ACTIVATIONS[len(shapes[1]) % 3]}
    return single_node_graph(op, [a, b], [y], attrs)


@pytest.mark.parametrize("op", ["ADD", "SUB", "MUL"])
@pytest.mark.parametrize("shapes", range(len(SHAPES)))
@pytest.mark.parametrize("corner", ["", "tiny", "scales"])
def test_int8_matches_reference(cache_dir, op, shapes, corner):
    rng = np.random.default_rng([shapes, len(op), len(corner)])
    graph = _binary_graph(rng, op, SHAPES[shapes], "int8", corner)
    check_against_reference(graph, cache_dir, rng)


@pytest.mark.parametrize("op", ["ADD", "SUB", "MUL"])
@pytest.mark.parametrize("shapes", range(len(SHAPES)))
def test_float_matches_reference(cache_dir, op, shapes):
    rng = np.random.default_rng([shapes, len(op), 3])
    graph = _binary_graph(rng, op, SHAPES[shapes], "float32")
    check_against_reference(graph, cache_dir, rng)


def test_add_under_sanitizers(cache_dir):
    rng = np.random.default_rng(3)
    graph = _binary_graph(rng, "ADD", SHAPES[2], "int8", "tiny")
    check_against_reference(graph, cache_dir, rng, sanitize=True)


@pytest.mark.parametrize("dtype", ["int8", "float32"])
def test_reshape_is_a_copy(cache_dir, dtype):
    rng = np.random.default_rng(4)
    q = act_q(rng) if dtype == "int8" else None
    x = Tensor("x", (1, 2, 3, 4), dtype, quant=q)
    y = Tensor("y", (1, 24), dtype, quant=q)
    graph = single_node_graph("RESHAPE", [x], [y], {"shape": (1, 24)})
    check_against_reference(graph, cache_dir, rng, sanitize=True)
