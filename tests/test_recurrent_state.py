"""``--recurrent-state carry``: LSTM (int8, float) and GRU (float) keep their final state
between inferences, as TFLite Micro keeps an LSTM's variable tensors between Invokes when the
application does not reset them. The reference interpreter fed one stream
(``interpret(state=...)``) equals TFLM (bit for bit) and LiteRT invoked repeatedly; the
generated C on the host equals the reference over the same stream, and after ``NAME_reset()``
a fresh start."""

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from edgec.build import load_graph
from edgec.cli import main
from edgec.errors import EdgecError
from edgec.ir import interpret
from edgec.passes.recurrent_state import carry_recurrent_state
from tests.cortexm.toolchain import needs_qemu
from tests.refs import run_litert_stream, run_tflm_stream
from tests.test_onnx_recurrent import recurrent_model

MODELS = Path(__file__).parent / "models" / "recurrent"
STREAM = 4  # inferences


def _stream(graph, rng, count=STREAM):
    t = graph.tensors[graph.inputs[0]]
    if t.dtype == "int8":
        return [rng.integers(-128, 128, t.shape).astype(np.int8) for _ in range(count)]
    return [rng.uniform(-1, 1, t.shape).astype(np.float32) for _ in range(count)]


def _edgec_stream(graph, xs):
    state: dict = {}
    return [interpret(graph, [x], state=state)[graph.outputs[0]] for x in xs]


@pytest.mark.parametrize("model", ["lstm_seq_int8", "lstm_classifier_int8"])
def test_int8_lstm_stream_is_bit_exact_with_tflm_never_reset(model):
    data = (MODELS / f"{model}.tflite").read_bytes()
    graph = load_graph(MODELS / f"{model}.tflite", recurrent_state="carry")
    xs = _stream(graph, np.random.default_rng(7))
    want = [o[0] for o in run_tflm_stream(data, [[x] for x in xs])]
    got = _edgec_stream(graph, xs)
    for k, (g, w) in enumerate(zip(got, want)):
        np.testing.assert_array_equal(g, w, err_msg=f"inference {k}")
    # the state really carries: the second inference differs from a fresh start
    fresh = interpret(load_graph(MODELS / f"{model}.tflite"), [xs[1]])[graph.outputs[0]]
    assert not np.array_equal(fresh, got[1])


def test_float_lstm_stream_matches_litert_invoked_repeatedly():
    path = MODELS / "lstm_seq_float.tflite"
    graph = load_graph(path, recurrent_state="carry")
    xs = _stream(graph, np.random.default_rng(8))
    want = [o[0] for o in run_litert_stream(path.read_bytes(), [[x] for x in xs])]
    got = _edgec_stream(graph, xs)
    for k, (g, w) in enumerate(zip(got, want)):
        np.testing.assert_allclose(g, w, atol=2e-5, err_msg=f"inference {k}")
    fresh = interpret(load_graph(path), [xs[2]])[graph.outputs[0]]
    assert np.abs(fresh - got[2]).max() > 1e-3


def test_default_reset_starts_every_inference_fresh():
    graph = load_graph(MODELS / "lstm_seq_int8.tflite")
    xs = _stream(graph, np.random.default_rng(9), 2)
    state: dict = {}
    first = [interpret(graph, [x], state=state)[graph.outputs[0]] for x in xs]
    assert state == {}
    np.testing.assert_array_equal(first[1], interpret(graph, [xs[1]])[graph.outputs[0]])


MAIN = """#include <stdio.h>
#include "%(name)s.h"
int main(void)
{
    static const %(ctype)s x[%(n)d][%(NAME)s_INPUT0_SIZE] = {%(rows)s};
    %(ctype)s y[%(NAME)s_OUTPUT0_SIZE];
    int i;
    for (i = 0; i < %(n)d; ++i) {
        if (i == %(reset)d) {
            %(name)s_reset();
        }
        if (%(name)s_invoke(x[i], y) != 0) {
            return 1;
        }
        fwrite(y, 1, sizeof(y), stdout);
    }
    return 0;
}
"""


def _run_c(tmp_path, model: Path, xs, name="rnn", flags=("--recurrent-state", "carry")):
    """The generated C (built with ``flags``, by default --recurrent-state carry) over ``xs``
    then, after ``NAME_reset()``, ``xs[0]`` again."""
    out = tmp_path / "out"
    assert main(["build", str(model), "-o", str(out), "--cache-dir", str(tmp_path / "cache"),
                 "--name", name, *flags]) == 0
    assert f"void {name}_reset(void);" in (out / f"{name}.h").read_text()
    feed = list(xs) + [xs[0]]
    dtype = xs[0].dtype
    fmt = (lambda v: str(int(v))) if dtype == np.int8 else (lambda v: f"{float(v):.9e}f")
    rows = ", ".join("{" + ", ".join(fmt(v) for v in x.reshape(-1)) + "}" for x in feed)
    (out / "main.c").write_text(MAIN % {"name": name, "NAME": name.upper(), "rows": rows,
                                        "n": len(feed), "reset": len(xs),
                                        "ctype": "int8_t" if dtype == np.int8 else "float"})
    exe = tmp_path / "run"
    subprocess.run(["gcc", "-std=c99", "-Wall", "-Wextra", "-Werror", "-O2", "-o", str(exe),
                    str(out / "main.c"), str(out / f"{name}.c"), "-lm"], check=True)
    raw = subprocess.run([str(exe)], check=True, capture_output=True).stdout
    return np.frombuffer(raw, dtype).reshape(len(feed), -1)


@pytest.mark.skipif(shutil.which("gcc") is None, reason="gcc not installed")
@pytest.mark.parametrize("model", ["lstm_seq_int8", "lstm_seq_float"])
def test_generated_c_carries_lstm_state_and_reset_restarts(tmp_path, model):
    path = MODELS / f"{model}.tflite"
    graph = load_graph(path, recurrent_state="carry")
    xs = _stream(graph, np.random.default_rng(10), 3)
    got = _run_c(tmp_path, path, xs)
    want = np.stack([w.reshape(-1) for w in _edgec_stream(graph, xs)])
    if xs[0].dtype == np.int8:
        np.testing.assert_array_equal(got[:3], want)
        tflm = run_tflm_stream(path.read_bytes(), [[x] for x in xs])
        np.testing.assert_array_equal(got[:3], np.stack([o[0].reshape(-1) for o in tflm]))
        np.testing.assert_array_equal(got[3], got[0])
    else:
        np.testing.assert_allclose(got[:3], want, atol=1e-5)
        np.testing.assert_allclose(got[3], got[0], atol=0)
    assert not np.array_equal(got[1], got[3])


@pytest.mark.skipif(shutil.which("gcc") is None, reason="gcc not installed")
@pytest.mark.parametrize("linear", [0, 1])
def test_generated_c_carries_gru_state(tmp_path, linear):
    rng = np.random.default_rng(11)
    path = tmp_path / "gru.onnx"
    path.write_bytes(recurrent_model("GRU", rng, layout=1, outputs=("Y_h",),
                                     linear_before_reset=linear))
    graph = load_graph(path, recurrent_state="carry")
    assert [n.attrs["carry_state"] for n in graph.nodes if n.op == "GRU"] == [True]
    xs = _stream(graph, rng, 3)
    got = _run_c(tmp_path, path, xs)
    want = np.stack([w.reshape(-1) for w in _edgec_stream(graph, xs)])
    np.testing.assert_allclose(got[:3], want, atol=1e-5)
    np.testing.assert_allclose(got[3], got[0], atol=0)
    fresh = interpret(load_graph(path), [xs[1]])[graph.outputs[0]].reshape(-1)
    assert np.abs(fresh - got[1]).max() > 1e-3


@pytest.mark.parametrize("op", ["LSTM", "GRU"])
def test_carry_refuses_reverse_and_bidirectional_layers(tmp_path, op):
    path = tmp_path / "bi.onnx"
    path.write_bytes(recurrent_model(op, np.random.default_rng(12), direction="bidirectional"))
    with pytest.raises(EdgecError, match="runs backwards in time"):
        load_graph(path, recurrent_state="carry")
    assert main(["build", str(path), "-o", str(tmp_path / "out"),
                 "--recurrent-state", "carry"]) == 2


def test_carried_states_get_their_own_buffers():
    graph = load_graph(MODELS / "lstm_seq_float.tflite")
    node = graph.nodes[0]
    node.inputs[14] = node.inputs[13]  # one zero tensor for h0 and c0
    carried = carry_recurrent_state(graph)
    h0, c0 = carried.nodes[0].inputs[13:15]
    assert h0 != c0 and graph.nodes[0].attrs["carry_state"] is False


@pytest.mark.skipif(shutil.which("gcc") is None, reason="gcc not installed")
def test_verify_on_host_streams_the_carried_state():
    from edgec.options import BuildOptions
    from edgec.verify import verify

    result = verify(MODELS / "lstm_seq_float.tflite",
                    BuildOptions(recurrent_state="carry"), count=3)
    assert result.ok, result.message


@needs_qemu
@pytest.mark.slow
def test_cli_verify_carry_on_mps2_an386(capsys):
    assert main(["verify", str(MODELS / "lstm_seq_int8.tflite"), "--recurrent-state", "carry",
                 "--target", "mps2_an386", "-n", "3"]) == 0
    assert "bit-exact on 3 inputs" in capsys.readouterr().out
