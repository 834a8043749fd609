"""Building and running generated applications against a Zephyr tree, without west or the
Zephyr SDK (Debian's toolchains): where the tree is, which modules it has, the toolchain
settings per board, one reusable build folder (cmake once, then incremental ninja), and the
command that runs an emulated board's image.

The tree (``zephyr_base``): the ``--zephyr-base`` argument, else ``$ZEPHYR_BASE``. Modules:
``$EDGEC_ZEPHYR_MODULES`` (``a;b``), else every folder of ``modules/hal``, ``modules/lib`` and
``modules/debug`` of the west workspace around the tree (``$ZEPHYR_BASE/../modules``).

Toolchains: ``host`` for native_sim; ``gnuarmemb`` (``/usr``) with picolibc for Arm boards;
for RISC-V, ``cross-compile`` through a small wrapper that maps Zephyr's
``-march=rv32*_zicsr_zifencei`` to ``-march=rv32* -misa-spec=2.2`` (Debian's GCC 12 otherwise
picks the rv64 multilibs) with Debian's picolibc as the sysroot.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from edgec.errors import EdgecError

RISCV_PICOLIBC = "/usr/lib/picolibc/riscv64-unknown-elf"
ZEPHYR_VERSION = "v4.1.0"  # BUILD_VERSION: keeps Zephyr from asking git for one
RISCV_WRAPPER = """#!/bin/sh
# Written by edgec: Debian's GCC 12 has no multilib for rv32*_zicsr_zifencei; the same
# instructions under ISA spec 2.2 (where zicsr and zifencei are part of the base) select
# the rv32 multilibs.
for a in "$@"; do
  shift
  case $a in
    -march=rv32*_zicsr_zifencei) set -- "$@" "${a%_zicsr_zifencei}" -misa-spec=2.2 ;;
    *) set -- "$@" "$a" ;;
  esac
done
exec @GCC@ "$@"
"""


def find_zephyr_base(given: str | None = None) -> Path:
    """The Zephyr tree to build against: ``given``, else ``$ZEPHYR_BASE``; an error (with
    what to do) when there is none or it is not a Zephyr tree."""
    base = given or os.environ.get("ZEPHYR_BASE")
    if not base:
        raise EdgecError("no Zephyr tree to build the application with",
                         "set ZEPHYR_BASE to a Zephyr 4.x tree (its west workspace's "
                         "modules/ beside it) or pass --zephyr-base DIR")
    path = Path(base).expanduser().resolve()
    if not (path / "VERSION").is_file() or not (path / "cmake").is_dir():
        raise EdgecError(f"'{base}' is not a Zephyr tree (no VERSION and cmake/ in it)",
                         "point ZEPHYR_BASE or --zephyr-base at the zephyr/ folder of a "
                         "west workspace")
    return path


def zephyr_modules(base: Path) -> list[str]:
    """Module folders: ``$EDGEC_ZEPHYR_MODULES``, else those of the workspace around
    ``base``."""
    given = os.environ.get("EDGEC_ZEPHYR_MODULES")
    if given:
        return given.split(";")
    root = base.parent / "modules"
    return sorted(str(p) for kind in ("hal", "lib", "debug") for p in (root / kind).glob("*")
                  if p.is_dir())


def toolchain(target: dict, tools_dir: Path) -> tuple[dict, list[str]]:
    """(environment variables, extra cmake arguments) that build for ``target``."""
    compiler = target["compiler"]
    if target["emulator"] == ["native"]:
        return {"ZEPHYR_TOOLCHAIN_VARIANT": "host"}, []
    if compiler.startswith("arm-none-eabi"):
        return ({"ZEPHYR_TOOLCHAIN_VARIANT": "gnuarmemb",
                 "GNUARMEMB_TOOLCHAIN_PATH": os.environ.get("GNUARMEMB_TOOLCHAIN_PATH", "/usr")},
                ["-DTOOLCHAIN_HAS_PICOLIBC=ON"])
    if compiler.startswith("riscv64-unknown-elf"):
        prefix = riscv_wrapper(tools_dir)
        return ({"ZEPHYR_TOOLCHAIN_VARIANT": "cross-compile", "CROSS_COMPILE": prefix},
                ["-DTOOLCHAIN_HAS_PICOLIBC=ON", f"-DSYSROOT_DIR={RISCV_PICOLIBC}"])
    raise EdgecError(f"no Zephyr toolchain setting for compiler '{compiler}' "
                     f"(target {target['name']})",
                     "known: gcc (native_sim), arm-none-eabi-gcc, riscv64-unknown-elf-gcc")


def riscv_wrapper(tools_dir: Path) -> str:
    """A ``CROSS_COMPILE`` prefix in ``tools_dir``: the riscv64-unknown-elf binutils, and gcc
    through the -march wrapper (see the module's doc)."""
    import shutil

    gcc = shutil.which("riscv64-unknown-elf-gcc")
    if gcc is None:
        raise EdgecError("riscv64-unknown-elf-gcc not found",
                         "install Debian's gcc-riscv64-unknown-elf and "
                         "picolibc-riscv64-unknown-elf")
    tools_dir.mkdir(parents=True, exist_ok=True)
    for tool in Path(gcc).parent.glob("riscv64-unknown-elf-*"):
        link = tools_dir / tool.name
        if tool.name != "riscv64-unknown-elf-gcc" and not link.exists():
            link.symlink_to(tool)
    wrapper = tools_dir / "riscv64-unknown-elf-gcc"
    text = RISCV_WRAPPER.replace("@GCC@", gcc)
    if not wrapper.is_file() or wrapper.read_text() != text:
        wrapper.write_text(text)
        wrapper.chmod(0o755)
    return str(tools_dir / "riscv64-unknown-elf-")


def zephyr_build(app: Path, target: dict, out: Path, *args: str, base: Path,
                 cache_dir: Path | None = None, env: dict | None = None) -> Path:
    """cmake (when ``out`` has no build with the same arguments yet) + ninja of ``app`` for
    ``target``'s Zephyr board. A folder built before is reused: ninja reconfigures when the
    app's CMakeLists.txt, prj.conf or overlay changed and recompiles only what changed.
    Returns ``out/zephyr``; a failed step is an error with the end of its output. ``env``:
    more environment variables for cmake and ninja."""
    env_vars, toolchain_args = toolchain(target, out.parent / "edgec-tools")
    cmake = ["cmake", "-G", "Ninja", "-S", str(app), "-B", str(out),
             f"-DBOARD={target['zephyr_board']}", f"-DBUILD_VERSION={ZEPHYR_VERSION}",
             f"-DZEPHYR_MODULES={';'.join(zephyr_modules(base))}", *toolchain_args, *args]
    if cache_dir is not None:
        cmake.append(f"-DUSER_CACHE_DIR={cache_dir}")
    env = {**os.environ, **(env or {}), "ZEPHYR_BASE": str(base), **env_vars}
    stamp = out / "edgec-cmake-args"
    # the tree is part of the configuration: a folder configured against another one is
    # configured again (its cached paths would point into the other tree)
    stamp_text = "\n".join([*cmake, f"ZEPHYR_BASE={base.resolve()}"])
    fresh = not (out / "build.ninja").is_file() or not stamp.is_file() or \
        stamp.read_text() != stamp_text
    for cmd in ([cmake] if fresh else []) + [["ninja", "-C", str(out)]]:
        try:
            done = subprocess.run(cmd, env=env, capture_output=True, text=True)
        except FileNotFoundError as exc:
            raise EdgecError(f"cannot run {cmd[0]}: not found",
                             "install cmake and ninja-build") from exc
        if done.returncode != 0:
            tail = (done.stdout[-1500:] + done.stderr[-1500:]).strip().splitlines()
            last = next((line for line in reversed(tail) if "error" in line.lower()),
                        tail[-1] if tail else "")
            raise EdgecError(f"the Zephyr build for {target['zephyr_board']} failed "
                             f"({cmd[0]}): {last.strip()}",
                             f"see the build folder {out}")
    out.mkdir(parents=True, exist_ok=True)
    stamp.write_text(stamp_text)
    return out / "zephyr"


def run_command(target: dict, zephyr_dir: Path) -> list[str]:
    """The command that runs a built image of an emulated board to its end (a bounded
    replay ends the program by itself)."""
    if target["emulator"] == ["native"]:
        return [str(zephyr_dir / "zephyr.exe"), "-no-rt"]
    if not target["emulator"]:
        raise EdgecError(f"target {target['name']} is hardware: it has no emulator to run the "
                         "Zephyr application in", "use native_sim, qemu_cortex_m3, "
                         "mps2_an386 or qemu_riscv32")
    return [*target["emulator"], "-kernel", str(zephyr_dir / "zephyr.elf")]
