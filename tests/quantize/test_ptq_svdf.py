"""PTQ of SVDF (``edgec.quantize.recurrent``): a float keyword-spotting-like model (feature
frames -> SVDF -> FULLY_CONNECTED -> SOFTMAX) becomes TFLM's integer SVDF with the TFLite
converter's scheme (int8 input and output, int8 feature weights, int16 time weights at
``max|w| / 512``, int16 symmetric state, int32 bias at ``state_scale * time_scale``); the
exported file runs in TFLite Micro over a stream of frames (the state carries) bit for bit as
edgec's reference runs it, and stays close to the float model.

``python -m tests.quantize.test_ptq_svdf`` prints the accuracy numbers of
docs/QUANTIZATION.md "SVDF" (table rows in CASES order).
"""

from __future__ import annotations

import numpy as np
import pytest

from edgec.cli import main
from edgec.errors import EdgecError
from edgec.export import to_tflite_bytes
from edgec.frontends.tflite import load_tflite
from edgec.ir import interpret
from edgec.quantize import quantize_graph
from edgec.quantize.params import quantize_array
from edgec.quantize.recurrent import svdf_time_weight_quant
from tests.cortexm.toolchain import needs_qemu
from tests.lower.harness import needs_gcc
from tests.ops.test_svdf import tflm_stream
from tests.tflite_builder import TFLiteBuilder


def kws_svdf_model(seed: int = 0, *, features=10, filters=16, memory=8, rank=2, classes=4,
                   activation="RELU", bias=True) -> bytes:
    """A float keyword-spotting-like model with random weights (fixed seed): a frame of
    ``features`` -> SVDF (``filters`` feature filters, ``memory`` past frames, ``rank``) ->
    FULLY_CONNECTED -> SOFTMAX."""
    rng = np.random.default_rng(seed)
    units = filters // rank
    b = TFLiteBuilder()
    x = b.tensor("frame", (1, features), "float32")
    wf = b.tensor("svdf_weights_feature", (filters, features), "float32",
                  data=rng.uniform(-0.6, 0.6, (filters, features)))
    wt = b.tensor("svdf_weights_time", (filters, memory), "float32",
                  data=rng.uniform(-0.5, 0.5, (filters, memory)))
    bias_t = b.tensor("svdf_bias", (units,), "float32",
                      data=rng.uniform(-0.3, 0.3, units)) if bias else None
    state = b.tensor("svdf_state", (1, memory * filters), "float32", is_variable=True)
    h = b.tensor("svdf_out", (1, units), "float32")
    b.op("SVDF", [x, wf, wt, bias_t, state], [h], rank=rank,
         fused_activation_function=activation)
    w2 = b.tensor("fc_weights", (classes, units), "float32",
                  data=rng.uniform(-0.7, 0.7, (classes, units)))
    b2 = b.tensor("fc_bias", (classes,), "float32", data=rng.uniform(-0.2, 0.2, classes))
    logits = b.tensor("logits", (1, classes), "float32")
    b.op("FULLY_CONNECTED", [h, w2, b2], [logits])
    y = b.tensor("probs", (1, classes), "float32")
    b.op("SOFTMAX", [logits], [y], beta=1.0)
    return b.build(inputs=[x], outputs=[y])


def frames(count: int, features: int, seed: int) -> np.ndarray:
    """A stream of feature frames (one per inference, [count, 1, features]): slowly varying
    band energies with noise, as a spectrogram's columns."""
    rng = np.random.default_rng(seed)
    t = np.arange(count)[:, None]
    freq, phase = rng.uniform(0.05, 0.4, features), rng.uniform(0, 2 * np.pi, features)
    amp = rng.uniform(0.5, 1.5, features)
    out = amp * np.sin(freq * t + phase) + 0.2 * rng.standard_normal((count, features))
    return out.astype(np.float32)[:, None, :]


def float_stream(graph, xs) -> list[np.ndarray]:
    state: dict = {}
    return [interpret(graph, [x], state=state)[graph.outputs[0]] for x in xs]


def quantize_kws(data: bytes, calibration_frames: int = 200, io: str = "int8", seed: int = 1):
    float_graph = load_tflite(data)
    x = float_graph.inputs[0]
    cal = {x: frames(calibration_frames, float_graph.tensors[x].shape[1], seed)}
    return float_graph, quantize_graph(float_graph, cal, io=io)


def _svdf(graph):
    return next(n for n in graph.nodes if n.op == "SVDF")


CASES = [dict(), dict(rank=1, filters=12, memory=5), dict(activation="NONE", bias=False),
         dict(activation="RELU6", rank=4, filters=16, memory=10)]


@pytest.mark.parametrize("case", range(len(CASES)))
def test_ptq_svdf_is_tflm_integer_svdf_bit_exact_over_a_stream(case):
    float_graph, graph = quantize_kws(kws_svdf_model(case, **CASES[case]))
    node = _svdf(graph)
    x_t, wf_t, wt_t, bias_t, state_t = (graph.tensors[n] if n else None for n in node.inputs)
    assert (x_t.dtype, wf_t.dtype, wt_t.dtype, state_t.dtype) == ("int8", "int8", "int16",
                                                                   "int16")
    assert graph.tensors[node.outputs[0]].dtype == "int8"
    assert state_t.quant.zp == 0 and wt_t.quant.zp == 0 and wf_t.quant.zp == 0
    assert np.max(np.abs(wt_t.data)) == 512  # the converter's 10-bit time weights
    assert np.max(np.abs(wf_t.data)) == 127
    # int32 bias at state_scale * time_scale; a zero one when the float SVDF has none (the
    # installed TFLM's integer SVDF crashes without a bias).
    assert bias_t.dtype == "int32"
    assert np.float32(bias_t.quant.s) == np.float32(np.float32(state_t.quant.s)
                                                    * np.float32(wt_t.quant.s))
    if not CASES[case].get("bias", True):
        assert not np.any(bias_t.data)
    # The exported file streams in TFLM as edgec's reference streams it, bit for bit.
    stream = frames(40, x_t.shape[1], seed=7)
    xs = [quantize_array(x, x_t.quant) for x in stream]
    exported = to_tflite_bytes(graph)
    want = tflm_stream(exported, xs)
    state: dict = {}
    for step, (x, w) in enumerate(zip(xs, want)):
        got = interpret(graph, [x], state=state)[graph.outputs[0]]
        np.testing.assert_array_equal(got, w, err_msg=f"inference {step}")
    # ... and close to the float model over the same stream (probabilities).
    expected = float_stream(float_graph, stream)
    out_q = graph.tensors[graph.outputs[0]].quant
    probs = [(w.astype(np.float32) - out_q.zp) * np.float32(out_q.s) for w in want]
    assert max(float(np.max(np.abs(p - e))) for p, e in zip(probs, expected)) < 0.08


def test_state_is_calibrated_over_every_frame_it_holds():
    """The int16 state scale covers every feature projection of the calibration stream (the
    state is a window of them), so none saturates."""
    data = kws_svdf_model(0)
    float_graph, graph = quantize_kws(data)
    node = _svdf(load_tflite(data))
    wf = float_graph.tensors[node.inputs[1]].data
    projections = frames(200, wf.shape[1], 1)[:, 0, :] @ wf.T
    state_q = graph.tensors[_svdf(graph).inputs[4]].quant
    assert np.isclose(state_q.s * 32767, np.max(np.abs(projections)), rtol=1e-6)


def test_time_weights_take_ten_bits():
    data, q = svdf_time_weight_quant(np.array([[0.25, -0.5], [0.125, 0.0]], np.float32))
    assert q.s == np.float32(0.5 / 512) and data.tolist() == [[256, -512], [128, 0]]


def test_svdf_with_an_activation_the_integer_kernel_cannot_clamp_is_refused():
    data = kws_svdf_model(0, activation="TANH")
    with pytest.raises(EdgecError, match="TANH") as info:
        quantize_kws(data)
    assert info.value.hint and "\n" not in str(info.value)


def test_int16_activations_are_refused_for_svdf():
    float_graph = load_tflite(kws_svdf_model(0))
    cal = {float_graph.inputs[0]: frames(8, 10, 0)}
    with pytest.raises(EdgecError, match="SVDF"):
        quantize_graph(float_graph, cal, activations="int16")


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("lowering_cache")


def _files(tmp_path) -> tuple[str, str]:
    """The float model and its calibration stream (.npz) on disk."""
    model = tmp_path / "kws_svdf.tflite"
    model.write_bytes(kws_svdf_model(0))
    cal = tmp_path / "cal.npz"
    np.savez(cal, frame=frames(200, 10, seed=1))
    return str(model), str(cal)


@needs_gcc
def test_verify_calibrate_on_the_host(tmp_path, capsys, cache_dir):
    model, cal = _files(tmp_path)
    assert main(["verify", model, "--calibrate", cal, "-n", "3",
                 "--cache-dir", str(cache_dir)]) == 0
    assert "vs the quantized graph: max relative error 0 on 3 inputs" in capsys.readouterr().out


@needs_qemu
@pytest.mark.slow
def test_verify_calibrate_on_mps2_an386(tmp_path, capsys, cache_dir):
    model, cal = _files(tmp_path)
    assert main(["verify", model, "--calibrate", cal, "--target", "mps2_an386", "-n", "2",
                 "--cache-dir", str(cache_dir)]) == 0
    assert "vs the quantized graph: max relative error 0 on 2 inputs" in capsys.readouterr().out


def test_quantize_cli_writes_a_model_tflm_streams_like_edgec(tmp_path):
    """``edgec quantize -o X.tflite`` with int8 I/O: TFLM streams it as edgec's reference."""
    model, cal = _files(tmp_path)
    out = tmp_path / "kws_int8.tflite"
    assert main(["quantize", model, "--calibrate", cal, "--io", "int8", "-o", str(out)]) == 0
    graph = load_tflite(out.read_bytes())
    assert _svdf(graph).inputs and graph.tensors[_svdf(graph).inputs[4]].dtype == "int16"
    in_q = graph.tensors[graph.inputs[0]].quant
    xs = [quantize_array(x, in_q) for x in frames(12, 10, seed=3)]
    state: dict = {}
    for x, want in zip(xs, tflm_stream(out.read_bytes(), xs)):
        np.testing.assert_array_equal(interpret(graph, [x], state=state)[graph.outputs[0]],
                                      want)


def accuracy_report() -> str:
    lines = ["| model | int8 max abs error (probabilities) | top-1 agreement |",
             "|---|---|---|"]
    for case, kwargs in enumerate(CASES):
        float_graph, graph = quantize_kws(kws_svdf_model(case, **kwargs))
        stream = frames(400, float_graph.tensors[float_graph.inputs[0]].shape[1], seed=11)
        expected = float_stream(float_graph, stream)
        in_q = graph.tensors[graph.inputs[0]].quant
        out_q = graph.tensors[graph.outputs[0]].quant
        state: dict = {}
        probs = [(interpret(graph, [quantize_array(x, in_q)], state=state)[graph.outputs[0]]
                  .astype(np.float32) - out_q.zp) * np.float32(out_q.s) for x in stream]
        err = max(float(np.max(np.abs(p - e))) for p, e in zip(probs, expected))
        agree = np.mean([np.argmax(p) == np.argmax(e) for p, e in zip(probs, expected)])
        lines.append(f"| {kwargs or 'default'} | {err:.4f} | {agree:.1%} |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(accuracy_report())
