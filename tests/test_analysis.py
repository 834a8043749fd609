"""edgec.analysis on hand-built graphs (numbers worked out by hand) and on the shared models."""

import json
from pathlib import Path

import numpy as np
import pytest

from edgec.analysis import analyze, format_report
from edgec.ir import Graph, Node, QuantParams, Tensor, check_graph

MODELS = Path(__file__).resolve().parents[2] / "shared" / "models"


def _const(graph, name, shape):
    data = np.ones(shape, np.float32)
    graph.add_tensor(Tensor(name, shape, "float32", data))
    return name


def _act(graph, name, shape):
    graph.add_tensor(Tensor(name, shape, "float32"))
    return name


def chain_graph() -> Graph:
    """x[1,4,4,1] -CONV 3x3 same-> y[1,4,4,2] -RESHAPE-> r[1,32] -FC-> out[1,3]."""
    g = Graph(name="chain")
    x = _act(g, "x", (1, 4, 4, 1))
    g.tensors[x].quant = QuantParams(0.5, 3)
    g.inputs = [x]
    g.nodes.append(Node("CONV_2D", [x, _const(g, "w1", (2, 3, 3, 1)), ""],
                        [_act(g, "y", (1, 4, 4, 2))], {"pads": (1, 1, 1, 1)}, "conv"))
    g.nodes.append(Node("RESHAPE", ["y"], [_act(g, "r", (1, 32))], {"shape": (1, 32)}, "flat"))
    g.nodes.append(Node("FULLY_CONNECTED", ["r", _const(g, "w2", (3, 32)), _const(g, "b2", (3,))],
                        [_act(g, "out", (1, 3))], {}, "fc"))
    g.outputs = ["out"]
    return check_graph(g)


def residual_graph() -> Graph:
    """x -CONV-> a -CONV-> b; out = x + b; a second output ``a`` produced at step 0."""
    g = Graph(name="residual")
    g.inputs = [_act(g, "x", (1, 4, 4, 2))]
    w = _const(g, "w", (2, 1, 1, 2))
    g.nodes.append(Node("CONV_2D", ["x", w, ""], [_act(g, "a", (1, 4, 4, 2))], {}, "c1"))
    g.nodes.append(Node("CONV_2D", ["a", w, ""], [_act(g, "b", (1, 4, 4, 2))], {}, "c2"))
    g.nodes.append(Node("ADD", ["x", "b"], [_act(g, "out", (1, 4, 4, 2))], {}, "add"))
    g.outputs = ["out", "a"]
    return check_graph(g)


def test_chain_macs_params_and_lower_bound():
    report = analyze(chain_graph())
    assert [r.macs for r in report.nodes] == [4 * 4 * 2 * 9, 0, 3 * 32]
    assert report.total_macs == 384
    assert report.param_bytes == (18 + 96 + 3) * 4
    # conv: x 64 + y 128; reshape: y 128 + r 128 (counted apart); fc: r 128 + out 12
    assert [r.live_bytes for r in report.nodes] == [192, 256, 140]
    assert report.activation_lower_bound == 256
    assert report.peak_node == "flat"


def test_tensors_needed_later_and_early_outputs_stay_live():
    report = analyze(residual_graph())
    # Each tensor is 128 B. c1: x a; c2: x (read by add) a (an output) b; add: x a b out.
    assert [r.live_bytes for r in report.nodes] == [256, 384, 512]
    assert report.activation_lower_bound == 512
    assert report.total_macs == 2 * (32 * 2)
    assert report.param_bytes == 16  # the weights feed two nodes but are stored once


def test_rows_describe_tensors_and_quantization():
    report = analyze(chain_graph())
    conv = report.nodes[0]
    assert (conv.op, conv.name) == ("CONV_2D", "conv")
    assert [(i.name, i.shape, i.dtype, i.const) for i in conv.inputs] == [
        ("x", [1, 4, 4, 1], "float32", False), ("w1", [2, 3, 3, 1], "float32", True)]
    assert report.inputs[0].quant == {"scale": [0.5], "zero_point": [3], "axis": None}
    assert report.outputs[0].quant is None
    assert report.op_counts == {"CONV_2D": 1, "RESHAPE": 1, "FULLY_CONNECTED": 1}


def test_report_renders_as_text_and_json():
    report = analyze(chain_graph())
    text = format_report(report)
    assert "float32[1,4,4,1]" in text and "float32[2,3,3,1]" in text
    assert "MACs: 384" in text
    assert "activation lower bound: 256 B (peak at node 'flat')" in text
    assert "scale=0.5 zero_point=3" in text
    assert json.loads(json.dumps(report.to_dict()))["total_macs"] == 384


def test_graph_without_nodes_counts_its_inputs():
    g = Graph(tensors={"x": Tensor("x", (2, 3), "int8")}, inputs=["x"], outputs=["x"])
    assert analyze(g).activation_lower_bound == 6
    assert analyze(g).peak_node is None


@pytest.mark.parametrize("model, macs, lower_bound", [
    ("kws_dscnn_int8.tflite", 2_656_768, 16_000),
    ("ic_resnet8_int8.tflite", 12_501_632, 49_152),
    ("ad_fc_autoencoder_int8.tflite", 264_192, 768),
])
def test_shared_models_match_published_numbers(model, macs, lower_bound):
    from edgec.frontends import load_model

    report = analyze(load_model(MODELS / model))
    assert report.total_macs == macs
    assert report.activation_lower_bound == lower_bound
