"""Keras LSTM, GRU and SimpleRNN as TensorFlow 2.21's converter writes them
(tests/models/recurrent, made by make_models.py): WHILE loops (``unroll=False``, float)
unrolled at import, the converter's own unrolled steps (``unroll=True``, UNPACK ... PACK;
float and int8). Each imports without WHILE, matches LiteRT (float) or TFLite Micro (int8,
every byte), and builds and verifies on the host; a loop whose number of steps comes from
the input is refused in one line naming the converter setting to use."""

from pathlib import Path

import numpy as np
import pytest

from edgec.errors import EdgecError
from edgec.frontends.tflite import load_tflite
from edgec.frontends.tflite_schema import read_model
from edgec.options import BuildOptions
from edgec.verify import verify
from tests.refs import assert_matches_tflm, run_edgec_tflite, run_litert

MODELS = Path(__file__).resolve().parent / "models" / "recurrent"
FLOAT = ["keras3_lstm_loop_float", "keras3_gru_loop_seq_float", "keras3_rnn_loop_float",
         "keras3_bilstm_loop_float", "keras_gru_while_float", "keras3_lstm_unroll_float",
         "keras3_gru_unroll_seq_float"]
INT8 = ["keras3_lstm_unroll_int8", "keras3_gru_unroll_seq_int8", "keras3_stacked_unroll_int8"]


def _bytes(name: str) -> bytes:
    return (MODELS / f"{name}.tflite").read_bytes()


def _inputs(name: str, seed: int) -> list[np.ndarray]:
    graph = load_tflite(_bytes(name))
    rng = np.random.default_rng(seed)
    x = graph.tensors[graph.inputs[0]]
    if x.dtype == "int8":
        return [rng.integers(-128, 128, x.shape).astype(np.int8)]
    return [rng.standard_normal(x.shape).astype(np.float32)]


@pytest.mark.parametrize("name", FLOAT)
def test_float_recurrent_model_matches_litert(name):
    data = _bytes(name)
    loops = [op for op in read_model(data).ops if op.builtin == "WHILE"]
    assert bool(loops) == ("loop" in name or "while" in name)
    graph = load_tflite(data)
    assert not any(n.op in ("WHILE", "UNIDIRECTIONAL_SEQUENCE_LSTM", "GRU")
                   for n in graph.nodes)
    for seed in range(3):
        x = _inputs(name, seed)
        expected, actual = run_litert(data, x)[0], run_edgec_tflite(data, x)[0]
        assert expected.shape == actual.shape
        np.testing.assert_allclose(actual, expected, rtol=1e-5,
                                   atol=1e-6 * float(np.abs(expected).max()))


@pytest.mark.parametrize("name", INT8)
def test_int8_unrolled_model_is_bit_exact_with_tflm(name):
    data = _bytes(name)
    assert "UNPACK" in [op.builtin for op in read_model(data).ops]
    for seed in range(3):
        assert_matches_tflm(data, _inputs(name, seed))


def test_a_dynamic_batch_int8_model_matches_litert():
    """batch_size=None: the converter makes the zero state with SHAPE, PACK and FILL, which
    fold at import. TFLite Micro cannot prepare FILL with computed dims, so the reference is
    LiteRT's BUILTIN_REF kernels (the same integer arithmetic for the other ops)."""
    data = _bytes("keras3_lstm_unroll_anybatch_int8")
    assert "FILL" in [op.builtin for op in read_model(data).ops]
    assert "FILL" not in {n.op for n in load_tflite(data).nodes}
    for seed in range(3):
        x = _inputs("keras3_lstm_unroll_anybatch_int8", seed)
        np.testing.assert_array_equal(run_edgec_tflite(data, x)[0], run_litert(data, x)[0])


def test_the_loop_body_weights_are_one_tensor_for_every_step():
    """Eight steps of the LSTM body share its two weight matrices and bias: the graph holds
    as many constants of the body's shapes as the body does, not eight times as many."""
    model = read_model(_bytes("keras3_lstm_loop_float"))
    body = model.subgraphs[2]
    weights = sorted(t.shape for t in body.tensors if t.data is not None and len(t.shape) == 2)
    graph = load_tflite(_bytes("keras3_lstm_loop_float"))
    in_graph = sorted(t.shape for t in graph.tensors.values()
                      if t.is_const and t.shape in weights)
    assert weights and in_graph == weights
    assert sum(n.op == "FULLY_CONNECTED" for n in graph.nodes) == 2 * 8 + 1


@pytest.mark.slow
@pytest.mark.parametrize("name", ["keras3_lstm_loop_float", "keras3_gru_loop_seq_float",
                                  "keras3_bilstm_loop_float", *INT8])
def test_recurrent_model_builds_and_verifies_on_the_host(tmp_path, name):
    result = verify(MODELS / f"{name}.tflite", BuildOptions(cache_dir=tmp_path / "cache"),
                    count=2, seed=3)
    assert result.ok, result.message
    assert ("bit-exact" if "int8" in name else "within") in result.message


def test_a_loop_whose_steps_come_from_the_input_is_refused_in_one_line():
    with pytest.raises(EdgecError, match="number of steps is not known at import") as info:
        load_tflite(_bytes("while_dynamic_float"))
    message = str(info.value)
    assert "\n" not in message and "unroll=True" in message and "WHILE" in message


def test_a_loop_too_long_to_unroll_is_refused_with_the_bound(monkeypatch):
    import edgec.frontends.tflite_loop as loop

    monkeypatch.setattr(loop, "MAX_UNROLLED_OPS", 100)
    with pytest.raises(EdgecError, match="unrolled to step 4, the model already holds 100 loop operators") as info:
        load_tflite(_bytes("keras3_lstm_loop_float"))
    assert "UNIDIRECTIONAL_SEQUENCE_LSTM" in str(info.value)


@pytest.mark.parametrize("name", ["keras3_lstm_loop_float", "keras3_gru_loop_seq_float"])
def test_edgec_quantizes_a_loop_the_converter_cannot(name):
    """The converter's int8 calibration crashes on WHILE loops; edgec's post-training
    quantization of the unrolled float graph (its first step on the constant zero state
    folded first) gives an int8 model that TFLite Micro runs to the same bytes, close to the
    float model."""
    from edgec.export import to_tflite_bytes
    from edgec.ir import interpret
    from edgec.quantize import quantize_graph
    from tests.refs import run_tflm

    graph = load_tflite(_bytes(name))
    rng = np.random.default_rng(0)
    calibration = {graph.inputs[0]: rng.standard_normal((32, 1, 8, 3)).astype(np.float32)}
    quantized = quantize_graph(graph, calibration, io="int8")
    exported = to_tflite_bytes(quantized)
    x_q, y_q = (quantized.tensors[t].quant for t in (quantized.inputs[0], quantized.outputs[0]))
    for seed in range(3):
        x = np.random.default_rng(10 + seed).standard_normal((1, 8, 3)).astype(np.float32)
        codes = np.clip(np.round(x / x_q.s) + x_q.zp, -128, 127).astype(np.int8)
        ours = interpret(quantized, {quantized.inputs[0]: codes})[quantized.outputs[0]]
        np.testing.assert_array_equal(ours, run_tflm(exported, [codes])[0])
        exact = interpret(graph, {graph.inputs[0]: x})[graph.outputs[0]]
        error = np.abs((ours.astype(np.float32) - y_q.zp) * y_q.s - exact).max()
        assert error < 0.1 * np.abs(exact).max()
