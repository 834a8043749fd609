"""CONV_2D and DEPTHWISE_CONV_2D lowered to C against the reference interpreter."""

import numpy as np
import pytest

from edgec.ir import Tensor
from edgec.ir.ops._window import window_output_shape
from tests.lower.harness import check_against_reference, needs_gcc, single_node_graph
from tests.lower.quantgen import act_q, bias_tensor, weight_tensor

pytestmark = needs_gcc

# (H, W, C, O or multiplier, KH, KW, strides, dilations, pads)
GEOMETRIES = [
    (6, 6, 3, 4, 3, 3, (1, 1), (1, 1), (1, 1, 1, 1)),
    (7, 5, 2, 3, 3, 2, (2, 1), (1, 2), (0, 1, 2, 0)),
    (5, 8, 4, 2, 1, 3, (1, 2), (2, 1), (2, 0, 0, 1)),
    (4, 4, 1, 1, 4, 4, (1, 1), (1, 1), (0, 0, 0, 0)),
]
CORNERS = ["", "tiny", "huge", "extreme"]


def _conv_graph(rng, geometry, depthwise: bool, dtype: str, corner: str, activation: str):
    h, w, c, o, kh, kw, strides, dilations, pads = geometry
    out_c = c * o if depthwise else o
    w_shape = (1, kh, kw, out_c) if depthwise else (o, kh, kw, c)
    y_shape = window_output_shape((1, h, w, c), (kh, kw), strides, dilations, pads, out_c)
    attrs = dict(strides=strides, dilations=dilations, pads=pads, activation=activation)
    if depthwise:
        attrs["depth_multiplier"] = o
    op = "DEPTHWISE_CONV_2D" if depthwise else "CONV_2D"
    if dtype == "float32":
        x = Tensor("x", (1, h, w, c), "float32")
        wt = Tensor("w", w_shape, "float32", rng.normal(size=w_shape).astype(np.float32))
        b = Tensor("b", (out_c,), "float32", rng.normal(size=out_c).astype(np.float32))
        return single_node_graph(op, [x, wt, b], [Tensor("y", y_shape, "float32")], attrs)
    x = Tensor("x", (1, h, w, c), "int8", quant=act_q(rng))
    wt = weight_tensor(rng, "w", w_shape, 3 if depthwise else 0, per_channel=corner != "huge")
    b = bias_tensor(rng, "b", out_c, corner)
    y = Tensor("y", y_shape, "int8", quant=act_q(rng, corner))
    return single_node_graph(op, [x, wt, b], [y], attrs)


@pytest.mark.parametrize("depthwise", [False, True], ids=["conv", "depthwise"])
@pytest.mark.parametrize("geometry", range(len(GEOMETRIES)))
@pytest.mark.parametrize("corner", CORNERS)
def test_int8_matches_reference(cache_dir, depthwise, geometry, corner):
    rng = np.random.default_rng([geometry, len(corner), depthwise])
    activation = ["NONE", "RELU", "RELU6", "RELU_N1_TO_1"][geometry]
    graph = _conv_graph(rng, GEOMETRIES[geometry], depthwise, "int8", corner, activation)
    check_against_reference(graph, cache_dir, rng)


@pytest.mark.parametrize("depthwise", [False, True], ids=["conv", "depthwise"])
@pytest.mark.parametrize("geometry", range(len(GEOMETRIES)))
def test_float_matches_reference(cache_dir, depthwise, geometry):
    rng = np.random.default_rng([geometry, 7, depthwise])
    activation = ["RELU", "NONE", "RELU6", "NONE"][geometry]
    graph = _conv_graph(rng, GEOMETRIES[geometry], depthwise, "float32", "", activation)
    check_against_reference(graph, cache_dir, rng)


def test_int8_without_bias_under_sanitizers(cache_dir):
    rng = np.random.default_rng(11)
    graph = _conv_graph(rng, GEOMETRIES[1], False, "int8", "", "RELU")
    node = graph.nodes[0]
    node.inputs = node.inputs[:2]
    del graph.tensors["b"]
    check_against_reference(graph, cache_dir, rng, sanitize=True)


def test_depthwise_under_sanitizers(cache_dir):
    rng = np.random.default_rng(12)
    graph = _conv_graph(rng, GEOMETRIES[2], True, "int8", "extreme", "NONE")
    check_against_reference(graph, cache_dir, rng, sanitize=True)


def grouped_conv_graph(rng, dtype: str, groups: int = 3):
    """A CONV_2D of 6 input channels in ``groups`` groups (filters of 6 / groups channels)."""
    x_shape, w_shape = (1, 5, 6, 6), (groups * 2, 3, 2, 6 // groups)
    attrs = dict(strides=(2, 1), dilations=(1, 2), pads=(1, 1, 1, 0), activation="RELU")
    y_shape = window_output_shape(x_shape, (3, 2), (2, 1), (1, 2), (1, 1, 1, 0), w_shape[0])
    if dtype == "float32":
        wt = Tensor("w", w_shape, "float32", rng.normal(size=w_shape).astype(np.float32))
        return single_node_graph("CONV_2D", [Tensor("x", x_shape, "float32"), wt],
                                 [Tensor("y", y_shape, "float32")], attrs)
    x = Tensor("x", x_shape, "int8", quant=act_q(rng))
    wt = weight_tensor(rng, "w", w_shape, 0)
    b = bias_tensor(rng, "b", w_shape[0])
    return single_node_graph("CONV_2D", [x, wt, b], [Tensor("y", y_shape, "int8",
                                                            quant=act_q(rng))], attrs)


@pytest.mark.parametrize("dtype", ["int8", "float32"])
@pytest.mark.parametrize("groups", [2, 3])
def test_grouped_conv_matches_reference(cache_dir, dtype, groups):
    rng = np.random.default_rng([groups, len(dtype)])
    check_against_reference(grouped_conv_graph(rng, dtype, groups), cache_dir, rng)
