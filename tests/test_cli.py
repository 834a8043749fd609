"""The edgec command line: in-process through ``main([...])``, plus one run of the installed
console script."""

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

import edgec
from edgec.analysis import analyze
from edgec.cli import COMMANDS, Command, main
from edgec.errors import EdgecError
from edgec.frontends import load_model
from edgec.ir import interpret
from tests.tflite_builder import TFLiteBuilder

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
MODEL = EXAMPLES / "digits_int8.tflite"
DIGIT = EXAMPLES / "digit0.npy"


def one_error_line(capsys, argv) -> str:
    """Run ``argv``, check it failed as a user error in exactly one line, return that line."""
    code = main(argv)
    out, err = capsys.readouterr()
    assert code == 2
    assert out == ""
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("edgec: error: ")
    return lines[0]


def parse_printed_outputs(text: str) -> dict[str, np.ndarray]:
    """Turn ``name = array(...)`` blocks printed by ``edgec run`` back into arrays."""
    blocks, name = {}, None
    for line in text.splitlines():
        if " = array(" in line:
            name, _, rest = line.partition(" = ")
            blocks[name] = rest
        else:
            blocks[name] += line
    scope = {"array": np.array, **{t: getattr(np, t) for t in ("int8", "int32", "float32")}}
    return {k: eval(v, scope) for k, v in blocks.items()}  # noqa: S307 - our own numpy repr


# -- bad inputs: one line, exit 2 ------------------------------------------------------------

def test_missing_model_file(capsys, tmp_path):
    line = one_error_line(capsys, ["inspect", str(tmp_path / "nope.tflite")])
    assert "nope.tflite" in line and "does not exist" in line


def test_empty_model_file(capsys, tmp_path):
    empty = tmp_path / "empty.tflite"
    empty.write_bytes(b"")
    assert "empty" in one_error_line(capsys, ["inspect", str(empty)])


def test_truncated_model_file(capsys, tmp_path):
    truncated = tmp_path / "truncated.tflite"
    truncated.write_bytes(MODEL.read_bytes()[:MODEL.stat().st_size // 2])
    one_error_line(capsys, ["run", str(truncated), "--input", str(DIGIT)])


def test_not_a_model_file(capsys, tmp_path):
    text = tmp_path / "notes.tflite"
    text.write_text("these are not the weights you are looking for\n")
    assert "neither a TFLite nor an ONNX model" in one_error_line(capsys, ["inspect", str(text)])


def test_unsupported_tflite_op(capsys, tmp_path):
    b = TFLiteBuilder()
    x = b.tensor("x", (1, 4), "float32")
    y = b.tensor("y", (1, 4), "float32")
    b.op("ELU", [x], [y])
    path = tmp_path / "elu.tflite"
    path.write_bytes(b.build(inputs=[x], outputs=[y]))
    assert "ELU" in one_error_line(capsys, ["inspect", str(path)])


def test_unsupported_onnx_op(capsys, tmp_path):
    import onnx
    from onnx import TensorProto, helper

    node = helper.make_node("Einsum", ["a", "b"], ["c"], equation="ij,jk->ik")
    graph = helper.make_graph(
        [node], "einsum",
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, [2, 2]) for n in ("a", "b")],
        [helper.make_tensor_value_info("c", TensorProto.FLOAT, [2, 2])])
    path = tmp_path / "einsum.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)
    assert "Einsum" in one_error_line(capsys, ["inspect", str(path)])


def test_wrong_input_shape(capsys, tmp_path):
    flat = tmp_path / "flat.npy"
    np.save(flat, np.load(DIGIT).reshape(1, 64))
    line = one_error_line(capsys, ["run", str(MODEL), "--input", str(flat)])
    assert "(1, 64)" in line and "(1, 8, 8, 1)" in line


def test_wrong_input_dtype(capsys, tmp_path):
    floats = tmp_path / "float.npy"
    np.save(floats, np.load(DIGIT).astype(np.float32))
    line = one_error_line(capsys, ["run", str(MODEL), "--input", str(floats)])
    assert "float32" in line and "int8" in line


def test_missing_input_file(capsys, tmp_path):
    line = one_error_line(capsys, ["run", str(MODEL), "--input", str(tmp_path / "in.npy")])
    assert "in.npy" in line and "does not exist" in line


def test_unreadable_input_file(capsys, tmp_path):
    garbage = tmp_path / "garbage.npy"
    garbage.write_bytes(b"\x93NUMPY\x01\x00garbage")
    assert "cannot read input file" in one_error_line(
        capsys, ["run", str(MODEL), "--input", str(garbage)])


def test_npz_with_wrong_keys(capsys, tmp_path):
    wrong = tmp_path / "wrong.npz"
    np.savez(wrong, image=np.load(DIGIT))
    assert "serving_default_image:0" in one_error_line(
        capsys, ["run", str(MODEL), "--input", str(wrong)])


def test_unwritable_output(capsys, tmp_path):
    out = tmp_path / "no" / "such" / "dir" / "out.npy"
    one_error_line(capsys, ["run", str(MODEL), "--input", str(DIGIT), "--output", str(out)])


def test_usage_error_is_one_line(capsys):
    assert "--input" in one_error_line(capsys, ["run", str(MODEL)])


# -- results --------------------------------------------------------------------------------

def test_version(capsys):
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"edgec {edgec.__version__}"


def test_help_lists_every_command(capsys):
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    assert all(command.name in out for command in COMMANDS)


def test_inspect_text(capsys):
    assert main(["inspect", str(MODEL)]) == 0
    out = capsys.readouterr().out
    report = analyze(load_model(MODEL))
    assert f"MACs: {report.total_macs:,}" in out
    assert f"activation lower bound: {report.activation_lower_bound:,} B" in out
    assert "serving_default_image:0: int8[1,8,8,1] scale=" in out
    assert all(row.name in out for row in report.nodes)


def test_inspect_json(capsys):
    assert main(["inspect", str(MODEL), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    report = analyze(load_model(MODEL))
    assert data["model"] == str(MODEL)
    assert data["total_macs"] == report.total_macs == 23_680
    assert data["activation_lower_bound"] == report.activation_lower_bound
    assert [n["op"] for n in data["nodes"]] == [r.op for r in report.nodes]
    assert data["inputs"][0]["quant"]["zero_point"] == [-128]


def test_run_prints_what_the_interpreter_computes(capsys):
    assert main(["run", str(MODEL), "--input", str(DIGIT)]) == 0
    printed = parse_printed_outputs(capsys.readouterr().out)
    expected = interpret(load_model(MODEL), np.load(DIGIT))
    assert printed.keys() == expected.keys()
    for name, value in expected.items():
        np.testing.assert_array_equal(printed[name], value)
        assert printed[name].dtype == value.dtype
    assert int(np.argmax(next(iter(printed.values())))) == 0  # it is a zero


def test_run_npz_in_npy_and_npz_out(capsys, tmp_path):
    graph = load_model(MODEL)
    inputs = tmp_path / "in.npz"
    np.savez(inputs, **{graph.inputs[0]: np.load(DIGIT)})
    expected = interpret(graph, np.load(DIGIT))
    out_npy, out_npz = tmp_path / "out.npy", tmp_path / "out.npz"
    assert main(["run", str(MODEL), "-i", str(inputs), "-o", str(out_npy)]) == 0
    assert main(["run", str(MODEL), "-i", str(DIGIT), "--output", str(out_npz)]) == 0
    np.testing.assert_array_equal(np.load(out_npy), expected[graph.outputs[0]])
    with np.load(out_npz) as saved:
        assert sorted(saved.files) == sorted(expected)
        for name, value in expected.items():
            np.testing.assert_array_equal(saved[name], value)


# -- the exit-code ladder -------------------------------------------------------------------

def _raising(exc: BaseException) -> type[Command]:
    class Raising(Command):
        name = "boom"
        help = "raise an exception"

        def run(self, args, console):
            raise exc

    return Raising


def test_internal_error_is_one_line_pointing_at_verbose(capsys):
    assert main(["boom"], [_raising(KeyError("oops"))]) == 3
    err = capsys.readouterr().err
    assert err.splitlines() == ["edgec: internal error: KeyError: 'oops' "
                                "(run with -v for the traceback)"]


def test_verbose_adds_the_traceback(capsys):
    assert main(["boom", "-v"], [_raising(KeyError("oops"))]) == 3
    err = capsys.readouterr().err
    assert "Traceback (most recent call last)" in err
    assert err.splitlines()[-1] == "edgec: internal error: KeyError: 'oops'"
    assert main(["-v", "boom"], [_raising(EdgecError("bad thing", "do this"))]) == 2
    err = capsys.readouterr().err
    assert "Traceback (most recent call last)" in err
    assert err.splitlines()[-1] == "edgec: error: bad thing (hint: do this)"


@pytest.mark.parametrize("exc, code", [(KeyboardInterrupt(), 130), (BrokenPipeError(), 0)])
def test_interrupt_and_broken_pipe(capsys, exc, code):
    assert main(["boom"], [_raising(exc)]) == code


# -- the installed console script ------------------------------------------------------------

def test_installed_console_script(tmp_path):
    script = shutil.which("edgec")
    assert script, "the edgec console script is not installed: pip install -e ."
    done = subprocess.run([script, "run", str(MODEL), "--input", str(DIGIT)],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    printed = parse_printed_outputs(done.stdout)
    expected = interpret(load_model(MODEL), np.load(DIGIT))
    assert printed.keys() == expected.keys()
    for name, value in expected.items():
        np.testing.assert_array_equal(printed[name], value)
    bad = subprocess.run([script, "inspect", str(tmp_path / "missing.onnx")],
                         capture_output=True, text=True, check=False)
    assert (bad.returncode, bad.stdout) == (2, "")
    [line] = bad.stderr.splitlines()
    assert line.startswith("edgec: error: model file ") and "does not exist" in line
