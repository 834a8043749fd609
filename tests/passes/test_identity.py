"""Identity and dead-node removal: no-op layout ops, chains, same-quantization QUANTIZE."""

import numpy as np

from edgec.ir import interpret
from edgec.passes.identity import remove_identities
from tests.passes.graphs import GraphMaker, assert_same_outputs, check_pass, ops, q


def test_identities_and_dead_nodes_go():
    m = GraphMaker()
    x = m.input("x", (1, 4, 4, 2))
    same = m.node("RESHAPE", [x], "same", shape=(1, 4, 4, 2))
    ident = m.node("TRANSPOSE", [same], "ident", perm=(0, 1, 2, 3))
    nopad = m.node("PAD", [ident], "nopad", pads=((0, 0),) * 4)
    one = m.node("CONCATENATION", [nopad], "one", axis=3)
    m.node("RELU", [one], "unused")
    before = m.done(m.node("LOGISTIC", [one], "y"))
    after = check_pass(remove_identities, before)
    assert ops(after) == ["LOGISTIC"] and after.nodes[0].inputs == ["x"]
    assert set(after.tensors) == {"x", "y"}
    assert_same_outputs(before, after)


def test_reshape_chain_merges_and_transposes_compose():
    m = GraphMaker()
    x = m.input("x", (2, 3, 4), "int8", q(0.5, 1))
    r1 = m.node("RESHAPE", [x], "r1", q(0.5, 1), shape=(6, 4))
    r2 = m.node("RESHAPE", [r1], "r2", q(0.5, 1), shape=(4, 6))
    t1 = m.node("TRANSPOSE", [r2], "t1", q(0.5, 1), perm=(1, 0))
    t2 = m.node("TRANSPOSE", [t1], "t2", q(0.5, 1), perm=(1, 0))
    before = m.done(m.node("RELU", [t2], "y", q(0.5, 1)))
    after = check_pass(remove_identities, before)
    # The two transposes cancel; the two reshapes become one.
    assert ops(after) == ["RESHAPE", "RELU"]
    assert after.nodes[0].inputs == ["x"] and after.nodes[1].inputs == ["r2"]
    assert_same_outputs(before, after)


def test_transposes_compose_into_one():
    m = GraphMaker()
    x = m.input("x", (1, 2, 3, 4))
    t1 = m.node("TRANSPOSE", [x], "t1", perm=(0, 3, 1, 2))
    t2 = m.node("TRANSPOSE", [t1], "t2", perm=(0, 2, 3, 1))
    t3 = m.node("TRANSPOSE", [t2], "t3", perm=(3, 0, 1, 2))
    before = m.done(m.node("TANH", [t3], "y"))
    after = check_pass(remove_identities, before)
    assert ops(after) == ["TRANSPOSE", "TANH"]
    assert after.nodes[0].attrs["perm"] == (3, 0, 1, 2)
    assert_same_outputs(before, after)


def test_quantize_to_the_same_quantization_goes_other_stays():
    m = GraphMaker()
    x = m.input("x", (1, 8), "int8", q(0.1, -3))
    same = m.node("QUANTIZE", [x], "same", q(0.1, -3))
    other = m.node("QUANTIZE", [same], "other", q(0.2, -3))
    before = m.done(m.node("RELU", [other], "y", q(0.2, -3)))
    after = check_pass(remove_identities, before)
    assert ops(after) == ["QUANTIZE", "RELU"] and after.nodes[0].inputs == ["x"]
    assert_same_outputs(before, after)


def test_dequantize_quantize_round_trip_goes():
    m = GraphMaker()
    x = m.input("x", (16, 16), "int8", q(0.0137, 11))
    real = m.node("DEQUANTIZE", [x], "real", dtype="float32")
    back = m.node("QUANTIZE", [real], "back", q(0.0137, 11), dtype="int8")
    before = m.done(m.node("RELU", [back], "y", q(0.0137, 11)))
    after = check_pass(remove_identities, before)
    assert ops(after) == ["RELU"] and after.nodes[0].inputs == ["x"]
    assert_same_outputs(before, after)
    codes = {"x": np.arange(-128, 128).astype(np.int8).reshape(16, 16)}
    np.testing.assert_array_equal(interpret(before, codes)["y"], interpret(after, codes)["y"])


def test_identity_writing_a_graph_output_keeps_the_output_name():
    m = GraphMaker()
    x = m.input("x", (2, 2))
    r = m.node("RELU", [x], "r")
    before = m.done(m.node("RESHAPE", [r], "y", shape=(2, 2)))
    after = check_pass(remove_identities, before)
    assert ops(after) == ["RELU"] and after.nodes[0].outputs == ["y"]
    assert_same_outputs(before, after)


def test_identity_between_graph_input_and_output_stays():
    m = GraphMaker()
    x = m.input("x", (2, 2))
    before = m.done(m.node("RESHAPE", [x], "y", shape=(2, 2)))
    assert ops(check_pass(remove_identities, before)) == ["RESHAPE"]
