"""The verification firmware: harness sources rendered from ``templates/cortexm/``, compiled
one object per file with the target's compiler and flags, linked with the machine's memory map.

One object per source file lets ``footprint`` tell the model's bytes from the harness's in the
linker map: whatever is not the harness's (the model object and the library routines it
pulls in: memcpy, libm, libgcc helpers) is the model's.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from edgec import __version__
from edgec.build import BuildResult
from edgec.targets import load_target, target_names
from edgec.verify.cortexm.machines import Machine, emulated_machine, is_emulated
from edgec.templating import render
from edgec.errors import EdgecError
from edgec.verify.harness import run_tool  # the host path's runner: the same messages

# Harness sources (template -> file name); the model's own C comes from ``edgec.build``.
RUNTIME_SOURCES = {"cortexm/startup.c.j2": "edgec_startup.c",
                   "cortexm/runtime.c.j2": "edgec_runtime.c"}
HARNESS_HEADER = ("cortexm/edgec_cortexm.h.j2", "edgec_cortexm.h")
# Added to the target's flags so that --gc-sections drops what nothing calls, as a firmware
# build would; the flash figures then count only code the harness reaches.
SECTION_FLAGS = ["-ffunction-sections", "-fdata-sections"]
# The harness's own objects must not call the C library (gcc turns copy, fill and length
# loops into memcpy, memset and strlen calls), so every library routine in the image is the
# model's.
HARNESS_FLAGS = ["-fno-tree-loop-distribute-patterns"]
LINK_FLAGS = ["-nostartfiles", "--specs=nano.specs", "-Wl,--gc-sections"]
LIBS = ["-lm", "-lc", "-lgcc"]


@dataclass
class Firmware:
    """A linked ELF and the files that describe it."""

    elf: Path
    map_file: Path
    harness_objects: list[str]  # object file names whose sections are not the model's
    machine: Machine


def _context(target: dict, machine: Machine, extra: dict) -> dict:
    return {"version": __version__, "target": target["name"], "machine": machine.qemu_name,
            "fpu": bool(target.get("fpu")), **extra}


def _write(path: Path, text: str) -> Path:
    path.write_bytes(text.encode("ascii"))
    return path


def _compiler(target: dict) -> str:
    compiler = target["compiler"]
    if shutil.which(compiler) is None:
        raise EdgecError(f"cannot find the compiler '{compiler}' for target '{target['name']}'",
                         "install gcc-arm-none-eabi and libnewlib-arm-none-eabi")
    return compiler


def write_support(out_dir: Path, target: dict, machine: Machine) -> list[Path]:
    """The start-up code, the semihosting/SysTick runtime, their header and the linker script."""
    sources = [_write(out_dir / file, render(template, _context(target, machine, {})))
               for template, file in RUNTIME_SOURCES.items()]
    _write(out_dir / HARNESS_HEADER[1], render(HARNESS_HEADER[0], _context(target, machine, {})))
    memory = {"flash": {"origin": machine.flash_origin, "length": target["flash_bytes"]},
              "ram": {"origin": machine.ram_origin, "length": target["ram_bytes"]},
              "stack_bytes": machine.stack_bytes}
    _write(out_dir / "link.ld", render("cortexm/link.ld.j2", _context(target, machine, memory)))
    return sources


def compile_objects(sources: list[Path], target: dict, include: Path,
                    extra_flags: tuple[str, ...] = ()) -> list[Path]:
    """Each source compiled alone with the target's flags (warnings are errors there)."""
    objects = []
    for source in sources:
        obj = source.with_suffix(".o")
        run_tool([_compiler(target), *target["cflags"], *SECTION_FLAGS, *extra_flags, "-I",
                  str(include), "-c", str(source), "-o", str(obj)],
                 f"compiling {source.name} for {target['name']}")
        objects.append(obj)
    return objects


def link(objects: list[Path], target: dict, out_dir: Path, stem: str) -> tuple[Path, Path]:
    """The ELF and its linker map; an ``EdgecError`` saying so when the image does not fit."""
    elf, map_file = out_dir / f"{stem}.elf", out_dir / f"{stem}.map"
    cmd = [_compiler(target), *target["cflags"], *LINK_FLAGS, "-T", str(out_dir / "link.ld"),
           f"-Wl,-Map={map_file}", *map(str, objects), *LIBS, "-o", str(elf)]
    try:
        run_tool(cmd, f"linking for {target['name']}")
    except EdgecError as exc:
        if "overflowed" in exc.full_message:
            raise EdgecError(f"the firmware does not fit {target['name']}'s memory "
                             f"({target['flash_bytes']:,} B flash, {target['ram_bytes']:,} B "
                             "RAM)", _larger_targets_hint(target)) from exc
        raise
    return elf, map_file


def _larger_targets_hint(target: dict) -> str:
    """Name the emulated targets with more flash or RAM than ``target`` (never itself)."""
    larger = set()
    for name in target_names():
        other = load_target(name)
        if other["name"] != target["name"] and is_emulated(other) and any(
                (other.get(key) or 0) > (target.get(key) or 0)
                for key in ("flash_bytes", "ram_bytes")):
            larger.add(other["name"])
    if not larger:
        return "no emulated target has more memory: make the model smaller (e.g. edgec " \
            "quantize, --optimize size), or verify on the host"
    return f"verify on a target with more memory: {', '.join(sorted(larger))}"


def build_firmware(result: BuildResult, harness_context: dict) -> Firmware:
    """Link ``result``'s model with the verification harness for ``result.target`` (the
    harness owns the arena when ``result.options.arena`` says the model does not). A
    ``harness_context`` with ``layers`` or ``per_layer`` compiles the model with its per-step
    hook on (``NAME_OBSERVE``: ``edgec.verify.layers``)."""
    target, out_dir = result.target, result.out_dir
    machine = emulated_machine(target)
    sources = write_support(out_dir, target, machine)
    context = {**harness_context, "static_arena": result.options.static_arena,
               "steps": len(result.graph.nodes)}
    harness = _write(out_dir / f"{result.name}_harness.c",
                     render("cortexm/harness.c.j2", _context(target, machine, context)))
    observe = context.get("layers") or context.get("per_layer")
    model = compile_objects([out_dir / f"{result.name}.c"], target, out_dir,
                            (f"-D{result.name.upper()}_OBSERVE",) if observe else ())
    support = compile_objects([harness, *sources], target, out_dir, HARNESS_FLAGS)
    elf, map_file = link(model + support, target, out_dir, f"{result.name}_firmware")
    return Firmware(elf, map_file, [obj.name for obj in support], machine)


def build_calibration(out_dir: Path, target: dict, iterations: list[int]) -> Path:
    """The ELF of ``calibrate.c.j2``: SysTick ticks around spin loops of known length."""
    machine = emulated_machine(target)
    sources = write_support(out_dir, target, machine)
    main = _write(out_dir / "calibrate.c", render(
        "cortexm/calibrate.c.j2", _context(target, machine, {"iterations": iterations})))
    objects = compile_objects([main, *sources], target, out_dir, HARNESS_FLAGS)
    return link(objects, target, out_dir, "calibrate")[0]
