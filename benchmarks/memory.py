"""The memory benchmark: ``python benchmarks/memory.py`` rewrites the ``memory`` section of
docs/BENCHMARKS.md and the arena-over-time pictures in docs/memory/.

For the three MLPerf Tiny int8 models in ../shared/models and a MobileNetV2 (alpha 0.35,
96x96x3, int8, random seeded weights, made here with the TensorFlow converter), on QEMU
mps2-an386 (``-icount shift=0``, SysTick around the inference call, outputs checked bit-exact
against the reference interpreter on one seeded input):

- *before*: the kernels lowering picks, planned without trailing writes or in-place variants
  (the planner as it was: every window op's output in bytes of its own);
- the default build and each ``--optimize`` mode: arena, MACs, instructions, flash;
- the op-by-op lower bound, and which memory modes each build used;
- the MACs each build adds: patch-based execution (``--optimize ram``: the first layers in
  row bands, ``edgec.passes.patch``) recomputes the halo rows.

Instructions are measured, never timed; the section says which command wrote it.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.sections import write_section  # noqa: E402
from edgec.build import BuildResult, build, load_graph  # noqa: E402
from edgec.emit import EmitOptions, emit_model  # noqa: E402
from edgec.options import OPTIMIZE_MODES, BuildOptions  # noqa: E402
from edgec.plan import plan_memory  # noqa: E402
from edgec.report_view import memory_plan_svg  # noqa: E402
from edgec.verify import harness_context, pack_samples, packed_layout, random_inputs  # noqa
from edgec.verify.cortexm import run_samples  # noqa: E402

MODELS_DIR = ROOT.parent / "shared" / "models"
PICTURES = ROOT / "docs" / "memory"
BEGIN, END = "<!-- memory:begin -->", "<!-- memory:end -->"
TARGET = "mps2_an386"
SEED = 7
MLPERF = ("kws_dscnn_int8", "ic_resnet8_int8", "ad_fc_autoencoder_int8")
MOBILENET = "mobilenet_v2_035_96_int8"
# The arena targets for the default build (bytes).
TARGETS = {"kws_dscnn_int8": 8_500, "ic_resnet8_int8": 37_000, "ad_fc_autoencoder_int8": 768,
           MOBILENET: 46_000}


def make_mobilenet(path: Path) -> Path:
    """MobileNetV2 alpha 0.35 on 96x96x3, 2 classes, no softmax (random weights give logits
    too small for an int8 SOFTMAX), seeded weights, full-integer int8 by the TFLite
    converter with a seeded random representative set."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import numpy as np
    import tensorflow as tf

    tf.keras.utils.set_random_seed(0)
    model = tf.keras.applications.MobileNetV2(input_shape=(96, 96, 3), alpha=0.35,
                                              weights=None, classes=2,
                                              classifier_activation=None)
    rng = np.random.default_rng(0)

    def representative():
        for _ in range(8):
            yield [rng.uniform(-1, 1, (1, 96, 96, 3)).astype(np.float32)]

    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = representative
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = tf.int8
    converter.inference_output_type = tf.int8
    with open(os.devnull, "w") as quiet, contextlib.redirect_stdout(quiet):
        path.write_bytes(converter.convert())  # the converter prints every captured tensor
    return path


def _run(result: BuildResult, sample, reference) -> object:
    """Device measurements of ``result`` on one input run four times; bit-exact with the
    ``reference`` graph (the model before any row bands) or exit."""
    from edgec.ir import interpret

    layout, size = packed_layout(result.graph, result.graph.inputs)
    out_layout, out_size = packed_layout(result.graph, result.graph.outputs)
    outputs, stats = run_samples(result, harness_context(result),
                                 pack_samples([sample] * 4, layout, size), 4)
    expected = interpret(reference, dict(zip(reference.inputs, sample)))
    for entry in out_layout:
        got = outputs[entry["at"]:entry["at"] + entry["nbytes"]]
        if got != expected[entry["name"]].tobytes():
            raise SystemExit(f"{result.name}: output {entry['name']} is not bit-exact")
    return stats


def _before(result: BuildResult, work: Path) -> BuildResult:
    """``result``'s fast kernels planned as before the memory modes, emitted into ``work``."""
    from edgec.lower import lower_graph

    kernels = [dataclasses.replace(k, access="")
               for k in lower_graph(result.graph, result.options)]
    plan = plan_memory(result.graph, kernels)
    work.mkdir(parents=True, exist_ok=True)
    files = emit_model(result.graph, kernels, plan, EmitOptions(result.name, target=TARGET))
    paths = []
    for name, text in files.items():
        if name.endswith((".c", ".h")):
            paths.append(work / name)
            paths[-1].write_bytes(text.encode("ascii"))
    return BuildResult(work, result.name, paths, result.graph, kernels, plan, {},
                       result.target, result.options)


def _modes(result: BuildResult) -> str:
    m = result.report["optimize"]["memory"]
    parts = []
    chosen = (m.get("patch") or {}).get("chosen")
    if chosen:
        parts.append(f"{chosen['bands']} row bands up to node {chosen['cut']} "
                     f"(×{chosen['macs_ratio']:.3f} MACs; "
                     f"{m['patch']['arena_without_bytes']:,} B without)")
    if m["trailing_writes"]:
        parts.append(f"{len(m['trailing_writes'])} trailing writes")
    swapped_in_place = [s for s in m["in_place_variants"] if s in m["in_place"]]
    no_scratch = m.get("no_scratch_variants", [])
    raster = len(m["in_place_variants"]) - len(swapped_in_place) - len(no_scratch)
    plain = len(m["in_place"]) - len(swapped_in_place)
    if plain:
        parts.append(f"{plain} in place")
    if swapped_in_place:
        parts.append(f"{len(swapped_in_place)} in-place depthwise")
    if raster:
        parts.append(f"{raster} raster depthwise")
    if no_scratch:
        parts.append(f"{len(no_scratch)} FULLY_CONNECTED without scratch")
    return ", ".join(parts) or "none"


def _extra_macs(result: BuildResult) -> int:
    return result.report["optimize"]["memory"].get("extra_macs", 0)


def measure(name: str, model: Path, work: Path) -> dict:
    """Arena, MACs, instructions and flash of one model: before, default, every mode."""
    print(f"{name}: default build", flush=True)
    default = build(model, work / "default", BuildOptions(target=TARGET))
    sample = random_inputs(default.graph, 1, SEED)[0]
    reference = load_graph(model)
    row = {"name": name, "bound": default.plan.lower_bound,
           "macs": default.report["totals"]["macs"], "builds": {}}
    before = _before(default, work / "before")
    row["builds"]["before"] = (before.plan.arena_bytes, _run(before, sample, reference), "",
                               0)
    row["builds"]["default"] = (default.plan.arena_bytes, _run(default, sample, reference),
                                f"{default.report['optimize']['mode']}; {_modes(default)}",
                                _extra_macs(default))
    PICTURES.mkdir(parents=True, exist_ok=True)
    (PICTURES / f"{name}.svg").write_text(memory_plan_svg(default.plan,
                                                          len(default.graph.nodes)))
    (PICTURES / f"{name}_before.svg").write_text(memory_plan_svg(before.plan,
                                                                 len(before.graph.nodes)))
    for mode in OPTIMIZE_MODES:
        print(f"{name}: --optimize {mode}", flush=True)
        result = build(model, work / mode, BuildOptions(target=TARGET, optimize=mode))
        row["builds"][mode] = (result.plan.arena_bytes, _run(result, sample, reference),
                               _modes(result), _extra_macs(result))
    return row


def section(rows: list[dict], command: str, minutes: float) -> str:
    lines = [BEGIN, "## Memory below the op-by-op bound", "",
             f"Written by `{command}` ({minutes:.1f} minutes) on QEMU {TARGET} "
             "(`-icount shift=0`, SysTick around the inference call, median of three runs "
             "after a warm-up, one seeded input, outputs bit-exact with the reference "
             "interpreter). *before*: the same kernels planned without trailing writes or "
             "in-place variants (the planner before issue 15). *extra MACs*: the halo rows "
             "that row bands recompute (patch-based execution of the first layers, "
             "`--patch`, tried by `--optimize ram` under `--patch-budget 1.3`); every other "
             "mode computes each output once. The MobileNetV2 is alpha 0.35, 96x96x3, int8, "
             "random seeded weights, converted by the TensorFlow converter inside the "
             "benchmark (`make_mobilenet`). Arena over time: `docs/memory/<model>.svg` "
             "(default build) and `<model>_before.svg`.", "",
             "| model | build | arena | vs bound | instructions | extra MACs | flash | "
             "memory modes |",
             "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        for build_name, (arena, stats, modes, extra) in r["builds"].items():
            lines.append(f"| {r['name']} | {build_name} | {arena:,} B | "
                         f"{arena / r['bound']:.2f} | {stats.median_instructions:,} | "
                         f"{extra:,} ({extra / r['macs']:+.1%}) | "
                         f"{stats.flash_bytes:,} B | {modes} |")
    lines += ["", "| model | MACs | op-by-op bound | default arena | ram arena | target "
              "(met by default / ram) |", "|---|---|---|---|---|---|"]
    for r in rows:
        arena, ram = r["builds"]["default"][0], r["builds"]["ram"][0]
        target = TARGETS[r["name"]]
        lines.append(f"| {r['name']} | {r['macs']:,} | {r['bound']:,} B | {arena:,} B | "
                     f"{ram:,} B | ≤ {target:,} ({'yes' if arena <= target else 'no'} / "
                     f"{'yes' if ram <= target else 'no'}) |")
    return "\n".join(lines + ["", END])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=[*MLPERF, MOBILENET],
                        choices=[*MLPERF, MOBILENET])
    parser.add_argument("--no-write", action="store_true",
                        help="print the section instead of writing docs/BENCHMARKS.md")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    rows = []
    with tempfile.TemporaryDirectory(prefix="edgec-memory-") as tmp:
        for name in args.models:
            model = (make_mobilenet(Path(tmp) / f"{name}.tflite") if name == MOBILENET
                     else MODELS_DIR / f"{name}.tflite")
            rows.append(measure(name, model, Path(tmp) / name))
    command = "python benchmarks/memory.py" + (
        f" --models {' '.join(args.models)}" if args.models != [*MLPERF, MOBILENET] else "")
    text = section(rows, command, (time.perf_counter() - started) / 60)
    if args.no_write:
        print(text)
    else:
        write_section(text, BEGIN, END)
        print("wrote the memory section of docs/BENCHMARKS.md")


if __name__ == "__main__":
    main()
