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


def test_report_says_version_hash_options_estimate_and_budget(tmp_path, capsys):
    """A board build's report: edgec version, the model's sha256, the options as given, the
    per-layer estimates summing to the total and its milliseconds at the board's clock, the
    whole application's budget (printed and saved)."""
    import hashlib
    import shutil

    from edgec import __version__
    from edgec.targets import load_target

    if shutil.which("arm-none-eabi-gcc") is None:
        pytest.skip("arm-none-eabi-gcc not installed")
    model = ROOT / "examples" / "digits_int8.tflite"
    assert main(["-q", "build", str(model), "--target", "nrf52840dk", "--optimize", "size",
                 "-o", str(tmp_path / "o")]) == 0
    printed = capsys.readouterr().out
    data = json.loads((tmp_path / "o" / "model" / "report.json").read_text())
    assert data["edgec_version"] == __version__
    assert data["model_sha256"] == hashlib.sha256(model.read_bytes()).hexdigest()
    assert data["options"]["target"] == "nrf52840dk" and data["options"]["optimize"] == "size"
    estimate, clock = data["estimate"], load_target("nrf52840dk")["clock_hz"]
    per_layer = [k["estimated_instructions"] for k in data["kernels"]]
    assert all(v is not None and v >= 0 for v in per_layer)
    assert sum(per_layer) == estimate["instructions"] > 0
    assert estimate["ms"] == round(estimate["instructions"] / clock * 1e3, 3)
    assert estimate["calibrated_on"] == "mps2_an386" and "estimate" in estimate["label"]
    app = data["application"]
    assert f"estimated flash {app['flash_bytes']:,} of {app['flash_limit']:,} B" in printed
    assert app["flash_bytes"] == sum(app["flash"].values())
    assert app["ram"]["arena"] == data["totals"]["arena_bytes"]
    text = (tmp_path / "o" / "model" / "report.txt").read_text()
    assert data["model_sha256"] in text and "ESTIMATE" in text and "app RAM" in text
    html = (tmp_path / "o" / "model" / "report.html").read_text()
    assert "application flash on nrf52840dk (estimate)" in html


def test_host_build_has_no_estimate_or_application(tmp_path):
    assert main(["-q", "build", str(ROOT / "examples" / "digits_int8.tflite"), "-o",
                 str(tmp_path / "o")]) == 0
    data = json.loads((tmp_path / "o" / "report.json").read_text())
    assert data["estimate"] is None and data["application"] is None
    assert all(k["estimated_instructions"] is None for k in data["kernels"])


@pytest.mark.parametrize("cpu", ["cortex-m4", "cortex-m3"])
def test_cost_models_are_fitted_from_their_stored_measurements(cpu):
    """The cost files hold the QEMU measurements they were fitted on; fitting again gives the
    same model, and it reproduces the measured totals of the MLPerf models in-sample."""
    from edgec.estimate import load_costs
    from edgec.tools.costfit import _total, fit

    costs = load_costs(cpu)
    for choice, measured in costs["measurements"].items():
        model = fit([r for rows in measured.values() for r in rows])
        assert model == costs["kernels"][choice]
        for name, rows in measured.items():
            real = sum(r["instructions"] for r in rows)
            limit = 0.08 if name.startswith(("kws", "ic_", "ad_")) else 0.2
            assert abs(_total(rows, model) / real - 1) < limit, (choice, name)
