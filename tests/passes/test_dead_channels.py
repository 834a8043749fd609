"""Dead channel removal on small graphs: what goes, what is folded, what must stay."""

import numpy as np
import pytest

from edgec.ir import QuantParams
from edgec.passes.dead_channels import remove_dead_channels
from tests.passes.graphs import GraphMaker, assert_same_outputs, check_pass, q

RNG = np.random.default_rng(17)


def _conv_weights(out, k, inp, dead=(), dtype="float32"):
    if dtype == "int8":
        w = RNG.integers(-127, 128, (out, k, k, inp))
    else:
        w = RNG.standard_normal((out, k, k, inp))
    w[list(dead)] = 0
    return w


def _float_chain(dead_bias: float, pads, first_act="RELU"):
    """x -> conv 3x3 (8 filters, 2 and 5 all zero) -> conv k x k -> y."""
    m = GraphMaker()
    x = m.input("x", (1, 6, 6, 3))
    b1 = RNG.standard_normal(8)
    b1[[2, 5]] = dead_bias
    a = m.node("CONV_2D", [x, m.const("w1", _conv_weights(8, 3, 3, (2, 5))), m.const("b1", b1)],
               "a", pads=(1, 1, 1, 1), activation=first_act)
    y = m.node("CONV_2D", [a, m.const("w2", _conv_weights(4, 3, 8)), m.const("b2", np.ones(4))],
               "y", pads=pads)
    return m.done(y)


def test_zero_after_activation_goes_even_into_a_padded_conv():
    before = _float_chain(dead_bias=-1.0, pads=(1, 1, 1, 1))  # RELU(-1) = 0
    after = check_pass(remove_dead_channels, before)
    assert after.tensors["a"].shape == (1, 6, 6, 6)
    assert after.tensors[after.nodes[1].inputs[1]].shape == (4, 3, 3, 6)
    assert_same_outputs(before, after)


def test_nonzero_constant_folds_into_an_unpadded_conv():
    before = _float_chain(dead_bias=0.75, pads=(0, 0, 0, 0))
    after = check_pass(remove_dead_channels, before)
    assert after.tensors["a"].shape == (1, 6, 6, 6)
    assert not np.array_equal(after.tensors[after.nodes[1].inputs[2]].data, np.ones(4))
    assert_same_outputs(before, after)


def test_nonzero_constant_into_a_padded_conv_stays():
    before = _float_chain(dead_bias=0.75, pads=(1, 1, 1, 1))
    after = check_pass(remove_dead_channels, before)
    assert after.tensors["a"].shape == (1, 6, 6, 8)


def _int8_chain(dead_bias, pads, zero_point=-5):
    """int8 x -> conv 3x3 RELU (6 filters, 1 and 4 all zero) -> conv -> y."""
    m = GraphMaker()
    x = m.input("x", (1, 5, 5, 2), "int8", q(0.05, 3))
    w1 = m.const("w1", _conv_weights(6, 3, 2, (1, 4), "int8"), "int8",
                 QuantParams(RNG.uniform(0.005, 0.01, 6), 0, axis=0))
    b1 = RNG.integers(-2000, 2000, 6)
    b1[[1, 4]] = dead_bias
    a = m.node("CONV_2D", [x, w1, m.const("b1", b1, "int32")], "a", q(0.1, zero_point),
               pads=(1, 1, 1, 1), activation="RELU")
    k = 1 if pads == (0, 0, 0, 0) else 3
    w2 = m.const("w2", _conv_weights(3, k, 6, (), "int8"), "int8", q(0.01))
    y = m.node("CONV_2D", [a, w2, m.const("b2", [10, -20, 30], "int32")], "y", q(0.2, 1),
               pads=pads)
    return m.done(y)


@pytest.mark.parametrize("dead_bias,pads,removed", [
    (-400, (1, 1, 1, 1), True),   # clamped by RELU to the zero point: contributes nothing
    (900, (0, 0, 0, 0), True),    # a constant above the zero point, folded into the bias
    (900, (1, 1, 1, 1), False),   # ... but a padded reader skips border taps: not exact
])
def test_int8_rule(dead_bias, pads, removed):
    before = _int8_chain(dead_bias, pads)
    after = check_pass(remove_dead_channels, before)
    assert after.tensors["a"].shape[-1] == (4 if removed else 6)
    assert_same_outputs(before, after, seeds=range(4))


def test_through_depthwise_pool_and_per_channel_mul_into_fc():
    """conv -> depthwise (padded, channel goes too) -> MUL const -> avg pool -> MEAN ->
    RESHAPE -> FC; the dead channel's constant is 0 until the depthwise, then its bias."""
    m = GraphMaker()
    x = m.input("x", (1, 6, 6, 2))
    b1 = RNG.standard_normal(4)
    b1[1] = 0.0
    a = m.node("CONV_2D", [x, m.const("w1", _conv_weights(4, 3, 2, (1,))), m.const("b1", b1)],
               "a", pads=(1, 1, 1, 1))
    d = m.node("DEPTHWISE_CONV_2D", [a, m.const("wd", RNG.standard_normal((1, 3, 3, 8))),
                                     m.const("bd", RNG.uniform(0.5, 1.0, 8))],
               "d", pads=(1, 1, 1, 1), depth_multiplier=2, activation="RELU6")
    s = m.node("MUL", [d, m.const("scale", RNG.uniform(0.5, 1.5, (1, 1, 1, 8)))], "s")
    p = m.node("AVERAGE_POOL_2D", [s], "p", filter=(2, 2), strides=(2, 2))
    mean = m.node("MEAN", [p], "mean", axes=(1, 2), keep_dims=True)
    r = m.node("RESHAPE", [mean], "r", shape=(1, 8))
    before = m.done(m.node("FULLY_CONNECTED", [r, m.const("wf", RNG.standard_normal((3, 8)))],
                           "y"))
    after = check_pass(remove_dead_channels, before)
    assert after.tensors["a"].shape[-1] == 3 and after.tensors["r"].shape == (1, 6)
    assert after.nodes[-1].inputs[2]  # the FC gained a bias holding the folded constants
    assert_same_outputs(before, after)


@pytest.mark.parametrize("dead_bias,removed", [(0.0, True), (0.5, False)])
def test_padded_depthwise_passes_only_a_zero_constant(dead_bias, removed):
    """A padded depthwise skips border taps: a non-zero constant comes out non-uniform."""
    m = GraphMaker()
    x = m.input("x", (1, 5, 5, 2))
    b1 = RNG.standard_normal(3)
    b1[0] = dead_bias
    a = m.node("CONV_2D", [x, m.const("w1", _conv_weights(3, 1, 2, (0,))), m.const("b1", b1)],
               "a")
    d = m.node("DEPTHWISE_CONV_2D", [a, m.const("wd", RNG.standard_normal((1, 3, 3, 3)))], "d",
               pads=(1, 1, 1, 1))
    before = m.done(m.node("CONV_2D", [d, m.const("w2", _conv_weights(2, 1, 3))], "y"))
    after = check_pass(remove_dead_channels, before)
    assert after.tensors["d"].shape[-1] == (2 if removed else 3)
    assert_same_outputs(before, after)


def test_through_concatenation_at_its_offset():
    m = GraphMaker()
    x = m.input("x", (1, 4, 4, 2))
    left = m.node("CONV_2D", [x, m.const("wl", _conv_weights(3, 1, 2))], "left")
    right = m.node("CONV_2D", [x, m.const("wr", _conv_weights(4, 1, 2, (0, 3)))], "right")
    cat = m.node("CONCATENATION", [left, right], "cat", axis=-1)
    before = m.done(m.node("CONV_2D", [cat, m.const("w", _conv_weights(2, 3, 7))], "y",
                           pads=(1, 1, 1, 1)))
    after = check_pass(remove_dead_channels, before)
    assert after.tensors["cat"].shape[-1] == 5
    assert_same_outputs(before, after)


def test_int8_fc_chain_with_per_tensor_weight_zero_point():
    m = GraphMaker()
    x = m.input("x", (2, 8), "int8", q(0.1, 4))
    w1 = RNG.integers(-100, 100, (6, 8))
    w1[[0, 3]] = 7  # equal to the weight zero point: the kernel sees all-zero filters
    h = m.node("FULLY_CONNECTED", [x, m.const("w1", w1, "int8", q(0.02, 7)),
                                   m.const("b1", RNG.integers(-900, 900, 6), "int32")],
               "h", q(0.3, -9), activation="RELU")
    before = m.done(m.node("FULLY_CONNECTED", [h, m.const("w2", RNG.integers(-100, 100, (3, 6)),
                                                          "int8", q(0.01))], "y", q(0.5, 2)))
    after = check_pass(remove_dead_channels, before)
    assert after.tensors["h"].shape == (2, 4)
    assert_same_outputs(before, after, seeds=range(4))


@pytest.mark.parametrize("reader", ["output", "softmax", "residual"])
def test_barriers_keep_the_channel(reader):
    m = GraphMaker()
    x = m.input("x", (1, 4, 4, 3))
    a = m.node("CONV_2D", [x, m.const("w", _conv_weights(3, 1, 3, (1,)))], "a")
    if reader == "output":
        before = m.done(a)
    elif reader == "softmax":
        before = m.done(m.node("SOFTMAX", [a], "y"))
    else:
        before = m.done(m.node("ADD", [a, x], "y"))
    after = check_pass(remove_dead_channels, before)
    assert after.tensors["a"].shape[-1] == 3


def test_a_layer_keeps_one_channel():
    m = GraphMaker()
    x = m.input("x", (1, 4, 4, 2))
    a = m.node("CONV_2D", [x, m.const("w", np.zeros((3, 1, 1, 2)))], "a")
    before = m.done(m.node("CONV_2D", [a, m.const("w2", _conv_weights(2, 1, 3))], "y"))
    after = check_pass(remove_dead_channels, before)
    assert after.tensors["a"].shape[-1] == 1
    assert_same_outputs(before, after)


def test_removal_cascades_when_a_filter_only_read_removed_channels():
    m = GraphMaker()
    x = m.input("x", (1, 4, 4, 2))
    a = m.node("CONV_2D", [x, m.const("w1", _conv_weights(3, 1, 2, (0,)))], "a")
    w2 = _conv_weights(2, 1, 3)
    w2[1, ..., 1:] = 0  # filter 1 reads only channel 0, which is dead
    b = m.node("CONV_2D", [a, m.const("w2", w2)], "b", activation="RELU")
    before = m.done(m.node("CONV_2D", [b, m.const("w3", _conv_weights(2, 1, 2))], "y"))
    after = check_pass(remove_dead_channels, before)
    assert after.tensors["a"].shape[-1] == 2 and after.tensors["b"].shape[-1] == 1
    assert_same_outputs(before, after)
