"""int4 weights (W4A8): CONV_2D, DEPTHWISE_CONV_2D and FULLY_CONNECTED lowered to C read the
weights packed two per byte and match the reference interpreter bit for bit."""

import numpy as np
import pytest

from edgec.ir import QuantParams, Tensor
from edgec.ir.int4 import unpack_int4
from edgec.ir.ops._window import window_output_shape
from edgec.lower import lower_graph
from edgec.options import BuildOptions
from tests.lower.harness import check_against_reference, needs_gcc, single_node_graph
from tests.lower.quantgen import act_q, bias_tensor

pytestmark = needs_gcc

# (H, W, C, O or multiplier, KH, KW, strides, dilations, pads): odd channel counts and odd
# weight counts (81, 45, 3, 35), so the last packed byte is half filled.
CONV_GEOMETRIES = [
    (6, 5, 3, 3, 3, 3, (1, 1), (1, 1), (1, 1, 1, 1)),
    (7, 6, 5, 1, 3, 3, (2, 1), (1, 2), (0, 1, 2, 0)),
    (4, 4, 3, 1, 1, 1, (1, 1), (1, 1), (0, 0, 0, 0)),
    (5, 6, 7, 5, 1, 1, (1, 1), (1, 1), (0, 0, 0, 0)),
    # The M4's int4 pair kernel: C % 4 == 0, an odd group count (9), 9 pixels, 4 + 2 channels.
    (5, 5, 4, 6, 3, 3, (2, 2), (1, 1), (1, 1, 1, 1)),
]
# (input shape, outputs, keep_num_dims): K * outputs is odd in the first two.
FC_SHAPES = [((1, 7), 5, False), ((2, 3, 9), 3, True), ((3, 2, 2, 3), 4, False)]
# The M4's int4 depthwise kernel (depth multiplier 1): group pairs and an odd last group
# (C = 20), a rolled tap loop (5x5) with a C % 4 tail (C = 14), a stride and asymmetric pads.
DSP_DEPTHWISE_GEOMETRIES = [
    (6, 5, 20, 1, 3, 3, (1, 1), (1, 1), (1, 1, 1, 1)),
    (5, 4, 14, 1, 5, 5, (2, 1), (1, 1), (2, 2, 1, 2)),
    (7, 7, 8, 1, 3, 3, (2, 2), (1, 1), (0, 1, 1, 0)),
]
# The M4's int4 conv on the row kernel (rows of four pixel blocks or more, even cout): 12-group
# runs and 9 groups a window (an odd pair of groups); three channels padded to four, 3-group
# runs.
DSP_CONV_GEOMETRIES = [
    (6, 13, 16, 4, 3, 3, (1, 1), (1, 1), (1, 1, 1, 1)),
    (5, 12, 4, 6, 3, 3, (1, 1), (1, 1), (1, 1, 1, 1)),
    (7, 14, 3, 2, 3, 3, (1, 1), (1, 1), (0, 1, 2, 1)),
]
# The M4's int4 fully connected kernel: whole pairs of groups only (K = 64), an eight-value
# tail with channel blocks and a channel tail (K = 45, 9 outputs), two rows.
DSP_FC_SHAPES = [((1, 64), 8, False), ((1, 45), 9, False), ((2, 3, 21), 6, True)]


def int4_weights(rng, shape, axis: int | None) -> Tensor:
    """int4 weights over the whole IR range [-8, 7], per channel on ``axis`` or per tensor."""
    n = 1 if axis is None else shape[axis]
    scales = rng.uniform(0.01, 0.2, n).astype(np.float32)
    data = rng.integers(-8, 8, shape).astype(np.int8)
    return Tensor("w", shape, "int4", data, QuantParams(scales, np.zeros(n, np.int64), axis))


def conv_graph(rng, geometry, depthwise: bool, activation: str = "RELU", corner: str = "",
               weights=None):
    """A conv or depthwise node with packed weights: ``weights(rng, shape, axis)`` makes them
    (default int4)."""
    h, w, c, o, kh, kw, strides, dilations, pads = geometry
    out_c = c * o if depthwise else o
    w_shape = (1, kh, kw, out_c) if depthwise else (o, kh, kw, c)
    y_shape = window_output_shape((1, h, w, c), (kh, kw), strides, dilations, pads, out_c)
    attrs = dict(strides=strides, dilations=dilations, pads=pads, activation=activation)
    if depthwise:
        attrs["depth_multiplier"] = o
    x = Tensor("x", (1, h, w, c), "int8", quant=act_q(rng))
    wt = (weights or int4_weights)(rng, w_shape, 3 if depthwise else 0)
    y = Tensor("y", y_shape, "int8", quant=act_q(rng, corner))
    op = "DEPTHWISE_CONV_2D" if depthwise else "CONV_2D"
    return single_node_graph(op, [x, wt, bias_tensor(rng, "b", out_c, corner)], [y], attrs)


def fc_graph(rng, shape, out: int, keep: bool, per_channel: bool = False, corner: str = "",
             weights=None):
    k = shape[-1] if keep else int(np.prod(shape[1:]))
    y_shape = shape[:-1] + (out,) if keep else (int(np.prod(shape)) // k, out)
    x = Tensor("x", shape, "int8", quant=act_q(rng))
    w = (weights or int4_weights)(rng, (out, k), 0 if per_channel else None)
    y = Tensor("y", y_shape, "int8", quant=act_q(rng, corner))
    attrs = dict(activation="RELU6" if keep else "NONE", keep_num_dims=keep)
    return single_node_graph("FULLY_CONNECTED", [x, w, bias_tensor(rng, "b", out, corner)],
                             [y], attrs)


ONE_OF_EACH = {
    "conv": lambda rng: conv_graph(rng, CONV_GEOMETRIES[0], False),
    "depthwise": lambda rng: conv_graph(rng, CONV_GEOMETRIES[1], True),
    "fully_connected": lambda rng: fc_graph(rng, *FC_SHAPES[0]),
}


@pytest.mark.parametrize("depthwise", [False, True], ids=["conv", "depthwise"])
@pytest.mark.parametrize("geometry", range(len(CONV_GEOMETRIES)))
def test_conv_matches_reference(cache_dir, depthwise, geometry):
    rng = np.random.default_rng([geometry, depthwise, 4])
    graph = conv_graph(rng, CONV_GEOMETRIES[geometry], depthwise,
                       ["NONE", "RELU", "RELU6", "NONE"][geometry % 4])
    check_against_reference(graph, cache_dir, rng)


@pytest.mark.parametrize("shape", range(len(FC_SHAPES)))
@pytest.mark.parametrize("per_channel", [False, True], ids=["per_tensor", "per_channel"])
def test_fully_connected_matches_reference(cache_dir, shape, per_channel):
    rng = np.random.default_rng([shape, per_channel, 4])
    graph = fc_graph(rng, *FC_SHAPES[shape], per_channel=per_channel)
    check_against_reference(graph, cache_dir, rng)


@pytest.mark.parametrize("corner", ["tiny", "extreme"])
def test_saturating_outputs(cache_dir, corner):
    rng = np.random.default_rng([len(corner), 4])
    check_against_reference(conv_graph(rng, CONV_GEOMETRIES[0], False, corner=corner),
                            cache_dir, rng)
    check_against_reference(fc_graph(rng, *FC_SHAPES[0], corner=corner), cache_dir, rng)


def test_depthwise_under_sanitizers(cache_dir):
    rng = np.random.default_rng(44)
    graph = conv_graph(rng, CONV_GEOMETRIES[1], True, "NONE", "extreme")
    check_against_reference(graph, cache_dir, rng, sanitize=True)


def test_fully_connected_under_sanitizers(cache_dir):
    rng = np.random.default_rng(45)
    check_against_reference(fc_graph(rng, *FC_SHAPES[1]), cache_dir, rng, sanitize=True)


@pytest.mark.parametrize("make", ONE_OF_EACH.values(), ids=ONE_OF_EACH.keys())
def test_weights_reach_the_c_packed(cache_dir, make):
    graph = make(np.random.default_rng(3))
    (kernel,) = lower_graph(graph, BuildOptions(cache_dir=cache_dir))
    weights = graph.tensors["w"]
    packed = kernel.constants[kernel.args[1]]
    assert "w" not in kernel.args
    assert packed.dtype == np.uint8 and packed.nbytes == weights.nbytes == (weights.size + 1) // 2
    assert np.array_equal(unpack_int4(packed.tobytes(), weights.size),
                          weights.data.reshape(-1))
    assert "const uint8_t *restrict w" in kernel.c_source


@pytest.mark.parametrize("name", ["depthwise", "fully_connected"])
def test_dsp_targets_take_the_int4_dsp_kernels(cache_dir, name):
    """Depthwise and fully connected int4 nodes take their DSP kernels on the M4 (bit for bit
    in tests/lower/test_dsp_kernels.py), the weights still two a byte: with whole pairs of
    channel groups (C = 8) or of input groups (K = 64), exactly the packed tensor's bytes."""
    rng = np.random.default_rng(6)
    graph = (conv_graph(rng, DSP_DEPTHWISE_GEOMETRIES[2], True) if name == "depthwise"
             else fc_graph(rng, *DSP_FC_SHAPES[0]))
    (dsp,) = lower_graph(graph, BuildOptions(target="mps2_an386", cache_dir=cache_dir))
    helper = "edgec_dw_tap_s4hi" if name == "depthwise" else "edgec_dot4_s4"
    assert "dsp_int4" in dsp.helpers and helper in dsp.c_source
    (words,) = [v for k, v in dsp.constants.items() if k.endswith("_w")]
    assert words.nbytes == graph.tensors["w"].size // 2


def test_dsp_conv_keeps_int4_weights_packed(cache_dir):
    """The M4's int4 conv stores eight weights a word: half the int8 pair kernel's words."""
    graph = ONE_OF_EACH["conv"](np.random.default_rng(6))
    (dsp,) = lower_graph(graph, BuildOptions(target="mps2_an386", cache_dir=cache_dir))
    w = graph.tensors[graph.nodes[0].inputs[1]]
    o, k = w.shape[0], int(np.prod(w.shape[1:]))
    (words,) = [v for name, v in dsp.constants.items() if name.endswith("_w")]
    assert "edgec_dot2x2_s4" in dsp.c_source and words.size == o * -(-k // 8)
