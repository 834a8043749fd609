"""``edgec sweep`` on the digits example with a tiny grid: results, failure of one point,
resuming an interrupted sweep from its cache, the Ray back end agreeing with the pool, and
the fine-tuning example recovering what pruning cost."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

from edgec.cli import main
from edgec.sweep import Inputs, LocalPool, RayBackend, sweep

ROOT = Path(__file__).resolve().parents[1]
MODEL = str(ROOT / "examples" / "digits.onnx")
GRID = dict(prune=[0.0, 0.5], weights=["int8"], optimize=["speed"], boards=["nrf52840dk"])
# Fails the prune 0.5 point, leaves the prune 0 one untouched: a point that fails in the
# user's code while the others complete.
FAILING_FINETUNE = """
def finetune(model, data):
    if model.prune == 0.5:
        raise RuntimeError("no training for half a network")
    return {}
"""

pytest.importorskip("sklearn")


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    sys.path.insert(0, str(ROOT / "examples"))
    try:
        from digits_sweep_data import write
    finally:
        sys.path.pop(0)
    folder = tmp_path_factory.mktemp("digits")
    test, cal, train = write(folder)
    script = folder / "failing_finetune.py"
    script.write_text(FAILING_FINETUNE)
    return Inputs(MODEL, str(test), str(cal), finetune=str(script), train=str(train),
                  timing_samples=2)


@pytest.fixture(scope="module")
def pooled(data, tmp_path_factory):
    """The grid swept once on a local pool of two workers."""
    out = tmp_path_factory.mktemp("pool")
    return out, sweep(data, out, backend=LocalPool(2), **GRID)


def _row(outcome, prune):
    return next(r for r in outcome.rows if r["prune"] == prune)


def test_sweep_measures_points_and_reports_the_failing_one(pooled):
    out, outcome = pooled
    assert (outcome.run.computed, outcome.run.cached, outcome.run.failed) == (2, 0, 1)
    ok, failed = _row(outcome, 0.0), _row(outcome, 0.5)
    assert "no training for half a network" in failed["error"]
    # The unpruned int8 build keeps the float model's accuracy within a point (0.9756 float).
    assert ok["metric"] > 0.96 and ok["fits"] and ok["measured_on"] == "mps2_an386"
    assert ok["instructions"] > 10_000 and ok["flash_bytes"] > ok["arena_bytes"] > 0
    assert ok["ms"] == pytest.approx(ok["instructions"] / 64e6 * 1e3, rel=1e-3)
    saved = json.loads((out / "results.json").read_text())
    assert saved["best"]["nrf52840dk"]["commands"][-1].startswith("edgec build ")
    assert "--target nrf52840dk" in saved["best"]["nrf52840dk"]["commands"][-1]
    csv = (out / "results.csv").read_text().splitlines()
    assert csv[0].startswith("board,prune,weights,optimize,accuracy") and len(csv) == 3
    for name in ("results.txt", "pareto_nrf52840dk.svg", "pareto_nrf52840dk.png"):
        assert (out / name).stat().st_size > 0
    page = (out / "report.html").read_text()
    assert "<svg" in page and "src=" not in page and "no training for half" in page


@pytest.mark.slow
def test_interrupted_sweep_resumes_without_recomputing(pooled, data, tmp_path):
    out = tmp_path / "resumed"
    shutil.copytree(pooled[0], out)  # prune 0 int8 is finished there
    grid = {**GRID, "prune": [0.0], "weights": ["int8", "int4", "ternary"]}
    seen = []

    def interrupt(point, result, cached):
        seen.append((point.weights, cached))
        if not cached:
            raise KeyboardInterrupt  # Ctrl-C after the first newly measured point

    with pytest.raises(KeyboardInterrupt):
        sweep(data, out, backend=LocalPool(1), on_point=interrupt, **grid)
    assert seen[0] == ("int8", True) and seen[1][1] is False
    finished = {p: p.stat().st_mtime_ns for p in (out / "points").glob("*.json")}
    assert len(finished) == 2
    resumed = sweep(data, out, backend=LocalPool(1), **grid)
    assert (resumed.run.cached, resumed.run.computed, resumed.run.failed) == (2, 1, 0)
    assert all(p.stat().st_mtime_ns == t for p, t in finished.items())  # not rewritten
    assert len(list((out / "points").glob("*.json"))) == 3


@pytest.mark.slow
def test_ray_backend_gives_the_pool_results(pooled, data, tmp_path):
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        outcome = sweep(data, tmp_path, backend=RayBackend(), **GRID)
    finally:
        ray.shutdown()
    keys = ("metric", "agreement", "flash_bytes", "arena_bytes", "stack_bytes",
            "instructions", "fits")
    ok, ref = _row(outcome, 0.0), _row(pooled[1], 0.0)
    assert {k: ok[k] for k in keys} == {k: ref[k] for k in keys}
    assert "no training for half a network" in _row(outcome, 0.5)["error"]


def test_cli_runs_from_the_cache_and_prints_best_commands(pooled, data, capsys):
    out, _ = pooled
    code = main(["sweep", MODEL, "--data", data.data, "--calibrate", data.calibrate,
                 "--finetune", data.finetune, "--train", data.train, "--prune", "0",
                 "--weights", "int8", "--optimize", "speed", "--targets", "nrf52840",
                 "--timing-samples", "2", "-o", str(out)])
    printed = capsys.readouterr().out
    assert code == 0, printed
    assert "1 points: 0 measured, 1 from the cache, 0 failed" in printed
    assert "best on nrf52840dk: prune 0 int8 speed" in printed
    assert "edgec build " in printed and "--weights int8 --optimize speed" in printed


def test_bad_sweep_arguments_are_one_line_errors(data, capsys):
    base = ["sweep", MODEL, "--data", data.data, "--calibrate", data.calibrate]
    for extra, words in ((["--weights", "int3"], "unknown --weights value 'int3'"),
                         (["--prune", "1.5"], "outside [0, 1)"),
                         (["--targets", "host"], "not a board the sweep can measure"),
                         (["--calibrate", data.train], "calibration data holds 2 arrays")):
        assert main(base + extra) == 2
        assert words in capsys.readouterr().err


def test_digits_finetune_example_recovers_pruned_accuracy(data):
    """The example's numpy SGD on the classifier wins back accuracy lost to pruning."""
    sys.path.insert(0, str(ROOT / "examples"))
    try:
        from digits_finetune import finetune
    finally:
        sys.path.pop(0)
    from edgec.frontends import load_model
    from edgec.passes.prune import prune_structured
    from edgec.sweep import FinetuneModel

    model = FinetuneModel(prune_structured(load_model(MODEL), 0.5), 0.5)
    test, train = np.load(data.data), dict(np.load(data.train))

    def accuracy(weights=None):
        out = model.run({"image": test["image"]}, weights=weights)["probabilities"]
        return float(np.mean(out.reshape(len(out), -1).argmax(1) == test["labels"]))

    before, after = accuracy(), accuracy(finetune(model, train))
    assert after > before + 0.03, (before, after)
