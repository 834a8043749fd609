"""int8 LOGISTIC, TANH, HARD_SWISH and LEAKY_RELU (lookup tables from the reference) against the reference
interpreter, on every int8 code, for random shapes, scales and zero points."""

import numpy as np
import pytest

from edgec.errors import EdgecError
from edgec.ir import QuantParams, Tensor, interpret
from edgec.lower import lower_graph
from edgec.options import BuildOptions
from tests.lower.harness import needs_gcc, run_kernel, single_node_graph

pytestmark = needs_gcc

# The output quantization TFLM assumes for each op.
OUTPUT_Q = {"LOGISTIC": (1 / 256, -128), "TANH": (1 / 128, 0)}
# Input scales: random, and the corners where everything is linear or everything saturates.
SCALES = {"random": None, "tiny": 1e-6, "huge": 1e3}


def _shape(rng) -> tuple[int, ...]:
    """A random shape of 1 to 3 dimensions holding at least 256 elements."""
    last = int(rng.integers(16, 70))
    rows = -(-256 // last) + int(rng.integers(0, 3))
    return ((rows, last), (1, rows, last), (2, -(-rows // 2), last))[int(rng.integers(0, 3))]


def every_code(shape, rng) -> np.ndarray:
    """int8 values of ``shape`` (at least 256 elements) holding each code, shuffled."""
    codes = np.resize(np.arange(-128, 128), int(np.prod(shape)))
    return rng.permutation(codes).astype(np.int8).reshape(shape)


def _graph(rng, op: str, corner: str, out_zp: int | None = None):
    shape = _shape(rng)
    scale = SCALES[corner] or float(np.exp(rng.uniform(np.log(1e-3), np.log(1.0))))
    x = Tensor("x", shape, "int8", quant=QuantParams(np.float32(scale),
                                                     int(rng.integers(-128, 128))))
    out_scale, zp = OUTPUT_Q[op]
    y = Tensor("y", shape, "int8",
               quant=QuantParams(np.float32(out_scale), zp if out_zp is None else out_zp))
    return single_node_graph(op, [x], [y])


@pytest.mark.parametrize("op", sorted(OUTPUT_Q))
@pytest.mark.parametrize("corner", sorted(SCALES))
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_every_code_matches_reference(cache_dir, op, corner, seed):
    rng = np.random.default_rng([seed, len(op), len(corner)])
    graph = _graph(rng, op, corner)
    (kernel,) = lower_graph(graph, BuildOptions(cache_dir=cache_dir))
    values = {"x": every_code(graph.tensors["x"].shape, rng)}
    actual = run_kernel(kernel, graph, values, sanitize=seed == 0 and corner == "random")
    np.testing.assert_array_equal(actual["y"], interpret(graph, values)["y"])


def test_logistic_output_zero_point_is_checked_like_the_reference(cache_dir):
    graph = _graph(np.random.default_rng(3), "LOGISTIC", "random", out_zp=0)
    with pytest.raises(EdgecError, match="zero point -128"):
        lower_graph(graph, BuildOptions(cache_dir=cache_dir))


def hard_swish_graph(rng, corner: str):
    """One int8 HARD_SWISH node; its output scale follows the input's (any scale is valid)."""
    shape = _shape(rng)
    scale = SCALES[corner] or float(np.exp(rng.uniform(np.log(1e-3), np.log(10.0))))
    x = Tensor("x", shape, "int8", quant=QuantParams(np.float32(scale), int(rng.integers(-128, 128))))
    y = Tensor("y", shape, "int8", quant=QuantParams(np.float32(max(scale * 0.7, 1e-5)), -40))
    return single_node_graph("HARD_SWISH", [x], [y])


@pytest.mark.parametrize("corner", sorted(SCALES))
def test_hard_swish_every_code_matches_reference(cache_dir, corner):
    rng = np.random.default_rng([7, len(corner)])
    graph = hard_swish_graph(rng, corner)
    (kernel,) = lower_graph(graph, BuildOptions(cache_dir=cache_dir))
    values = {"x": every_code(graph.tensors["x"].shape, rng)}
    actual = run_kernel(kernel, graph, values, sanitize=corner == "random")
    np.testing.assert_array_equal(actual["y"], interpret(graph, values)["y"])


@pytest.mark.parametrize("corner", sorted(SCALES))
@pytest.mark.parametrize("alpha", [0.01, 0.3, -0.5])
def test_leaky_relu_every_code_matches_reference(cache_dir, corner, alpha):
    rng = np.random.default_rng([11, len(corner)])
    shape = _shape(rng)
    scale = SCALES[corner] or float(np.exp(rng.uniform(np.log(1e-3), np.log(1.0))))
    x = Tensor("x", shape, "int8", quant=QuantParams(np.float32(scale), int(rng.integers(-128, 128))))
    y = Tensor("y", shape, "int8", quant=QuantParams(np.float32(scale * 0.8), 17))
    graph = single_node_graph("LEAKY_RELU", [x], [y], {"alpha": alpha})
    (kernel,) = lower_graph(graph, BuildOptions(cache_dir=cache_dir))
    values = {"x": every_code(graph.tensors["x"].shape, rng)}
    actual = run_kernel(kernel, graph, values, sanitize=corner == "random")
    np.testing.assert_array_equal(actual["y"], interpret(graph, values)["y"])
