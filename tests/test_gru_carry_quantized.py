"""``--recurrent-state carry`` on a quantized GRU (int8 and 16x8). Quantization rewrites a GRU
into primitive ops per step, so the carry is marked before quantizing and the decomposition
keeps the state in a float variable (READ_VARIABLE before the first step, ASSIGN_VARIABLE
after the last, as the converter writes a stateful Keras GRU). Before, the carry found no GRU
left and the quantized model restarted from zero at every call without a word. Over a
stream: the reference follows the carried float GRU, its export runs bit-exact in TFLite
Micro (never reset), the generated C equals the reference and restarts after reset."""

import shutil

import numpy as np
import pytest

from edgec.build import load_graph
from edgec.export import to_tflite_bytes
from edgec.ir import interpret
from edgec.options import Quantization
from tests.refs import run_tflm_stream
from tests.test_onnx_recurrent import recurrent_model
from tests.test_recurrent_state import _run_c

STREAM = 4


def _model(tmp_path, linear: int):
    rng = np.random.default_rng(20 + linear)
    path = tmp_path / "gru.onnx"
    path.write_bytes(recurrent_model("GRU", rng, layout=1, initial=False, outputs=("Y_h",),
                                     linear_before_reset=linear))
    cal = tmp_path / "cal.npz"
    graph = load_graph(path)
    np.savez(cal, X=rng.uniform(-1, 1, (8,) + graph.tensors["X"].shape).astype(np.float32))
    xs = [rng.uniform(-1, 1, graph.tensors["X"].shape).astype(np.float32)
          for _ in range(STREAM)]
    return path, cal, xs


def _stream(graph, xs):
    state: dict = {}
    return [interpret(graph, [x], state=state)[graph.outputs[0]] for x in xs]


@pytest.mark.parametrize("activations,linear", [("int8", 0), ("int16", 0)])
def test_quantized_gru_carries_its_state_in_a_variable(tmp_path, activations, linear):
    path, cal, xs = _model(tmp_path, linear)
    q = load_graph(path, Quantization(str(cal), activations=activations), "carry")
    ops = [n.op for n in q.nodes]
    assert ops.count("READ_VARIABLE") == 1 and ops.count("ASSIGN_VARIABLE") == 1
    got = _stream(q, xs)
    want = _stream(load_graph(path, recurrent_state="carry"), xs)
    fresh = [interpret(q, [x])[q.outputs[0]] for x in xs]
    error = max(np.abs(g - w).max() for g, w in zip(got, want))
    restart = max(np.abs(f - w).max() for f, w in zip(fresh[1:], want[1:]))
    assert error < 0.05 and restart > 4 * error, (error, restart)


@pytest.mark.parametrize("activations", ["int8", "int16"])
def test_quantized_carried_gru_export_streams_bit_exact_in_tflm(tmp_path, activations):
    path, cal, xs = _model(tmp_path, 0)
    q = load_graph(path, Quantization(str(cal), activations=activations, io="int8"), "carry")
    x_t = q.tensors[q.inputs[0]]
    info = np.iinfo(x_t.dtype)
    ints = [np.clip(np.round(x / x_t.quant.s) + x_t.quant.zp, info.min, info.max)
            .astype(x_t.dtype) for x in xs]
    got = _stream(q, ints)
    tflm = [o[0] for o in run_tflm_stream(to_tflite_bytes(q), [[x] for x in ints])]
    for k, (g, w) in enumerate(zip(got, tflm)):
        np.testing.assert_array_equal(g, w.reshape(g.shape), err_msg=f"inference {k}")
    assert not np.array_equal(got[1], interpret(q, [ints[1]])[q.outputs[0]])


@pytest.mark.skipif(shutil.which("gcc") is None, reason="gcc not installed")
@pytest.mark.parametrize("activations", ["int8", "int16"])
def test_generated_c_carries_the_quantized_gru_state_and_reset_restarts(tmp_path, activations):
    path, cal, xs = _model(tmp_path, 1)
    flags = ("--recurrent-state", "carry", "--calibrate", str(cal), "--activations", activations)
    got = _run_c(tmp_path, path, xs[:3], flags=flags)
    q = load_graph(path, Quantization(str(cal), activations=activations), "carry")
    want = np.stack([w.reshape(-1) for w in _stream(q, xs[:3])])
    np.testing.assert_array_equal(got[:3], want)
    np.testing.assert_array_equal(got[3], got[0])
    assert not np.array_equal(got[1], got[3])
