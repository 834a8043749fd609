"""The QEMU machines edgec verifies on, and how a target names one.

A target runs under QEMU when its ``emulator`` command is ``qemu-system-arm ... -machine M``
with ``M`` in ``MACHINES``. Flash and RAM sizes come from the target file; the origins, the
stack reserved by the harness and the instructions per SysTick tick are the machine's.
"""

from __future__ import annotations

from dataclasses import dataclass

from edgec.errors import EdgecError


@dataclass(frozen=True)
class Machine:
    """One emulated machine as the harness's linker script and tick counter see it."""

    qemu_name: str
    flash_origin: int
    ram_origin: int
    stack_bytes: int
    # SysTick on the processor clock at -icount shift=0 (one instruction per ns); checked by
    # tests/cortexm/test_calibration.py against loops of known length.
    instructions_per_tick: int


MACHINES = {m.qemu_name: m for m in [
    # ssram1 (code) at 0, ssram23 (data) at 0x20000000, 4 MiB each; SysTick at 25 MHz.
    Machine("mps2-an386", 0x00000000, 0x20000000, 64 * 1024, 40),
    # 256 KiB flash at 0, 64 KiB SRAM at 0x20000000; SysTick measured at 12.5 MHz (80 ns).
    Machine("lm3s6965evb", 0x00000000, 0x20000000, 8 * 1024, 80),
]}


def _machine_name(target: dict) -> str | None:
    command = target.get("emulator") or []
    if not command or "qemu-system-arm" not in command[0] or "-machine" not in command[:-1]:
        return None
    return command[command.index("-machine") + 1]


def is_emulated(target: dict) -> bool:
    """Whether ``target`` runs on one of the QEMU machines edgec verifies on."""
    return _machine_name(target) in MACHINES


def emulated_machine(target: dict) -> Machine:
    """The machine ``target`` runs on; an ``EdgecError`` for targets QEMU cannot run."""
    name = _machine_name(target)
    if name not in MACHINES:
        runnable = ", ".join(sorted(MACHINES))
        raise EdgecError(f"target '{target['name']}' does not run under QEMU here",
                         f"edgec verify runs on the host or on a target whose emulator is "
                         f"qemu-system-arm -machine {{{runnable}}}")
    return MACHINES[name]
