"""Constant folding: all-constant nodes become constants, computed by their own kernels."""

import numpy as np

from edgec.passes.constant_fold import fold_constants
from tests.passes.graphs import GraphMaker, assert_same_outputs, check_pass, ops, q


def test_constant_chain_folds_into_the_reader():
    m = GraphMaker()
    x = m.input("x", (1, 4))
    a = m.const("a", np.arange(4).reshape(2, 2))
    shaped = m.node("RESHAPE", [a], "shaped", shape=(1, 4))
    shifted = m.node("ADD", [shaped, m.const("one", [1.0])], "shifted")
    before = m.done(m.node("MUL", [x, shifted], "y"))
    after = check_pass(fold_constants, before)
    assert ops(after) == ["MUL"]
    np.testing.assert_array_equal(after.tensors["shifted"].data, [[1.0, 2.0, 3.0, 4.0]])
    assert_same_outputs(before, after)


def test_int8_constants_fold_bit_exactly():
    m = GraphMaker()
    x = m.input("x", (2, 3), "int8", q(0.1, 3))
    real = m.const("real", [[0.31, -1.7, 5.0]])
    code = m.node("QUANTIZE", [real], "code", q(0.05, -2), dtype="int8")
    scaled = m.node("QUANTIZE", [code], "scaled", q(0.11, 7))
    before = m.done(m.node("ADD", [x, scaled], "y", q(0.2, -1)))
    after = check_pass(fold_constants, before)
    assert ops(after) == ["ADD"]
    assert after.tensors["scaled"].dtype == "int8"
    assert_same_outputs(before, after)


def test_node_writing_a_graph_output_stays():
    m = GraphMaker()
    m.input("x", (1, 2))
    c = m.node("RELU", [m.const("c", [[-1.0, 2.0]])], "c_relu")
    before = m.done(c, "x")
    assert ops(check_pass(fold_constants, before)) == ["RELU"]
