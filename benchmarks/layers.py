"""Instructions per layer on QEMU's Cortex-M4F (mps2-an386, ``-icount shift=0``).

The model is built as ``edgec verify`` builds it for the target, its C compiled with
``<NAME>_PROFILE`` defined: the run then calls ``<name>_profile_step(k)`` before each step
and after the last (``templates/model.c.j2``); the function defined here reads SysTick at
each call and, after the last step, writes the readings to ``layers.bin``. Each reading costs
a call and a SysTick read (a few dozen instructions, counted in the step that follows it).
The verification harness runs two inferences (the second one's readings are kept) and its
outputs are checked bit-exact against the reference interpreter first.

Used by ``benchmarks/run.py`` for the per-layer tables; alone:
``python benchmarks/layers.py kws_dscnn_int8 --optimize size``.
"""

from __future__ import annotations

import argparse
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
from edgec.verify.cortexm import firmware as fw  # noqa: E402
from edgec.verify.cortexm.machines import emulated_machine  # noqa: E402
from edgec.verify.cortexm.qemu import run_elf  # noqa: E402
from edgec.templating import render  # noqa: E402

TARGET = "mps2_an386"
MODELS_DIR = ROOT.parent / "shared" / "models"

PROFILE_SOURCE = """\
#include <stdint.h>

#include "edgec_cortexm.h"

/* SysTick at each step of {name}_run (benchmarks/layers.py); written after the last. */
static uint32_t readings[{count}];

void {name}_profile_step(int step);

void {name}_profile_step(int step)
{{
    readings[step] = (uint32_t)edgec_ticks();
    if (step == {count} - 1) {{
        int handle = edgec_open("layers.bin", 1);
        if (handle < 0 || edgec_write(handle, readings, sizeof readings) != sizeof readings) {{
            edgec_fail("cannot write layers.bin", 2);
        }}
        edgec_close(handle);
    }}
}}
"""


def profile(model: Path, work: Path, optimize: str | None = None, seed: int = 7) -> list[dict]:
    """One row per step of ``model`` built for the M4: op, node name, MACs, instructions."""
    result = build(model, work, BuildOptions(target=TARGET, optimize=optimize))
    target, out_dir, name = result.target, result.out_dir, result.name
    machine = emulated_machine(target)
    steps = len(result.graph.nodes)
    support = fw.write_support(out_dir, target, machine)
    context = {**harness_context(result), "static_arena": result.options.static_arena,
               "version": "profile", "target": target["name"], "machine": machine.qemu_name,
               "fpu": bool(target.get("fpu"))}
    harness = out_dir / f"{name}_harness.c"
    harness.write_text(render("cortexm/harness.c.j2", context))
    prof = out_dir / f"{name}_profile.c"
    prof.write_text(PROFILE_SOURCE.format(name=name, count=steps + 1))
    objects = fw.compile_objects([out_dir / f"{name}.c"], target, out_dir,
                                 (f"-D{name.upper()}_PROFILE",))
    objects += fw.compile_objects([harness, prof, *support], target, out_dir, fw.HARNESS_FLAGS)
    elf, _ = fw.link(objects, target, out_dir, f"{name}_profile")
    sample = random_inputs(result.graph, 1, seed)[0]
    layout, size = packed_layout(result.graph, result.graph.inputs)
    with tempfile.TemporaryDirectory(prefix="edgec-layers-") as tmp:
        run = Path(tmp)
        (run / "inputs.bin").write_bytes(pack_samples([sample] * 2, layout, size))
        run_elf(target["emulator"], elf, run, 120)
        readings = np.frombuffer((run / "layers.bin").read_bytes(), dtype="<u4")
    ticks = np.diff(readings.astype(np.int64)) % (1 << 32)
    factor = machine.instructions_per_tick
    rows = []
    for k, node in enumerate(result.graph.nodes):
        rows.append({"step": k, "op": str(node.op), "node": node.name,
                     "macs": node_macs(result.graph, k), "instructions": int(ticks[k] * factor)})
    return rows


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
    args = parser.parse_args(argv)
    model = Path(args.model)
    if not model.exists():
        model = MODELS_DIR / f"{args.model}.tflite"
    with tempfile.TemporaryDirectory(prefix="edgec-layers-") as tmp:
        columns = {mode: profile(model, Path(tmp) / mode, mode) for mode in args.optimize}
    print(table(next(iter(columns.values())), columns))


if __name__ == "__main__":
    main()
