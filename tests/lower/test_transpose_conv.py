"""TRANSPOSE_CONV lowered to C against the reference interpreter."""

import numpy as np
import pytest

from edgec.ir import Tensor
from edgec.ir.ops.transpose_conv import transpose_conv_out_size
from tests.lower.harness import check_against_reference, needs_gcc, single_node_graph
from tests.lower.quantgen import act_q, bias_tensor, weight_tensor

pytestmark = needs_gcc

# (H, W, C, O, KH, KW, strides, pads, output_padding, dilations)
GEOMETRIES = [
    (3, 4, 3, 4, 3, 3, (2, 2), (1, 1, 0, 0), (0, 0), (1, 1)),
    (4, 2, 2, 3, 2, 3, (1, 3), (0, 1, 1, 0), (0, 1), (1, 1)),
    (2, 3, 5, 2, 1, 1, (3, 2), (0, 0, 0, 0), (2, 1), (1, 1)),
    (5, 1, 1, 1, 4, 2, (1, 1), (3, 1, 0, 0), (0, 0), (1, 1)),
    (3, 3, 2, 2, 3, 2, (2, 1), (1, 0, 2, 1), (1, 0), (2, 3)),
]


def transpose_conv_graph(rng, geometry, dtype: str, corner: str = "", activation="NONE"):
    """One TRANSPOSE_CONV node of ``GEOMETRIES[geometry]``; int8 with random quantization."""
    h, w, c, o, kh, kw, strides, pads, extra, dil = GEOMETRIES[geometry]
    y_shape = (1, transpose_conv_out_size(h, kh, strides[0], pads[0], pads[2], extra[0], dil[0]),
               transpose_conv_out_size(w, kw, strides[1], pads[1], pads[3], extra[1], dil[1]),
               o)
    attrs = dict(strides=strides, pads=pads, output_padding=extra, dilations=dil,
                 activation=activation)
    if dtype == "float32":
        x = Tensor("x", (1, h, w, c), "float32")
        wt = Tensor("w", (o, kh, kw, c), "float32",
                    rng.normal(size=(o, kh, kw, c)).astype(np.float32))
        b = Tensor("b", (o,), "float32", rng.normal(size=o).astype(np.float32))
        return single_node_graph("TRANSPOSE_CONV", [x, wt, b], [Tensor("y", y_shape, "float32")],
                                 attrs)
    x = Tensor("x", (1, h, w, c), "int8", quant=act_q(rng))
    wt = weight_tensor(rng, "w", (o, kh, kw, c), 0, per_channel=corner != "huge")
    b = bias_tensor(rng, "b", o, corner)
    y = Tensor("y", y_shape, "int8", quant=act_q(rng, corner))
    return single_node_graph("TRANSPOSE_CONV", [x, wt, b], [y], attrs)


@pytest.mark.parametrize("geometry", range(len(GEOMETRIES)))
@pytest.mark.parametrize("corner", ["", "tiny", "extreme"])
def test_int8_matches_reference(cache_dir, geometry, corner):
    rng = np.random.default_rng([geometry, len(corner), 11])
    activation = ["NONE", "RELU", "RELU6", "RELU_N1_TO_1"][geometry % 4]
    graph = transpose_conv_graph(rng, geometry, "int8", corner, activation)
    check_against_reference(graph, cache_dir, rng)


@pytest.mark.parametrize("geometry", range(len(GEOMETRIES)))
def test_float_matches_reference(cache_dir, geometry):
    rng = np.random.default_rng([geometry, 12])
    graph = transpose_conv_graph(rng, geometry, "float32", "", ["RELU", "NONE"][geometry % 2])
    check_against_reference(graph, cache_dir, rng)
