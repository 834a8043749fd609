"""FULLY_CONNECTED lowered to C against the reference interpreter."""

import numpy as np
import pytest

from edgec.ir import QuantParams, Tensor
from tests.lower.harness import check_against_reference, needs_gcc, single_node_graph
from tests.lower.quantgen import act_q, bias_tensor, weight_tensor

pytestmark = needs_gcc

# (input shape, outputs, keep_num_dims)
SHAPES = [((1, 10), 4, False), ((2, 3, 8), 5, True), ((3, 2, 2, 3), 7, False)]


def _fc_graph(rng, shape, out, keep, dtype, corner="", weights="per_channel"):
    k = shape[-1] if keep else int(np.prod(shape[1:]))
    y_shape = shape[:-1] + (out,) if keep else (int(np.prod(shape)) // k, out)
    attrs = dict(activation=["NONE", "RELU", "RELU6"][len(shape) % 3], keep_num_dims=keep)
    if dtype == "float32":
        x = Tensor("x", shape, "float32")
        w = Tensor("w", (out, k), "float32", rng.normal(size=(out, k)).astype(np.float32))
        b = Tensor("b", (out,), "float32", rng.normal(size=out).astype(np.float32))
        return single_node_graph("FULLY_CONNECTED", [x, w, b],
                                 [Tensor("y", y_shape, "float32")], attrs)
    x = Tensor("x", shape, "int8", quant=act_q(rng))
    w = weight_tensor(rng, "w", (out, k), 0, per_channel=weights == "per_channel")
    if weights == "offset":
        w.quant = QuantParams(w.quant.scale, int(rng.integers(-20, 20)))
    b = bias_tensor(rng, "b", out, corner)
    y = Tensor("y", y_shape, "int8", quant=act_q(rng, corner))
    return single_node_graph("FULLY_CONNECTED", [x, w, b], [y], attrs)


@pytest.mark.parametrize("shape", range(len(SHAPES)))
@pytest.mark.parametrize("weights", ["per_channel", "per_tensor", "offset"])
@pytest.mark.parametrize("corner", ["", "tiny", "extreme"])
def test_int8_matches_reference(cache_dir, shape, weights, corner):
    rng = np.random.default_rng([shape, len(weights), len(corner)])
    x_shape, out, keep = SHAPES[shape]
    graph = _fc_graph(rng, x_shape, out, keep, "int8", corner, weights)
    check_against_reference(graph, cache_dir, rng)


@pytest.mark.parametrize("shape", range(len(SHAPES)))
def test_float_matches_reference(cache_dir, shape):
    rng = np.random.default_rng([shape, 99])
    graph = _fc_graph(rng, *SHAPES[shape], "float32")
    check_against_reference(graph, cache_dir, rng)


def test_int8_under_sanitizers(cache_dir):
    rng = np.random.default_rng(5)
    graph = _fc_graph(rng, *SHAPES[1], "int8", "extreme", "offset")
    check_against_reference(graph, cache_dir, rng, sanitize=True)
