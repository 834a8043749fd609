"""One QEMU run of a verification firmware. The guest exchanges files with the host through
semihosting, relative to the working folder QEMU starts in."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from edgec.errors import EdgecError

# -icount shift=0: the guest clock advances 1 ns per instruction, so SysTick counts
# instructions exactly and every run is repeatable.
QEMU_FLAGS = ["-semihosting", "-icount", "shift=0", "-no-reboot"]
# Exit statuses the harness sets through SYS_EXIT_EXTENDED (templates/cortexm/).
EXIT_MEANING = {1: "the model reported a failing kernel", 2: "a semihosting file error",
                3: "a processor fault or a stack overflow"}


def run_elf(emulator: list[str], elf: Path, workdir: Path, timeout_s: float) -> None:
    """Run ``elf`` on the machine ``emulator`` names, in ``workdir``; raise on any failure."""
    if shutil.which(emulator[0]) is None:
        raise EdgecError(f"cannot find '{emulator[0]}'", "install qemu-system-arm")
    cmd = [*emulator, *QEMU_FLAGS, "-kernel", str(elf)]
    try:
        done = subprocess.run(cmd, cwd=workdir, stdin=subprocess.DEVNULL, capture_output=True,
                              text=True, timeout=timeout_s)
    except subprocess.TimeoutExpired as exc:
        raise EdgecError(f"QEMU did not finish within {timeout_s:.0f} s: {' '.join(cmd)}",
                         "fewer inputs (--count) make the run shorter; a stack overflow "
                         "that locks the core up (seen on lm3s6965evb) also ends here") from exc
    if done.returncode != 0:
        meaning = EXIT_MEANING.get(done.returncode, "QEMU failed")
        detail = " | ".join((done.stderr + done.stdout).strip().splitlines()[-4:])
        raise EdgecError(f"the firmware stopped with status {done.returncode} ({meaning}): "
                         f"{detail}", "this is a bug in edgec's generated C or harness; "
                         "rerun with -v and report it")
