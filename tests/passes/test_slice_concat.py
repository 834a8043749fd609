"""Slices of concatenations read the concatenated pieces; an unrolled loop's output buffer
becomes one concatenation of its rows."""

from pathlib import Path

import numpy as np

from edgec.frontends.tflite import load_tflite
from edgec.passes.slice_concat import fold_slice_concat
from tests.passes.graphs import GraphMaker, assert_same_outputs, check_pass, ops, q

MODELS = Path(__file__).resolve().parents[1] / "models" / "recurrent"


def _slice(m, x, out, begin, size, steps=(1, 1), quant=None):
    return m.node("STRIDED_SLICE", [x], out, quant, begin=begin, size=size, steps=steps)


def test_a_slice_within_one_piece_reads_that_piece():
    m = GraphMaker()
    a, b = m.input("a", (2, 3)), m.input("b", (4, 3))
    c = m.node("CONCATENATION", [a, b], "c", axis=0)
    m.node("TANH", [c], "t")
    before = m.done(_slice(m, c, "s", (3, 1), (2, 2)), "t")
    after = check_pass(fold_slice_concat, before)
    (s,) = [n for n in after.nodes if n.outputs == ["s"]]
    assert s.op == "STRIDED_SLICE" and s.inputs == ["b"] and s.attrs["begin"] == (1, 1)
    assert_same_outputs(before, after)


def test_a_slice_of_whole_pieces_becomes_their_concatenation():
    m = GraphMaker()
    x = [m.input(f"x{k}", (1, 2, 4), "int8", q(0.1, 3)) for k in range(3)]
    c = m.node("CONCATENATION", x, "c", q(0.1, 3), axis=1)
    m.node("CONCATENATION", [c], "kept", q(0.1, 3), axis=0)
    before = m.done(_slice(m, c, "s", (0, 2, 0), (1, 4, 4), (1, 1, 1), q(0.1, 3)), "kept")
    after = check_pass(fold_slice_concat, before)
    (s,) = [n for n in after.nodes if n.outputs == ["s"]]
    assert s.op == "CONCATENATION" and s.inputs == ["x1", "x2"]
    assert_same_outputs(before, after)


def test_a_slice_across_parts_of_pieces_stays():
    """Slicing both parts and joining them would copy more than the one slice."""
    m = GraphMaker()
    x = [m.input(f"x{k}", (1, 2, 4)) for k in range(3)]
    c = m.node("CONCATENATION", x, "c", axis=1)
    before = m.done(_slice(m, c, "s", (0, 1, 0), (1, 4, 4), (1, 1, 1)))
    after = check_pass(fold_slice_concat, before)
    assert ops(after) == ops(before)


def test_a_strided_slice_along_the_axis_stays():
    m = GraphMaker()
    a, b = m.input("a", (2, 3)), m.input("b", (4, 3))
    c = m.node("CONCATENATION", [a, b], "c", axis=0)
    before = m.done(_slice(m, c, "s", (0, 0), (3, 3), (2, 1)))
    after = check_pass(fold_slice_concat, before)
    assert ops(after) == ops(before)


def test_an_unrolled_loops_output_buffer_is_copied_once():
    """Keras GRU(return_sequences=True) as a WHILE loop: each step rebuilt the [8, 1, 8]
    buffer from slices of the last one; after the pass one CONCATENATION joins the rows."""
    before = load_tflite((MODELS / "keras3_gru_loop_seq_float.tflite").read_bytes())
    assert ops(before).count("CONCATENATION") == 8
    after = check_pass(fold_slice_concat, before)
    (join,) = [n for n in after.nodes if n.op == "CONCATENATION"]
    assert [after.tensors[i].shape for i in join.inputs] == [(1, 1, 8)] * 8
    assert ops(after).count("STRIDED_SLICE") < ops(before).count("STRIDED_SLICE")
    assert_same_outputs(before, after)
    assert np.prod(after.tensors[join.outputs[0]].shape) == 64
