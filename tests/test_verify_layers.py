"""`edgec verify --layers`: every intermediate tensor of the generated C against the reference,
naming the first node that differs. A difference is injected by corrupting one weight of one
kernel in the generated C, as a miscompiled or corrupted device image would."""

import re
import shutil
from pathlib import Path

import pytest

from edgec.build import build
from edgec.cli import main
from edgec.options import BuildOptions
from edgec.verify import compile_host, random_inputs, run_harness, verify
from edgec.verify.layers import first_layer_difference, layer_table, unpack_layers
from tests.cortexm.toolchain import needs_qemu

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
pytestmark = pytest.mark.skipif(shutil.which("gcc") is None, reason="gcc not installed")


def corrupt_weight(c_file: Path, symbol: str, delta: int = 60) -> None:
    """Add ``delta`` to the first element of the ``static const`` array ``symbol``."""
    text = c_file.read_text()
    match = re.search(rf"{symbol}\[\d+\][^=]*= \{{\s*(-?[0-9.e+-]+f?)", text)
    value = match.group(1)
    new = str(int(value) + delta) if value.lstrip("-").isdigit() else \
        f"{float(value.rstrip('f')) + delta}f"
    c_file.write_text(text[:match.start(1)] + new + text[match.end(1):])


def _layers_on_host(model: Path, out: Path, symbol: str | None):
    result = build(model, out, BuildOptions())
    if symbol:
        corrupt_weight(out / f"{result.name}.c", symbol)
    table = layer_table(result.graph, result.plan)
    samples = random_inputs(result.graph, 3, seed=2)
    dump: list[bytes] = []
    run_harness(compile_host(result, (), table), result.graph, samples, dump)
    return first_layer_difference(result.graph, table, samples,
                                  unpack_layers(dump[0], table, len(samples)))


@pytest.mark.parametrize("model", ["digits.onnx"])  # digits_int8: the CLI and API tests
def test_clean_model_reports_every_layer_equal(model):
    result = verify(EXAMPLES / model, count=3, layers=True)
    assert result.ok and result.layers.difference is None, result.layers.summary()
    assert result.layers.layers == 7 and "all 7 intermediate tensors equal" in \
        result.layers.summary()


@pytest.mark.parametrize("model, symbol, step, op", [
    ("digits_int8.tflite", "digits_int8_w1", 2, "CONV_2D"),  # node 2's weights
    ("digits.onnx", "digits_w2", 5, "FULLY_CONNECTED"),
])
def test_corrupted_weight_names_its_node(tmp_path, model, symbol, step, op):
    report = _layers_on_host(EXAMPLES / model, tmp_path, symbol)
    diff = report.difference
    assert diff is not None
    assert (diff.step, diff.op) == (step, op), diff.message()
    assert diff.expected != diff.actual
    assert f"node {step} '" in diff.message() and op in diff.message()


def test_cli_layers_prints_the_verdict_and_saves_json(tmp_path, capsys):
    out = tmp_path / "v.json"
    assert main(["verify", str(EXAMPLES / "digits_int8.tflite"), "-n", "2", "--layers",
                 "--json", str(out), "-q"]) == 0
    assert "all 7 intermediate tensors equal" in capsys.readouterr().out
    assert '"first_difference": null' in out.read_text()


def test_per_layer_needs_an_emulated_target(capsys):
    assert main(["verify", str(EXAMPLES / "digits_int8.tflite"), "--per-layer"]) == 2
    assert "--per-layer counts instructions on an emulated Cortex-M" in capsys.readouterr().err


@needs_qemu
def test_layers_and_per_layer_on_mps2_an386(tmp_path):
    from edgec.verify.cortexm import run_emulated

    result = build(EXAMPLES / "digits_int8.tflite", tmp_path,
                   BuildOptions(target="mps2_an386"))
    corrupt_weight(tmp_path / f"{result.name}.c",  # node 5: FULLY_CONNECTED (DSP layout)
                   "digits_int8_k5_fully_connected_w")
    table = layer_table(result.graph, result.plan)
    samples = random_inputs(result.graph, 3, seed=2)
    dump: list[bytes] = []
    _, device = run_emulated(result, samples, layers=table, per_layer=True, layer_dump=dump)
    report = first_layer_difference(result.graph, table, samples,
                                    unpack_layers(dump[0], table, len(samples)))
    assert (report.difference.step, report.difference.op) == (5, "FULLY_CONNECTED")
    counts = device.layer_instructions
    assert len(counts) == 3 and all(len(c) == len(result.graph.nodes) for c in counts)
    # the steps account for the whole call but the output copy and the hook's own reads
    for per_step, total in zip(counts, device.instructions):
        assert 0 < total - sum(per_step) < 40 * len(per_step) + 400
    conv = [s for s, n in enumerate(result.graph.nodes) if n.op == "CONV_2D"]
    assert all(counts[-1][s] > 1000 for s in conv)


@needs_qemu
def test_cli_per_layer_table_and_json_on_mps2_an386(tmp_path, capsys):
    import json

    out = tmp_path / "v.json"
    assert main(["-q", "verify", str(EXAMPLES / "digits_int8.tflite"), "--target",
                 "mps2_an386", "-n", "3", "--per-layer", "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "instructions  share  estimated  node" in printed
    data = json.loads(out.read_text())
    rows = data["per_layer"]
    assert [r["op"] for r in rows][:2] == ["CONV_2D", "MAX_POOL_2D"] and len(rows) == 7
    assert all(r["estimated_instructions"] is not None for r in rows)
    assert sum(r["instructions"] for r in rows) <= data["device"]["median_instructions"]
    assert data["device"]["resolution_instructions"] == 40


def test_python_api_takes_layers():
    import edgec

    result = edgec.verify(EXAMPLES / "digits_int8.tflite", count=1, layers=True)
    assert result.ok and result.layers.difference is None


def test_layers_refused_on_riscv_before_building(capsys):
    assert main(["verify", str(EXAMPLES / "digits_int8.tflite"), "--target", "qemu_riscv32",
                 "--layers"]) == 2
    err = capsys.readouterr().err
    assert "--layers and --per-layer run on the host and on the Cortex-M" in err
    assert "kernel 1 of" not in err  # refused before the build
