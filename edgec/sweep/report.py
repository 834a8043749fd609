"""The sweep's results per board: rows, Pareto fronts, the best setting with the commands that
build it, and the files (table, CSV, JSON, SVG/PNG plots, one self-contained HTML page)."""

from __future__ import annotations

import csv
import html
import io
import json
import shlex
from dataclasses import dataclass
from pathlib import Path

from edgec import __version__
from edgec.sweep.grid import Inputs

COLUMNS = ("board", "prune", "weights", "optimize", "metric", "agreement", "flash_bytes",
           "arena_bytes", "stack_bytes", "ram_bytes", "instructions", "ms", "fits",
           "measured_on", "error")


@dataclass(frozen=True)
class Metric:
    """The quality column: accuracy (higher is better) or MSE (lower is better)."""

    name: str
    higher_is_better: bool

    def better(self, a: float, b: float) -> bool:
        return a > b if self.higher_is_better else a < b


def metric_of(results: list[dict]) -> Metric:
    for r in results:
        if "accuracy" in r.get("scores", {}).get("compiled", {}):
            return Metric("accuracy", True)
    return Metric("mse", False)


def board_rows(points, results: list[dict], boards: dict[str, dict], metric: Metric) -> list[dict]:
    """One row per (board, point measured on the board's class machine)."""
    from edgec.sweep.grid import CLASS_MACHINES

    rows = []
    ordered = sorted(zip(points, results), key=lambda pr: (pr[0].prune, pr[0].weights,
                                                           pr[0].optimize))
    for board, info in boards.items():
        machine = CLASS_MACHINES[info["cpu"]]
        for point, r in ordered:
            if point.machine != machine:
                continue
            row = {"board": board, "prune": point.prune, "weights": point.weights,
                   "optimize": point.optimize, "measured_on": machine, "key": r.get("key"),
                   "clock_hz": info["clock_hz"], "board_flash": info["flash_bytes"],
                   "board_ram": info["ram_bytes"]}
            if "error" in r:
                rows.append({**row, "error": r["error"]})
                continue
            compiled = r["scores"]["compiled"]
            row.update(metric=compiled.get(metric.name), agreement=compiled.get("agreement"),
                       float_metric=r["scores"]["float"].get(metric.name),
                       flash_bytes=r["flash_bytes"], arena_bytes=r["arena_bytes"],
                       stack_bytes=r["stack_bytes"], ram_bytes=r["ram_bytes"],
                       instructions=r["instructions"], model=r["model"],
                       ms=round(r["instructions"] / info["clock_hz"] * 1e3, 4))
            over = [f"flash {r['flash_bytes']:,} > {info['flash_bytes']:,} B"] \
                if r["flash_bytes"] > info["flash_bytes"] else []
            if r["ram_bytes"] > info["ram_bytes"]:
                over.append(f"RAM {r['ram_bytes']:,} > {info['ram_bytes']:,} B")
            row.update(fits=not over, why_not="; ".join(over))
            rows.append(row)
    return rows


def pareto(rows: list[dict], cost: str, metric: Metric) -> list[dict]:
    """The rows no other row beats on both the metric and ``cost`` (fitting rows only)."""
    ok = sorted((r for r in rows if r.get("fits")),
                key=lambda r: (r[cost], -r["metric"] if metric.higher_is_better else r["metric"]))
    front = []
    for r in ok:
        if not front or metric.better(r["metric"], front[-1]["metric"]):
            front.append(r)
    return front


def best(rows: list[dict], metric: Metric) -> dict | None:
    """The fitting row with the best metric; ties go to the faster, then the smaller one."""
    ok = [r for r in rows if r.get("fits")]
    if not ok:
        return None
    sign = -1 if metric.higher_is_better else 1
    return min(ok, key=lambda r: (sign * r["metric"], r["ms"], r["flash_bytes"]))


def commands(row: dict, inputs: Inputs, out_dir: Path) -> list[str]:
    """The ``edgec`` command lines that build ``row``'s setting for its board."""
    q = shlex.quote
    model = inputs.model
    lines = []
    if row["prune"] > 0 and inputs.finetune is None:
        pruned = f"{Path(model).stem}_pruned{row['prune']:g}.tflite"
        lines.append(f"edgec prune {q(model)} --structured {row['prune']:g} -o {q(pruned)}")
        model = pruned
    elif inputs.finetune is not None:
        model = str(Path(out_dir) / "models" / Path(row["model"]).name)
    lines.append(f"edgec build {q(model)} --target {row['board']} --calibrate "
                 f"{q(inputs.calibrate)} --weights {row['weights']} --optimize {row['optimize']}"
                 f" -o {q('build_' + row['board'])}")
    return lines


def _cell(row: dict, column: str, metric: Metric) -> str:
    value = row.get(column)
    if column == "error":
        return value or ""
    if value is None:
        return "-"
    if column == "metric":
        return f"{value:.4f}" if metric.higher_is_better else f"{value:.4g}"
    if column == "agreement":
        return f"{value:.4f}"
    if column == "fits":
        return "yes" if value else f"NO ({row['why_not']})"
    if column == "ms":
        return f"{value:.3f}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return f"{value:g}" if isinstance(value, float) else str(value)


def table(rows: list[dict], metric: Metric) -> str:
    """The rows as an aligned text table."""
    heads = [metric.name if c == "metric" else c for c in COLUMNS if c != "error"]
    cells = [[_cell(r, c, metric) for c in COLUMNS if c != "error"] for r in rows]
    widths = [max(len(h), *(len(c[k]) for c in cells)) if cells else len(h)
              for k, h in enumerate(heads)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(heads, widths)).rstrip()]
    for r, c in zip(rows, cells):
        line = "  ".join(v.ljust(w) for v, w in zip(c, widths)).rstrip()
        lines.append(line if not r.get("error") else
                     f"{r['board']}  prune {r['prune']:g} {r['weights']} {r['optimize']}: "
                     f"FAILED: {r['error']}")
    return "\n".join(lines)


def to_csv(rows: list[dict], metric: Metric) -> str:
    columns = [*COLUMNS[:4], metric.name, "float_" + metric.name, *COLUMNS[5:12],
               "clock_hz", "board_flash", "board_ram", "fits", "why_not", "measured_on", "key",
               "model", "error"]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    renamed = {metric.name: "metric", "float_" + metric.name: "float_metric"}
    for r in rows:
        writer.writerow(["" if r.get(renamed.get(c, c)) is None else r.get(renamed.get(c, c))
                         for c in columns])
    return out.getvalue()


def plot(rows: list[dict], board: str, metric: Metric, stem: Path) -> list[Path]:
    """``stem.svg`` and ``stem.png``: the metric against flash and against latency on
    ``board``, every measured point with its Pareto front."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    matplotlib.rcParams["svg.hashsalt"] = "edgec"  # the same SVG for the same results
    figure, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    for ax, cost, label in ((axes[0], "flash_bytes", "flash (bytes, measured model)"),
                            (axes[1], "ms", "latency estimate (ms at the board's clock)")):
        measured = [r for r in rows if r.get("metric") is not None]
        for fits, colour, name in ((True, "tab:blue", "fits"), (False, "0.7", "does not fit")):
            chosen = [r for r in measured if bool(r["fits"]) is fits]
            if chosen:
                ax.scatter([r[cost] for r in chosen], [r["metric"] for r in chosen], c=colour,
                           s=22, label=name, zorder=2)
        front = pareto(rows, cost, metric)
        if front:
            ax.step([r[cost] for r in front], [r["metric"] for r in front], where="post",
                    c="tab:red", lw=1.5, label="Pareto front", zorder=3)
            ax.scatter([r[cost] for r in front], [r["metric"] for r in front], s=70,
                       facecolors="none", edgecolors="tab:red", zorder=4)
            for r in front:
                ax.annotate(f"p{r['prune']:g} {r['weights']} {r['optimize']}",
                            (r[cost], r["metric"]), fontsize=7, xytext=(4, -9),
                            textcoords="offset points")
        ax.set_xlabel(label)
        ax.set_ylabel(metric.name)
        ax.grid(alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=7, loc="best")
    figure.suptitle(f"edgec sweep on {board}")
    figure.tight_layout()
    paths = [stem.with_suffix(".svg"), stem.with_suffix(".png")]
    figure.savefig(paths[0], metadata={"Date": None})
    figure.savefig(paths[1], dpi=110)
    plt.close(figure)
    return paths


def html_report(rows: list[dict], boards: list[str], metric: Metric, bests: dict,
                svgs: dict[str, str], meta: dict) -> str:
    """One page, no external files: the plots inlined as SVG, the table, the best settings."""
    e = html.escape
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>edgec sweep: "
             f"{e(meta['model'])}</title><style>body{{font:14px sans-serif;margin:2em}}"
             "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 6px;"
             "text-align:right}tr.no{color:#999}tr.err{color:#b00}code{background:#f4f4f4}pre{white-space:pre-wrap}"
             "</style></head><body>",
             f"<h1>edgec sweep: {e(meta['model'])}</h1><p>{e(meta['summary'])}</p>"]
    for board in boards:
        parts.append(f"<h2>{e(board)}</h2>")
        b = bests.get(board)
        if b is None:
            parts.append("<p>No setting fits this board.</p>")
        else:
            parts.append(f"<p>Best: prune {b['row']['prune']:g}, {e(b['row']['weights'])}, "
                         f"{e(b['row']['optimize'])}: {metric.name} "
                         f"{_cell(b['row'], 'metric', metric)}, flash "
                         f"{b['row']['flash_bytes']:,} B, {b['row']['ms']:.3f} ms</p><pre><code>"
                         + e("\n".join(b["commands"])) + "</code></pre>")
        if board in svgs:
            parts.append(svgs[board])
        heads = [metric.name if c == "metric" else c for c in COLUMNS if c != "board"]
        parts.append("<table><tr>" + "".join(f"<th>{e(h)}</th>" for h in heads) + "</tr>")
        for r in (r for r in rows if r["board"] == board):
            cls = "err" if r.get("error") else ("" if r.get("fits") else "no")
            parts.append(f"<tr class='{cls}'>" + "".join(
                f"<td>{e(_cell(r, c, metric))}</td>" for c in COLUMNS if c != "board")
                + "</tr>")
        parts.append("</table>")
    parts.append(f"<p><small>edgec {e(__version__)}</small></p></body></html>\n")
    return "\n".join(parts)


def write_all(out_dir: Path, rows: list[dict], boards: list[str], metric: Metric,
              inputs: Inputs, meta: dict) -> dict:
    """Every output file; returns the best row and commands per board and the file paths."""
    bests = {}
    for board in boards:
        row = best([r for r in rows if r["board"] == board], metric)
        if row is not None:
            bests[board] = {"row": row, "commands": commands(row, inputs, out_dir)}
    files = [out_dir / "results.txt", out_dir / "results.csv", out_dir / "results.json"]
    files[0].write_text(table(rows, metric) + "\n")
    files[1].write_text(to_csv(rows, metric))
    fronts = {b: {c: [r["key"] for r in pareto([r for r in rows if r["board"] == b], c, metric)]
                  for c in ("flash_bytes", "ms")} for b in boards}
    files[2].write_text(json.dumps({**meta, "metric": metric.name, "rows": rows,
                                    "pareto": fronts,
                                    "best": {b: {"key": v["row"]["key"], "commands": v["commands"]}
                                             for b, v in bests.items()}}, indent=1) + "\n")
    svgs, note = {}, None
    try:
        for board in boards:
            paths = plot([r for r in rows if r["board"] == board], board, metric,
                         out_dir / f"pareto_{board}")
            files += paths
            text = paths[0].read_text()
            svgs[board] = text[text.index("<svg"):]
    except ImportError:
        note = "plots skipped: matplotlib is missing (pip install 'edgec[sweep]')"
    files.append(out_dir / "report.html")
    files[-1].write_text(html_report(rows, boards, metric, bests, svgs, meta))
    return {"best": bests, "files": files, "note": note}
