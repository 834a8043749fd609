"""report.json follows the published docs/report.schema.json, for host, board and PTQ builds."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from edgec.cli import main

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = json.loads((ROOT / "docs" / "report.schema.json").read_text())


@pytest.mark.parametrize("model, target, report", [
    ("digits_int8.tflite", "host", "report.json"),
    ("digits_int8.tflite", "mps2_an386", "model/report.json"),
    ("digits.onnx", "host", "report.json"),
])
def test_report_matches_the_schema(tmp_path, capsys, model, target, report):
    jsonschema = pytest.importorskip("jsonschema")
    assert main(["-q", "build", str(ROOT / "examples" / model), "--target", target,
                 "-o", str(tmp_path / "o")]) == 0
    data = json.loads((tmp_path / "o" / report).read_text())
    jsonschema.validate(data, SCHEMA)
    # In-place and trailing writes may take the arena below the op-by-op bound.
    assert 0 < data["totals"]["arena_bytes"] <= data["totals"]["no_reuse_bytes"]
    assert data["optimize"]["memory"]["arena_bytes"] == data["totals"]["arena_bytes"]
    assert sum(k["macs"] for k in data["kernels"]) == data["totals"]["macs"]


def test_schema_rejects_a_broken_report(tmp_path):
    jsonschema = pytest.importorskip("jsonschema")
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"model": "m", "totals": {"macs": -1}}, SCHEMA)
