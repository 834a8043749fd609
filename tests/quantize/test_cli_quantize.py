"""``edgec quantize``: the happy path writes a model TFLM runs, and every bad calibration or
option is one ``edgec: error:`` line with exit code 2."""

from pathlib import Path

import numpy as np
import pytest

from edgec.cli import main
from edgec.frontends import load_model
from edgec.ir import interpret
from edgec.quantize.params import quantize_array
from tests.refs import run_tflm

FLOAT_MODEL = Path(__file__).resolve().parents[2] / "examples" / "digits.onnx"


def calibration(tmp_path, name="cal.npz", **arrays) -> str:
    path = tmp_path / name
    np.savez(path, **arrays)
    return str(path)


def images(count: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).uniform(0, 1, (count, 8, 8, 1)).astype(np.float32)


def one_error_line(capsys, argv) -> str:
    code = main(argv)
    out, err = capsys.readouterr()
    assert code == 2 and out == ""
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("edgec: error: "), err
    return lines[0]


def quantize_args(tmp_path, cal: str, *extra: str) -> list[str]:
    return ["quantize", str(FLOAT_MODEL), "--calibrate", cal, "-o",
            str(tmp_path / "out.tflite"), *extra]


@pytest.mark.parametrize("extra", [[], ["--io", "int8", "--weights", "int4"],
                                   ["--observer", "percentile", "--percentile", "99.9"],
                                   ["--activations", "int16"]])
def test_quantize_writes_a_model_tflm_runs_like_edgec(tmp_path, capsys, extra):
    assert main(quantize_args(tmp_path, calibration(tmp_path, image=images(20)), *extra)) == 0
    assert "wrote" in capsys.readouterr().err
    out = tmp_path / "out.tflite"
    graph = load_model(out)
    x = images(1, seed=5).reshape(1, 8, 8, 1)
    if "int8" in extra:
        x = quantize_array(x, graph.tensors[graph.inputs[0]].quant)
        assert {graph.tensors[n.inputs[1]].dtype for n in graph.nodes
                if n.op in ("CONV_2D", "FULLY_CONNECTED")} == {"int4"}
    expected = interpret(graph, x)[graph.outputs[0]]
    assert np.array_equal(run_tflm(out.read_bytes(), [x])[0], expected)


def test_calibration_with_the_batch_axis_is_accepted(tmp_path):
    cal = calibration(tmp_path, image=images(4)[:, np.newaxis])
    assert main(quantize_args(tmp_path, cal)) == 0


def test_wrong_shape(tmp_path, capsys):
    line = one_error_line(capsys, quantize_args(
        tmp_path, calibration(tmp_path, image=images(4)[:, :4])))
    assert "shape (4, 4, 8, 1)" in line and "expected (N, 1, 8, 8, 1) or (N, 8, 8, 1)" in line


def test_wrong_dtype(tmp_path, capsys):
    line = one_error_line(capsys, quantize_args(
        tmp_path, calibration(tmp_path, image=(images(4) * 16).astype(np.int32))))
    assert "dtype int32" in line and "expected float32" in line


def test_wrong_array_count(tmp_path, capsys):
    line = one_error_line(capsys, quantize_args(
        tmp_path, calibration(tmp_path, image=images(4), extra=images(4))))
    assert "holds 2 arrays ['extra', 'image']" in line and "1 input(s) ['image']" in line


def test_missing_key(tmp_path, capsys):
    line = one_error_line(capsys, quantize_args(
        tmp_path, calibration(tmp_path, pixels=images(4))))
    assert "lacks input(s) ['image']" in line and "got ['pixels']" in line


def test_zero_samples(tmp_path, capsys):
    line = one_error_line(capsys, quantize_args(
        tmp_path, calibration(tmp_path, image=images(0))))
    assert "{'image': 0}" in line


def test_calibration_file_that_is_not_npz(tmp_path, capsys):
    path = tmp_path / "cal.npy"
    np.save(path, images(2))
    assert "single array" in one_error_line(capsys, quantize_args(tmp_path, str(path)))


def test_int4_for_an_unsupported_op(tmp_path, capsys):
    line = one_error_line(capsys, quantize_args(
        tmp_path, calibration(tmp_path, image=images(2)), "--weights", "int4",
        "--int4-ops", "conv_2d,softmax"))
    assert "no int4 kernel for op(s) ['SOFTMAX']" in line


def test_already_quantized_model(tmp_path, capsys):
    model = FLOAT_MODEL.parent / "digits_int8.tflite"
    line = one_error_line(capsys, ["quantize", str(model), "--calibrate",
                                   calibration(tmp_path, image=images(2)), "-o",
                                   str(tmp_path / "o.tflite")])
    assert "already quantized" in line
