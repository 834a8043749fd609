"""Verification on an emulated RISC-V core: the generated C, linked with a bare-metal harness
(``templates/riscv/`` plus the Cortex-M harness's main loop), runs under
``qemu-system-riscv32 -M virt -bios none -icount shift=0``; each inference is timed by the
retired-instruction counter ``minstret``, so the counts are exact instructions.

Compiled with the target's compiler and flags (``riscv64-unknown-elf-gcc -march=rv32imc
-mabi=ilp32``) and linked against picolibc (Debian's ``picolibc-riscv64-unknown-elf``) for
the library routines the model calls.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

from edgec import __version__
from edgec.build import BuildResult
from edgec.errors import EdgecError
from edgec.templating import render
from edgec.verify.cortexm.firmware import compile_objects
from edgec.verify.cortexm.footprint import firmware_sizes, model_footprint
from edgec.verify.cortexm.qemu import run_elf
from edgec.verify.cortexm.run import BASE_TIMEOUT_S, TIMEOUT_S_PER_SAMPLE, DeviceStats
from edgec.verify.harness import (harness_context, pack_samples, packed_layout, run_tool,
                                  unpack_samples)

SIZE_TOOL = "riscv64-unknown-elf-size"
RAM_ORIGIN = 0x80000000  # the virt machine's DRAM, where -bios none starts
STACK_BYTES = 64 * 1024
PICOLIBC = "/usr/lib/picolibc/riscv64-unknown-elf"
# compile_objects adds -ffunction-sections -fdata-sections; the harness must not call libc.
HARNESS_FLAGS = ("-fno-tree-loop-distribute-patterns",)


def is_riscv(target: dict) -> bool:
    """Whether ``target`` runs under qemu-system-riscv32 (bare metal, ``-M virt``)."""
    command = target.get("emulator") or []
    return bool(command) and "qemu-system-riscv32" in command[0]


def _context(target: dict, extra: dict) -> dict:
    return {"version": __version__, "target": target["name"], "machine": "riscv32 virt",
            "runtime_header": "edgec_riscv.h", **extra}


def _write(path: Path, text: str) -> Path:
    path.write_bytes(text.encode("ascii"))
    return path


def build_firmware(result: BuildResult, context: dict):
    """``(elf, map file, harness object names)`` of ``result``'s model with the harness."""
    target, out = result.target, result.out_dir
    base = _context(target, {})
    _write(out / "edgec_riscv.h", render("riscv/edgec_riscv.h.j2", base))
    runtime = _write(out / "edgec_runtime.c", render("riscv/runtime.c.j2", base))
    memory = {"ram": {"origin": RAM_ORIGIN, "length": target["ram_bytes"]},
              "stack_bytes": STACK_BYTES}
    _write(out / "link.ld", render("riscv/link.ld.j2", _context(target, memory)))
    harness = _write(out / f"{result.name}_harness.c", render(
        "cortexm/harness.c.j2", _context(target, {**context, "static_arena": result.options.static_arena})))
    model = compile_objects([out / f"{result.name}.c"], target, out)
    support = compile_objects([harness, runtime], target, out, HARNESS_FLAGS)
    elf, map_file = out / f"{result.name}_firmware.elf", out / f"{result.name}_firmware.map"
    run_tool([target["compiler"], *target["cflags"], "-nostartfiles", "-nostdlib",
              f"-L{PICOLIBC}/lib/rv32im/ilp32", "-Wl,--gc-sections", "-T", str(out / "link.ld"),
              f"-Wl,-Map={map_file}", *map(str, model + support), "-lm", "-lc", "-lgcc",
              "-o", str(elf)], f"linking for {target['name']}")
    return elf, map_file, [obj.name for obj in support]


def _words(path: Path) -> list[int]:
    return [int(w) for w in np.frombuffer(path.read_bytes(), dtype="<u4")]


def run_emulated(result: BuildResult, samples: list[list[np.ndarray]]):
    """The outputs of ``samples`` on ``result``'s RISC-V target, and its measurements."""
    in_layout, in_size = packed_layout(result.graph, result.graph.inputs)
    out_layout, out_size = packed_layout(result.graph, result.graph.outputs)
    elf, map_file, harness = build_firmware(result, harness_context(result))
    with tempfile.TemporaryDirectory(prefix="edgec-qemu-riscv-") as tmp:
        work = Path(tmp)
        (work / "inputs.bin").write_bytes(pack_samples(samples, in_layout, in_size))
        # run_elf adds -semihosting -icount shift=0 -no-reboot to the target's command.
        run_elf(result.target["emulator"], elf, work,
                BASE_TIMEOUT_S + TIMEOUT_S_PER_SAMPLE * len(samples))
        blob = (work / "outputs.bin").read_bytes()
        counts = _words(work / "ticks.bin")
        stack = _words(work / "stack.bin")
    if len(blob) != out_size * len(samples) or len(counts) != len(samples) or len(stack) != 1:
        raise EdgecError(f"the firmware wrote {len(blob)} output bytes and {len(counts)} "
                         f"counts for {len(samples)} samples", "this is a bug in edgec")
    device = DeviceStats(result.target["name"], counts, stack[0],
                         model_footprint(map_file, harness),
                         firmware_sizes(elf, SIZE_TOOL), SIZE_TOOL)
    return unpack_samples(blob, out_layout, out_size, len(samples)), device
