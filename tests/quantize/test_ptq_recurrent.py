"""PTQ of recurrent layers (edgec.quantize.recurrent): a float ONNX LSTM becomes TFLM's
integer LSTM, a float GRU int8 primitive ops per step; both exported to .tflite run in TFLite
Micro bit for bit as edgec's reference runs them, and stay close to the float model on a
sensor-like test signal (sums of sines with noise).

``python -m tests.quantize.test_ptq_recurrent`` prints the accuracy table (int8 and 16x8) of
docs/QUANTIZATION.md "Recurrent layers".
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from edgec.cli import main
from edgec.errors import EdgecError
from edgec.export import to_tflite_bytes
from edgec.frontends.onnx import load_onnx
from edgec.frontends.tflite import load_tflite
from edgec.ir import interpret
from edgec.quantize import quantize_graph
from edgec.quantize.params import quantize_array
from edgec.quantize.recurrent import cell_state_quant, decompose
from tests.cortexm.toolchain import needs_qemu
from tests.lower.harness import needs_gcc
from tests.quantize.test_ptq_tflm import assert_tflm_agrees

MODELS = Path(__file__).resolve().parents[1] / "models" / "recurrent"


def rnn_model(op: str, *, steps=12, batch=1, features=3, hidden=8, layout=1, outputs=("Y",),
              seed=0, initial_h=None, **attributes) -> bytes:
    """One ONNX LSTM or GRU with random weights (fixed seed); ``initial_h``: none, a
    constant (broadcast to the state's shape) or ``"input"`` (a graph input)."""
    rng = np.random.default_rng(seed)
    gates = 4 if op == "LSTM" else 3
    dirs = 2 if attributes.get("direction") == "bidirectional" else 1
    x_shape = (batch, steps, features) if layout else (steps, batch, features)
    inits = {"W": rng.uniform(-0.8, 0.8, (dirs, gates * hidden, features)),
             "R": rng.uniform(-0.5, 0.5, (dirs, gates * hidden, hidden)),
             "B": rng.uniform(-0.4, 0.4, (dirs, 2 * gates * hidden))}
    names = ["X", "W", "R", "B"]
    state = (batch, dirs, hidden) if layout else (dirs, batch, hidden)
    inputs = [helper.make_tensor_value_info("X", TensorProto.FLOAT, x_shape)]
    if isinstance(initial_h, str):  # "input": a graph input
        inputs.append(helper.make_tensor_value_info("initial_h", TensorProto.FLOAT, state))
        names += ["", "initial_h"]
    elif initial_h is not None:
        inits["initial_h"] = np.full(state, initial_h)
        names += ["", "initial_h"]
    node = helper.make_node(op, names, ["Y" if "Y" in outputs else "", "Y_h"],
                            hidden_size=hidden, layout=layout, **attributes)
    shapes = {"Y": (batch, steps, dirs, hidden) if layout else (steps, dirs, batch, hidden),
              "Y_h": (batch, dirs, hidden) if layout else (dirs, batch, hidden)}
    graph = helper.make_graph(
        [node], "rnn", inputs,
        [helper.make_tensor_value_info(o, TensorProto.FLOAT, shapes[o]) for o in outputs],
        [numpy_helper.from_array(v.astype(np.float32), k) for k, v in inits.items()])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 14)])
    onnx.checker.check_model(model)
    return model.SerializeToString()


def signal(shape: tuple, count: int, seed: int, time_axis: int = 1) -> np.ndarray:
    """``count`` samples of ``shape``: per channel a sine of random frequency and phase plus
    noise, like a vibration or temperature window."""
    rng = np.random.default_rng(seed)
    steps = shape[time_axis]
    t = np.arange(steps, dtype=np.float64).reshape([-1 if a == time_axis else 1
                                                    for a in range(len(shape))])
    out = np.empty((count,) + tuple(shape), np.float32)
    for k in range(count):
        channel_shape = tuple(1 if a == time_axis else d for a, d in enumerate(shape))
        freq = rng.uniform(0.2, 0.9, channel_shape)
        phase = rng.uniform(0, 2 * np.pi, channel_shape)
        amp = rng.uniform(0.5, 2.0, channel_shape)
        out[k] = amp * np.sin(freq * t + phase) + 0.1 * rng.standard_normal(shape)
    return out


def quantized(data: bytes, calibration_count: int = 128, io: str = "float"):
    float_graph = load_onnx(data)
    x = float_graph.tensors[float_graph.inputs[0]]
    time_axis = 1 if float_graph.nodes[0].attrs.get("time_major") is False else 0
    cal = {x.name: signal(x.shape, calibration_count, seed=1, time_axis=time_axis)}
    return float_graph, quantize_graph(float_graph, cal, io=io), time_axis


def relative_error(float_graph, int8_graph, samples: np.ndarray, mean: bool = False
                   ) -> float:
    """The largest (or the mean) |int8 - float| over the samples, relative to the float
    outputs' range."""
    errors, lo, hi = [], np.inf, -np.inf
    for x in samples:
        want = interpret(float_graph, x)[float_graph.outputs[0]]
        got = interpret(int8_graph, x)[int8_graph.outputs[0]]
        errors.append(np.abs(got - want))
        lo, hi = min(lo, float(np.min(want))), max(hi, float(np.max(want)))
    errors = np.stack(errors)
    return float(np.mean(errors) if mean else np.max(errors)) / (hi - lo)


LSTM_CASES = [dict(), dict(layout=0, batch=2), dict(outputs=("Y_h",)),
              dict(layout=0, batch=2, outputs=("Y_h",)),
              dict(direction="bidirectional", hidden=5)]


@pytest.mark.parametrize("case", range(len(LSTM_CASES)))
def test_ptq_lstm_is_tflm_integer_lstm_and_close_to_float(case):
    float_graph, graph, time_axis = quantized(rnn_model("LSTM", **LSTM_CASES[case]))
    lstms = [n for n in graph.nodes if n.op == "UNIDIRECTIONAL_SEQUENCE_LSTM"]
    assert lstms
    for node in lstms:
        t = graph.input_tensors(node)
        assert [x.dtype for x in t] == ["int8"] * 9 + ["int32"] * 4 + ["int8", "int16"]
        assert all(x.quant.per_tensor for x in t[1:9])
        cell = t[14].quant
        assert cell.zp == 0 and np.log2(cell.s) == round(np.log2(cell.s))
        assert graph.tensors[node.outputs[0]].quant == t[13].quant  # hidden state = output
    samples = signal(float_graph.tensors[float_graph.inputs[0]].shape, 6, seed=2,
                     time_axis=time_axis)
    assert relative_error(float_graph, graph, samples) < 0.03
    assert_tflm_agrees(graph, samples)


def test_lstm_read_through_y_and_y_h_runs_once_and_stores_its_constants_once():
    """Y_h read with Y is a STRIDED_SLICE of Y's last step, not a second LSTM."""
    float_graph, graph, _ = quantized(rnn_model("LSTM", outputs=("Y", "Y_h")))
    lstms = [n for n in graph.nodes if n.op == "UNIDIRECTIONAL_SEQUENCE_LSTM"]
    assert len(lstms) == 1 and "STRIDED_SLICE" in {n.op for n in graph.nodes}
    assert sum(t.is_const for t in graph.tensors.values()) == 14
    samples = signal(float_graph.tensors[float_graph.inputs[0]].shape, 3, seed=2)
    assert_tflm_agrees(graph, samples)


@pytest.mark.parametrize("outputs", [("Y",), ("Y_h",)])
def test_ptq_reverse_lstm_exports_as_reverse_v2_around_the_forward_builtin(outputs):
    """TFLite's LSTM builtin runs forward only: the exported reverse LSTM is REVERSE_V2 of
    the sequence, the forward builtin, and (for the sequence) REVERSE_V2 back; TFLM runs the
    file as edgec's reverse kernel runs the graph, and the file imports back to it."""
    from edgec.frontends.tflite_schema import read_model

    float_graph, graph, _ = quantized(rnn_model("LSTM", direction="reverse", outputs=outputs))
    exported = to_tflite_bytes(graph)
    ops = [op.builtin for op in read_model(exported).ops]
    assert ops.count("REVERSE_V2") == (2 if outputs == ("Y",) else 1)
    samples = signal(float_graph.tensors[float_graph.inputs[0]].shape, 4, seed=3)
    assert_tflm_agrees(graph, samples)
    back = load_tflite(exported)
    for x in samples:
        np.testing.assert_array_equal(interpret(back, x)[back.outputs[0]],
                                      interpret(graph, x)[graph.outputs[0]])
    assert relative_error(float_graph, graph, samples) < 0.03


def test_every_recurrent_op_has_its_rule():
    from edgec.ir.registry import Ptq, get_op, registered_ops
    from edgec.quantize.recurrent import DECOMPOSITIONS, RECURRENT_RULES

    for kind, table in ((Ptq.RECURRENT, RECURRENT_RULES), (Ptq.DECOMPOSE, DECOMPOSITIONS)):
        ops = {name for name in registered_ops() if get_op(name).ptq is kind}
        assert ops and ops == set(table), kind


def test_cell_state_scale_is_the_converters_power_of_two():
    assert cell_state_quant(-0.3, 0.2).s == 2.0 ** -15  # pot 0: range up to 1
    assert cell_state_quant(-1.0, 0.5).s == 2.0 ** -15  # 2**0 >= 1 already
    assert cell_state_quant(-1.01, 0.5).s == 2.0 ** -14
    assert cell_state_quant(0.0, 5.0).s == 2.0 ** -12
    assert cell_state_quant(0.0, 1e6).s == 2.0 ** -5  # pot stops at 10


@pytest.mark.parametrize("name", ["lstm_seq", "lstm_classifier"])
def test_ptq_of_the_converters_float_lstm_runs_in_tflm(name):
    float_graph = load_tflite((MODELS / f"{name}_float.tflite").read_bytes())
    x = float_graph.tensors[float_graph.inputs[0]]
    graph = quantize_graph(float_graph, {x.name: signal(x.shape, 128, seed=4)})
    samples = signal(x.shape, 4, seed=5)
    assert_tflm_agrees(graph, samples)
    assert relative_error(float_graph, graph, samples) < 0.05


@pytest.mark.parametrize("name", ["lstm_seq", "lstm_classifier"])
def test_ptq_reproduces_the_converters_int8_lstm_model(name):
    """Calibrated on the converter's representative data (tests/models/recurrent/
    make_models.py), edgec's PTQ of the float model chooses every scale (to float32
    rounding), zero point and quantized constant the TFLite converter chose, LSTM and the
    layers after it: TFLM gives identical outputs."""
    from tests.models.recurrent.make_models import samples
    from tests.refs import run_tflm

    float_graph = load_tflite((MODELS / f"{name}_float.tflite").read_bytes())
    converter = (MODELS / f"{name}_int8.tflite").read_bytes()
    theirs = load_tflite(converter)
    ours = quantize_graph(float_graph, {float_graph.inputs[0]: np.stack(samples(64, 1))},
                          io="int8")
    assert [n.op for n in ours.nodes] == [n.op for n in theirs.nodes]
    for mine, other in zip(ours.nodes, theirs.nodes):
        for a, b in zip(mine.inputs + mine.outputs, other.inputs + other.outputs):
            assert bool(a) == bool(b)
            if not a:  # an absent optional input
                continue
            ta, tb = ours.tensors[a], theirs.tensors[b]
            # Scales equal up to float32 rounding (our float LSTM's last bits are not
            # LiteRT's, so an observed extreme may differ by an ulp).
            assert ta.dtype == tb.dtype
            np.testing.assert_allclose(ta.quant.scale.max(), tb.quant.scale.max(), rtol=1e-6)
            assert np.array_equal(ta.quant.zero_point[:1], tb.quant.zero_point[:1])
            if ta.data is not None:
                assert np.array_equal(ta.data, tb.data), a
    exported = to_tflite_bytes(ours)
    rng = np.random.default_rng(3)
    for _ in range(5):
        x = rng.integers(-128, 128, (1, 8, 3)).astype(np.int8)
        np.testing.assert_array_equal(run_tflm(exported, [x])[0], run_tflm(converter, [x])[0])


GRU_CASES = [dict(), dict(linear_before_reset=1), dict(layout=0, batch=2, outputs=("Y_h",)),
             dict(direction="bidirectional", hidden=5, linear_before_reset=1),
             dict(direction="reverse")]


@pytest.mark.parametrize("case", range(len(GRU_CASES)))
def test_ptq_gru_is_int8_primitive_ops_bit_exact_in_tflm(case):
    data = rnn_model("GRU", **GRU_CASES[case])
    float_graph, graph, time_axis = quantized(data)
    assert "GRU" not in {n.op for n in graph.nodes}
    # one quantization for every step's hidden state: the recurrent weights stored once
    fcs = [n for n in graph.nodes if n.op == "FULLY_CONNECTED"]
    assert len({n.inputs[1] for n in fcs}) == 6 * (2 if "direction" in GRU_CASES[case]
                                                   and GRU_CASES[case]["direction"]
                                                   == "bidirectional" else 1)
    samples = signal(float_graph.tensors[float_graph.inputs[0]].shape, 6, seed=2,
                     time_axis=time_axis)
    assert relative_error(float_graph, graph, samples) < 0.06
    assert_tflm_agrees(graph, samples)


@pytest.mark.parametrize("linear,initial_h", [(0, None), (1, None), (0, 0.4), (1, -0.3)])
def test_gru_decomposition_computes_the_float_gru(linear, initial_h):
    graph = load_onnx(rnn_model("GRU", layout=0, batch=2, linear_before_reset=linear,
                                initial_h=initial_h))
    ops, groups = decompose(graph)
    assert "GRU" not in {n.op for n in ops.nodes}
    gru_out = next(n for n in graph.nodes if n.op == "GRU").outputs[0]
    hidden = groups[0]  # every step's state, the sequence pieces and the output
    assert gru_out in hidden and sum(n.endswith(f"_t{t}_h") for n in hidden
                                     for t in range(12)) == 12
    for x in signal(graph.tensors[graph.inputs[0]].shape, 3, seed=6, time_axis=0):
        np.testing.assert_allclose(interpret(ops, x)[graph.outputs[0]],
                                   interpret(graph, x)[graph.outputs[0]], rtol=1e-5, atol=1e-6)


GRU_STATE_CASES = [dict(), dict(linear_before_reset=1),
                   dict(layout=0, batch=2, outputs=("Y_h",)),
                   dict(direction="bidirectional", hidden=5),
                   dict(direction="reverse", linear_before_reset=1)]


def _initial_h(case: dict) -> np.ndarray:
    """A non-zero initial state differing per unit (broadcast over batch and direction)."""
    return np.random.default_rng(11).uniform(-0.9, 0.9, case.get("hidden", 8))


@pytest.mark.parametrize("activations", ["int8", "int16"])
@pytest.mark.parametrize("case", range(len(GRU_STATE_CASES)))
def test_ptq_gru_with_a_constant_initial_state_is_bit_exact_in_tflm(case, activations):
    """The first step reads the constant state as later steps read the previous one (its
    recurrent products become constants); exported, TFLM runs it as edgec does."""
    extra = GRU_STATE_CASES[case]
    float_graph = load_onnx(rnn_model("GRU", initial_h=_initial_h(extra), **extra))
    x = float_graph.tensors[float_graph.inputs[0]]
    time_axis = 0 if extra.get("layout", 1) == 0 else 1
    graph = quantize_graph(float_graph, {x.name: signal(x.shape, 128, seed=1,
                                                        time_axis=time_axis)},
                           activations=activations)
    samples = signal(x.shape, 6, seed=2, time_axis=time_axis)
    assert relative_error(float_graph, graph, samples) < (0.05 if activations == "int8"
                                                          else 0.01)
    assert_tflm_agrees(graph, samples)
    # the state matters: starting from zero gives other outputs
    zero = quantize_graph(load_onnx(rnn_model("GRU", **extra)),
                          {x.name: signal(x.shape, 128, seed=1, time_axis=time_axis)},
                          activations=activations)
    assert not np.array_equal(interpret(zero, samples[0])[zero.outputs[0]],
                              interpret(graph, samples[0])[graph.outputs[0]])


@pytest.mark.parametrize("activations", ["int8", "int16"])
@pytest.mark.parametrize("case", [0, 2, 3])
def test_ptq_gru_with_a_run_time_initial_state_is_bit_exact_in_tflm(case, activations):
    """initial_h as a graph input: calibrated like every input; the first step reads it as
    the later ones read the previous state; the float GRU matches onnxruntime, the exported
    int model (two inputs) runs in TFLM as in edgec."""
    import onnxruntime as ort

    extra = GRU_STATE_CASES[case]
    data = rnn_model("GRU", initial_h="input", **extra)
    float_graph = load_onnx(data)
    assert float_graph.inputs == ["X", "initial_h"]
    time_axis = 0 if extra.get("layout", 1) == 0 else 1
    x_shape, h_shape = (float_graph.tensors[n].shape for n in float_graph.inputs)
    xs = signal(x_shape, 128, seed=1, time_axis=time_axis)
    hs = np.random.default_rng(2).uniform(-0.9, 0.9, (128,) + h_shape).astype(np.float32)
    # onnxruntime's GRU takes layout 0 only; with layout 1 the reference is the same GRU
    # with that state as a constant
    session = ort.InferenceSession(data) if time_axis == 0 else None
    for x, h in zip(xs[:3], hs[:3]):
        got = interpret(float_graph, [x, h])[float_graph.outputs[0]]
        if session is not None:
            want = session.run(None, {"X": x, "initial_h": h})[0]
        else:
            fixed = load_onnx(rnn_model("GRU", initial_h=h, **extra))
            want = interpret(fixed, [x])[fixed.outputs[0]]
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
    graph = quantize_graph(float_graph, {"X": xs, "initial_h": hs}, activations=activations,
                           io="int8")
    exported = to_tflite_bytes(graph)
    from tests.refs import run_tflm

    for x, h in zip(xs[:4], hs[:4]):
        q = [quantize_array(v, graph.tensors[n].quant, activations)
             for v, n in zip((x, h), graph.inputs)]
        np.testing.assert_array_equal(run_tflm(exported, q)[0],
                                      interpret(graph, q)[graph.outputs[0]])


def test_carrying_a_run_time_initial_state_is_refused_in_one_line():
    from edgec.passes.recurrent_state import carry_recurrent_state

    with pytest.raises(EdgecError, match="initial state 'initial_h.*at run time"):
        carry_recurrent_state(load_onnx(rnn_model("GRU", initial_h="input")))


def quantized_16x8(data: bytes, calibration_count: int = 128):
    float_graph = load_onnx(data)
    x = float_graph.tensors[float_graph.inputs[0]]
    time_axis = 1 if float_graph.nodes[0].attrs.get("time_major") is False else 0
    cal = {x.name: signal(x.shape, calibration_count, seed=1, time_axis=time_axis)}
    return float_graph, quantize_graph(float_graph, cal, activations="int16"), time_axis


@pytest.mark.parametrize("case", range(len(LSTM_CASES)))
def test_ptq_16x8_lstm_is_tflm_16x8_lstm_and_closer_to_float(case):
    """--activations int16: TFLM's 16x8 LSTM (int16 input and hidden state, zero point 0,
    int64 biases), exported and run in TFLM bit for bit; closer to float than int8."""
    data = rnn_model("LSTM", **LSTM_CASES[case])
    float_graph, graph, time_axis = quantized_16x8(data)
    lstms = [n for n in graph.nodes if n.op == "UNIDIRECTIONAL_SEQUENCE_LSTM"]
    assert lstms
    for node in lstms:
        t = graph.input_tensors(node)
        assert [x.dtype for x in t] == ["int16"] + ["int8"] * 8 + ["int64"] * 4 \
            + ["int16", "int16"]
        assert t[0].quant.zp == 0 and t[13].quant.zp == 0
        assert graph.tensors[node.outputs[0]].quant == t[13].quant
    samples = signal(float_graph.tensors[float_graph.inputs[0]].shape, 6, seed=2,
                     time_axis=time_axis)
    error16 = relative_error(float_graph, graph, samples)
    _, int8_graph, _ = quantized(data)
    assert error16 < 0.01
    assert error16 < 0.7 * relative_error(float_graph, int8_graph, samples)
    assert_tflm_agrees(graph, samples)


@pytest.mark.parametrize("case", [0, 1, 2, 4])
def test_ptq_16x8_gru_is_int16_primitive_ops_bit_exact_in_tflm(case):
    """A GRU decomposes into ops that all have 16x8 kernels in TFLM."""
    data = rnn_model("GRU", **GRU_CASES[case])
    float_graph, graph, time_axis = quantized_16x8(data)
    assert "GRU" not in {n.op for n in graph.nodes}
    assert {graph.tensors[n.outputs[0]].dtype for n in graph.nodes
            if n.op != "DEQUANTIZE"} == {"int16"}
    samples = signal(float_graph.tensors[float_graph.inputs[0]].shape, 6, seed=2,
                     time_axis=time_axis)
    assert relative_error(float_graph, graph, samples) < 0.01
    assert_tflm_agrees(graph, samples)


@pytest.mark.slow
@pytest.mark.parametrize("cell", ["LSTM", "GRU"])
def test_ptq_of_pytorch_exports_is_bit_exact_in_tflm(cell):
    """torch.nn.LSTM / GRU (batch_first) with a Linear head on the sequence and on the last
    hidden state, through the TorchScript ONNX exporter; skips without torch."""
    import io

    torch = pytest.importorskip("torch")

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = getattr(torch.nn, cell)(3, 8, batch_first=True)
            self.head = torch.nn.Linear(8, 2)

        def forward(self, x):
            y, state = self.rnn(x)
            h = state[0] if isinstance(state, tuple) else state
            return self.head(y), self.head(h.squeeze(0))

    torch.manual_seed(0)
    buffer = io.BytesIO()
    torch.onnx.export(Net().eval(), (torch.randn(1, 16, 3),), buffer, dynamo=False,
                      opset_version=17)
    float_graph = load_onnx(buffer.getvalue())
    x = float_graph.tensors[float_graph.inputs[0]]
    graph = quantize_graph(float_graph, {x.name: signal(x.shape, 128, seed=1)})
    samples = signal(x.shape, 6, seed=2)
    assert relative_error(float_graph, graph, samples) < 0.03
    assert_tflm_agrees(graph, samples)


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("lowering_cache")


def _files(tmp_path, op: str, **extra) -> tuple[str, str]:
    """An ONNX model and its calibration .npz on disk."""
    model = tmp_path / f"{op.lower()}.onnx"
    model.write_bytes(rnn_model(op, steps=8, hidden=6, **extra))
    cal = tmp_path / "cal.npz"
    np.savez(cal, X=signal((1, 8, 3), 64, seed=1))
    return str(model), str(cal)


@needs_gcc
@pytest.mark.parametrize("op,activations", [("LSTM", "int8"), ("GRU", "int8"),
                                            ("LSTM", "int16"), ("GRU", "int16")])
def test_verify_calibrate_on_the_host(tmp_path, capsys, cache_dir, op, activations):
    model, cal = _files(tmp_path, op)
    assert main(["verify", model, "--calibrate", cal, "--activations", activations, "-n", "3",
                 "--cache-dir", str(cache_dir)]) == 0
    assert "vs the quantized graph: max relative error 0 on 3 inputs" in capsys.readouterr().out


@needs_qemu
@pytest.mark.slow
@pytest.mark.parametrize("op,activations", [("LSTM", "int8"), ("GRU", "int8"),
                                            ("LSTM", "int16")])
def test_verify_calibrate_on_mps2_an386(tmp_path, capsys, cache_dir, op, activations):
    model, cal = _files(tmp_path, op)
    assert main(["verify", model, "--calibrate", cal, "--activations", activations,
                 "--target", "mps2_an386", "-n", "2", "--cache-dir", str(cache_dir)]) == 0
    assert "vs the quantized graph: max relative error 0 on 2 inputs" in capsys.readouterr().out


@pytest.mark.parametrize("op,activations", [("LSTM", "int8"), ("GRU", "int8"),
                                            ("LSTM", "int16")])
def test_quantize_cli_writes_a_model_tflm_runs_like_edgec(tmp_path, op, activations):
    """``edgec quantize -o X.tflite``, read back by edgec's TFLite frontend, equals TFLM."""
    model, cal = _files(tmp_path, op)
    out = tmp_path / f"{op}_{activations}.tflite"
    assert main(["quantize", model, "--calibrate", cal, "--activations", activations,
                 "-o", str(out)]) == 0
    if activations == "int16":
        graph = load_tflite(out.read_bytes())
        lstm = next(n for n in graph.nodes if n.op == "UNIDIRECTIONAL_SEQUENCE_LSTM")
        assert graph.tensors[lstm.inputs[0]].dtype == "int16"
    from tests.refs import assert_matches_tflm

    for seed in (9, 10):
        assert_matches_tflm(out.read_bytes(), [signal((1, 8, 3), 1, seed=seed)[0]])


@pytest.mark.parametrize("activations", ["int8", "int16"])
def test_quantize_cli_writes_a_bidirectional_lstm_tflm_runs_like_edgec(tmp_path, activations):
    """Two LSTMs (the backward one between REVERSE_V2s) and a CONCATENATION in the file."""
    from edgec.frontends.tflite_schema import read_model
    from tests.refs import assert_matches_tflm

    model, cal = _files(tmp_path, "LSTM", direction="bidirectional")
    out = tmp_path / "bilstm.tflite"
    assert main(["quantize", model, "--calibrate", cal, "--activations", activations,
                 "-o", str(out)]) == 0
    ops = [op.builtin for op in read_model(out.read_bytes()).ops]
    assert ops.count("UNIDIRECTIONAL_SEQUENCE_LSTM") == 2 and ops.count("REVERSE_V2") == 2
    for seed in (9, 10):
        assert_matches_tflm(out.read_bytes(), [signal((1, 8, 3), 1, seed=seed)[0]])


def accuracy_table() -> str:
    """The accuracy of PTQ int8 and 16x8 vs float on the test signal (docs/QUANTIZATION.md)."""
    rows = ["| model | activations | max abs error / output range | mean abs error / output "
            "range | nodes |", "|---|---|---|---|---|"]
    for op, extra in (("LSTM", {}), ("LSTM", {"outputs": ("Y_h",)}), ("GRU", {}),
                      ("GRU", {"linear_before_reset": 1})):
        data = rnn_model(op, steps=32, hidden=16, features=3, **extra)
        what = f"{op} 32 steps x 3 -> 16 ({'Y_h' if 'outputs' in extra else 'Y'}" + \
            (", linear_before_reset" if extra.get("linear_before_reset") else "") + ")"
        for activations in ("int8", "int16"):
            float_graph = load_onnx(data)
            x = float_graph.tensors[float_graph.inputs[0]]
            graph = quantize_graph(float_graph, {x.name: signal(x.shape, 200, seed=1)},
                                   activations=activations)
            test = signal(x.shape, 100, seed=7)
            worst = relative_error(float_graph, graph, test)
            mean = relative_error(float_graph, graph, test, mean=True)
            label = "int8" if activations == "int8" else "16x8"
            rows.append(f"| {what} | {label} | {worst:.4f} | {mean:.4f} | {len(graph.nodes)} |")
    return "\n".join(rows)


if __name__ == "__main__":
    print(accuracy_table())
