"""Samples in, outputs and measurements out: the Cortex-M half of ``edgec verify``."""

from __future__ import annotations

import statistics
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edgec.build import BuildResult
from edgec.verify.cortexm.firmware import build_calibration, build_firmware
from edgec.verify.cortexm.footprint import Footprint, firmware_sizes, model_footprint
from edgec.verify.cortexm.machines import emulated_machine
from edgec.verify.cortexm.qemu import run_elf
from edgec.errors import EdgecError
from edgec.verify.harness import harness_context, pack_samples, packed_layout, unpack_samples

# QEMU runs a few hundred million instructions per second with -icount shift=0; this leaves
# ample room for slow machines.
BASE_TIMEOUT_S = 60
TIMEOUT_S_PER_SAMPLE = 30


@dataclass
class DeviceStats:
    """What one QEMU run measured. ``instructions`` holds one count per inference call."""

    target: str
    instructions: list[int]
    stack_bytes: int  # below the caller's stack pointer, over all calls
    footprint: Footprint  # the model's part of the image
    firmware: tuple[int, int, int]  # text, data, bss of the whole image, harness included
    size_tool: str = "arm-none-eabi-size"  # what measured ``firmware``
    # verify --per-layer: per step, the instructions of each call (one list per sample)
    layer_instructions: list[list[int]] | None = None
    resolution: int = 1  # instructions per timer tick: the counts' granularity

    @property
    def timed_runs(self) -> list[int]:
        """The counts after the first call, which is the warm-up (when there are others)."""
        return self.instructions[1:] if len(self.instructions) > 1 else self.instructions

    @property
    def median_instructions(self) -> int:
        return int(statistics.median(self.timed_runs))

    @property
    def flash_bytes(self) -> int:
        return self.footprint.flash_bytes

    @property
    def ram_bytes(self) -> int:
        """Static RAM (data + bss) plus the stack the inference used."""
        return self.footprint.static_ram_bytes + self.stack_bytes

    def summary(self) -> str:
        runs = len(self.timed_runs)
        warm = ", after a warm-up" if len(self.instructions) > 1 else ""
        return (f"{self.target}: {self.median_instructions:,} instructions per inference "
                f"(median of {runs} run{'s' if runs != 1 else ''}{warm}); flash "
                f"{self.flash_bytes:,} B (text {self.footprint.text:,} + rodata "
                f"{self.footprint.rodata:,} + data {self.footprint.data:,}); RAM "
                f"{self.ram_bytes:,} B (data {self.footprint.data:,} + bss "
                f"{self.footprint.bss:,} + stack {self.stack_bytes:,}); whole image with the "
                f"harness: text {self.firmware[0]:,}, data {self.firmware[1]:,}, bss "
                f"{self.firmware[2]:,} ({self.size_tool})"
                f"\n{self.latency_estimate()}")

    def latency_estimate(self) -> str:
        """Milliseconds per inference at the clocks of the boards with this target's core,
        from the measured instruction count at one instruction per cycle: an ESTIMATE (wait
        states, memory and pipeline stalls make real boards slower)."""
        from edgec.targets import load_target, target_names

        cpu = load_target(self.target)["cpu"]
        boards = [load_target(n) for n in target_names()]
        same = [t for t in boards if t["cpu"] == cpu and t["clock_hz"]]
        cells = ", ".join(f"{t['name']} {self.median_instructions / t['clock_hz'] * 1e3:.2f} ms "
                          f"@ {t['clock_hz'] / 1e6:g} MHz" for t in same)
        return (f"estimated latency ({cpu}, 1 instruction per cycle, not measured on "
                f"hardware): {cells}")


def _words(path: Path) -> list[int]:
    return [int(w) for w in np.frombuffer(path.read_bytes(), dtype="<u4")]


def run_samples(result: BuildResult, harness_context: dict, packed_inputs: bytes,
                count: int, layer_dump: list | None = None) -> tuple[bytes, DeviceStats]:
    """Run the ``count`` samples packed in ``packed_inputs`` through ``result``'s model on its
    emulated target. Returns the packed outputs and the measurements. A ``harness_context``
    with ``layers`` appends the layer dump's bytes to ``layer_dump``; with ``per_layer`` the
    measurements hold per-step instruction counts."""
    firmware = build_firmware(result, harness_context)
    factor = firmware.machine.instructions_per_tick
    steps = len(result.graph.nodes)
    with tempfile.TemporaryDirectory(prefix="edgec-qemu-") as tmp:
        work = Path(tmp)
        (work / "inputs.bin").write_bytes(packed_inputs)
        run_elf(result.target["emulator"], firmware.elf, work,
                BASE_TIMEOUT_S + TIMEOUT_S_PER_SAMPLE * count)
        outputs = (work / "outputs.bin").read_bytes()
        ticks = _words(work / "ticks.bin")
        stack = _words(work / "stack.bin")
        per_step = _words(work / "layer_ticks.bin") if harness_context.get("per_layer") \
            else None
        if harness_context.get("layers") and layer_dump is not None:
            layer_dump.append((work / "layers.bin").read_bytes())
    if len(ticks) != count or len(stack) != 1 or (per_step is not None
                                                    and len(per_step) != count * steps):
        raise EdgecError(f"the firmware timed {len(ticks)} of {count} samples",
                         "this is a bug in edgec's Cortex-M harness")
    stats = DeviceStats(result.target["name"], [t * factor for t in ticks], stack[0],
                        model_footprint(firmware.map_file, firmware.harness_objects),
                        firmware_sizes(firmware.elf), resolution=factor)
    if per_step is not None:
        stats.layer_instructions = [[t * factor for t in per_step[k * steps:(k + 1) * steps]]
                                    for k in range(count)]
    return outputs, stats


def calibrate(target: dict, iterations: tuple[int, ...] = (100_000, 1_100_000)) -> float:
    """Instructions per SysTick tick, measured: ticks around spin loops of 2 * n instructions;
    the slope between two lengths cancels the fixed cost of the measurement itself."""
    emulated_machine(target)
    with tempfile.TemporaryDirectory(prefix="edgec-calibrate-") as tmp:
        work = Path(tmp)
        elf = build_calibration(work, target, list(iterations))
        run_elf(target["emulator"], elf, work, BASE_TIMEOUT_S)
        ticks = _words(work / "ticks.bin")
    return 2 * (iterations[-1] - iterations[0]) / (ticks[-1] - ticks[0])


def run_emulated(result: BuildResult, samples: list[list[np.ndarray]], *,
                 layers: list[dict] | None = None, per_layer: bool = False,
                 layer_dump: list | None = None):
    """The outputs of ``samples`` on ``result``'s emulated target, and its measurements.
    ``layers`` (``edgec.verify.layers.layer_table``): the dump of those tensors is appended
    to ``layer_dump``; ``per_layer``: count each step's instructions (a second firmware
    when ``layers`` is given too: the dump's writes would be counted)."""
    in_layout, in_size = packed_layout(result.graph, result.graph.inputs)
    out_layout, out_size = packed_layout(result.graph, result.graph.outputs)
    packed = pack_samples(samples, in_layout, in_size)
    context = harness_context(result)
    if layers:
        blob, _ = run_samples(result, {**context, "layers": layers}, packed, len(samples),
                              layer_dump)
    blob, device = run_samples(result, {**context, "per_layer": per_layer}, packed,
                               len(samples))
    if len(blob) != out_size * len(samples):
        raise EdgecError(f"the firmware wrote {len(blob)} bytes for {len(samples)} samples, "
                         f"expected {out_size * len(samples)}", "this is a bug in edgec")
    return unpack_samples(blob, out_layout, out_size, len(samples)), device
