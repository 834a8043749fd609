"""The benchmark command: ``python benchmarks/run.py`` writes docs/BENCHMARKS.md.

For the three MLPerf Tiny int8 models in ../shared/models, measured in one run:

- host: the generated C (a timing loop in a small C driver, many calls) against the TFLite
  Micro Python interpreter and LiteRT (default resolver and BUILTIN_REF), time per inference;
- edgec build time, cold (empty kernel cache) and warm, as the ``edgec build`` command;
- memory: edgec's arena against TFLM's (its recording allocator's report) and the op-by-op
  lower bound;
- emulated Cortex-M4F (QEMU mps2-an386, ``-icount shift=0``): instructions per inference
  (SysTick around the inference call only, median of three runs after a warm-up, on one
  seeded input, outputs checked bit-exact against the reference interpreter), per MAC, flash
  and RAM, against TFLM + CMSIS-NN measured the same way and the project's targets;
- the same with portable C kernels (``--kernels portable``) against the DSP kernels
  (``--optimize speed`` and ``size``) on mps2-an386, and the portable C on QEMU's Cortex-M3
  (lm3s6965evb) for the models that fit its flash and RAM;
- the same on QEMU for each compiler optimization level, which is how the target file's
  choice was made.

Everything outside the ``accuracy``, ``ops``, ``fuzz`` and ``robustness`` markers of
docs/BENCHMARKS.md is rewritten;
the sections between them (benchmarks/accuracy.py, ``--ops``) are kept as they are.

``--ops`` runs only the op grid instead (tests/cortexm/op_grid.py: every lowering rule as
single-op graphs on QEMU's Cortex-M4F, speed and size, and Cortex-M3, compared with the
reference interpreter; ``--full`` for every geometry, corner and seed) and rewrites only the
section between the ``ops`` markers.
"""

from __future__ import annotations

import argparse
import re
import datetime
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.sections import write_section  # noqa: E402
from edgec import __version__  # noqa: E402
from edgec.build import build  # noqa: E402
from edgec.verify.cortexm import run_samples  # noqa: E402
from edgec.templating import render  # noqa: E402
from edgec.options import OPTIMIZE_MODES, BuildOptions  # noqa: E402
from edgec.verify import harness_context, pack_samples, packed_layout, random_inputs, verify  # noqa

MODELS_DIR = ROOT.parent / "shared" / "models"
REPORT = ROOT / "docs" / "BENCHMARKS.md"
BEGIN, END = "<!-- accuracy:begin -->", "<!-- accuracy:end -->"
OPS_BEGIN, OPS_END = "<!-- ops:begin -->", "<!-- ops:end -->"
QEMU_TARGET = "mps2_an386"
M3_TARGET = "qemu_cortex_m3"  # no DSP extension: portable kernels whatever --kernels says
RISCV_TARGET = "qemu_riscv32"  # rv32imc bare metal, minstret counts
OPT_LEVELS = ["-Os", "-O2", "-O3"]
SECONDS_PER_REPEAT = 0.4  # each timing repeat runs about this long
REPEATS = 5  # timing repeats; the median is reported
SEED = 7


@dataclass(frozen=True)
class Reference:
    """Published facts for one model: MACs, TFLM + CMSIS-NN instructions on the same
    emulated core (SysTick around the inference call, median of three after a warm-up), the
    instruction targets and the stretch targets."""

    macs: int
    tflm_cmsis: int
    target: int
    stretch: int


REFERENCES = {
    "kws_dscnn_int8": Reference(2_656_768, 7_697_400, 7_500_000, 5_000_000),
    "ic_resnet8_int8": Reference(12_501_632, 29_864_680, 29_000_000, 19_000_000),
    "ad_fc_autoencoder_int8": Reference(264_192, 582_960, 560_000, 400_000),
}


def median_seconds_per_call(call, once: float | None = None) -> float:
    """Median over ``REPEATS`` of the time per call of ``call`` in a loop of enough calls to
    last about ``SECONDS_PER_REPEAT``."""
    if once is None:
        start = time.perf_counter()
        call()
        once = time.perf_counter() - start
    iterations = max(10, int(SECONDS_PER_REPEAT / max(once, 1e-7)))
    times = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        for _ in range(iterations):
            call()
        times.append((time.perf_counter() - start) / iterations)
    return statistics.median(times)


# ---- host -------------------------------------------------------------------------------

def host_c_seconds(model: Path, sample: list[np.ndarray], work: Path) -> float:
    """Seconds per inference of the generated C on this machine (host target flags)."""
    result = build(model, work, BuildOptions(target="host"))
    context = harness_context(result)
    driver = work / f"{result.name}_timing.c"
    driver.write_text(render("benchmark/host_timing.c.j2", {**context, "version": __version__}))
    exe = work / f"{result.name}_timing"
    subprocess.run([result.target["compiler"], *result.target["cflags"], "-I", str(work),
                    str(work / f"{result.name}.c"), str(driver), "-o", str(exe),
                    *result.target.get("libs", [])], check=True)
    layout, size = packed_layout(result.graph, result.graph.inputs)
    (work / "input.bin").write_bytes(pack_samples([sample], layout, size))

    def run(iterations: int) -> list[float]:
        out = subprocess.run([str(exe), str(work / "input.bin"), str(iterations),
                              str(REPEATS)], check=True, capture_output=True, text=True).stdout
        return [int(line) * 1e-9 / iterations for line in out.split()]

    once = statistics.median(run(10))
    return statistics.median(run(max(10, int(SECONDS_PER_REPEAT / once))))


def tflm_seconds(model_bytes: bytes, x: np.ndarray) -> float:
    """Seconds per ``invoke`` of the TFLite Micro Python interpreter (reference kernels)."""
    from tflite_micro.python.tflite_micro import runtime

    interpreter = runtime.Interpreter.from_bytes(model_bytes)
    interpreter.set_input(x, 0)
    return median_seconds_per_call(interpreter.invoke)


def litert_seconds(model_bytes: bytes, x: np.ndarray, resolver: str) -> float:
    """Seconds per ``invoke`` of LiteRT with ``resolver`` (AUTO: XNNPACK; BUILTIN_REF)."""
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    interpreter = Interpreter(model_content=model_bytes, num_threads=1,
                              experimental_op_resolver_type=getattr(OpResolverType, resolver))
    interpreter.allocate_tensors()
    interpreter.set_tensor(interpreter.get_input_details()[0]["index"], x)
    return median_seconds_per_call(interpreter.invoke)


TFLM_ARENA_SCRIPT = """
import sys
from tflite_micro.python.tflite_micro import runtime
runtime.Interpreter.from_bytes(open(sys.argv[1], "rb").read()).print_allocations()
"""


def tflm_arena(model: Path) -> tuple[int, int]:
    """TFLM's arena (total, and its head: the planned activation buffers), from the recording
    allocator's ``print_allocations``. It logs from C (to stderr), so a child process runs it
    and its output is parsed."""
    done = subprocess.run([sys.executable, "-c", TFLM_ARENA_SCRIPT, str(model)], check=True,
                          capture_output=True, text=True)
    text = done.stderr + done.stdout
    numbers = {}
    for line in text.splitlines():
        if "Arena allocation" in line:
            words = line.split()
            numbers[words[-3]] = int(words[-2])
    return numbers["total"], numbers["head"]


def build_seconds(model: Path, work: Path) -> tuple[float, float]:
    """Wall time of ``edgec build --target mps2_an386`` with an empty kernel cache, then again
    with the cache that run filled."""
    cache, times = work / "cache", []
    for run in ("cold", "warm"):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "edgec", "build", str(model), "-o",
                        str(work / run), "--target", QEMU_TARGET, "--cache-dir", str(cache)],
                       check=True, capture_output=True, cwd=ROOT)
        times.append(time.perf_counter() - start)
    return times[0], times[1]


# ---- emulated Cortex-M4F ----------------------------------------------------------------

def qemu_verified(model: Path, sample: list[np.ndarray], graph_inputs: list[str],
                  optimize: str | None = None, kernels: str = "auto",
                  target: str = QEMU_TARGET):
    """``edgec verify --target TARGET [--optimize MODE] [--kernels CHOICE]`` on one input run
    four times (a warm-up and three timed runs); returns the verification result with its
    device measurements."""
    inputs = dict(zip(graph_inputs, sample))
    result = verify(model, BuildOptions(target=target, optimize=optimize, kernels=kernels),
                    count=0, extra_inputs=[inputs] * 4)
    if not result.ok:
        raise SystemExit(f"{model.name} is not bit-exact on {target}: {result.message}")
    return result


def m3_measured(model: Path, sample: list[np.ndarray], graph_inputs: list[str],
                work: Path) -> tuple[object | None, str]:
    """Device measurements on the Cortex-M3, or None and why the model does not fit the
    board: the build's flash estimate (constants + code) and arena against the target's."""
    target = build(model, work, BuildOptions(target=M3_TARGET))
    totals, board = target.report["totals"], target.target
    if totals["flash_bytes"] > board["flash_bytes"]:
        return None, (f"does not fit: {totals['flash_bytes']:,} B flash, the board has "
                      f"{board['flash_bytes']:,} B")
    if totals["arena_bytes"] > board["ram_bytes"]:
        return None, (f"does not fit: {totals['arena_bytes']:,} B arena, the board has "
                      f"{board['ram_bytes']:,} B RAM")
    return qemu_verified(model, sample, graph_inputs, target=M3_TARGET).device, ""


def qemu_by_opt_level(model: Path, sample: list[np.ndarray], work: Path) -> dict[str, object]:
    """Device measurements with the target's flags, each optimization level in turn."""
    stats = {}
    for level in OPT_LEVELS:
        result = build(model, work / level, BuildOptions(target=QEMU_TARGET))
        result.target["cflags"] = [level if f.startswith("-O") else f
                                   for f in result.target["cflags"]]
        layout, size = packed_layout(result.graph, result.graph.inputs)
        _, stats[level] = run_samples(result, harness_context(result),
                                      pack_samples([sample] * 4, layout, size), 4)
    return stats


# ---- one model --------------------------------------------------------------------------

def measure(name: str, work: Path) -> dict:
    """Every number of one model's rows."""
    from edgec.frontends import load_model

    model = MODELS_DIR / f"{name}.tflite"
    model_bytes = model.read_bytes()
    graph = load_model(model)
    sample = random_inputs(graph, 1, SEED)[0]
    x = sample[0]
    print(f"{name}: host timing", flush=True)
    row = {"name": name, "c": host_c_seconds(model, sample, work / "host"),
           "tflm": tflm_seconds(model_bytes, x), "litert": litert_seconds(model_bytes, x, "AUTO"),
           "litert_ref": litert_seconds(model_bytes, x, "BUILTIN_REF")}
    print(f"{name}: build times, arenas", flush=True)
    row["cold"], row["warm"] = build_seconds(model, work / "builds")
    row["tflm_arena"], row["tflm_head"] = tflm_arena(model)
    target_build = build(model, work / "report", BuildOptions(target=QEMU_TARGET))
    row["arena"] = target_build.plan.arena_bytes
    row["lower_bound"] = target_build.plan.lower_bound
    print(f"{name}: QEMU {QEMU_TARGET}", flush=True)
    row["device"] = qemu_verified(model, sample, graph.inputs).device
    row["optimize"] = {mode: qemu_verified(model, sample, graph.inputs, mode).device
                       for mode in OPTIMIZE_MODES}
    row["portable"] = qemu_verified(model, sample, graph.inputs, kernels="portable").device
    print(f"{name}: QEMU {M3_TARGET}", flush=True)
    row["m3"], row["m3_note"] = m3_measured(model, sample, graph.inputs, work / "m3")
    print(f"{name}: QEMU {RISCV_TARGET}", flush=True)
    row["riscv"] = qemu_verified(model, sample, graph.inputs, target=RISCV_TARGET).device
    row["levels"] = qemu_by_opt_level(model, sample, work / "levels")
    return row


# ---- the report -------------------------------------------------------------------------

def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:.3f} ms"


def host_table(rows: list[dict]) -> str:
    lines = ["| model | edgec C | TFLM Python | LiteRT default | LiteRT BUILTIN_REF | "
             "TFLM / edgec | LiteRT / edgec | BUILTIN_REF / edgec |",
             "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['name']} | {_ms(r['c'])} | {_ms(r['tflm'])} | {_ms(r['litert'])} | "
                     f"{_ms(r['litert_ref'])} | {r['tflm'] / r['c']:.1f}x | "
                     f"{r['litert'] / r['c']:.2f}x | {r['litert_ref'] / r['c']:.1f}x |")
    return "\n".join(lines)


def build_table(rows: list[dict]) -> str:
    lines = ["| model | cold (empty kernel cache) | warm |", "|---|---|---|"]
    lines += [f"| {r['name']} | {r['cold']:.1f} s | {r['warm']:.1f} s |" for r in rows]
    return "\n".join(lines)


def memory_table(rows: list[dict]) -> str:
    lines = ["| model | edgec arena | lower bound | TFLM arena (total) | TFLM activations "
             "(head) | edgec / TFLM total | flash (linked, mps2_an386) |",
             "|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['name']} | {r['arena']:,} B | {r['lower_bound']:,} B | "
                     f"{r['tflm_arena']:,} B | {r['tflm_head']:,} B | "
                     f"{r['arena'] / r['tflm_arena']:.2f} | {r['device'].flash_bytes:,} B |")
    return "\n".join(lines)


def _met(value: int, limit: int) -> str:
    return "yes" if value <= limit else "no"


def device_table(rows: list[dict]) -> str:
    lines = ["| model | instructions / inference | per MAC | TFLM + CMSIS-NN | edgec / TFLM "
             "| target (met) | stretch (met) | flash | RAM (data + bss + stack) |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        d, ref = r["device"], REFERENCES[r["name"]]
        n = d.median_instructions
        lines.append(
            f"| {r['name']} | {n:,} | {n / ref.macs:.2f} | {ref.tflm_cmsis:,} | "
            f"{n / ref.tflm_cmsis:.2f} | ≤ {ref.target:,} ({_met(n, ref.target)}) | "
            f"≤ {ref.stretch:,} ({_met(n, ref.stretch)}) | {d.flash_bytes:,} B | "
            f"{d.ram_bytes:,} B ({d.footprint.data:,} + {d.footprint.bss:,} + "
            f"{d.stack_bytes:,}) |")
    return "\n".join(lines)


def optimize_table(rows: list[dict]) -> str:
    head = " | ".join(f"{mode} instructions | {mode} flash | {mode} arena"
                      for mode in OPTIMIZE_MODES)
    lines = [f"| model | {head} |", "|---|" + "---|" * (3 * len(OPTIMIZE_MODES))]
    for r in rows:
        cells = " | ".join(f"{d.median_instructions:,} | {d.flash_bytes:,} B | "
                           f"{d.footprint.bss:,} B"
                           for d in (r["optimize"][mode] for mode in OPTIMIZE_MODES))
        lines.append(f"| {r['name']} | {cells} |")
    return "\n".join(lines)


def kernels_table(rows: list[dict]) -> str:
    """Portable C against the DSP kernels (speed and size) on mps2-an386."""
    columns = ("portable", "DSP speed", "DSP size")
    lines = ["| model | " + " | ".join(f"instructions ({c})" for c in columns) + " | "
             + " | ".join(f"per MAC ({c})" for c in columns) + " | "
             + " | ".join(f"flash ({c})" for c in columns) + " | portable / DSP speed |",
             "|---|" + "---|" * (3 * len(columns) + 1)]
    for r in rows:
        devices = (r["portable"], r["optimize"]["speed"], r["optimize"]["size"])
        counts = [d.median_instructions for d in devices]
        macs = REFERENCES[r["name"]].macs
        lines.append(f"| {r['name']} | " + " | ".join(f"{n:,}" for n in counts) + " | "
                     + " | ".join(f"{n / macs:.2f}" for n in counts) + " | "
                     + " | ".join(f"{d.flash_bytes:,} B" for d in devices)
                     + f" | {counts[0] / counts[1]:.2f}x |")
    return "\n".join(lines)


def m3_table(rows: list[dict]) -> str:
    """Portable C on the Cortex-M3, or why a model does not fit the board."""
    lines = ["| model | instructions / inference | per MAC | flash | RAM (data + bss + stack) |",
             "|---|---|---|---|---|"]
    for r in rows:
        d = r["m3"]
        if d is None:
            lines.append(f"| {r['name']} | {r['m3_note']} | | | |")
            continue
        n = d.median_instructions
        lines.append(f"| {r['name']} | {n:,} | {n / REFERENCES[r['name']].macs:.2f} | "
                     f"{d.flash_bytes:,} B | {d.ram_bytes:,} B ({d.footprint.data:,} + "
                     f"{d.footprint.bss:,} + {d.stack_bytes:,}) |")
    return "\n".join(lines)


def riscv_table(rows: list[dict]) -> str:
    """Portable C on rv32imc beside the same C on the Cortex-M3 and the M4F's DSP kernels."""
    lines = ["| model | rv32imc instructions / inference | per MAC | Cortex-M3 (portable) | "
             "Cortex-M4F (DSP) | flash | RAM (data + bss + stack) |",
             "|---|---|---|---|---|---|---|"]
    for r in rows:
        d, m3 = r["riscv"], r["m3"]
        n = d.median_instructions
        m3_text = "-" if m3 is None else f"{m3.median_instructions:,}"
        lines.append(f"| {r['name']} | {n:,} | {n / REFERENCES[r['name']].macs:.2f} | "
                     f"{m3_text} | {r['device'].median_instructions:,} | "
                     f"{d.flash_bytes:,} B | {d.ram_bytes:,} B ({d.footprint.data:,} + "
                     f"{d.footprint.bss:,} + {d.stack_bytes:,}) |")
    return "\n".join(lines)


def levels_table(rows: list[dict]) -> str:
    head = " | ".join(f"{level} instructions | {level} code" for level in OPT_LEVELS)
    lines = [f"| model | {head} |", "|---|" + "---|" * (2 * len(OPT_LEVELS))]
    for r in rows:
        cells = " | ".join(f"{r['levels'][lv].median_instructions:,} | "
                           f"{r['levels'][lv].footprint.text:,} B" for lv in OPT_LEVELS)
        lines.append(f"| {r['name']} | {cells} |")
    return "\n".join(lines)


def _first_line(cmd: list[str]) -> str:
    try:
        return subprocess.run(cmd, capture_output=True, text=True).stdout.splitlines()[0]
    except (OSError, IndexError):
        return "not available"


def machine_facts() -> str:
    from importlib import metadata

    cpu = next((line.split(":", 1)[1].strip() for line in
                Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name")),
               platform.processor()) if Path("/proc/cpuinfo").exists() else platform.processor()
    packages = ", ".join(f"{p} {metadata.version(p)}" for p in
                         ("apache-tvm", "tflite-micro", "ai-edge-litert", "numpy"))
    return "\n".join([
        f"- Date: {datetime.date.today().isoformat()}; edgec {__version__}",
        f"- Machine: {cpu}, {os.cpu_count()} logical CPUs, {platform.platform()}",
        f"- Python {platform.python_version()}; {packages}",
        f"- Host compiler: {_first_line(['gcc', '--version'])}",
        f"- Arm compiler: {_first_line(['arm-none-eabi-gcc', '--version'])}",
        f"- Emulator: {_first_line(['qemu-system-arm', '--version'])}",
    ])


def report(rows: list[dict], command: str, seconds: float) -> str:
    from edgec.build import load_target

    flags = " ".join(load_target(QEMU_TARGET)["cflags"])
    m3 = load_target(M3_TARGET)
    m3_flags = " ".join(m3["cflags"])
    riscv_flags = " ".join(load_target(RISCV_TARGET)["cflags"])
    return f"""# Benchmarks

Written by `{command}`, which took {seconds / 60:.1f} minutes; every number below comes from
that one run.

{machine_facts()}

Models: the MLPerf Tiny int8 reference models in `../shared/models`, one seeded random input
each (seed {SEED}).

## Host: generated C against the interpreters

Time per inference on this machine. edgec: the generated C (`edgec build --target host`,
`gcc -O2`) called in a loop by a small C driver (`templates/benchmark/host_timing.c.j2`).
TFLM: the TFLite Micro Python interpreter (reference kernels), time per `invoke()`. LiteRT:
`ai_edge_litert` with the default resolver (XNNPACK) and with `BUILTIN_REF`, one thread, time
per `invoke()`. Each figure is the median of {REPEATS} repeats of a loop lasting about
{SECONDS_PER_REPEAT} s. The ratios are the interpreter's time over edgec's (above 1: edgec is
faster); measured back to back, they are steadier than the absolute times when the machine is
shared with other work.

{host_table(rows)}

## Build time

Wall time of the `edgec build MODEL --target {QEMU_TARGET}` command (Python start-up, the
TVM import and, for this board, writing the Zephyr application included), first with an empty kernel cache (`--cache-dir` a new folder), then
again with the cache that run filled.

{build_table(rows)}

## Memory

edgec's arena is the memory plan of `edgec build`; the lower bound is the peak of live
activations when ops run one after another (`edgec inspect`). TFLM's arena is what its
recording allocator reports after allocation (`Interpreter.print_allocations()`): the total,
and the head, which holds the planned activation buffers (the tail holds TFLM's own
per-tensor and per-node structures, which edgec resolves at compile time). Flash is the
linked model for {QEMU_TARGET}: code, constants and initialised data from the linker map,
including the C library routines it calls and excluding the verification harness.

{memory_table(rows)}

## Emulated Cortex-M4F: QEMU mps2-an386

`edgec verify MODEL --target {QEMU_TARGET}` runs the model in a bare-metal harness under
`qemu-system-arm -machine mps2-an386 -cpu cortex-m4 -semihosting -icount shift=0`: one guest
instruction advances the clock 1 ns and SysTick (25 MHz, processor clock) ticks every 40
instructions (checked by `tests/cortexm/test_calibration.py`). Instructions per inference:
SysTick around the inference call only, median of three runs after a warm-up, the same way
the TFLM + CMSIS-NN reference numbers were measured on this emulated core; the outputs of
every run are checked bit-exact against `edgec.ir.interpret`. Flags: `{flags}` (from
`targets/{QEMU_TARGET}.yaml`) plus `-ffunction-sections -fdata-sections`, linked with
newlib-nano and `--gc-sections`. RAM: .data + .bss of the model (its arena included) + the
stack the inference call used (the stack is painted at reset and scanned afterwards).

{device_table(rows)}

## `--optimize speed` and `--optimize size` on {QEMU_TARGET}

`edgec verify MODEL --target {QEMU_TARGET} --optimize speed|size`, measured as above. `speed`
(the default while the speed build's constants take at most half the target's flash) stores
the DSP kernels' weights as int16 pairs and widens inputs into arena scratch; `size` keeps
int8 weights, widened with SXTB16 in the loop, and reads inputs in place. Arena: the model's
.bss.

{optimize_table(rows)}

## Portable C against the DSP kernels on {QEMU_TARGET}

`edgec verify MODEL --target {QEMU_TARGET} --kernels portable`, measured as above: the plain
C99 kernels the host gets, compiled with the same flags for the same core, against the
kernels using the Cortex-M4's DSP extension (SMLAD on int16 pairs) with `--optimize speed`
and `--optimize size`. Flash: the linked model, as above. The last column is the portable
build's instructions over the DSP speed build's.

{kernels_table(rows)}

## Portable C on the Cortex-M3: QEMU lm3s6965evb

`edgec verify MODEL --target {M3_TARGET}`, measured as above on a core without the DSP
extension or an FPU, so every kernel is the portable C. Flags: `{m3_flags}` (from
`targets/{M3_TARGET}.yaml`). The board has {m3["flash_bytes"]:,} B of flash and
{m3["ram_bytes"]:,} B of RAM; a model whose build (constants + code estimate, or arena)
exceeds them is not run.

{m3_table(rows)}

## RISC-V: portable C on rv32imc ({RISCV_TARGET})

`edgec verify MODEL --target {RISCV_TARGET}`: the same C bare-metal under
`qemu-system-riscv32 -M virt -bios none -icount shift=0`, compiled with `{riscv_flags}`
(from `targets/{RISCV_TARGET}.yaml`, picolibc); instructions are `minstret` around the
inference call (exact retired instructions), median of three runs after a warm-up, bit-exact
with the reference interpreter. The Cortex-M columns repeat the tables above.

{riscv_table(rows)}

## Compiler optimization level on {QEMU_TARGET}

The same measurement with the target's flags and each optimization level in turn; code is
the model's .text (constants do not change).

{levels_table(rows)}
"""


def _section(text: str, begin: str, end: str) -> str:
    """The marked section of ``text``, markers included, or "" when it has none."""
    if begin in text and end in text:
        return text[text.index(begin):text.index(end) + len(end)]
    return ""


def write_report(text: str) -> None:
    """Rewrite docs/BENCHMARKS.md's unmarked part; every marked section (``<!-- NAME:begin
    -->`` .. ``<!-- NAME:end -->``: accuracy, ops, fuzz, layers, ..., each owned by its own
    command) is kept as it is, in its order."""
    old = REPORT.read_text() if REPORT.exists() else ""
    names = re.findall(r"<!-- ([\w-]+):begin -->", old)
    kept = "".join(f"\n{section}\n" for section in (
        _section(old, f"<!-- {m}:begin -->", f"<!-- {m}:end -->") for m in names) if section)
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    REPORT.write_text(text + kept)


# ---- the op grid on emulated Cortex-M ------------------------------------------------------

def ops_section(full: bool, command: str) -> str:
    """Run the op grid on every configuration; the report section with its pass counts and
    every failing case."""
    from tests.cortexm.op_grid import CONFIGS, SAMPLES, cases, failures, run_grid

    started = time.perf_counter()
    grid = cases(full)
    rows, failing = [], []
    for config in CONFIGS:
        print(f"op grid: {config.label}, {len(grid)} graphs", flush=True)
        outcomes = run_grid(grid, config)
        rows.append(f"| {config.label} | {sum(o.ok for o in outcomes)} / {len(outcomes)} | "
                    f"{sum(o.dsp for o in outcomes)} |")
        failing += failures(outcomes, config)
    rules = len({case.rule for case in grid})
    minutes = (time.perf_counter() - started) / 60
    lines = [OPS_BEGIN, "## Every op on the emulated cores", "",
             f"Written by `{command}` ({minutes:.1f} minutes). {len(grid)} single-op graphs "
             f"covering all {rules} lowering rules (`OP/dtype`; int4 weights for CONV_2D, "
             "DEPTHWISE_CONV_2D and FULLY_CONNECTED), built from the lowering tests' builders "
             "(tests/cortexm/op_grid.py), run in QEMU many per firmware image, "
             f"{SAMPLES} random inputs each, every output compared with `edgec.ir.interpret` "
             "(integers bit for bit, float within 1e-5 of the largest magnitude). "
             + ("Full grid: every geometry and corner, three seeds." if full else
                "CI subset (`--full` for every geometry, corner and seed)."), "",
             "| core | graphs matching | graphs with a DSP kernel |", "|---|---|---|", *rows, ""]
    if failing:
        lines += ["Not matching (configuration, case, first difference):", "",
                  *[f"- {line}" for line in failing], ""]
    return "\n".join(lines + [OPS_END])


def write_ops_section(section: str) -> None:
    """Replace the ops section of docs/BENCHMARKS.md (append it the first time)."""
    old = REPORT.read_text() if REPORT.exists() else ""
    current = _section(old, OPS_BEGIN, OPS_END)
    REPORT.write_text(old.replace(current, section) if current
                      else old.rstrip("\n") + "\n\n" + section + "\n")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=list(REFERENCES), choices=REFERENCES,
                        help="models to measure (default: all three)")
    parser.add_argument("--no-write", action="store_true",
                        help="print the report instead of writing docs/BENCHMARKS.md")
    parser.add_argument("--ops", action="store_true",
                        help="run only the op grid on the emulated cores and rewrite its "
                             "section")
    parser.add_argument("--layers", action="store_true",
                        help="measure instructions per layer on the M4 (speed, size, int4) "
                             "and rewrite only that section")
    parser.add_argument("--full", action="store_true",
                        help="with --ops: every geometry, corner and seed (a few minutes)")
    args = parser.parse_args(argv)
    if args.ops:
        command = "python benchmarks/run.py --ops" + (" --full" if args.full else "")
        section = ops_section(args.full, command)
        if args.no_write:
            print(section)
        else:
            write_ops_section(section)
            print(f"wrote the ops section of {REPORT}")
        return
    if args.layers:
        from benchmarks import layers

        text = layers.section({n: r.tflm_cmsis for n, r in REFERENCES.items()},
                              "python benchmarks/run.py --layers")
        if args.no_write:
            print(text)
        else:
            write_section(text, "<!-- layers:begin -->", "<!-- layers:end -->")
            print(f"wrote the layers section of {REPORT}")
        return
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="edgec-bench-") as tmp:
        rows = [measure(name, Path(tmp) / name) for name in args.models]
    command = "python benchmarks/run.py" + (f" --models {' '.join(args.models)}"
                                            if args.models != list(REFERENCES) else "")
    text = report(rows, command, time.perf_counter() - started)
    if args.no_write:
        print(text)
    else:
        write_report(text)
        print(f"wrote {REPORT}")


if __name__ == "__main__":
    main()
