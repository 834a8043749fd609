"""Instructions per layer on QEMU's Cortex-M4F (mps2-an386, ``-icount shift=0``).

The model is built as ``edgec verify`` builds it for the target and run as ``edgec verify
--per-layer`` runs it: its C compiled with ``<NAME>_OBSERVE`` defined, so ``NAME_run`` calls
the harness after every step (``templates/model.c.j2``, ``templates/cortexm/harness.c.j2``),
which reads SysTick; the hook's own reads are not counted. Two inferences run on the same
input and the second one's counts are kept.

Used by ``benchmarks/run.py`` for the per-layer tables; alone:
``python benchmarks/layers.py kws_dscnn_int8 --optimize size``.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from edgec.analysis import node_macs  # noqa: E402
from edgec.build import build  # noqa: E402
from edgec.options import BuildOptions  # noqa: E402
from edgec.verify import harness_context, pack_samples, packed_layout, random_inputs  # noqa

TARGET = "mps2_an386"
MODELS_DIR = ROOT.parent / "shared" / "models"

def profile(model: Path, work: Path, optimize: str | None = None, seed: int = 7) -> list[dict]:
    """One row per step of ``model`` built for the M4: op, node name, MACs, instructions."""
    return profile_result(build(model, work, BuildOptions(target=TARGET, optimize=optimize)),
                          seed)


def profile_result(result, seed: int = 7) -> list[dict]:
    """``profile`` of a build for the M4 (``edgec.build`` or ``batch.emit_graph``): the
    instructions of each step as ``edgec verify --per-layer`` counts them (the model's
    ``NAME_AFTER_STEP`` hook reads SysTick after every step; the second of two runs)."""
    from edgec.verify.cortexm import run_emulated

    sample = random_inputs(result.graph, 1, seed)[0]
    _, device = run_emulated(result, [sample, sample], per_layer=True)
    counts = device.layer_instructions[-1]
    return [{"step": k, "op": str(node.op), "node": node.name,
             "macs": node_macs(result.graph, k), "instructions": int(counts[k])}
            for k, node in enumerate(result.graph.nodes)]


# W4A8 against int8 weights on the same layers (the same weight values, in [-8, 7]): a
# DS-CNN pointwise conv, a ResNet 3x3 conv, DS-CNN and MobileNet depthwise 3x3 convs and the
# autoencoder's widest fully connected layer. Conv geometry: (H, W, C, O or depth multiplier,
# KH, KW, strides, dilations, pads); fully connected: (input shape, outputs, keep_num_dims).
INT4_LAYERS = {
    "1x1 conv 25x5x64 -> 64": ("conv", (25, 5, 64, 64, 1, 1, (1, 1), (1, 1), (0, 0, 0, 0))),
    "3x3 conv 16x16x32 -> 32": ("conv", (16, 16, 32, 32, 3, 3, (1, 1), (1, 1), (1, 1, 1, 1))),
    "3x3 depthwise 25x5x64": ("depthwise", (25, 5, 64, 1, 3, 3, (1, 1), (1, 1), (1, 1, 1, 1))),
    "3x3 depthwise 16x16x32": ("depthwise",
                               (16, 16, 32, 1, 3, 3, (1, 1), (1, 1), (1, 1, 1, 1))),
    "fully connected 640 -> 128": ("fully_connected", ((1, 640), 128, False)),
}


def _int4_layer(kind: str, geometry, seed: int):
    """The single-node graph of an ``INT4_LAYERS`` row, int4 weights."""
    from tests.lower.test_int4 import conv_graph, fc_graph

    rng = np.random.default_rng(seed)
    if kind == "fully_connected":
        return fc_graph(rng, *geometry, per_channel=True)
    return conv_graph(rng, geometry, kind == "depthwise")


def int4_rows(work: Path, optimize: str = "size") -> list[dict]:
    """Per layer of ``INT4_LAYERS``: instructions and weight bytes with int8 and with int4
    weights (one single-node graph each; their bit-exactness on QEMU is the op grid's job,
    tests/cortexm/op_grid.py)."""
    import dataclasses

    from edgec.verify.cortexm.batch import emit_graph

    rows = []
    for index, (label, (kind, geometry)) in enumerate(INT4_LAYERS.items()):
        row = {"layer": label}
        g4 = _int4_layer(kind, geometry, 1)
        g8 = _int4_layer(kind, geometry, 1)
        w = g8.nodes[0].inputs[1]
        g8.tensors[w] = dataclasses.replace(g8.tensors[w], dtype="int8")
        for dtype, graph in (("int8", g8), ("int4", g4)):
            folder = work / f"{index}-{dtype}"
            folder.mkdir(parents=True)
            result = emit_graph(graph, folder, "layer", TARGET, optimize=optimize)
            (kernel,) = result.kernels
            weights = next(v for k, v in kernel.constants.items() if k.endswith("_w"))
            (step,) = profile_result(result)
            row[dtype], row["macs"] = step["instructions"], step["macs"]
            row[f"{dtype}_bytes"] = int(weights.nbytes)
        rows.append(row)
    return rows


def int4_table(rows: list[dict]) -> str:
    lines = ["| layer | MACs | int8 weights: instructions | bytes | int4 weights: instructions "
             "| bytes | int4 / int8 instructions |", "|---|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['layer']} | {r['macs']:,} | {r['int8']:,} | {r['int8_bytes']:,} | "
                     f"{r['int4']:,} | {r['int4_bytes']:,} | {r['int4'] / r['int8']:.2f} |")
    return "\n".join(lines)


BEFORE = Path(__file__).with_name("layers_before.json")
MODELS = ("kws_dscnn_int8", "ic_resnet8_int8", "ad_fc_autoencoder_int8")
# Issue 15's instruction targets per inference with the weights stored int8 (size mode).
INT8_WEIGHT_TARGETS = {"kws_dscnn_int8": 3_000_000, "ic_resnet8_int8": 11_000_000,
                       "ad_fc_autoencoder_int8": 200_000}


def targets_table(totals: dict[str, dict[str, int]], before: dict) -> str:
    """Per model: the int8-weight target, size mode before and now, speed mode now."""
    lines = ["| model | target, int8 weights | size (int8 weights) before | now | met | "
             "speed (int16 weights) now | speed / size now |", "|---|---:|---:|---:|---|---:|---:|"]
    for name, limit in INT8_WEIGHT_TARGETS.items():
        size, speed = totals[name]["size"], totals[name]["speed"]
        lines.append(f"| {name} | {limit:,} | {sum(before[name]['size']):,} | {size:,} | "
                     f"{'yes' if size <= limit else 'no'} | {speed:,} | {speed / size:.2f} |")
    return "\n".join(lines)


def model_table(name: str, now: dict[str, list[dict]], before: dict[str, list[int]],
                anchor: int) -> str:
    """One model's steps: MACs, then speed and size mode before (``layers_before.json``) and
    now; totals and the TFLM + CMSIS-NN anchor (total only: TFLM is measured per inference)."""
    modes = list(now)
    head = "| step | op | MACs | " + " | ".join(f"{m} before | {m} now" for m in modes) + " |"
    lines = [head, "|---|---|---:|" + "---:|---:|" * len(modes)]
    rows = now[modes[0]]
    for k, row in enumerate(rows):
        cells = " | ".join(f"{before[m][k]:,} | {now[m][k]['instructions']:,}" for m in modes)
        lines.append(f"| {k} | {row['op']} | {row['macs']:,} | {cells} |")
    totals = " | ".join(f"**{sum(before[m]):,}** | **{sum(r['instructions'] for r in now[m]):,}**"
                        for m in modes)
    lines.append(f"| | total | {sum(r['macs'] for r in rows):,} | {totals} |")
    lines.append("| | TFLM + CMSIS-NN (whole inference, benchmarks/run.py) | | "
                 + " | ".join(f"{anchor:,} | {anchor:,}" for _ in modes) + " |")
    return "\n".join(lines)


def section(anchors: dict[str, int], command: str) -> str:
    """The ``layers`` section of docs/BENCHMARKS.md: every model per layer in speed and size
    mode, before and now, and int4 against int8 weights."""
    before = json.loads(BEFORE.read_text())
    parts = ["<!-- layers:begin -->", "## Instructions per layer (issue 15)", "",
             f"Measured by `{command}` (`benchmarks/layers.py`): each model built for "
             f"{TARGET} in `--optimize speed` (int16 weights in flash) and `size` (int8 "
             "weights), its C compiled with `<NAME>_OBSERVE` (as `edgec verify --per-layer`) so the run reads SysTick after "
             "every step (`-icount shift=0`: one tick per instruction; each reading adds a "
             "few dozen instructions to the step after it). \"before\" is main at "
             f"{before['commit']} measured the same way (`benchmarks/layers_before.json`).", ""]
    totals, tables = {}, []
    with tempfile.TemporaryDirectory(prefix="edgec-layers-") as tmp:
        for name in MODELS:
            print(f"layers: {name}", flush=True)
            now = {m: profile(MODELS_DIR / f"{name}.tflite", Path(tmp) / name / m, m)
                   for m in ("speed", "size")}
            totals[name] = {m: sum(r["instructions"] for r in rows) for m, rows in now.items()}
            tables += [f"### {name}", "", model_table(name, now, before["models"][name],
                                                      anchors[name]), ""]
        parts += ["Targets with the weights stored int8 (issue 15), sums of the steps:", "",
                  targets_table(totals, before["models"]), "", *tables]
        print("layers: int4", flush=True)
        parts += ["### int4 (W4A8) against int8 weights, `--optimize size`", "",
                  "The same weight values (in [-8, 7]) stored as int8 and as int4, one "
                  "single-node graph each (int4 / int8 target: at most 1.3):", "", int4_table(int4_rows(Path(tmp) / "int4")), ""]
    parts.append("<!-- layers:end -->")
    return "\n".join(parts)


def table(rows: list[dict], columns: dict[str, list[dict]]) -> str:
    """A markdown table: one row per step, one instructions column per entry of ``columns``
    (same model, same steps), then MACs."""
    names = list(columns)
    lines = ["| step | op | " + " | ".join(names) + " | MACs |",
             "|---|---|" + "---:|" * (len(names) + 1)]
    for k, row in enumerate(rows):
        cells = [f"{columns[n][k]['instructions']:,}" for n in names]
        lines.append(f"| {k} | {row['op']} | " + " | ".join(cells) + f" | {row['macs']:,} |")
    totals = [f"**{sum(r['instructions'] for r in columns[n]):,}**" for n in names]
    lines.append("| | total | " + " | ".join(totals) +
                 f" | {sum(r['macs'] for r in rows):,} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", help="a model in ../shared/models (stem) or a path")
    parser.add_argument("--optimize", nargs="+", default=["speed", "size"])
    parser.add_argument("--json", type=Path,
                        help="also write the rows, by mode, to this JSON file")
    parser.add_argument("--int4", action="store_true",
                        help="compare int8 and int4 weights on two conv layers instead")
    args = parser.parse_args(argv)
    if args.int4:
        with tempfile.TemporaryDirectory(prefix="edgec-layers-") as tmp:
            print(int4_table(int4_rows(Path(tmp))))
        return
    model = Path(args.model)
    if not model.exists():
        model = MODELS_DIR / f"{args.model}.tflite"
    with tempfile.TemporaryDirectory(prefix="edgec-layers-") as tmp:
        columns = {mode: profile(model, Path(tmp) / mode, mode) for mode in args.optimize}
    print(table(next(iter(columns.values())), columns))
    if args.json:
        args.json.write_text(json.dumps(columns, indent=1) + "\n")


if __name__ == "__main__":
    main()
