"""PAD fuses into the pads of the following convolution or pool where that is exact."""

import numpy as np
import pytest

from edgec.passes.pad_fusion import fuse_pads
from tests.passes.graphs import GraphMaker, assert_same_outputs, check_pass, ops, q

RNG = np.random.default_rng(13)
HW_PADS = ((0, 0), (1, 2), (2, 0), (0, 0))


def _conv(m: GraphMaker, op: str, x: str, dtype: str, out_q=None) -> str:
    shape = (4, 3, 3, 2) if op == "CONV_2D" else (1, 3, 3, 2)
    if dtype == "int8":
        w = m.const("w", RNG.integers(-127, 128, shape), "int8", q(0.01))
        b = m.const("b", RNG.integers(-500, 500, shape[0] if op == "CONV_2D" else 2), "int32")
    else:
        w = m.const("w", RNG.standard_normal(shape))
        b = m.const("b", RNG.standard_normal(shape[0] if op == "CONV_2D" else 2))
    return m.node(op, [x, w, b], "y", out_q, pads=(1, 0, 0, 1))


@pytest.mark.parametrize("op", ["CONV_2D", "DEPTHWISE_CONV_2D"])
def test_float_zero_pad_fuses_into_a_convolution(op):
    m = GraphMaker()
    padded = m.node("PAD", [m.input("x", (1, 5, 6, 2))], "padded", pads=HW_PADS)
    before = m.done(_conv(m, op, padded, "float32"))
    after = check_pass(fuse_pads, before)
    assert ops(after) == [op] and after.nodes[0].attrs["pads"] == (2, 2, 2, 1)
    assert_same_outputs(before, after)


@pytest.mark.parametrize("value,fused", [(None, True), (-7, True), (3, False)])
def test_int8_pad_fuses_when_its_value_is_the_zero_point(value, fused):
    m = GraphMaker()
    x = m.input("x", (1, 5, 6, 2), "int8", q(0.05, -7))
    padded = m.node("PAD", [x], "padded", q(0.05, -7), pads=HW_PADS, value=value)
    before = m.done(_conv(m, "CONV_2D", padded, "int8", q(0.1, 2)))
    after = check_pass(fuse_pads, before)
    assert ops(after) == (["CONV_2D"] if fused else ["PAD", "CONV_2D"])
    assert_same_outputs(before, after)


def test_float_nonzero_pad_stays():
    m = GraphMaker()
    padded = m.node("PAD", [m.input("x", (1, 5, 6, 2))], "padded", pads=HW_PADS, value=1.0)
    before = m.done(_conv(m, "CONV_2D", padded, "float32"))
    assert ops(check_pass(fuse_pads, before)) == ["PAD", "CONV_2D"]


@pytest.mark.parametrize("value,fused", [(-128, True), (None, False)])
def test_int8_max_pool_takes_a_pad_of_minus_128(value, fused):
    m = GraphMaker()
    x = m.input("x", (1, 5, 5, 3), "int8", q(0.05, 10))
    padded = m.node("PAD", [x], "padded", q(0.05, 10), pads=HW_PADS, value=value)
    before = m.done(m.node("MAX_POOL_2D", [padded], "y", q(0.05, 10), filter=(3, 3),
                           strides=(2, 2)))
    after = check_pass(fuse_pads, before)
    assert ops(after) == (["MAX_POOL_2D"] if fused else ["PAD", "MAX_POOL_2D"])
    assert_same_outputs(before, after)


@pytest.mark.parametrize("pads,fused", [
    # Read by the windows: the average would divide by fewer taps once padding is skipped.
    (((0, 0), (1, 1), (1, 1), (0, 0)), False),
    # A trailing row and column that no 2x2 / stride-2 window over 4x4 reaches.
    (((0, 0), (0, 1), (0, 1), (0, 0)), True)])
def test_average_pool_takes_only_padding_it_never_reads(pads, fused):
    m = GraphMaker()
    padded = m.node("PAD", [m.input("x", (1, 4, 4, 3))], "padded", pads=pads, value=5.0)
    before = m.done(m.node("AVERAGE_POOL_2D", [padded], "y", filter=(2, 2), strides=(2, 2)))
    after = check_pass(fuse_pads, before)
    assert ops(after) == (["AVERAGE_POOL_2D"] if fused else ["PAD", "AVERAGE_POOL_2D"])
    assert_same_outputs(before, after)


def test_channel_padding_stays():
    m = GraphMaker()
    padded = m.node("PAD", [m.input("x", (1, 5, 6, 1))], "padded",
                    pads=((0, 0), (0, 0), (0, 0), (0, 1)))
    before = m.done(_conv(m, "CONV_2D", padded, "float32"))
    assert ops(check_pass(fuse_pads, before)) == ["PAD", "CONV_2D"]
