"""`edgec verify --target` for emulated targets through the command line."""

from pathlib import Path

import numpy as np

import edgec.verify.check
from edgec.cli import main
from tests.cortexm.toolchain import needs_qemu

DIGITS = str(Path(__file__).resolve().parents[2] / "examples" / "digits_int8.tflite")


@needs_qemu
def test_verify_prints_the_measurements(capsys, cache_dir):
    assert main(["verify", DIGITS, "--target", "mps2_an386", "-n", "3",
                 "--cache-dir", str(cache_dir)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "bit-exact on 3 inputs"
    assert lines[1].startswith("mps2_an386: ")
    assert "instructions per inference (median of 2 runs, after a warm-up)" in lines[1]
    assert lines[2].startswith("estimated latency (cortex-m4, 1 instruction per cycle")


@needs_qemu
def test_verify_mismatch_exits_1_naming_the_first_difference(monkeypatch, capsys, cache_dir):
    """A reference that disagrees in one byte stands in for a wrong kernel."""
    interpret = edgec.verify.check.interpret

    def off_by_one(graph, inputs, **kwargs):
        outputs = interpret(graph, inputs, **kwargs)
        name = graph.outputs[0]
        wrong = outputs[name].copy()
        wrong.reshape(-1)[3] = np.int8(wrong.reshape(-1)[3] ^ 1)
        return {**outputs, name: wrong}

    monkeypatch.setattr(edgec.verify.check, "interpret", off_by_one)
    assert main(["verify", DIGITS, "--target", "qemu_cortex_m3", "-n", "1",
                 "--cache-dir", str(cache_dir)]) == 1
    assert "differs on input 0 at index (0, 3)" in capsys.readouterr().out


def test_verify_refuses_a_board_qemu_does_not_run(capsys):
    assert main(["verify", DIGITS, "--target", "nrf52840dk"]) == 2
    assert "does not run under QEMU" in capsys.readouterr().err
