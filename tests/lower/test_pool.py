"""AVERAGE_POOL_2D and MAX_POOL_2D lowered to C against the reference interpreter."""

import numpy as np
import pytest

from edgec.ir import Tensor
from edgec.ir.ops._window import window_output_shape
from tests.lower.harness import check_against_reference, needs_gcc, single_node_graph
from tests.lower.quantgen import act_q

pytestmark = needs_gcc

# (H, W, C, filter, strides, pads, activation)
GEOMETRIES = [
    (6, 6, 3, (2, 2), (2, 2), (0, 0, 0, 0), "NONE"),
    (7, 5, 2, (3, 3), (1, 2), (1, 1, 1, 1), "RELU"),
    (5, 9, 4, (3, 2), (2, 1), (2, 0, 1, 1), "RELU6"),
    (4, 4, 5, (4, 4), (1, 1), (0, 0, 0, 0), "RELU_N1_TO_1"),
]


def _pool_graph(rng, op, geometry, dtype):
    h, w, c, filt, strides, pads, activation = geometry
    y_shape = window_output_shape((1, h, w, c), filt, strides, (1, 1), pads, c)
    q = act_q(rng) if dtype == "int8" else None
    x = Tensor("x", (1, h, w, c), dtype, quant=q)
    y = Tensor("y", y_shape, dtype, quant=q)
    attrs = dict(filter=filt, strides=strides, pads=pads, activation=activation)
    return single_node_graph(op, [x], [y], attrs)


@pytest.mark.parametrize("op", ["AVERAGE_POOL_2D", "MAX_POOL_2D"])
@pytest.mark.parametrize("dtype", ["int8", "float32"])
@pytest.mark.parametrize("geometry", range(len(GEOMETRIES)))
def test_matches_reference(cache_dir, op, dtype, geometry):
    rng = np.random.default_rng([geometry, len(op), len(dtype)])
    graph = _pool_graph(rng, op, GEOMETRIES[geometry], dtype)
    check_against_reference(graph, cache_dir, rng, sanitize=geometry == 2)


def dilated_pool_graph(rng, op: str, dtype: str):
    """A pool with dilations (2, 3), padding on every side and an extra ceil_mode-style
    bottom/right pad whose windows reach past the image."""
    filt, strides, dilations, pads = (3, 2), (2, 1), (2, 3), (1, 2, 3, 2)
    y_shape = window_output_shape((1, 7, 6, 3), filt, strides, dilations, pads, 3)
    q = act_q(rng) if dtype == "int8" else None
    return single_node_graph(op, [Tensor("x", (1, 7, 6, 3), dtype, quant=q)],
                             [Tensor("y", y_shape, dtype, quant=q)],
                             dict(filter=filt, strides=strides, dilations=dilations, pads=pads))


@pytest.mark.parametrize("op", ["AVERAGE_POOL_2D", "MAX_POOL_2D"])
@pytest.mark.parametrize("dtype", ["int8", "float32"])
def test_dilated_pool_matches_reference(cache_dir, op, dtype):
    rng = np.random.default_rng([len(op), len(dtype), 5])
    check_against_reference(dilated_pool_graph(rng, op, dtype), cache_dir, rng, sanitize=True)
