"""TFLM's 16x8 UNIDIRECTIONAL_SEQUENCE_LSTM end to end, on models edgec's PTQ makes; and the
converter's own 16x8 recurrent models (Keras 3 ``unroll=True``, primitive int16 ops).

The TensorFlow converter cannot write this op in 16x8 (TensorFlow 2.21, old and new
quantizer: "Quantization to 16x8-bit not yet supported for op: 'UNIDIRECTIONAL_SEQUENCE_LSTM'"),
so the test models are the converter's float Keras LSTMs (tests/models/recurrent) quantized
by ``quantize_graph(activations="int16", io="int8")`` (int16 model inputs and outputs) and
exported: the file imports back as the same 16x8 LSTM, TFLite Micro runs it exactly as
edgec's reference does (one inference, and a stream with the state carried, TFLM never
reset), and the generated C does too on the host and on the emulated Cortex-M4. The
converter does write a Keras 3 ``unroll=True`` LSTM or GRU in 16x8 (tests/models/recurrent/
make_models_16x8.py): those import and are bit-exact with TFLM too.
"""

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from edgec.build import load_graph
from edgec.cli import main
from edgec.export import to_tflite_bytes
from edgec.frontends.tflite import load_tflite
from edgec.ir import interpret
from edgec.quantize import quantize_graph
from tests.cortexm.toolchain import needs_qemu
from tests.quantize.test_ptq_recurrent import signal
from tests.refs import run_tflm, run_tflm_stream
from tests.test_recurrent_state import MAIN

MODELS = Path(__file__).parent / "models" / "recurrent"
NAMES = ["lstm_seq", "lstm_classifier"]


def model_16x8(name: str) -> bytes:
    """The converter's float model, quantized by edgec to 16x8 with int16 I/O, exported."""
    float_graph = load_tflite((MODELS / f"{name}_float.tflite").read_bytes())
    x = float_graph.tensors[float_graph.inputs[0]]
    graph = quantize_graph(float_graph, {x.name: signal(x.shape, 64, seed=4)},
                           activations="int16", io="int8")
    return to_tflite_bytes(graph)


@pytest.fixture(scope="module", params=NAMES)
def model(request, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("lstm16") / f"{request.param}_16x8.tflite"
    path.write_bytes(model_16x8(request.param))
    return path


def _inputs(graph, rng, count: int) -> list[np.ndarray]:
    t = graph.tensors[graph.inputs[0]]
    assert t.dtype == "int16"
    return [rng.integers(-32768, 32768, t.shape).astype(np.int16) if k % 2 else
            rng.integers(-4000, 4000, t.shape).astype(np.int16) for k in range(count)]


def test_exported_16x8_lstm_imports_and_is_bit_exact_with_tflm(model):
    data = model.read_bytes()
    graph = load_tflite(data)
    (lstm,) = [n for n in graph.nodes if n.op == "UNIDIRECTIONAL_SEQUENCE_LSTM"]
    t = graph.input_tensors(lstm)
    assert [x.dtype for x in t] == ["int16"] + ["int8"] * 8 + ["int64"] * 4 + ["int16"] * 2
    outputs = []
    for x in _inputs(graph, np.random.default_rng(1), 12):
        want = run_tflm(data, [x])[0]
        got = interpret(graph, [x])[graph.outputs[0]]
        np.testing.assert_array_equal(got, want)
        outputs.append(got)
    assert len(np.unique(np.stack(outputs))) > 40  # neither saturated nor constant


def test_16x8_stream_with_carried_state_is_bit_exact_with_tflm_never_reset(model):
    data = model.read_bytes()
    graph = load_graph(model, recurrent_state="carry")
    xs = _inputs(graph, np.random.default_rng(2), 4)
    want = [o[0] for o in run_tflm_stream(data, [[x] for x in xs])]
    state: dict = {}
    got = [interpret(graph, [x], state=state)[graph.outputs[0]] for x in xs]
    for k, (g, w) in enumerate(zip(got, want)):
        np.testing.assert_array_equal(g, w, err_msg=f"inference {k}")
    fresh = interpret(load_graph(model), [xs[1]])[graph.outputs[0]]
    assert not np.array_equal(fresh, got[1])


@pytest.mark.skipif(shutil.which("gcc") is None, reason="gcc not installed")
def test_generated_c_carries_16x8_state_and_reset_restarts(tmp_path, model):
    """The C built with --recurrent-state carry over a stream equals TFLM never reset;
    after ``rnn_reset()`` the first input gives the first output again."""
    graph = load_graph(model, recurrent_state="carry")
    xs = _inputs(graph, np.random.default_rng(3), 3)
    out = tmp_path / "out"
    assert main(["build", str(model), "-o", str(out), "--cache-dir", str(tmp_path / "cache"),
                 "--name", "rnn", "--recurrent-state", "carry"]) == 0
    feed = xs + [xs[0]]
    rows = ", ".join("{" + ", ".join(str(int(v)) for v in x.reshape(-1)) + "}" for x in feed)
    (out / "main.c").write_text(MAIN % {"name": "rnn", "NAME": "RNN", "rows": rows,
                                        "n": len(feed), "reset": len(xs), "ctype": "int16_t"})
    exe = tmp_path / "run"
    subprocess.run(["gcc", "-std=c99", "-Wall", "-Wextra", "-Werror", "-O2", "-o", str(exe),
                    str(out / "main.c"), str(out / "rnn.c"), "-lm"], check=True)
    raw = subprocess.run([str(exe)], check=True, capture_output=True).stdout
    got = np.frombuffer(raw, np.int16).reshape(len(feed), -1)
    tflm = run_tflm_stream(model.read_bytes(), [[x] for x in xs])
    np.testing.assert_array_equal(got[:3], np.stack([o[0].reshape(-1) for o in tflm]))
    np.testing.assert_array_equal(got[3], got[0])
    assert not np.array_equal(got[1], got[3])


@needs_qemu
@pytest.mark.slow
def test_cli_verify_16x8_lstm_on_mps2_an386(tmp_path, capsys):
    path = tmp_path / "lstm_seq_16x8.tflite"
    path.write_bytes(model_16x8("lstm_seq"))
    assert main(["verify", str(path), "--target", "mps2_an386", "-n", "2",
                 "--cache-dir", str(tmp_path / "cache")]) == 0
    assert "bit-exact on 2 inputs" in capsys.readouterr().out


CONVERTER_16X8 = ["keras3_lstm_unroll_16x8", "keras3_gru_unroll_16x8"]


@pytest.mark.parametrize("name", CONVERTER_16X8)
def test_converter_16x8_unrolled_model_is_bit_exact_with_tflm(name):
    from edgec.frontends.tflite_schema import read_model

    data = (MODELS / f"{name}.tflite").read_bytes()
    assert "UNPACK" in [op.builtin for op in read_model(data).ops]
    graph = load_tflite(data)
    outputs = []
    for x in _inputs(graph, np.random.default_rng(4), 8):
        got = interpret(graph, [x])[graph.outputs[0]]
        np.testing.assert_array_equal(got, run_tflm(data, [x])[0])
        outputs.append(got)
    assert len(np.unique(np.stack(outputs))) > 20


@pytest.mark.skipif(shutil.which("gcc") is None, reason="gcc not installed")
@pytest.mark.parametrize("name", CONVERTER_16X8)
def test_converter_16x8_unrolled_model_verifies_on_the_host(tmp_path, capsys, name):
    assert main(["verify", str(MODELS / f"{name}.tflite"), "-n", "3",
                 "--cache-dir", str(tmp_path / "cache")]) == 0
    assert "bit-exact on 3 inputs" in capsys.readouterr().out
