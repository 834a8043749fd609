"""``edgec evaluate``: accuracy on the user's data, checked against the accuracies the example's
training script measured with TensorFlow Lite and onnxruntime (examples/digits_metrics.json)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

from edgec.cli import main

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
METRICS = json.loads((EXAMPLES / "digits_metrics.json").read_text())

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    pytest.importorskip("sklearn")
    sys.path.insert(0, str(EXAMPLES))
    try:
        from make_digits_model import load_split
    finally:
        sys.path.remove(str(EXAMPLES))
    x_train, x_test, _, y_test = load_split()
    assert len(x_test) == METRICS["test_images"]
    folder = tmp_path_factory.mktemp("evaluate")
    np.savez(folder / "test.npz", image=x_test, digit=y_test)
    np.savez(folder / "cal.npz", image=x_train[:100])
    return folder


def _json(capsys, argv):
    assert main(argv) == 0
    return json.loads(capsys.readouterr().out)


def test_int8_model_accuracy_matches_tflite(data, capsys):
    report = _json(capsys, ["evaluate", str(EXAMPLES / "digits_int8.tflite"), "--data",
                            str(data / "test.npz"), "--labels", "digit", "--json"])
    assert report["samples"] == 450
    assert report["variants"]["int8"]["accuracy"] == pytest.approx(
        METRICS["int8_tflite_accuracy"], abs=1e-12)


def test_float_model_and_its_quantized_builds(data, capsys):
    report = _json(capsys, ["evaluate", str(EXAMPLES / "digits.onnx"), "--data",
                            str(data / "test.npz"), "--labels", "digit",
                            "--calibrate", str(data / "cal.npz"), "--json"])
    v = report["variants"]
    assert v["float"]["accuracy"] == pytest.approx(METRICS["float_onnx_accuracy"], abs=1e-12)
    assert set(v) == {"float", "int8", "int4"}
    assert v["int8"]["agreement"] > 0.97 and v["int8"]["accuracy"] > 0.95
    assert 0 < v["int8"]["mse_vs_float"] < v["int4"]["mse_vs_float"]


def test_table_and_errors(data, capsys):
    assert main(["evaluate", str(EXAMPLES / "digits_int8.tflite"), "--data",
                 str(data / "test.npz"), "--labels", "digit"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:2] == ["MODEL", "ACCURACY"] and lines[1].split()[0] == "int8"
    assert main(["evaluate", str(EXAMPLES / "digits.onnx"), "--data",
                 str(data / "test.npz")]) == 2
    assert "--calibrate" in capsys.readouterr().err
    assert main(["evaluate", str(EXAMPLES / "digits_int8.tflite"), "--data",
                 str(data / "test.npz"), "--labels", "nope"]) == 2
    assert "has no array 'nope'" in capsys.readouterr().err


def test_run_accepts_a_batch_on_axis_0(tmp_path, capsys):
    """`edgec run` on N samples stacked on axis 0 = N single runs stacked."""
    digit = np.load(EXAMPLES / "digit0.npy")
    batch = np.concatenate([digit, np.flip(digit, axis=1), np.zeros_like(digit)])
    np.save(tmp_path / "batch.npy", batch)
    assert main(["run", str(EXAMPLES / "digits_int8.tflite"), "-i", str(tmp_path / "batch.npy"),
                 "-o", str(tmp_path / "out.npy")]) == 0
    got = np.load(tmp_path / "out.npy")
    singles = []
    for i in range(3):
        np.save(tmp_path / "one.npy", batch[i:i + 1])
        assert main(["run", str(EXAMPLES / "digits_int8.tflite"), "-i",
                     str(tmp_path / "one.npy"), "-o", str(tmp_path / "one_out.npy")]) == 0
        singles.append(np.load(tmp_path / "one_out.npy"))
    assert got.shape[0] == 3
    np.testing.assert_array_equal(got, np.concatenate(singles))
