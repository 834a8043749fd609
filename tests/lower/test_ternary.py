"""Ternary weights: CONV_2D, DEPTHWISE_CONV_2D and FULLY_CONNECTED lowered to C read the
weights packed four per byte and match the reference interpreter bit for bit."""

import numpy as np
import pytest

from edgec.ir import QuantParams, Tensor
from edgec.ir.ternary import pack_ternary, unpack_ternary
from edgec.lower import lower_graph
from edgec.options import BuildOptions
from tests.lower import test_int4
from tests.lower.harness import check_against_reference, needs_gcc

pytestmark = needs_gcc


def ternary_weights(rng, shape, axis: int | None) -> Tensor:
    """Ternary weights in {-1, 0, 1}, per channel on ``axis`` or per tensor."""
    n = 1 if axis is None else shape[axis]
    scales = rng.uniform(0.05, 0.5, n).astype(np.float32)
    data = rng.integers(-1, 2, shape).astype(np.int8)
    return Tensor("w", shape, "ternary", data, QuantParams(scales, np.zeros(n, np.int64), axis))


def conv_graph(*args, **kwargs):
    return test_int4.conv_graph(*args, **kwargs, weights=ternary_weights)


def fc_graph(*args, **kwargs):
    return test_int4.fc_graph(*args, **kwargs, weights=ternary_weights)


ONE_OF_EACH = {
    "conv": lambda rng: conv_graph(rng, test_int4.CONV_GEOMETRIES[0], False),
    "depthwise": lambda rng: conv_graph(rng, test_int4.CONV_GEOMETRIES[1], True),
    "fully_connected": lambda rng: fc_graph(rng, *test_int4.FC_SHAPES[0], per_channel=True),
}


@pytest.mark.parametrize("count", [0, 1, 3, 4, 5, 8, 81])
def test_packing_round_trips_four_per_byte(count):
    values = np.random.default_rng(count).integers(-1, 2, count).astype(np.int8)
    packed = pack_ternary(values)
    assert len(packed) == (count + 3) // 4
    assert np.array_equal(unpack_ternary(packed, count), values)
    assert pack_ternary(np.array([1, 0, -1, 1, -1])) == bytes([0b01_11_00_01, 0b11])
    with pytest.raises(ValueError, match=r"\[-1, 1\]"):
        pack_ternary(np.array([2]))


@pytest.mark.parametrize("depthwise", [False, True], ids=["conv", "depthwise"])
@pytest.mark.parametrize("geometry", range(len(test_int4.CONV_GEOMETRIES)))
def test_conv_matches_reference(cache_dir, depthwise, geometry):
    rng = np.random.default_rng([geometry, depthwise, 3])
    graph = conv_graph(rng, test_int4.CONV_GEOMETRIES[geometry], depthwise,
                                 ["NONE", "RELU", "RELU6", "NONE"][geometry % 4])
    check_against_reference(graph, cache_dir, rng)


@pytest.mark.parametrize("shape", range(len(test_int4.FC_SHAPES)))
@pytest.mark.parametrize("per_channel", [False, True], ids=["per_tensor", "per_channel"])
def test_fully_connected_matches_reference(cache_dir, shape, per_channel):
    rng = np.random.default_rng([shape, per_channel, 3])
    graph = fc_graph(rng, *test_int4.FC_SHAPES[shape], per_channel=per_channel)
    check_against_reference(graph, cache_dir, rng)


def test_saturating_outputs_under_sanitizers(cache_dir):
    rng = np.random.default_rng(33)
    graph = conv_graph(rng, test_int4.CONV_GEOMETRIES[1], True, "NONE", "extreme")
    check_against_reference(graph, cache_dir, rng, sanitize=True)
    check_against_reference(fc_graph(rng, *test_int4.FC_SHAPES[1], corner="tiny"),
                            cache_dir, rng, sanitize=True)


@pytest.mark.parametrize("name", ONE_OF_EACH)
def test_weights_reach_the_c_packed(cache_dir, name):
    graph = ONE_OF_EACH[name](np.random.default_rng(3))
    (kernel,) = lower_graph(graph, BuildOptions(cache_dir=cache_dir))
    weights = graph.tensors["w"]
    assert weights.dtype == "ternary"
    packed = kernel.constants[kernel.args[1]]
    assert packed.dtype == np.uint8 and packed.nbytes == weights.nbytes == (weights.size + 3) // 4
    assert np.array_equal(unpack_ternary(packed.tobytes(), weights.size),
                          weights.data.reshape(-1))
    (dsp,) = lower_graph(graph, BuildOptions(target="mps2_an386", cache_dir=cache_dir))
    assert dsp.c_source == kernel.c_source
