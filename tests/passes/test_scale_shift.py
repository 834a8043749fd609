"""Per-channel MUL / ADD / SUB by constants after float layers fold into weights and bias."""

import numpy as np
import pytest

from edgec.passes.scale_shift import fold_scale_shift
from tests.passes.graphs import GraphMaker, assert_same_outputs, check_pass, ops, q

RNG = np.random.default_rng(5)


def _layer(m: GraphMaker, op: str, x: str, channels: int = 4, bias: bool = True) -> str:
    if op == "FULLY_CONNECTED":
        w = RNG.standard_normal((channels, 6))
    elif op == "CONV_2D":
        w = RNG.standard_normal((channels, 3, 3, 2))
    else:
        w = RNG.standard_normal((1, 3, 3, channels))
    inputs = [x, m.const("w", w)] + ([m.const("b", RNG.standard_normal(channels))] if bias else [])
    extra = {} if op == "FULLY_CONNECTED" else {"pads": (1, 1, 1, 1)}
    if op == "DEPTHWISE_CONV_2D":
        extra["depth_multiplier"] = 2
    return m.node(op, inputs, "layer", **extra)


@pytest.mark.parametrize("op,shape", [("CONV_2D", (1, 5, 5, 2)),
                                      ("DEPTHWISE_CONV_2D", (1, 5, 5, 2)),
                                      ("FULLY_CONNECTED", (3, 6))])
def test_batchnorm_like_mul_add_folds(op, shape):
    m = GraphMaker()
    layer = _layer(m, op, m.input("x", shape), bias=op != "CONV_2D")
    scale = m.node("MUL", [m.const("s", RNG.uniform(0.5, 2.0, 4)), layer], "scaled")
    before = m.done(m.node("ADD", [scale, m.const("t", RNG.standard_normal(4))], "y",
                           activation="RELU6"))
    after = check_pass(fold_scale_shift, before)
    assert ops(after) == [op]
    assert after.nodes[0].attrs["activation"] == "RELU6" and after.nodes[0].outputs == ["y"]
    assert_same_outputs(before, after)


def test_sub_from_a_constant_negates_the_layer():
    m = GraphMaker()
    layer = _layer(m, "CONV_2D", m.input("x", (1, 5, 5, 2)))
    before = m.done(m.node("SUB", [m.const("t", RNG.standard_normal((1, 1, 1, 4))), layer],
                           "y"))
    after = check_pass(fold_scale_shift, before)
    assert ops(after) == ["CONV_2D"]
    assert_same_outputs(before, after)


def test_scalar_constant_folds():
    m = GraphMaker()
    layer = _layer(m, "FULLY_CONNECTED", m.input("x", (2, 6)))
    before = m.done(m.node("SUB", [layer, m.const("t", 0.25)], "y"))
    assert ops(check_pass(fold_scale_shift, before)) == ["FULLY_CONNECTED"]


def test_spatially_varying_constant_does_not_fold():
    m = GraphMaker()
    layer = _layer(m, "CONV_2D", m.input("x", (1, 5, 5, 2)))
    before = m.done(m.node("MUL", [layer, m.const("v", RNG.standard_normal((1, 5, 5, 4)))], "y"))
    assert ops(check_pass(fold_scale_shift, before)) == ["CONV_2D", "MUL"]


def test_layer_read_twice_or_clamped_does_not_fold():
    m = GraphMaker()
    layer = _layer(m, "FULLY_CONNECTED", m.input("x", (2, 6)))
    shared = m.done(m.node("ADD", [layer, m.const("t", np.ones(4))], "y"), "layer")
    assert ops(check_pass(fold_scale_shift, shared)) == ["FULLY_CONNECTED", "ADD"]
    m = GraphMaker()
    x, w = m.input("x", (2, 6)), m.const("w", RNG.standard_normal((4, 6)))
    clamped = m.node("FULLY_CONNECTED", [x, w], "layer", activation="RELU")
    before = m.done(m.node("MUL", [clamped, m.const("s", -np.ones(4))], "y"))
    assert ops(check_pass(fold_scale_shift, before)) == ["FULLY_CONNECTED", "MUL"]


def test_int8_is_left_alone():
    m = GraphMaker()
    x = m.input("x", (2, 6), "int8", q(0.1, 0))
    w = m.const("w", RNG.integers(-100, 100, (4, 6)), "int8", q(0.01))
    layer = m.node("FULLY_CONNECTED", [x, w], "layer", q(0.2, 3))
    before = m.done(m.node("MUL", [layer, m.const("s", [2] * 4, "int8", q(0.5))], "y", q(0.3)))
    assert ops(check_pass(fold_scale_shift, before)) == ["FULLY_CONNECTED", "MUL"]
