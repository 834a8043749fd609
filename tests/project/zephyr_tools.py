"""Building against a real Zephyr tree: where the tree is, module discovery, one reused
build folder per board (cmake once, then incremental ninja), and what a build spends on
Zephyr itself (what targets/*.yaml record as zephyr_overhead).

The tree is ``$ZEPHYR_BASE``, else the trimmed workspace ``../shared/zephyr`` beside the
repository (read-only in CI: every build folder and cache lives under a temporary folder).
"""

from __future__ import annotations

import os
import pickle
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO.parent / "shared" / "zephyr" / "zephyr"


def _zephyr_base() -> str | None:
    given = os.environ.get("ZEPHYR_BASE")
    if given:
        return given
    # resolved: a symlinked workspace would give Zephyr relative paths that do not exist
    return str(SHARED.resolve()) if (SHARED / "VERSION").is_file() else None


ZEPHYR_BASE = _zephyr_base()
ENABLE = (f"no Zephyr tree: set ZEPHYR_BASE to a Zephyr 4.x tree or put the shared workspace "
          f"at {SHARED.parent} (modules found in $ZEPHYR_BASE/../modules/hal/*, or listed in "
          f"EDGEC_ZEPHYR_MODULES=a;b)")
# Every Zephyr test carries this marker (select with -m zephyr, deselect with -m 'not zephyr').
zephyr = [pytest.mark.zephyr, pytest.mark.skipif(not ZEPHYR_BASE, reason=ENABLE)]
BUILD_ROOT = Path(os.environ.get("EDGEC_ZEPHYR_BUILD_ROOT")
                  or Path(tempfile.gettempdir()) / f"edgec-zephyr-{os.getuid()}")


def modules() -> list[str]:
    """Module folders: EDGEC_ZEPHYR_MODULES, else every folder of the west workspace's
    modules/hal/, modules/lib/ and modules/debug/ beside ZEPHYR_BASE."""
    given = os.environ.get("EDGEC_ZEPHYR_MODULES")
    if given:
        return given.split(";")
    if not ZEPHYR_BASE:
        return []
    root = Path(ZEPHYR_BASE).parent / "modules"
    return sorted(str(p) for kind in ("hal", "lib", "debug") for p in (root / kind).glob("*")
                  if p.is_dir())


def _has_module(name: str) -> bool:
    return any(Path(m).name.removeprefix("hal_") == name for m in modules())


def needs_modules(*names: str):
    """Skip unless every HAL module in ``names`` (cmsis, nordic, stm32, st, rpi_pico) is
    there."""
    missing = [n for n in names if not _has_module(n)]
    return pytest.mark.skipif(bool(missing), reason=f"needs hal_{', hal_'.join(missing)}: "
                              f"add to $ZEPHYR_BASE/../modules/hal/ or EDGEC_ZEPHYR_MODULES")


def zephyr_build(app: Path, board: str, out: Path, *args: str) -> Path:
    """cmake (when ``out`` has no build yet) + ninja of ``app`` for ``board`` without the
    Zephyr SDK (edgec.project.zephyr: Debian toolchains, the RISC-V wrapper). A folder built
    before is reused: ninja reconfigures when CMakeLists.txt, prj.conf or an overlay changed
    and recompiles only what changed. Returns ``out/zephyr``."""
    from edgec.errors import EdgecError
    from edgec.project.zephyr import zephyr_build as build
    from edgec.targets import target_for_board

    env = {"EDGEC_ZEPHYR_MODULES": ";".join(modules()),
           # zephyr_app/CMakeLists.txt runs this checkout's edgec
           "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    try:
        return build(app, target_for_board(board), out, *args, base=Path(ZEPHYR_BASE),
                     cache_dir=BUILD_ROOT / "cache", env=env)
    except EdgecError as exc:
        raise AssertionError(exc.full_message) from exc


def write_tree(files: dict[str, bytes], root: Path) -> None:
    """Make ``root`` hold exactly ``files``; unchanged files keep their time stamps so that
    an incremental build recompiles only what changed."""
    wanted = {root / rel for rel in files}
    for path in sorted(root.rglob("*"), reverse=True):
        if path.is_file() and path not in wanted:
            path.unlink()
    for rel, data in files.items():
        path = root / rel
        if path.is_file() and path.read_bytes() == data:
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def kconfig(build: Path) -> dict[str, str]:
    """The build's final Kconfig (build/zephyr/.config): symbol -> value; unset symbols are
    absent."""
    text = (build / "zephyr" / ".config").read_text()
    return dict(re.findall(r"^(CONFIG_\w+)=(.*)$", text, re.M))


def devicetree(build: Path):
    """The build's devicetree as Zephyr's edtlib sees it (build/zephyr/edt.pickle)."""
    sys.path.insert(0, str(Path(ZEPHYR_BASE) / "scripts" / "dts" / "python-devicetree" / "src"))
    try:
        with open(build / "zephyr" / "edt.pickle", "rb") as f:
            return pickle.load(f)
    finally:
        sys.path.pop(0)


def size_tool(target: dict) -> str:
    """Berkeley ``size`` for ``target``'s images."""
    return {"gcc": "size"}.get(target["compiler"], target["compiler"].removesuffix("gcc") + "size")


def _size(tool: str, files: list[Path]) -> tuple[int, int]:
    """(flash, RAM) bytes of ``files`` by Berkeley ``size``: text + data, data + bss."""
    out = subprocess.run([tool, *map(str, files)], capture_output=True, text=True,
                         check=True).stdout.splitlines()[1:]
    text, data, bss = (sum(int(line.split()[k]) for line in out) for k in range(3))
    return text + data, data + bss


def image_size(build: Path, target: dict) -> dict[str, int]:
    """Flash and RAM the linked image occupies (text + data, data + bss)."""
    native = target["emulator"] == ["native"]
    image = build / "zephyr" / ("zephyr.exe" if native else "zephyr.elf")
    flash, ram = _size(size_tool(target), [image])
    return {"flash": flash, "ram": ram}


def zephyr_overhead(build: Path, target: dict, stack_bytes: int) -> dict[str, int]:
    """Flash and RAM of a linked app that are Zephyr's (kernel, drivers, console, logging,
    ISR and idle stacks): the image less every object of the app library (application core,
    preprocessing, model, the app's work-queue stack) and less main's stack, which edgec's
    budget counts with the application. Objects are sized before the linker drops unused
    functions, so this errs low by those bytes; the budget's APP_CODE_ESTIMATE (8 KiB,
    about twice the whole app core) covers them."""
    tool = size_tool(target)
    image = image_size(build, target)
    app_flash, app_ram = _size(tool, sorted((build / "CMakeFiles" / "app.dir").rglob("*.obj")))
    return {"flash": image["flash"] - app_flash,
            "ram": image["ram"] - app_ram - APP_STACKS * stack_bytes}


# Stacks of stack_bytes in Zephyr's objects that the budget counts with the app: main's (the
# app's work-queue stack is defined in src/main.c, so it is already among the app objects).
APP_STACKS = 1
