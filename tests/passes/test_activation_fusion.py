"""RELU / RELU6 fuse into their producer's activation: float always, int8 when exact."""

import numpy as np
import pytest

from edgec.ir import QuantParams
from edgec.passes.activation_fusion import fuse_activations
from tests.passes.graphs import GraphMaker, assert_same_outputs, check_pass, ops, q

RNG = np.random.default_rng(11)


def _float_producer(m: GraphMaker, op: str, x: str, activation: str = "NONE") -> str:
    if op == "CONV_2D":
        return m.node(op, [x, m.const("w", RNG.standard_normal((3, 3, 3, 2)))], "p",
                      pads=(1, 1, 1, 1), activation=activation)
    if op == "DEPTHWISE_CONV_2D":
        return m.node(op, [x, m.const("w", RNG.standard_normal((1, 3, 3, 2)))], "p",
                      activation=activation)
    if op == "FULLY_CONNECTED":
        return m.node(op, [x, m.const("w", RNG.standard_normal((3, 2)))], "p",
                      activation=activation)
    if op in ("ADD", "SUB", "MUL"):
        return m.node(op, [x, m.const("c", RNG.standard_normal(2))], "p", activation=activation)
    return m.node(op, [x], "p", filter=(2, 2), activation=activation)


@pytest.mark.parametrize("op", ["CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "ADD",
                                "SUB", "MUL", "AVERAGE_POOL_2D", "MAX_POOL_2D"])
@pytest.mark.parametrize("act", ["RELU", "RELU6"])
def test_float_activation_fuses(op, act):
    m = GraphMaker()
    p = _float_producer(m, op, m.input("x", (1, 5, 5, 2)))
    before = m.done(m.node(act, [p], "y"))
    after = check_pass(fuse_activations, before)
    assert ops(after) == [op] and after.nodes[0].attrs["activation"] == act
    assert_same_outputs(before, after)


@pytest.mark.parametrize("first,second,fused", [("RELU", "RELU6", "RELU6"),
                                                ("RELU6", "RELU", "RELU6"),
                                                ("RELU_N1_TO_1", "RELU", None)])
def test_clamps_compose_when_the_intersection_is_an_activation(first, second, fused):
    m = GraphMaker()
    p = _float_producer(m, "ADD", m.input("x", (1, 5, 5, 2)), activation=first)
    before = m.done(m.node(second, [p], "y"))
    after = check_pass(fuse_activations, before)
    if fused is None:
        assert ops(after) == ["ADD", second]
    else:
        assert ops(after) == ["ADD"] and after.nodes[0].attrs["activation"] == fused
    assert_same_outputs(before, after)


def _int8_conv(m: GraphMaker, out_q, activation="NONE") -> str:
    x = m.input("x", (1, 6, 6, 3), "int8", q(0.05, -10))
    w = m.const("w", RNG.integers(-127, 128, (4, 3, 3, 3)), "int8",
                QuantParams(RNG.uniform(0.005, 0.02, 4), 0, axis=0))
    b = m.const("b", RNG.integers(-3000, 3000, 4), "int32")
    return m.node("CONV_2D", [x, w, b], "p", out_q, pads=(1, 1, 1, 1), activation=activation)


@pytest.mark.parametrize("act", ["RELU", "RELU6"])
@pytest.mark.parametrize("scale", [0.04, 0.01])
@pytest.mark.parametrize("zp", [-128, -20, 0, 40])
def test_int8_same_quantization_fuses_bit_exactly(act, zp, scale):
    m = GraphMaker()
    p = _int8_conv(m, q(scale, zp))
    before = m.done(m.node(act, [p], "y", q(scale, zp)))
    after = check_pass(fuse_activations, before)
    assert ops(after) == ["CONV_2D"] and after.nodes[0].attrs["activation"] == act
    assert_same_outputs(before, after, seeds=range(5))


@pytest.mark.parametrize("act", ["RELU", "RELU6"])
def test_int8_requantizing_activation_stays(act):
    m = GraphMaker()
    p = _int8_conv(m, q(0.04, -20))
    before = m.done(m.node(act, [p], "y", q(0.03, -128)))
    assert ops(check_pass(fuse_activations, before)) == ["CONV_2D", act]


def test_producer_read_twice_stays():
    m = GraphMaker()
    p = _float_producer(m, "ADD", m.input("x", (1, 5, 5, 2)))
    before = m.done(m.node("RELU", [p], "y"), "p")
    assert ops(check_pass(fuse_activations, before)) == ["ADD", "RELU"]
