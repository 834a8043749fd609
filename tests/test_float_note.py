"""Float models on MCU targets: a note on every build, and the --calibrate hint when the model
does not fit (issue 12, defect 5)."""

from __future__ import annotations

from pathlib import Path

from edgec.cli import main

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def _build(tmp_path, capsys, model, *extra):
    code = main(["build", str(model), "-o", str(tmp_path / "o"), *extra])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_float_model_on_a_board_gets_a_note(tmp_path, capsys):
    code, out, _ = _build(tmp_path, capsys, EXAMPLES / "digits.onnx", "--target", "mps2_an386")
    assert code == 0
    notes = [line for line in out.splitlines() if line.startswith("note: float32 model")]
    assert len(notes) == 1 and "--calibrate" in notes[0]


def test_int8_model_and_host_builds_get_no_note(tmp_path, capsys):
    code, out, _ = _build(tmp_path, capsys, EXAMPLES / "digits_int8.tflite",
                          "--target", "mps2_an386")
    assert code == 0 and "note: float32" not in out
    code, out, _ = _build(tmp_path / "h", capsys, EXAMPLES / "digits.onnx", "--target", "host")
    assert code == 0 and "note: float32" not in out


def test_float_model_that_does_not_fit_suggests_calibrate(tmp_path, capsys):
    code, _, err = _build(tmp_path, capsys, EXAMPLES / "digits.onnx", "--target", "host",
                          "--ram-limit", "256")
    line = err.strip().splitlines()[-1]
    assert code == 2 and "--ram-limit 256" in line and "--calibrate DATA.npz" in line
    code, _, err = _build(tmp_path / "q", capsys, EXAMPLES / "digits_int8.tflite",
                          "--target", "host", "--ram-limit", "64")
    assert code == 2 and "--calibrate" not in err.strip().splitlines()[-1]
