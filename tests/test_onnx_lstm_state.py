"""An ONNX LSTM whose initial_h / initial_c are graph inputs (PyTorch's ``lstm(x, (h0, c0))``,
the application streaming windows and feeding Y_h / Y_c back), and Y_c read: the reference
within tolerance of onnxruntime (both layouts, reverse, bidirectional, peepholes), windows
fed back equal one long sequence, the float C against the reference; post-training
quantization (int8, 16x8) gives h0 the hidden state's quantization and c0 / Y_c the int16
cell's with no requantization, its C (portable and DSP) bit-exact with the reference; the
TFLite export refuses what TFLite's LSTM cannot express, in one line."""

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from edgec.errors import EdgecError
from edgec.export import to_tflite_bytes
from edgec.frontends.onnx import load_onnx
from edgec.ir import interpret
from edgec.quantize import quantize_graph
from edgec.quantize.recurrent import internal_key
from tests.lower.harness import check_against_reference, needs_gcc

STEPS, BATCH, FEATURES, HIDDEN = 5, 2, 3, 4
LSTM = "UNIDIRECTIONAL_SEQUENCE_LSTM"


def lstm_model(rng, layout=0, steps=STEPS, outputs=("Y", "Y_h", "Y_c"), peepholes=False,
               weights=None, **attributes) -> bytes:
    """One ONNX LSTM reading X, initial_h and initial_c (all graph inputs)."""
    dirs = 2 if attributes.get("direction") == "bidirectional" else 1
    inits = weights or {"W": rng.uniform(-0.7, 0.7, (dirs, 4 * HIDDEN, FEATURES)),
                        "R": rng.uniform(-0.7, 0.7, (dirs, 4 * HIDDEN, HIDDEN)),
                        "B": rng.uniform(-0.5, 0.5, (dirs, 8 * HIDDEN))}
    names = ["X", "W", "R", "B", "", "initial_h", "initial_c"]
    if peepholes:
        inits["P"] = rng.uniform(-0.5, 0.5, (dirs, 3 * HIDDEN))
        names.append("P")
    x_shape = (steps, BATCH, FEATURES) if layout == 0 else (BATCH, steps, FEATURES)
    state = (dirs, BATCH, HIDDEN) if layout == 0 else (BATCH, dirs, HIDDEN)
    shapes = {"Y": (steps, dirs, BATCH, HIDDEN) if layout == 0 else (BATCH, steps, dirs, HIDDEN),
              "Y_h": state, "Y_c": state}
    node = helper.make_node("LSTM", names, [o if o in outputs else "" for o in shapes],
                            hidden_size=HIDDEN, layout=layout, **attributes)
    graph = helper.make_graph(
        [node], "lstm",
        [helper.make_tensor_value_info("X", TensorProto.FLOAT, x_shape)]
        + [helper.make_tensor_value_info(n, TensorProto.FLOAT, state)
           for n in ("initial_h", "initial_c")],
        [helper.make_tensor_value_info(o, TensorProto.FLOAT, shapes[o]) for o in outputs],
        [numpy_helper.from_array(np.asarray(v, np.float32), k) for k, v in inits.items()])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 14)])
    onnx.checker.check_model(model)
    return model.SerializeToString()


def _feed(graph, rng) -> dict:
    return {n: rng.uniform(-1, 1, graph.tensors[n].shape).astype(np.float32)
            for n in graph.inputs}


def _external(data: bytes, feed: dict, layout: int) -> list:
    """onnxruntime's outputs; batch-major (which it refuses): onnx's reference evaluator."""
    if layout:
        from onnx.reference import ReferenceEvaluator
        return ReferenceEvaluator(onnx.load_from_string(data)).run(None, feed)
    import onnxruntime as ort
    return ort.InferenceSession(data, providers=["CPUExecutionProvider"]).run(None, feed)


@pytest.mark.parametrize("layout,extra", [
    (0, {}), (1, {}), (0, {"direction": "reverse"}), (0, {"direction": "bidirectional"}),
    (1, {"direction": "bidirectional"}), (0, {"peepholes": True}),
    (1, {"peepholes": True, "direction": "bidirectional"})])
def test_run_time_initial_states_match_onnxruntime(layout, extra):
    rng = np.random.default_rng(layout + len(extra))
    data = lstm_model(rng, layout, **extra)
    graph = load_onnx(data)
    feed = _feed(graph, rng)
    got = interpret(graph, feed)
    for name, want in zip(graph.outputs, _external(data, feed, layout)):
        np.testing.assert_allclose(got[name], want, rtol=1e-5, atol=1e-6)
    if not extra.get("peepholes"):
        cells = [n for n in graph.nodes if n.op == LSTM and n.attrs.get("cell_output")]
        assert len(cells) == (2 if extra.get("direction") == "bidirectional" else 1)
        assert not graph.tensors[cells[0].inputs[13]].is_const


def test_y_h_is_a_slice_of_y_where_y_is_read():
    """Y, Y_h and Y_c read (PyTorch's ``y, (h, c) = lstm(...)``): two runs of the op (the
    sequence and the final cell state), Y_h sliced from Y's last visited step."""
    rng = np.random.default_rng(3)
    for direction in ("forward", "reverse"):
        graph = load_onnx(lstm_model(rng, direction=direction))
        ops = [n.op for n in graph.nodes]
        assert ops.count(LSTM) == 2 and "STRIDED_SLICE" in ops


def test_windows_fed_back_equal_one_long_sequence():
    """Y_h and Y_c of one window as the next window's initial_h / initial_c: the same
    outputs as the whole sequence in one call (onnxruntime)."""
    rng = np.random.default_rng(4)
    weights = {"W": rng.uniform(-0.7, 0.7, (1, 4 * HIDDEN, FEATURES)),
               "R": rng.uniform(-0.7, 0.7, (1, 4 * HIDDEN, HIDDEN)),
               "B": rng.uniform(-0.5, 0.5, (1, 8 * HIDDEN))}
    window = load_onnx(lstm_model(rng, weights=weights))
    whole = lstm_model(rng, steps=3 * STEPS, weights=weights)
    x = rng.uniform(-1, 1, (3 * STEPS, BATCH, FEATURES)).astype(np.float32)
    h = rng.uniform(-1, 1, (1, BATCH, HIDDEN)).astype(np.float32)
    c = rng.uniform(-1, 1, (1, BATCH, HIDDEN)).astype(np.float32)
    want = _external(whole, {"X": x, "initial_h": h, "initial_c": c}, 0)
    ys = []
    for k in range(3):
        out = interpret(window, {"X": x[k * STEPS:(k + 1) * STEPS], "initial_h": h,
                                 "initial_c": c})
        ys.append(out["Y"])
        h, c = out["Y_h"], out["Y_c"]
    np.testing.assert_allclose(np.concatenate(ys), want[0], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(h, want[1], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(c, want[2], rtol=1e-5, atol=1e-6)


def _single(graph, node):
    one = graph.copy()
    one.nodes = [node]
    one.inputs = [i for i in node.inputs if not graph.tensors[i].is_const]
    one.outputs = list(node.outputs)
    one.remove_unused_tensors()
    return one


@needs_gcc
def test_float_c_reads_the_run_time_states_and_writes_y_c(tmp_path):
    """Every node of a bidirectional LSTM: Y and Y_c (Y_h is a slice of Y), and Y_h alone
    (read without Y: its own node returning the last step)."""
    rng = np.random.default_rng(5)
    for outputs, count in ((("Y", "Y_h", "Y_c"), 4), (("Y_h",), 2)):
        graph = load_onnx(lstm_model(rng, layout=1, outputs=outputs,
                                     direction="bidirectional"))
        nodes = [n for n in graph.nodes if n.op == LSTM]
        assert len(nodes) == count
        for node in nodes:
            check_against_reference(_single(graph, node), tmp_path, rng)


def _quantized(activations: str, io: str = "float", **extra):
    rng = np.random.default_rng(6)
    graph = load_onnx(lstm_model(rng, **extra))
    samples = {n: rng.uniform(-1, 1, (8,) + graph.tensors[n].shape).astype(np.float32)
               for n in graph.inputs}
    samples["initial_c"] *= 3  # wider than the cell state's own range: widens it
    return graph, quantize_graph(graph, samples, activations=activations, io=io)


@pytest.mark.parametrize("activations", ["int8", "int16"])
def test_ptq_quantizes_the_initial_states_as_the_states(activations):
    float_graph, graph = _quantized(activations, io="int8")
    nodes = [n for n in graph.nodes if n.op == LSTM]
    assert len(nodes) == 2 and not any(n.op == "QUANTIZE" for n in graph.nodes)
    assert nodes[0].inputs[1:13] == nodes[1].inputs[1:13]  # Y and Y_c share the weights
    h_in, c_in = (graph.tensors[n] for n in graph.inputs[1:])
    assert (h_in.dtype, c_in.dtype) == (activations, "int16")
    for node in nodes:
        h0, c0 = (graph.tensors[n] for n in node.inputs[13:15])
        out = graph.tensors[node.outputs[0]]
        assert h0.quant == h_in.quant and c0.quant == c_in.quant
        assert out.quant == (c_in.quant if node.attrs["cell_output"] else h_in.quant)
        assert out.dtype == ("int16" if node.attrs["cell_output"] else activations)
    # the cell scale covers initial_c (up to 3): 2**2 / 32768
    assert float(c_in.quant.s) == 4 / 32768
    y_c = graph.tensors[graph.outputs[2]]
    assert (y_c.dtype, y_c.quant) == ("int16", c_in.quant)
    # the integer model tracks the float one
    rng = np.random.default_rng(8)
    feed = _feed(float_graph, rng)
    want = interpret(float_graph, feed)
    ints = {}
    for name, t in zip(float_graph.inputs, (graph.tensors[n] for n in graph.inputs)):
        q = t.quant
        info = np.iinfo(t.dtype)
        ints[t.name] = np.clip(np.round(feed[name] / q.s) + q.zp, info.min, info.max).astype(
            t.dtype)
    got = interpret(graph, ints)
    for f, i in zip(float_graph.outputs, graph.outputs):
        q = graph.tensors[i].quant
        err = np.abs((got[i].astype(np.float32) - q.zp) * q.s - want[f]).max()
        assert err < (0.03 if activations == "int8" else 0.01), (f, err)


def test_ptq_bidirectional_directions_share_the_state_quantization():
    """Bidirectional: both directions slice one initial_h / initial_c: the shared ranges
    make one hidden and one cell quantization for both, no requantization."""
    _, graph = _quantized("int8", direction="bidirectional", outputs=("Y", "Y_h"))
    lstms = [n for n in graph.nodes if n.op == LSTM]
    hidden = [graph.tensors[n.inputs[13]].quant for n in lstms]
    cells = [graph.tensors[n.inputs[14]] for n in lstms]
    assert all(q == hidden[0] for q in hidden) and all(c.dtype == "int16" for c in cells)
    assert all(c.quant == cells[0].quant for c in cells)
    requantized = {n.outputs[0] for n in graph.nodes if n.op == "QUANTIZE"
                   and n.inputs[0] not in graph.inputs}
    assert not requantized & {i for n in lstms for i in n.inputs}


def y_c_node(dtype: str):
    """The Y_c node (reading run-time h0 and c0) of an ONNX LSTM, float or quantized, as a
    one-node graph (the op grid's case)."""
    if dtype == "float32":
        graph = load_onnx(lstm_model(np.random.default_rng(6)))
    else:
        _, graph = _quantized(dtype)
    node = next(n for n in graph.nodes if n.op == LSTM and n.attrs["cell_output"])
    return _single(graph, node)


@needs_gcc
@pytest.mark.parametrize("activations", ["int8", "int16"])
def test_quantized_c_is_bit_exact(tmp_path, activations):
    _, graph = _quantized(activations)
    for node in [n for n in graph.nodes if n.op == LSTM]:
        check_against_reference(_single(graph, node), tmp_path, np.random.default_rng(9))


@needs_gcc
@pytest.mark.parametrize("activations,optimize", [("int8", "speed"), ("int16", "size")])
def test_quantized_dsp_c_is_bit_exact(tmp_path, activations, optimize):
    from tests.lower.test_dsp_kernels import check_dsp_on_host

    _, graph = _quantized(activations)
    for k, node in enumerate(n for n in graph.nodes if n.op == LSTM):
        out = tmp_path / f"n{k}"
        out.mkdir()
        check_dsp_on_host(_single(graph, node), out, tmp_path / "cache", k, optimize)


@pytest.mark.parametrize("outputs,match", [(("Y",), "computed at run time"),
                                           (("Y_c",), "final cell state")])
def test_tflite_export_refuses_what_tflite_cannot_express(outputs, match):
    _, graph = _quantized("int8", outputs=outputs)
    with pytest.raises(EdgecError, match=match):
        to_tflite_bytes(graph)


def test_ptq_requantizes_a_cell_state_that_other_ops_read_once():
    """initial_c also read by another op stays in the activations' type; the LSTMs (Y and
    Y_c) read one int16 copy of it in the cell's quantization."""
    model = onnx.load_from_string(lstm_model(np.random.default_rng(12)))
    model.graph.node.append(helper.make_node("Add", ["initial_c", "initial_c"], ["c2"]))
    model.graph.output.append(helper.make_tensor_value_info("c2", TensorProto.FLOAT,
                                                            [1, BATCH, HIDDEN]))
    graph = load_onnx(model.SerializeToString())
    rng = np.random.default_rng(13)
    samples = {n: rng.uniform(-1, 1, (8,) + graph.tensors[n].shape).astype(np.float32)
               for n in graph.inputs}
    q = quantize_graph(graph, samples)
    copies = [n for n in q.nodes if n.op == "QUANTIZE" and n.inputs[0] not in q.inputs]
    assert len(copies) == 1 and q.tensors[copies[0].outputs[0]].dtype == "int16"
    lstms = [n for n in q.nodes if n.op == LSTM]
    assert all(n.inputs[14] == copies[0].outputs[0] for n in lstms)


def test_calibration_keeps_the_run_time_state_of_each_sample():
    """Constant states carry from one calibration sample to the next; a run-time one is
    each sample's input (the hidden range stays that of the samples' states)."""
    from edgec.quantize.calibration import collect_ranges
    from edgec.quantize.observers import observer_factory

    rng = np.random.default_rng(10)
    graph = load_onnx(lstm_model(rng, outputs=("Y_h",)))
    samples = [{"X": np.zeros((STEPS, BATCH, FEATURES), np.float32),
                "initial_h": np.zeros((1, BATCH, HIDDEN), np.float32),
                "initial_c": np.zeros((1, BATCH, HIDDEN), np.float32)} for _ in range(3)]
    ranges = collect_ranges(graph, samples, observer_factory("minmax", 99.99))
    node = next(n for n in graph.nodes if n.op == LSTM)
    one = collect_ranges(graph, samples[:1], observer_factory("minmax", 99.99))
    assert ranges[internal_key(node, "hidden")] == one[internal_key(node, "hidden")]


@pytest.mark.slow
@pytest.mark.parametrize("exporter", ["torchscript", "dynamo"])
def test_pytorch_streaming_lstm_matches_onnxruntime_and_verifies(tmp_path, exporter):
    """PyTorch's ``y, (h, c) = lstm(x, (h0, c0))`` with a Linear on the last step, exported
    by both exporters: within tolerance of onnxruntime, its windows fed back equal the long
    sequence, and the C (float, and int8 / 16x8 quantized) verifies on the host."""
    torch = pytest.importorskip("torch")
    if exporter == "dynamo":
        pytest.importorskip("onnxscript")
    import io

    from edgec.options import BuildOptions, Quantization
    from edgec.verify import verify

    class Streaming(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = torch.nn.LSTM(3, 12, batch_first=True)
            self.fc = torch.nn.Linear(12, 4)

        def forward(self, x, h0, c0):
            y, (h, c) = self.rnn(x, (h0, c0))
            return self.fc(y[:, -1]), h, c

    torch.manual_seed(0)
    model = Streaming().eval()
    example = (torch.randn(1, 8, 3), torch.zeros(1, 1, 12), torch.zeros(1, 1, 12))
    if exporter == "dynamo":
        data = torch.onnx.export(model, example, dynamo=True).model_proto.SerializeToString()
    else:
        buffer = io.BytesIO()
        torch.onnx.export(model, example, buffer, dynamo=False, opset_version=17)
        data = buffer.getvalue()
    graph = load_onnx(data)
    import onnxruntime as ort
    session = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    names = [i.name for i in session.get_inputs()]
    rng = np.random.default_rng(0)
    xs = rng.standard_normal((3, 1, 8, 3)).astype(np.float32)
    h = c = np.zeros((1, 1, 12), np.float32)
    for x in xs:  # a stream of windows, the state fed back
        feed = dict(zip(names, (x, h, c)))
        want = session.run(None, feed)
        got = interpret(graph, feed)
        for name, w in zip(graph.outputs, want):
            np.testing.assert_allclose(got[name], w, rtol=1e-5, atol=1e-6)
        h, c = want[1], want[2]
    with torch.no_grad():  # the windows equal one call on the whole stream
        _, (h_all, c_all) = model.rnn(torch.from_numpy(np.concatenate(list(xs), axis=1)))
    np.testing.assert_allclose(h, h_all.numpy(), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(c, c_all.numpy(), rtol=1e-4, atol=1e-5)
    path = tmp_path / "stream.onnx"
    path.write_bytes(data)
    assert verify(path, count=2).ok
    cal = tmp_path / "cal.npz"
    np.savez(cal, **{names[0]: rng.standard_normal((8, 1, 8, 3)).astype(np.float32),
                     names[1]: rng.uniform(-0.5, 0.5, (8, 1, 1, 12)).astype(np.float32),
                     names[2]: rng.uniform(-1, 1, (8, 1, 1, 12)).astype(np.float32)})
    for activations in ("int8", "int16"):
        options = BuildOptions(quantization=Quantization(str(cal), activations=activations))
        result = verify(path, options, count=2)
        assert result.ok, result.message
