"""Structured pruning: which filters go, the report, the pruned models, bad arguments."""

import numpy as np
import pytest

from edgec.errors import EdgecError
from edgec.ir import check_graph, interpret
from edgec.passes.prune import filter_l1, prune_structured
from edgec.passes.prune_report import format_prune_report, prune_report
from tests.passes.graphs import GraphMaker, load_shared, random_inputs

RNG = np.random.default_rng(23)


def _two_layers(scale_second: float = 1.0):
    """x -> conv 3x3 (8 filters, RELU) -> conv 1x1 (6 filters) -> FC -> y."""
    m = GraphMaker()
    x = m.input("x", (1, 5, 5, 2))
    w1 = RNG.standard_normal((8, 3, 3, 2)) * np.arange(1, 9)[:, None, None, None]
    a = m.node("CONV_2D", [x, m.const("w1", w1), m.const("b1", RNG.standard_normal(8))], "a",
               pads=(1, 1, 1, 1), activation="RELU")
    w2 = RNG.standard_normal((6, 1, 1, 8)) * scale_second
    b = m.node("CONV_2D", [a, m.const("w2", w2)], "b", activation="RELU")
    r = m.node("RESHAPE", [b], "r", shape=(1, 150))
    return m.done(m.node("FULLY_CONNECTED", [r, m.const("wf", RNG.standard_normal((3, 150)))],
                         "y"))


def test_layer_scope_removes_the_smallest_filters_of_each_prunable_layer():
    graph = _two_layers()
    norms = filter_l1(graph, graph.nodes[0])
    pruned = check_graph(prune_structured(graph, 0.25, "layer"))
    kept = sorted(np.argsort(norms, kind="stable")[2:])
    np.testing.assert_array_equal(pruned.tensors[pruned.nodes[0].inputs[1]].data,
                                  graph.tensors["w1"].data[kept])
    # The 1x1 conv feeds a RESHAPE that mixes channels into one axis: it is not prunable.
    assert pruned.tensors["a"].shape[-1] == 6 and pruned.tensors["b"].shape[-1] == 6
    assert interpret(pruned, random_inputs(pruned))["y"].shape == (1, 3)


def test_global_scope_prunes_where_weights_are_smallest():
    m = GraphMaker()
    x = m.input("x", (2, 4))
    h = m.node("FULLY_CONNECTED", [x, m.const("w1", RNG.standard_normal((8, 4)) * 100)], "h",
               activation="RELU")
    g = m.node("FULLY_CONNECTED", [h, m.const("w2", RNG.standard_normal((8, 8)) * 0.01)], "g",
               activation="RELU")
    graph = m.done(m.node("FULLY_CONNECTED", [g, m.const("w3", RNG.standard_normal((2, 8)))],
                          "y"))
    pruned = check_graph(prune_structured(graph, 0.25, "global"))
    assert pruned.tensors["h"].shape == (2, 8) and pruned.tensors["g"].shape == (2, 4)
    per_layer = check_graph(prune_structured(graph, 0.25, "layer"))
    assert per_layer.tensors["h"].shape == (2, 6) and per_layer.tensors["g"].shape == (2, 6)


@pytest.mark.parametrize("model", ["kws_dscnn_int8.tflite", "onnx/kws_dscnn_float32.onnx",
                                   "onnx/ic_resnet8_float32.onnx",
                                   "ad_fc_autoencoder_int8.tflite"])
@pytest.mark.parametrize("scope", ["layer", "global"])
def test_pruned_models_shrink_and_run(model, scope):
    graph = load_shared(model)
    pruned = check_graph(prune_structured(graph, 0.5, scope))
    report = prune_report(graph, pruned)
    assert report.macs_after < report.macs_before
    assert report.param_bytes_after < report.param_bytes_before
    assert all(r.after.params <= r.before.params and r.after.macs <= r.before.macs
               for r in report.layers)
    assert any(r.after.channels < r.before.channels for r in report.layers)
    assert "MACs: " in format_prune_report(report)
    out = interpret(pruned, random_inputs(pruned))[pruned.outputs[0]]
    assert out.shape == graph.tensors[graph.outputs[0]].shape
    if out.dtype == np.float32:
        assert np.all(np.isfinite(out))


def test_report_counts_layers_exactly():
    graph = _two_layers()
    pruned = prune_structured(graph, 0.5, "layer")
    first = prune_report(graph, pruned).layers[0]
    assert (first.before.channels, first.after.channels) == (8, 4)
    assert (first.before.params, first.after.params) == (8 * 18 + 8, 4 * 18 + 4)
    assert (first.before.weight_bytes, first.after.weight_bytes) == (4 * 152, 4 * 76)
    assert (first.before.macs, first.after.macs) == (25 * 8 * 18, 25 * 4 * 18)


@pytest.mark.parametrize("ratio", [0.0, 1.0, 1.5, -0.1])
def test_ratio_outside_the_open_interval_is_a_user_error(ratio):
    with pytest.raises(EdgecError, match="outside"):
        prune_structured(_two_layers(), ratio)


def test_unknown_scope_is_a_user_error():
    with pytest.raises(EdgecError, match="scope"):
        prune_structured(_two_layers(), 0.5, "model")
