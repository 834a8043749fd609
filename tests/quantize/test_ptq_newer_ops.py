"""PTQ of the ops TFLite Micro runs in float only (EXP, LOG, SQRT, CAST: they stay float
between DEQUANTIZE and QUANTIZE) next to ops it runs in int8 (DIV, LOG_SOFTMAX with its fixed
output, comparisons, SELECT_V2, SUM, REDUCE_MAX) and bool logic: the exported model runs in
TFLM with exactly edgec's outputs."""

import numpy as np
import pytest

from edgec.ir import Node, Tensor, get_op, interpret
from edgec.quantize import quantize_graph
from tests.quantize.float_graphs import FloatGraphBuilder, calibration_inputs
from tests.quantize.test_ptq_tflm import assert_tflm_agrees

FLOAT_OPS = ("EXP", "LOG", "SQRT", "CAST")


def _node(b, op, inputs, out, dtype, **attrs):
    """A node whose output is ``dtype`` (bool, int32), which FloatGraphBuilder cannot add."""
    node = Node(op, inputs, [out], attrs, out)
    shape = get_op(op).infer_shapes(node, b.graph.input_tensors(node))[0]
    b.graph.add_tensor(Tensor(out, shape, dtype))
    b.graph.nodes.append(node)
    return out


def newer_ops_graph():
    b = FloatGraphBuilder("newer_ops")
    x = b.input("x", (1, 4, 16))
    h = b.node("FULLY_CONNECTED", [x, b.const("w", (16, 16)), b.const("bias", (16,))], "h")
    e = b.node("EXP", [h], "e")
    lg = b.node("LOG", [e], "lg")
    sq = b.node("SQRT", [e], "sq")
    d = b.node("DIV", [h, sq], "d")
    m = b.node("ADD", [lg, d], "m")
    ls = b.node("LOG_SOFTMAX", [m], "ls")
    less = _node(b, "LESS", [h, b.const("thr", (16,))], "less", "bool")
    greater = _node(b, "GREATER", [h, ls], "greater", "bool")
    both = _node(b, "LOGICAL_AND", [less, greater], "both", "bool")
    cond = _node(b, "LOGICAL_NOT", [both], "cond", "bool")
    sel = b.node("SELECT_V2", [cond, h, ls], "sel")
    s = b.node("SUM", [sel], "s", axes=(1,), keep_dims=True)
    rm = b.node("REDUCE_MAX", [sel], "rm", axes=(1,), keep_dims=True)
    ci = _node(b, "CAST", [s], "ci", "int32")
    cf = _node(b, "CAST", [ci], "cf", "float32")
    out = b.node("ADD", [cf, rm], "out")
    return b.finish(out, "ls", "cond")


@pytest.fixture(scope="module")
def float_graph():
    return newer_ops_graph()


@pytest.mark.parametrize("io", ["float", "int8"])
def test_newer_ops_quantize_bit_exact_in_tflm(float_graph, io):
    graph = quantize_graph(float_graph, calibration_inputs(float_graph, 24, seed=0), io=io)
    assert_tflm_agrees(graph, calibration_inputs(float_graph, 6, seed=1)["x"])
    t = graph.tensors
    by_name = {n.name: n for n in graph.nodes}
    for name in ("e", "lg", "sq", "ci", "cf"):  # float ops: float32 in and out
        node = by_name[name]
        assert node.op in FLOAT_OPS
        assert t[node.inputs[0]].dtype in ("float32", "int32")
        assert t[node.outputs[0]].dtype in ("float32", "int32")
    assert [t[i].dtype for i in by_name["d"].inputs + by_name["d"].outputs] == ["int8"] * 3
    ls = t[by_name["ls"].outputs[0]]
    assert (ls.dtype, float(ls.quant.s), ls.quant.zp) == ("int8", 16 / 256, 127)
    for name in ("less", "greater"):
        node = by_name[name]
        assert [t[i].dtype for i in node.inputs] == ["int8", "int8"]
        assert t[node.outputs[0]].dtype == "bool" and t[node.outputs[0]].quant is None
    assert t[by_name["both"].outputs[0]].dtype == "bool"
    sel = by_name["sel"]
    assert t[sel.inputs[0]].dtype == "bool"
    assert len({(float(t[i].quant.s), t[i].quant.zp) for i in sel.inputs[1:] + sel.outputs}) == 1
    assert t[graph.outputs[2]].dtype == "bool"


def test_float_ops_in_a_row_pass_float_tensors(float_graph):
    """One DEQUANTIZE feeds EXP; LOG and SQRT read EXP's float output; the float results
    are quantized once each, where an int8 op reads them (DIV reads SQRT's, ADD LOG's)."""
    graph = quantize_graph(float_graph, calibration_inputs(float_graph, 8, seed=0), io="int8")
    ops = [n.op for n in graph.nodes]
    assert ops[:8] == ["FULLY_CONNECTED", "DEQUANTIZE", "EXP", "LOG", "SQRT", "QUANTIZE",
                       "DIV", "QUANTIZE"]
    by_name = {n.name: n for n in graph.nodes}
    assert by_name["lg"].inputs == by_name["e"].outputs
    assert by_name["sq"].inputs == by_name["e"].outputs
    assert ops.count("QUANTIZE") == 5  # sq, lg, two SELECT_V2 requantizations, cf
    assert ops.count("DEQUANTIZE") == 2  # h for EXP, s for CAST


def test_float_graph_output_of_a_float_op_stays_float():
    b = FloatGraphBuilder("tail")
    x = b.input("x", (1, 8))
    h = b.node("FULLY_CONNECTED", [x, b.const("w", (8, 8)), ""], "h")
    graph_f = b.finish(b.node("EXP", [h], "y"))
    graph = quantize_graph(graph_f, calibration_inputs(graph_f, 8, seed=0))
    assert [n.op for n in graph.nodes] == ["QUANTIZE", "FULLY_CONNECTED", "DEQUANTIZE", "EXP"]
    assert graph.outputs == ["y"] and graph.tensors["y"].dtype == "float32"
    assert_tflm_agrees(graph, calibration_inputs(graph_f, 4, seed=1)["x"])
    x0 = calibration_inputs(graph_f, 1, seed=2)["x"][0]
    np.testing.assert_allclose(interpret(graph, x0)["y"], interpret(graph_f, x0)["y"], rtol=0.1)
    graph = quantize_graph(graph_f, calibration_inputs(graph_f, 8, seed=0), io="int8")
    assert [n.op for n in graph.nodes] == ["FULLY_CONNECTED", "DEQUANTIZE", "EXP", "QUANTIZE"]
    assert graph.tensors[graph.outputs[0]].dtype == "int8"
    assert_tflm_agrees(graph, calibration_inputs(graph_f, 4, seed=1)["x"])


def test_int16_activations_keep_float_ops_float():
    b = FloatGraphBuilder("int16")
    x = b.input("x", (1, 8))
    h = b.node("FULLY_CONNECTED", [x, b.const("w", (8, 8)), b.const("bias", (8,))], "h")
    e = b.node("SQRT", [b.node("EXP", [h], "e")], "sq")
    graph_f = b.finish(b.node("FULLY_CONNECTED", [e, b.const("w2", (4, 8)), ""], "y"))
    graph = quantize_graph(graph_f, calibration_inputs(graph_f, 8, seed=0),
                           activations="int16")
    assert [n.op for n in graph.nodes] == ["QUANTIZE", "FULLY_CONNECTED", "DEQUANTIZE", "EXP",
                                           "SQRT", "QUANTIZE", "FULLY_CONNECTED", "DEQUANTIZE"]
    assert graph.tensors[graph.nodes[5].outputs[0]].dtype == "int16"
    assert_tflm_agrees(graph, calibration_inputs(graph_f, 4, seed=1)["x"])


def test_int16_ops_without_int16_kernels_stay_float():
    """16x8: LESS, SELECT_V2, LOG_SOFTMAX and DIV have no int16 kernel (TFLM has no 16x8 form
    of the last two): they compute in float between DEQUANTIZE and QUANTIZE; TFLM agrees."""
    b = FloatGraphBuilder("int16_float")
    x = b.input("x", (1, 8))
    h = b.node("FULLY_CONNECTED", [x, b.const("w", (8, 8)), ""], "h")
    c = _node(b, "LESS", [h, b.const("t", (8,))], "c", "bool")
    s = b.node("SELECT_V2", [c, h, x], "s")
    d = b.node("DIV", [s, b.node("LOGISTIC", [h], "lg")], "d")
    ls = b.node("LOG_SOFTMAX", [d], "ls")
    graph_f = b.finish(b.node("FULLY_CONNECTED", [ls, b.const("w2", (4, 8)), ""], "y"))
    graph = quantize_graph(graph_f, calibration_inputs(graph_f, 8, seed=0),
                           activations="int16")
    t = graph.tensors
    for node in graph.nodes:
        if node.op in ("LESS", "SELECT_V2", "DIV", "LOG_SOFTMAX"):
            assert {t[i].dtype for i in node.inputs if i} <= {"float32", "bool"}, node.op
        if node.op in ("FULLY_CONNECTED", "LOGISTIC"):
            assert t[node.outputs[0]].dtype == "int16"
    assert_tflm_agrees(graph, calibration_inputs(graph_f, 4, seed=1)["x"])


def test_comparison_of_a_wide_range_stays_float():
    """TFLM's int8 comparison takes input scales below 1 only: one over a range of ~1000
    stays float between DEQUANTIZE and its bool output, and the model still runs in TFLM."""
    b = FloatGraphBuilder("wide")
    x = b.input("x", (1, 8))
    h = b.node("FULLY_CONNECTED", [x, b.const("w", (8, 8), 300.0), ""], "h")
    c = _node(b, "LESS", [h, b.const("t", (8,))], "c", "bool")
    graph_f = b.finish(b.node("SELECT_V2", [c, h, x], "y"))
    graph = quantize_graph(graph_f, calibration_inputs(graph_f, 8, seed=0), io="int8")
    assert graph.tensors["h"].quant.s > 1
    less = next(n for n in graph.nodes if n.op == "LESS")
    assert [graph.tensors[i].dtype for i in less.inputs] == ["float32", "float32"]
    assert_tflm_agrees(graph, calibration_inputs(graph_f, 4, seed=1)["x"])
