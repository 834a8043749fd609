"""One sweep point, measured: what a worker (a pool process or a Ray task) runs.

prune (``edgec.passes.prune``) -> fine-tune (the user's hook) -> the pruned float model saved
in the output folder's ``models/`` (what the printed ``edgec build`` command compiles) ->
PTQ (``edgec.quantize``) -> accuracy of the compiled C on the user's data (``edgec.evaluate``)
-> a build for the emulated core of the board class, timed under QEMU (``edgec.verify``).

Everything a task needs travels in its ``Task``; the result is a plain dict (JSON-ready).
Prepared models and accuracies are shared by the points that differ only in the core or the
optimize mode: each is written once to the output folder (atomically) and read after.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from edgec import __version__
from edgec.sweep.grid import Inputs, Point, file_hash


@dataclass(frozen=True)
class Task:
    inputs: Inputs
    point: Point
    out_dir: str  # the sweep's output folder (models/ and scores/ are shared there)
    cache_dir: str | None = None  # lowered kernels


def _atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def _short_hash(*parts) -> str:
    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()[:12]


def prepared_model(task: Task) -> Path:
    """The pruned (and fine-tuned) float model of ``task``: the original file when neither
    applies, else ``models/<stem>-prune<R>[-finetuned]-<hash>.tflite`` in the output folder."""
    inputs, prune = task.inputs, task.point.prune
    if prune == 0 and inputs.finetune is None:
        return Path(inputs.model)
    stem = Path(inputs.model).stem
    tag = f"-prune{prune:g}" + ("-finetuned" if inputs.finetune else "")
    key = _short_hash(file_hash(inputs.model), prune, inputs.finetune and
                      file_hash(inputs.finetune), inputs.finetune and
                      file_hash(inputs.train or inputs.calibrate), __version__)
    path = Path(task.out_dir) / "models" / f"{stem}{tag}-{key}.tflite"
    if path.exists():
        return path
    from edgec.export import to_tflite_bytes
    from edgec.frontends import load_model
    from edgec.passes.prune import prune_structured

    graph = load_model(inputs.model)
    if prune > 0:
        graph = prune_structured(graph, prune)
    if inputs.finetune is not None:
        from edgec.sweep.finetune import finetune
        from edgec.quantize import load_calibration

        graph = finetune(graph, prune, inputs.finetune,
                         load_calibration(inputs.train or inputs.calibrate))
    _atomic_write(path, to_tflite_bytes(graph))
    return path


def _scores(task: Task, model: Path, quantized, samples, target) -> dict:
    """Float and compiled metrics of ``model`` with ``task``'s weights, cached by content."""
    from edgec.build import load_graph
    from edgec.evaluate import float_outputs, score

    inputs = task.inputs
    key = _short_hash(file_hash(model), task.point.weights, file_hash(inputs.data),
                      file_hash(inputs.calibrate), inputs.labels, __version__)
    path = Path(task.out_dir) / "scores" / f"{key}.json"
    if path.exists():
        return json.loads(path.read_text())
    reference = float_outputs(load_graph(model), samples)
    result = {"float": score_float(reference, target),
              "compiled": score(model, quantized, samples, target, reference, task.cache_dir)}
    _atomic_write(path, json.dumps(result).encode())
    return result


def score_float(reference: np.ndarray, target) -> dict:
    from edgec.evaluate import _metrics

    return _metrics(reference, target, None)


def measure(task: Task) -> dict:
    """Build and measure ``task.point``; raises ``EdgecError`` (or anything) on failure."""
    from edgec.build import build, load_graph
    from edgec.evaluate import fit_samples, load_data
    from edgec.options import BuildOptions, Quantization
    from edgec.verify.riscv import is_riscv

    started = time.perf_counter()
    point, inputs = task.point, task.inputs
    model = prepared_model(task)
    quantization = Quantization(inputs.calibrate, weights=point.weights)
    quantized = load_graph(model, quantization)
    samples, target = load_data(inputs.data, quantized.inputs, inputs.labels)
    scores = _scores(task, model, quantized, samples, target)
    options = BuildOptions(target=point.machine, optimize=point.optimize,
                           cache_dir=task.cache_dir, quantization=quantization)
    with tempfile.TemporaryDirectory(prefix="edgec-sweep-") as tmp:
        result = build(model, tmp, options, loaded=quantized)
        if is_riscv(result.target):
            from edgec.verify.riscv import run_emulated
        else:
            from edgec.verify.cortexm import run_emulated
        timed = fit_samples(result.graph, samples[:max(1, inputs.timing_samples)])
        _, device = run_emulated(result, timed)
    totals = result.report["totals"]
    stack = totals.get("stack_bytes")  # the build's own stack figure, when it states one
    stack = device.stack_bytes if stack is None else stack
    return {
        "point": asdict(point), "model": str(model), "scores": scores,
        "macs": totals["macs"], "weight_bytes": totals["weight_bytes"],
        "report_flash_bytes": totals["flash_bytes"], "arena_bytes": totals["arena_bytes"],
        "optimize_mode": result.report["optimize"]["mode"],
        "flash_bytes": device.flash_bytes, "static_ram_bytes": device.footprint.static_ram_bytes,
        "stack_bytes": stack, "measured_stack_bytes": device.stack_bytes,
        "ram_bytes": device.footprint.static_ram_bytes + stack,
        "instructions": device.median_instructions,
        "seconds": round(time.perf_counter() - started, 3),
    }
