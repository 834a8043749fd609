"""CLI conventions (issue 12): -q beside -v, "did you mean" for target names."""

from __future__ import annotations

from pathlib import Path

from edgec.cli import main

DIGITS = Path(__file__).resolve().parents[1] / "examples" / "digits_int8.tflite"


def test_did_you_mean_a_target_ignoring_case(tmp_path, capsys):
    assert main(["build", str(DIGITS), "--target", "NRF52840DX", "-o", str(tmp_path)]) == 2
    line = capsys.readouterr().err.strip().splitlines()[-1]
    assert "unknown target 'NRF52840DX' (did you mean 'nrf52840dk'?)" in line
    assert main(["inspect", str(DIGITS), "--target", "zzzz"]) == 2
    assert "did you mean" not in capsys.readouterr().err


def test_quiet_drops_progress_lines_but_keeps_results(tmp_path, capsys):
    assert main(["build", str(DIGITS), "-o", str(tmp_path / "a")]) == 0
    loud = capsys.readouterr()
    assert "kernel 1 of" in loud.err
    for argv in (["-q", "build", str(DIGITS), "-o", str(tmp_path / "b")],
                 ["build", "-q", str(DIGITS), "-o", str(tmp_path / "c")]):
        assert main(argv) == 0
        quiet = capsys.readouterr()
        assert quiet.err == "" and quiet.out.startswith("wrote ")


def test_progress_lines_escape_and_shorten_node_names(capsys):
    from edgec.cli.build import PROGRESS_NAME_CHARS, _progress
    from edgec.console import Console

    class Node:
        op = "CONV_2D"
        name = "\x1b[2J" + "x" * 300

    _progress(Console())(1, 2, Node())
    line = capsys.readouterr().err.strip()
    assert "\x1b" not in line and "\\x1b" in line
    assert len(line) < len("edgec: kernel 1 of 2: CONV_2D ''") + PROGRESS_NAME_CHARS + 1
