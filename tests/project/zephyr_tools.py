"""Building against a real Zephyr tree: module discovery, cmake + ninja, and the memory a
build spends on Zephyr itself (what targets/*.yaml record as zephyr_overhead)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

ZEPHYR_BASE = os.environ.get("ZEPHYR_BASE")
ENABLE = ("set ZEPHYR_BASE to a Zephyr 4.x tree (a west workspace: modules found in "
          "$ZEPHYR_BASE/../modules/hal/*, or listed in EDGEC_ZEPHYR_MODULES=a;b)")


def modules() -> list[str]:
    """HAL module folders: EDGEC_ZEPHYR_MODULES, else every folder of the west workspace's
    modules/hal/ beside ZEPHYR_BASE."""
    given = os.environ.get("EDGEC_ZEPHYR_MODULES")
    if given:
        return given.split(";")
    if not ZEPHYR_BASE:
        return []
    hal = Path(ZEPHYR_BASE).parent / "modules" / "hal"
    return sorted(str(p) for p in hal.glob("*") if p.is_dir())


def _has_module(name: str) -> bool:
    return any(Path(m).name.removeprefix("hal_") == name for m in modules())


def needs_modules(*names: str):
    """Skip unless every HAL module in ``names`` (cmsis, nordic, stm32, st, rpi_pico) is
    there."""
    missing = [n for n in names if not _has_module(n)]
    return pytest.mark.skipif(bool(missing), reason=f"needs hal_{', hal_'.join(missing)}: "
                              f"add to $ZEPHYR_BASE/../modules/hal/ or EDGEC_ZEPHYR_MODULES")


def zephyr_build(app: Path, board: str, out: Path, *args: str) -> Path:
    """cmake + ninja of ``app`` for ``board`` without the Zephyr SDK (Debian toolchains, as
    in docs: gnuarmemb + picolibc on Arm, the host compiler for native_sim). Returns the
    build's zephyr/ folder."""
    env = dict(os.environ)
    native = board.startswith("native_sim")
    env["ZEPHYR_TOOLCHAIN_VARIANT"] = "host" if native else env.get(
        "ZEPHYR_TOOLCHAIN_VARIANT", "gnuarmemb")
    env.setdefault("GNUARMEMB_TOOLCHAIN_PATH", "/usr")
    cmake = ["cmake", "-G", "Ninja", "-S", str(app), "-B", str(out), f"-DBOARD={board}",
             "-DBUILD_VERSION=v4.1.0", f"-DZEPHYR_MODULES={';'.join(modules())}", *args]
    if not native:
        cmake.append("-DTOOLCHAIN_HAS_PICOLIBC=ON")
    for cmd in (cmake, ["ninja", "-C", str(out)]):
        done = subprocess.run(cmd, env=env, capture_output=True, text=True)
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return out / "zephyr"


def _size(tool: str, files: list[Path]) -> tuple[int, int]:
    """(flash, RAM) bytes of ``files`` by Berkeley ``size``: text + data, data + bss."""
    out = subprocess.run([tool, *map(str, files)], capture_output=True, text=True,
                         check=True).stdout.splitlines()[1:]
    text, data, bss = (sum(int(line.split()[k]) for line in out) for k in range(3))
    return text + data, data + bss


def zephyr_overhead(build: Path, native: bool, stack_bytes: int) -> dict[str, int]:
    """Flash and RAM of a linked app that are Zephyr's (kernel, drivers, console, logging,
    ISR and idle stacks): the image less every object of the app library (application core,
    preprocessing, model) and less the main and work-queue stacks, which edgec's budget
    counts with the application. Objects are sized before the linker drops unused
    functions, so this errs low by those bytes; the budget's APP_CODE_ESTIMATE (8 KiB,
    about twice the whole app core) covers them."""
    tool = "size" if native else "arm-none-eabi-size"
    image = build / "zephyr" / ("zephyr.exe" if native else "zephyr.elf")
    flash, ram = _size(tool, [image])
    app_flash, app_ram = _size(tool, sorted((build / "CMakeFiles" / "app.dir").rglob("*.obj")))
    return {"flash": flash - app_flash, "ram": ram - app_ram - 2 * stack_bytes}
