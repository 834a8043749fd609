"""The converter's recurrent models (tests/models/recurrent, made by make_models.py) end to
end through the command line: ``edgec build`` writes C that compiles, ``edgec verify`` runs it
on the host bit-exact (int8) or within tolerance (float) of the reference."""

from pathlib import Path

import pytest

from edgec.cli import main

MODELS = Path(__file__).resolve().parent / "models" / "recurrent"


@pytest.mark.parametrize("name", ["lstm_classifier_int8", "lstm_seq_float"])
def test_build_and_verify_an_lstm_model(tmp_path, capsys, name):
    cache_dir = tmp_path / "cache"
    model = MODELS / f"{name}.tflite"
    out = tmp_path / "out"
    assert main(["build", str(model), "-o", str(out), "--cache-dir", str(cache_dir),
                 "--name", "rnn"]) == 0
    source = (out / "rnn.c").read_text()
    assert "UNIDIRECTIONAL_SEQUENCE_LSTM" in source
    capsys.readouterr()
    assert main(["verify", str(model), "--cache-dir", str(cache_dir), "--count", "3"]) == 0
    said = capsys.readouterr().out
    assert ("bit-exact on 3 inputs" if "int8" in name else "within") in said


def test_keras_gru_while_loop_is_unrolled_at_import():
    """tf_keras's GRU converts to a WHILE loop (its int8 conversion crashes the converter):
    its eight steps are unrolled at import (tests/test_keras_recurrent.py checks the numbers)."""
    from edgec.frontends.tflite import load_tflite

    graph = load_tflite((MODELS / "keras_gru_while_float.tflite").read_bytes())
    assert sum(n.op == "TANH" for n in graph.nodes) == 8
    assert "WHILE" not in {n.op for n in graph.nodes}


def test_post_training_quantization_of_an_lstm_builds_tflms_integer_lstm(tmp_path, capsys):
    """``build --calibrate`` of the float LSTM (tests/quantize/test_ptq_recurrent.py checks
    the result against TFLM)."""
    import numpy as np

    model = MODELS / "lstm_seq_float.tflite"
    data = tmp_path / "cal.npz"
    rng = np.random.default_rng(0)
    np.savez(data, **{"serving_default_input_1:0": rng.standard_normal((4, 1, 8, 3))
                      .astype(np.float32)})
    assert main(["build", str(model), "--calibrate", str(data), "-o", str(tmp_path / "o"),
                 "--cache-dir", str(tmp_path / "cache")]) == 0
    source = next((tmp_path / "o").glob("*.c")).read_text()
    assert "TFLM's integer LSTM" in source
