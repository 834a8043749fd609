"""Calibrate the per-op cost model of ``edgec.estimate`` on an emulated core.

    python -m edgec.tools.costfit [--target mps2_an386] [MODEL ...]

Each model (default: the MLPerf Tiny models in ../shared/models and the examples) is built for
the target with each kernel choice (auto, portable; auto also with ``--optimize speed`` and
``size``, ``BUILDS``), run under QEMU with per-layer counting
(``edgec verify --per-layer``'s harness) and its layers' measured instructions are fitted per
``OP/dtype`` key and per ``OP/dtype@form`` key (``edgec.estimate.cost_keys``). Writes ``targets/costs/<cpu>.json`` with the model,
the measurements it came from and its accuracy: per model, the estimated total against the
measured one, in-sample and leave-one-model-out (the model fitted without that model).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path

import numpy as np

from edgec.estimate import (COSTS_VERSION, costs_path, cost_keys, elements, estimate_row,
                            row_features)

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared" / "models"
DEFAULT_MODELS = [ROOT / "examples" / "digits_int8.tflite", ROOT / "examples" / "digits.onnx",
                  SHARED / "kws_dscnn_int8.tflite", SHARED / "ic_resnet8_int8.tflite",
                  SHARED / "ad_fc_autoencoder_int8.tflite",
                  SHARED / "onnx" / "kws_dscnn_float32.onnx",
                  SHARED / "onnx" / "ic_resnet8_float32.onnx",
                  SHARED / "onnx" / "ad_fc_autoencoder_float32.onnx"]
CHOICES = ("auto", "portable")
# The builds measured per kernel choice: with auto, each mode's kernels (DSP: int16 or int8
# weights) and the default build's mix with memory variants, so that every kernel form the
# default build chooses between has its own line (``edgec.choice``).
BUILDS = {"auto": (None, "speed", "size"), "portable": (None,)}


def build_name(model: Path, optimize: str | None) -> str:
    """The measurement's name: the model file, `` --optimize MODE`` when asked for."""
    return model.name + (f" --optimize {optimize}" if optimize else "")


def model_of(name: str) -> str:
    return name.split(" ")[0]
SAMPLES = 3
# A line needs layers of different sizes: the largest at least this many times the smallest.
SPREAD = 4.0


def measure(model: Path, target: str, choice: str, optimize: str | None = None) -> list[dict]:
    """The report's kernel rows of ``model`` built with ``optimize`` (None: the default
    build) with ``instructions``: the median of the timed runs' per-layer counts (the first
    run is a warm-up)."""
    from edgec.build import build
    from edgec.errors import EdgecError
    from edgec.options import BuildOptions
    from edgec.verify import random_inputs
    from edgec.verify.cortexm import run_emulated

    with tempfile.TemporaryDirectory(prefix="edgec-costfit-") as tmp:
        try:
            result = build(model, tmp, BuildOptions(target=target, kernels=choice,
                                                    optimize=optimize))
            _, device = run_emulated(result, random_inputs(result.graph, SAMPLES, 1),
                                     per_layer=True)
        except EdgecError as exc:  # e.g. does not fit the emulated memory
            print(f"  skipped {model.name} ({choice}): {exc.full_message}", file=sys.stderr)
            return []
    runs = device.layer_instructions[1:]
    rows = []
    for step, row in enumerate(result.report["kernels"]):
        rows.append({**{k: row[k] for k in ("op", "inputs", "outputs", "macs", "memory",
                                            "kernel", "window")},
                     "instructions": int(statistics.median(r[step] for r in runs))})
    return rows


def _line(points: list[tuple[int, int]]) -> tuple[float, float]:
    """Instructions per unit and per call fitted to (units, instructions) points, minimizing
    the RELATIVE error (small layers count as much as big ones); the ratio of the sums with
    no per-call term when the points cannot fix a line with both terms non-negative."""
    units = np.array([p[0] for p in points], float)
    counts = np.array([p[1] for p in points], float)
    ratio = float(counts.sum() / max(units.sum(), 1.0))
    if units.max() < SPREAD * max(units.min(), 1.0):
        return ratio, 0.0
    weight = 1.0 / np.maximum(counts, 1.0)
    (per_unit, per_call), *_ = np.linalg.lstsq(
        np.stack([units, np.ones_like(units)], 1) * weight[:, None], counts * weight,
        rcond=None)
    if per_unit < 0 or per_call < 0:
        return ratio, 0.0
    return float(per_unit), float(per_call)


def _plane(points: list[tuple[int, int, int]]) -> tuple[float, float, float] | None:
    """Instructions per MAC, per output element and per call fitted to (MACs, outputs,
    instructions) points (relative error, as ``_line``): layers of one kernel form whose
    reduction lengths (MACs per output) differ pay the per-output work (requantization,
    loop set-up) at different rates per MAC. None when the points cannot fix three
    non-negative terms (fewer than four layers, one reduction length, or a negative one)."""
    if len(points) < 4:
        return None
    macs, outs, counts = (np.array([p[i] for p in points], float) for i in range(3))
    ratios = macs / np.maximum(outs, 1.0)
    if ratios.max() < 2 * ratios.min():
        return None
    weight = 1.0 / np.maximum(counts, 1.0)
    terms, *_ = np.linalg.lstsq(np.stack([macs, outs, np.ones_like(macs)], 1) * weight[:, None],
                                counts * weight, rcond=None)
    return None if (terms < 0).any() else tuple(float(t) for t in terms)


def fit(rows: list[dict]) -> dict:
    """Per key, and per kind for the fallbacks (``*/mac``, ``*/element``): a line through
    the measured layers' (units, instructions)."""
    points: dict[str, tuple[str, list]] = {}
    for row in rows:
        if row["memory"].startswith("aliased"):
            continue
        kind, amount = row_features(row)
        for key in (*cost_keys(row), f"*/{kind}"):
            points.setdefault(key, (kind, []))[1].append((amount, row["instructions"],
                                                          elements(row)))
    per_unit = {}
    for key, (kind, pts) in sorted(points.items()):
        plane = _plane([(a, e, c) for a, c, e in pts]) if kind == "mac" else None
        units = [min(a for a, _, _ in pts), max(a for a, _, _ in pts)]  # the layers it saw
        if plane is not None:
            per_unit[key] = {"kind": kind, "instructions": round(plane[0], 4),
                             "per_output": round(plane[1], 4), "per_call": round(plane[2], 1),
                             "layers": len(pts), "units": units}
            continue
        slope, call = _line([(a, c) for a, c, _ in pts])
        per_unit[key] = {"kind": kind, "instructions": round(slope, 4),
                         "per_call": round(call, 1), "layers": len(pts), "units": units}
    for kind in ("mac", "element"):  # a core measured without one kind still estimates it
        per_unit.setdefault(f"*/{kind}", {"kind": kind, "instructions": 0.0, "per_call": 0.0,
                                          "layers": 0})
    return {"per_unit": per_unit}


def _total(rows: list[dict], model: dict) -> int:
    return sum(estimate_row(r, model) for r in rows)


def main(argv: list[str] | None = None) -> int:
    from edgec.targets import load_target

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", default="mps2_an386")
    parser.add_argument("--refit", action="store_true",
                        help="fit again from the measurements stored in the cost file")
    parser.add_argument("models", nargs="*", type=Path)
    parser.add_argument("--also", nargs="+", type=Path, default=[],
                        help="models measured besides the default ones (e.g. the memory "
                        "benchmark's MobileNetV2, whose raster depthwise kernels no default "
                        "model takes)")
    args = parser.parse_args(argv)
    target = load_target(args.target)
    models = (args.models or [m for m in DEFAULT_MODELS if m.is_file()]) + args.also
    stored = json.loads(costs_path(target["cpu"]).read_text())["measurements"] \
        if args.refit else {}  # measurements do not depend on the cost file's version
    out = {"version": COSTS_VERSION, "cpu": target["cpu"], "calibrated_on": target["name"],
           "kernels": {}, "accuracy": {}, "measurements": {}}
    for choice in CHOICES:
        measured = stored.get(choice) or {
            build_name(m, mode): measure(m, args.target, choice, mode)
            for m in models for mode in BUILDS[choice]}
        measured = {k: v for k, v in measured.items() if v}
        out["measurements"][choice] = measured
        model = fit([r for rows in measured.values() for r in rows])
        out["kernels"][choice] = model
        accuracy = {}
        for name, rows in measured.items():
            others = fit([r for n, rs in measured.items() if model_of(n) != model_of(name)
                          for r in rs])  # leave the model out, in every build of it
            real = sum(r["instructions"] for r in rows)
            accuracy[name] = {"measured": real, "estimated": _total(rows, model),
                              "estimated_leave_one_out": _total(rows, others)}
            a = accuracy[name]
            print(f"{choice:<9} {name:<32} measured {real:>11,}  estimated "
                  f"{a['estimated']:>11,} ({a['estimated'] / real - 1:+.1%})  leave-one-out "
                  f"{a['estimated_leave_one_out']:>11,} "
                  f"({a['estimated_leave_one_out'] / real - 1:+.1%})")
        out["accuracy"][choice] = accuracy
    path = costs_path(target["cpu"])
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(out, indent=None, separators=(",", ":")).replace(
        '},{', '},\n{') + "\n")
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
