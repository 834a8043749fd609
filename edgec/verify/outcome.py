"""What ``edgec verify`` prints and saves beyond its one-line verdict: the per-layer
instruction table (``--per-layer``) and the outcome as JSON (``--json``)."""

from __future__ import annotations

import json
import statistics
from pathlib import Path

from edgec.errors import EdgecError, printable


def per_layer_rows(kernels: list[dict], layer_instructions: list[list[int]],
                   estimated: list[int] | None) -> list[dict]:
    """One row per step: the build report's kernel row, the median measured instructions
    over the timed runs (the first, a warm-up, is left out when there are others) and the
    cost model's estimate when there is one."""
    runs = layer_instructions[1:] if len(layer_instructions) > 1 else layer_instructions
    rows = []
    for step, row in enumerate(kernels):
        rows.append({"step": step, "op": row["op"], "node": row["node"], "macs": row["macs"],
                     "instructions": int(statistics.median(r[step] for r in runs)),
                     "estimated_instructions": estimated[step] if estimated else None})
    return rows


def per_layer_table(rows: list[dict] | None) -> str:
    """``rows`` as a text table with each layer's share of the total."""
    if not rows:
        return "per-layer: no counts (an emulated Cortex-M target measures them)"
    total = max(sum(r["instructions"] for r in rows), 1)
    lines = [f"{'#':>3}  {'op':<18} {'MACs':>10} {'instructions':>12} {'share':>6} "
             f"{'estimated':>10}  node"]
    for r in rows:
        est = f"{r['estimated_instructions']:>10,}" if r["estimated_instructions"] is not None \
            else f"{'-':>10}"
        lines.append(f"{r['step']:>3}  {r['op']:<18} {r['macs']:>10,} "
                     f"{r['instructions']:>12,} {100 * r['instructions'] / total:>5.1f}% "
                     f"{est}  {printable(r['node'])}")
    lines.append(f"{'':>3}  {'total':<18} {sum(r['macs'] for r in rows):>10,} "
                 f"{sum(r['instructions'] for r in rows):>12,}")
    return "\n".join(lines)


def outcome_json(result) -> dict:
    """``result`` (a ``VerifyResult``) as plain JSON data."""
    data = {"ok": result.ok, "samples": result.samples, "message": result.message,
            "max_error": result.max_error}
    if result.layers is not None:
        diff = result.layers.difference
        data["layers"] = {"compared": result.layers.layers, "first_difference": None if diff
                          is None else {"step": diff.step, "node": diff.node, "op": diff.op,
                                        "tensor": diff.tensor, "sample": diff.sample,
                                        "index": list(diff.index), "flat": diff.flat,
                                        "reference": diff.expected, "c": diff.actual}}
    device = result.device
    if device is not None:
        data["device"] = {"target": device.target, "instructions": device.instructions,
                          "median_instructions": device.median_instructions,
                          "stack_bytes": device.stack_bytes,
                          "flash_bytes": device.flash_bytes, "ram_bytes": device.ram_bytes,
                          "resolution_instructions": device.resolution}
    if result.per_layer is not None:
        data["per_layer"] = result.per_layer
    return data


def write_json(path: str, data: dict) -> None:
    try:
        Path(path).write_text(json.dumps(data, indent=2) + "\n")
    except OSError as exc:
        raise EdgecError(f"cannot write '{path}': {exc.strerror or exc}",
                         "choose a writable path for --json") from exc
