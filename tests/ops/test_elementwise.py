"""ADD, SUB, MUL: random broadcasting single-op models against TFLite Micro (int8) and LiteRT
(float), exhaustive int8 x int8 grids, and scale triples that pin the multiplier precision."""

import numpy as np
import pytest

from edgec.errors import EdgecError
from edgec.ir import Graph, Node, QuantParams, Tensor, check_graph, interpret
from tests.ops import (ACTIVATIONS, act_quant, assert_float_matches_litert, float_data,
                       int8_data, pick_activation)
from tests.refs import assert_matches_tflm
from tests.tflite_builder import TFLiteBuilder

OPS = ("ADD", "SUB", "MUL")


def _broadcast_shapes(rng):
    """Two input shapes of rank up to 4 that broadcast (from one full shape: dims set to 1,
    leading dims dropped) and their broadcast shape."""
    full = [int(d) for d in rng.integers(1, 7, int(rng.integers(1, 5)))]
    ins = []
    for _ in range(2):
        shape = [d if rng.random() < 0.6 else 1 for d in full]
        ins.append(tuple(shape[int(rng.integers(0, len(shape))):] or [1]))
    return ins[0], ins[1], tuple(np.broadcast_shapes(*ins))


def _model(op, shapes, quants, activation, data):
    b = TFLiteBuilder()
    kw = [{} if q is None else {"scale": q[0], "zero_point": q[1]} for q in quants]
    dtype = "float32" if quants[0] is None else "int8"
    a = b.tensor("a", shapes[0], dtype, **kw[0])
    c = b.tensor("b", shapes[1], dtype, **kw[1])
    y = b.tensor("y", shapes[2], dtype, **kw[2])
    b.op(op, [a, c], [y], fused_activation_function=activation)
    return b.build(inputs=[a, c], outputs=[y]), data


@pytest.mark.parametrize("op", OPS)
@pytest.mark.parametrize("seed", range(10))
def test_int8_broadcast_matches_tflm(op, seed):
    rng = np.random.default_rng(seed)
    sa, sb, so = _broadcast_shapes(rng)
    quants = [act_quant(rng) for _ in range(3)]
    assert_matches_tflm(*_model(op, (sa, sb, so), quants, pick_activation(rng),
                                [int8_data(rng, sa), int8_data(rng, sb)]))


# Scale triples (input 1, input 2, output) where computing the real multipliers in float32
# instead of double changes some outputs of the full grid (found by search); they pin down
# TFLM's arithmetic, which is double for all three ops.
SENSITIVE = {
    "ADD": [((2.8601207733154297, -13), (1.5216209888458252, -91), (0.07377102971076965, 68))],
    "SUB": [((2.8601207733154297, -13), (1.5216209888458252, -91), (0.07377102971076965, 68)),
            ((0.003791614668443799, -87), (0.02925199642777443, -52), (0.08222603797912598, -44)),
            ((0.9660654664039612, 42), (0.773206889629364, 108), (0.12693774700164795, -105))],
    "MUL": [((0.0022050717379897833, -127), (0.032841093838214874, 52),
             (0.05300741270184517, 115)),
            ((0.02172483503818512, -37), (0.0014375319005921483, -122), (0.012147684581577778, 117))],
}
_GRID = [(op, q, "NONE") for op in OPS for q in SENSITIVE[op]] + \
        [(op, None, act) for op in OPS for act in ACTIVATIONS]


@pytest.mark.parametrize("op,quants,activation", _GRID)
def test_int8_every_input_pair_matches_tflm(op, quants, activation):
    """(256, 1) x (1, 256): every pair of int8 codes once."""
    rng = np.random.default_rng(4 * OPS.index(op) + ACTIVATIONS.index(activation))
    quants = quants or [act_quant(rng) for _ in range(3)]
    codes = np.arange(-128, 128, dtype=np.int8)
    assert_matches_tflm(*_model(op, ((256, 1), (1, 256), (256, 256)), quants, activation,
                                [codes.reshape(256, 1), codes.reshape(1, 256)]))


@pytest.mark.parametrize("op", OPS)
@pytest.mark.parametrize("seed", range(4))
def test_float_matches_litert(op, seed):
    rng = np.random.default_rng(50 + seed)
    sa, sb, so = _broadcast_shapes(rng)
    data = [float_data(rng, sa) * 4, float_data(rng, sb) * 4]
    assert_float_matches_litert(*_model(op, (sa, sb, so), [None] * 3, ACTIVATIONS[seed], data))


def _graph(op, shapes, scales):
    g = Graph(inputs=["a", "b"], outputs=["y"])
    for name, shape, s in zip("aby", shapes, scales):
        g.add_tensor(Tensor(name, shape, "int8", quant=QuantParams(s, 0)))
    g.nodes.append(Node(op, ["a", "b"], ["y"], {}, "n"))
    return g


def test_output_multiplier_of_one_or_more_is_rejected_like_tflm():
    """2 * max input scale / (2**20 * output scale) >= 1 fails TFLM's Prepare check."""
    g = _graph("ADD", [(4,), (4,), (4,)], [1.0, 1.0, 1e-7])
    zeros = np.zeros(4, np.int8)
    with pytest.raises(EdgecError, match="outside"):
        interpret(g, [zeros, zeros])


def test_shapes_that_do_not_broadcast_are_rejected():
    with pytest.raises(EdgecError, match="do not broadcast"):
        check_graph(_graph("MUL", [(3,), (4,), (4,)], [0.1, 0.1, 0.1]))
