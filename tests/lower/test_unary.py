"""RELU, RELU6, QUANTIZE, DEQUANTIZE, LOGISTIC, TANH and HARD_SWISH lowered to C against the reference."""

import numpy as np
import pytest

from edgec.ir import QuantParams, Tensor, interpret
from edgec.lower import lower_graph
from edgec.options import BuildOptions
from tests.lower.harness import check_against_reference, needs_gcc, run_kernel, single_node_graph
from tests.lower.quantgen import act_q

pytestmark = needs_gcc

SHAPE = (2, 3, 7)


def _graph(rng, op, in_dtype, out_dtype, corner=""):
    x = Tensor("x", SHAPE, in_dtype, quant=act_q(rng) if in_dtype == "int8" else None)
    y = Tensor("y", SHAPE, out_dtype, quant=act_q(rng, corner) if out_dtype == "int8" else None)
    return single_node_graph(op, [x], [y])


@pytest.mark.parametrize("op,in_dtype,out_dtype", [
    ("RELU", "int8", "int8"), ("RELU6", "int8", "int8"), ("QUANTIZE", "int8", "int8"),
    ("DEQUANTIZE", "int8", "float32"), ("RELU", "float32", "float32"),
    ("RELU6", "float32", "float32"), ("LOGISTIC", "float32", "float32"),
    ("TANH", "float32", "float32"), ("HARD_SWISH", "float32", "float32")])
@pytest.mark.parametrize("seed", [0, 1])
def test_matches_reference(cache_dir, op, in_dtype, out_dtype, seed):
    rng = np.random.default_rng([seed, len(op), len(in_dtype)])
    graph = _graph(rng, op, in_dtype, out_dtype, "tiny" if seed else "")
    check_against_reference(graph, cache_dir, rng, sanitize=seed == 1)


def test_quantize_float_rounds_saturates_and_maps_nan_to_zero_point(cache_dir):
    rng = np.random.default_rng(2)
    x = Tensor("x", (24,), "float32")
    y = Tensor("y", (24,), "int8", quant=QuantParams(np.float32(0.5), -3))
    graph = single_node_graph("QUANTIZE", [x], [y])
    values = np.array([0.25, 0.75, -0.25, -0.75, 1.25, -1.25, 63.75, -64.25, 1e30, -1e30,
                       np.inf, -np.inf, np.nan, 0.2499999851, 65.0, -66.5, 0.0, -0.0,
                       *rng.uniform(-70, 70, 6)], np.float32)
    (kernel,) = lower_graph(graph, BuildOptions(cache_dir=cache_dir))
    with np.errstate(invalid="ignore"):
        expected = interpret(graph, {"x": values})["y"]
    actual = run_kernel(kernel, graph, {"x": values}, sanitize=True)["y"]
    np.testing.assert_array_equal(actual, expected)


@pytest.mark.parametrize("alpha", [0.01, 0.25])
def test_float_leaky_relu_matches_reference(cache_dir, alpha):
    rng = np.random.default_rng(5)
    graph = single_node_graph("LEAKY_RELU", [Tensor("x", SHAPE, "float32")],
                              [Tensor("y", SHAPE, "float32")], {"alpha": alpha})
    check_against_reference(graph, cache_dir, rng, sanitize=True)
