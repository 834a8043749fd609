"""ONNX LSTM and GRU (float, forward): imported as UNIDIRECTIONAL_SEQUENCE_LSTM / GRU, the
reference within tolerance of onnxruntime for Y and Y_h, both layouts, batch 2, biases and
initial states, GRU with and without linear_before_reset; the C of both ops against the
reference; what edgec cannot run is refused with the reason."""

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from edgec.errors import EdgecError
from edgec.frontends.onnx import load_onnx
from edgec.ir import interpret
from tests.lower.harness import check_against_reference, needs_gcc

STEPS, BATCH, FEATURES, HIDDEN = 5, 2, 3, 4


def recurrent_model(op: str, rng, layout=0, bias=True, initial=True, outputs=("Y", "Y_h"),
                    **attributes) -> bytes:
    """One LSTM or GRU node with random initializers; graph outputs ``outputs``."""
    gates = 4 if op == "LSTM" else 3
    dirs = 2 if attributes.get("direction") == "bidirectional" else 1
    x_shape = (STEPS, BATCH, FEATURES) if layout == 0 else (BATCH, STEPS, FEATURES)
    inits = {"W": rng.uniform(-0.7, 0.7, (dirs, gates * HIDDEN, FEATURES)),
             "R": rng.uniform(-0.7, 0.7, (dirs, gates * HIDDEN, HIDDEN))}
    names = ["X", "W", "R"]
    if bias:
        inits["B"] = rng.uniform(-0.5, 0.5, (dirs, 2 * gates * HIDDEN))
        names.append("B")
    if initial:
        state = (dirs, BATCH, HIDDEN) if layout == 0 else (BATCH, dirs, HIDDEN)
        names = ["X", "W", "R", "B" if bias else "", "", "initial_h"]
        inits["initial_h"] = rng.uniform(-1, 1, state)
        if op == "LSTM":
            names.append("initial_c")
            inits["initial_c"] = rng.uniform(-1, 1, state)
    out_names = ["Y" if "Y" in outputs else "", "Y_h"]
    node = helper.make_node(op, names, out_names, hidden_size=HIDDEN, layout=layout,
                            **attributes)
    y_shape = (STEPS, dirs, BATCH, HIDDEN) if layout == 0 else (BATCH, STEPS, dirs, HIDDEN)
    h_shape = (dirs, BATCH, HIDDEN) if layout == 0 else (BATCH, dirs, HIDDEN)
    shapes = {"Y": y_shape, "Y_h": h_shape}
    graph = helper.make_graph(
        [node], "rnn", [helper.make_tensor_value_info("X", TensorProto.FLOAT, x_shape)],
        [helper.make_tensor_value_info(o, TensorProto.FLOAT, shapes[o]) for o in outputs],
        [numpy_helper.from_array(v.astype(np.float32), k) for k, v in inits.items()])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 14)])
    onnx.checker.check_model(model)
    return model.SerializeToString()


def _compare(data: bytes, rng):
    """Against onnxruntime; batch-major (layout 1), which onnxruntime refuses, against
    onnx's reference evaluator."""
    import onnxruntime as ort
    from onnx.reference import ReferenceEvaluator

    graph = load_onnx(data)
    x_shape = graph.tensors[graph.inputs[0]].shape
    x = rng.standard_normal(x_shape).astype(np.float32)
    got = interpret(graph, [x])
    if b"layout" in data and x_shape[0] == BATCH:
        want = ReferenceEvaluator(onnx.load_from_string(data)).run(None, {"X": x})
    else:
        session = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
        want = session.run(None, {"X": x})
    for name, w in zip(graph.outputs, want):
        np.testing.assert_allclose(got[name], w, rtol=1e-5, atol=1e-6)
    return graph


CASES = [("LSTM", 0, {}), ("LSTM", 1, {}), ("GRU", 0, {}), ("GRU", 1, {}),
         ("GRU", 0, {"linear_before_reset": 1}), ("LSTM", 0, {"direction": "reverse"}),
         ("LSTM", 0, {"direction": "bidirectional"}), ("GRU", 1, {"direction": "bidirectional"}),
         ("GRU", 0, {"direction": "bidirectional", "linear_before_reset": 1})]


@pytest.mark.parametrize("op,layout,extra", CASES)
def test_onnx_recurrent_matches_onnxruntime(op, layout, extra):
    rng = np.random.default_rng(len(op) + layout)
    graph = _compare(recurrent_model(op, rng, layout, **extra), rng)
    assert {n.op for n in graph.nodes} >= {"GRU" if op == "GRU" else
                                           "UNIDIRECTIONAL_SEQUENCE_LSTM"}


@pytest.mark.parametrize("op", ["LSTM", "GRU"])
def test_defaults_without_bias_or_state_and_y_h_only(op):
    rng = np.random.default_rng(3)
    _compare(recurrent_model(op, rng, bias=False, initial=False, outputs=("Y_h",)), rng)


@needs_gcc
@pytest.mark.parametrize("op,linear", [("LSTM", 0), ("GRU", 0), ("GRU", 1)])
def test_recurrent_c_matches_reference(tmp_path, op, linear):
    """Every node of a bidirectional layer (forward and reverse, each also as Y_h: read
    alone, as Y_h read with Y is a slice of Y)."""
    rng = np.random.default_rng(7)
    extra = {"linear_before_reset": linear} if op == "GRU" else {}
    extra["direction"] = "bidirectional"
    graphs = [load_onnx(recurrent_model(op, rng, layout=linear, outputs=outputs, **extra))
              for outputs in (("Y", "Y_h"), ("Y_h",))]
    for graph, node in ((g, n) for g in graphs for n in g.nodes):
        if node.op in ("GRU", "UNIDIRECTIONAL_SEQUENCE_LSTM"):
            one = graph.copy()
            one.nodes = [node]
            one.inputs = [node.inputs[0]]
            one.outputs = list(node.outputs)
            one.remove_unused_tensors()
            check_against_reference(one, tmp_path, rng, sanitize=not linear)


@pytest.mark.parametrize("attributes,match", [
    ({"clip": 1.0}, "clip"),
    ({"activations": ["Sigmoid", "Relu", "Tanh"]}, "activations"),
])
def test_unsupported_variants_are_refused_with_the_reason(attributes, match):
    rng = np.random.default_rng(0)
    with pytest.raises(EdgecError, match=match):
        load_onnx(recurrent_model("LSTM", rng, **attributes))
