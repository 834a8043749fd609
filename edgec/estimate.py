"""Instruction and latency ESTIMATES per layer, from a per-op cost model calibrated on
instruction counts measured under QEMU (``edgec verify --per-layer``).

A cost model belongs to a core (``cpu`` of the target file) and a kernel choice (``auto``:
the target's DSP kernels where it has them; ``portable``), and is stored as
``targets/costs/<cpu>.json``, written by ``python -m edgec.tools.costfit`` from measurements
on the emulated core of that class (Cortex-M4 boards from ``mps2_an386``, Cortex-M3 from
``lm3s6965evb``). Per key ``OP/dtype`` (and ``OP/dtype@form`` per kernel form, ``cost_keys``) it holds a line: instructions per MAC (ops that have
MACs) or per output element (the others) plus a fixed cost per call (and, for a MAC key whose layers
differ in reduction length, ``per_output`` instructions per output element), fitted to every
measured layer with that key so that the relative error is smallest
(``edgec.tools.costfit``). A key never measured falls back to the line of all layers of its
kind (``*/mac``, ``*/element``).

Milliseconds are instructions / clock at one instruction per cycle: an estimate (flash wait
states, memory and pipeline stalls make real boards slower), labelled so everywhere.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

from edgec.resources import data_dir

COSTS_FOLDER = "costs"
# The cost files' version: a file of another version is ignored (the estimates are absent).
COSTS_VERSION = 2
ESTIMATE_LABEL = ("estimate: per-op cost model calibrated on QEMU instruction counts, one "
                  "instruction per cycle at the board's clock; not measured on hardware")


# Cores with no emulator here take the cost model of the nearest emulated core, said so in
# the estimate's label (the Cortex-M0+ has no DSP, no long multiply-accumulate and fewer
# addressing modes: it runs more instructions than the M3, so its estimate is optimistic).
BORROWED = {"cortex-m0plus": "cortex-m3"}


def costs_path(cpu: str) -> Path:
    return data_dir("targets") / COSTS_FOLDER / f"{cpu}.json"


@lru_cache(maxsize=None)
def load_costs(cpu: str) -> dict | None:
    """The calibrated cost model of core ``cpu``, or None when there is none."""
    path = costs_path(cpu)
    if not cpu or not path.is_file():
        return None
    data = json.loads(path.read_text())
    return data if data.get("version") == COSTS_VERSION else None


# Convolutions over fewer input channels than this run their inner loop too briefly to reach
# the per-MAC cost of the others (the first layer of KWS: 1 channel, of ResNet-8: 3), so they
# have their own key.
NARROW_CHANNELS = 4


def cost_key(row: dict) -> str:
    """``OP/dtype`` of a report kernel row (the dtype of its first input), ``/narrowC``
    added for a CONV_2D over C < ``NARROW_CHANNELS`` input channels (one, two and three
    channels run differently shaped inner loops: KWS's first layer has 1, IC's 3), and
    ``/1x1`` for a pointwise CONV_2D (the row's ``window``: no window to walk),
    ``/strided`` for a strided CONV_2D or DEPTHWISE_CONV_2D (``_strided``)."""
    first = row["inputs"][0] if row["inputs"] else "none"
    key = f"{row['op']}/{first.split('[')[0]}"
    if row["op"] == "CONV_2D" and "[" in first:
        channels = first[first.index("[") + 1:-1].split(",")[-1]
        if channels.strip().isdigit() and int(channels) < NARROW_CHANNELS:
            key += f"/narrow{int(channels)}"
    if row["op"] == "CONV_2D" and row.get("window") == "1x1":
        key += "/1x1"
    if row["op"] in STRIDED_OPS and _strided(first, row["outputs"][0]):
        key += "/strided"
    return key


# Window ops whose strided layers have their own key: a kernel built for stride 1 may do
# more per output at stride 2 (the depthwise plane kernel), another less.
STRIDED_OPS = ("CONV_2D", "DEPTHWISE_CONV_2D")


def _dims(shape: str) -> list[int]:
    inside = shape[shape.index("[") + 1:-1] if "[" in shape else ""
    return [int(d) for d in inside.split(",") if d.strip().isdigit()]


def _strided(first: str, output: str) -> bool:
    """Whether an NHWC window op's output is at most half its input in height or width (a
    stride of 2 or more: a stride-1 window shrinks a side by its size - 1 only)."""
    x, y = _dims(first), _dims(output)
    return len(x) == len(y) == 4 and any(2 * o <= i and i > 4 for i, o in zip(x[1:3],
                                                                              y[1:3]))


def cost_keys(row: dict) -> list[str]:
    """The keys a row's line is looked up by, most specific first: ``OP/dtype@form`` for a
    kernel with a form (``Kernel.form``: the DSP template, or the variant that made it), then
    ``cost_key``. Every mode's kernels of one op are separate lines: the build compares them
    step by step (``edgec.choice``)."""
    base = cost_key(row)
    return [f"{base}@{row['kernel']}", base] if row.get("kernel") else [base]


def elements(row: dict) -> int:
    """Output elements of a report kernel row."""
    total = 0
    for shape in row["outputs"]:
        dims = shape[shape.index("[") + 1:-1]
        count = 1
        for d in dims.split(","):
            count *= int(d) if d.strip() else 1
        total += count
    return total


def row_features(row: dict) -> tuple[str, int]:
    """What a row's cost scales with: ``("mac", MACs)`` or ``("element", outputs)``."""
    return ("mac", row["macs"]) if row["macs"] > 0 else ("element", elements(row))


def estimate_row(row: dict, costs: dict) -> int:
    """The estimated instructions of one report kernel row under ``costs``; 0 for a step
    whose kernel is not called (an alias)."""
    if row.get("memory", "").startswith("aliased"):
        return 0
    kind, amount = row_features(row)
    per = next((costs["per_unit"][k] for k in cost_keys(row)
                if k in costs["per_unit"] and costs["per_unit"][k]["kind"] == kind),
               costs["per_unit"][f"*/{kind}"])
    per_output = per.get("per_output", 0.0) * elements(row) if kind == "mac" else 0.0
    return int(round(per["instructions"] * amount + per_output + per.get("per_call", 0.0)))


def estimates(report: dict, target: dict) -> dict | None:
    """Per-layer estimated instructions and the totals' milliseconds at ``target``'s clock,
    or None when its core has no cost model for this kernel choice."""
    cpu = target.get("cpu") or ""
    costs = load_costs(BORROWED.get(cpu, cpu))
    choice = report.get("kernel_choice", "auto")
    if costs is None or choice not in costs["kernels"]:
        return None
    model = costs["kernels"][choice]
    per_layer = [estimate_row(row, model) for row in report["kernels"]]
    total = sum(per_layer)
    clock = target.get("clock_hz")
    return {"per_layer": per_layer, "instructions": total,
            "ms": round(total / clock * 1e3, 3) if clock else None,
            "clock_hz": clock, "calibrated_on": costs["calibrated_on"],
            "label": ESTIMATE_LABEL + (f"; {cpu} borrows the {costs['cpu']} model (an "
                                       "optimistic estimate)" if cpu in BORROWED else "")}
