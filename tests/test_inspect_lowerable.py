"""`inspect` refuses what `build` refuses: every node without a lowering, listed at once
(issue 12, defect 6)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest


from edgec.cli import main
from tests.tflite_builder import TFLiteBuilder

DIGITS = Path(__file__).resolve().parents[1] / "examples" / "digits_int8.tflite"


@pytest.fixture(autouse=True)
def without_int32_arithmetic(monkeypatch):
    """Every dtype an op declares has a lowering rule (tests/test_op_completeness.py), so a
    node without one only arises from a rule missing on a target's registry: the int32 ADD
    and MUL rules are taken away here to stand for that."""
    from edgec.lower import registry

    for key in (("ADD", "int32"), ("MUL", "int32")):
        monkeypatch.delitem(registry._RULES, key)


def int32_model(path: Path) -> Path:
    """int32 arithmetic (TFLite's unquantized int32 ADD, then MUL): neither lowerable here."""
    b = TFLiteBuilder()
    x = b.tensor("x", (1, 8), "int32")
    y = b.tensor("y", (1, 8), "int32")
    z = b.tensor("z", (1, 8), "int32")
    b.op("ADD", [x, x], [y])
    b.op("MUL", [y, y], [z])
    path.write_bytes(b.build(inputs=[x], outputs=[z]))
    return path


def test_inspect_lists_every_unlowerable_node_and_exits_2(tmp_path, capsys):
    model = int32_model(tmp_path / "m.tflite")
    code = main(["inspect", str(model), "--target", "mps2_an386"])
    captured = capsys.readouterr()
    line = captured.err.strip().splitlines()[-1]
    assert code == 2 and line.startswith("edgec: error: 2 node(s) cannot be lowered")
    assert "#0 ADD/int32" in line and "#1 MUL/int32" in line
    assert captured.out.count("unsupported for mps2_an386:") == 2


def test_build_names_the_same_nodes_before_lowering(tmp_path, capsys):
    model = int32_model(tmp_path / "m.tflite")
    code = main(["build", str(model), "-o", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert code == 2 and "#0 ADD/int32" in err and "#1 MUL/int32" in err
    assert "kernel 1 of" not in err  # refused before any kernel is lowered


def test_inspect_json_lists_them_and_a_good_model_passes(tmp_path, capsys):
    model = int32_model(tmp_path / "m.tflite")
    assert main(["inspect", str(model), "--json"]) == 2
    report = json.loads(capsys.readouterr().out)
    assert len(report["unsupported"]) == 2 and report["target"] == "host"
    assert main(["inspect", str(DIGITS), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["unsupported"] == []
