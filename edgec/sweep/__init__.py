"""``edgec sweep``: compression settings (prune ratio x weight type x optimize mode) built and
measured for a set of boards, with the Pareto fronts of accuracy against flash and latency.

- ``grid``: the settings, the boards, the emulated core of each board class, the cache key;
- ``finetune``: the user's fine-tuning hook (``FinetuneModel`` and the function's contract);
- ``point``: one point measured (prune, fine-tune, quantize, score, build, time under QEMU);
- ``backends``: ``LocalPool`` (process pool) and ``RayBackend``, behind one ``run(tasks)``;
- ``driver``: ``run_sweep``, the points through a back end with the output folder as cache;
- ``report``: rows per board, Pareto fronts, best settings and commands, the files.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from edgec.errors import EdgecError
from edgec.sweep.backends import BACKENDS, LocalPool, RayBackend, default_workers
from edgec.sweep.driver import SweepRun, run_sweep
from edgec.sweep.finetune import FinetuneModel, Layer
from edgec.sweep.grid import (DEFAULT_OPTIMIZE, DEFAULT_PRUNE, DEFAULT_WEIGHTS, Inputs, Point,
                              board_targets, class_machine, expand)

__all__ = ["BACKENDS", "FinetuneModel", "Inputs", "Layer", "LocalPool", "Point", "RayBackend",
           "SweepOutcome", "SweepRun", "check_inputs", "default_workers", "run_sweep", "sweep"]


@dataclass
class SweepOutcome:
    run: SweepRun
    rows: list[dict]
    metric: object
    best: dict = field(default_factory=dict)  # board -> {"row", "commands"}
    files: list[Path] = field(default_factory=list)
    note: str | None = None


def check_inputs(inputs: Inputs) -> None:
    """Refuse, before any task starts, what would make every point fail the same way."""
    from edgec.evaluate import load_data
    from edgec.frontends import load_model
    from edgec.quantize import load_calibration
    from edgec.quantize.calibration import check_calibration

    graph = load_model(inputs.model)
    if not any(t.dtype == "float32" and t.is_const for t in graph.tensors.values()):
        raise EdgecError(f"'{inputs.model}' is already quantized; edgec sweep quantizes a "
                         "float model with each --weights type", "give the float32 model")
    _, target = load_data(inputs.data, graph.inputs, inputs.labels)
    if target is None:
        raise EdgecError("edgec sweep needs labels in --data", "add --labels KEY")
    check_calibration(graph, load_calibration(inputs.calibrate))
    if inputs.train:
        load_calibration(inputs.train)
    if inputs.finetune:
        from edgec.sweep.finetune import load_function

        load_function(inputs.finetune)


def sweep(inputs: Inputs, out_dir: str | Path, *, prune=DEFAULT_PRUNE, weights=DEFAULT_WEIGHTS,
          optimize=DEFAULT_OPTIMIZE, boards: list[str] | None = None, backend=None,
          cache_dir: str | None = None, on_point=None) -> SweepOutcome:
    """Measure every combination for ``boards`` (default: every board) and write the results,
    plots and report into ``out_dir``; ``backend`` defaults to a ``LocalPool``."""
    from edgec.sweep.report import board_rows, metric_of, write_all

    check_inputs(inputs)
    infos = {}
    for board in boards or board_targets():
        info, _ = class_machine(board)
        infos[info["name"]] = info
    machines = list(dict.fromkeys(class_machine(b)[1] for b in infos))
    points = expand(list(prune), list(weights), list(optimize), machines)
    run = run_sweep(inputs, points, out_dir, backend or LocalPool(), cache_dir=cache_dir,
                    on_point=on_point)
    metric = metric_of(run.results)
    rows = board_rows(points, run.results, infos, metric)
    meta = {"model": inputs.model, "data": inputs.data, "calibrate": inputs.calibrate,
            "finetune": inputs.finetune, "points": len(points), "boards": list(infos),
            "summary": f"{len(points)} points ({len(prune)} prune x {len(weights)} weights x "
                       f"{len(optimize)} optimize x {len(machines)} cores) for "
                       f"{len(infos)} boards; {run.failed} failed"}
    written = write_all(Path(out_dir), rows, list(infos), metric, inputs, meta)
    return SweepOutcome(run, rows, metric, written["best"], written["files"], written["note"])
