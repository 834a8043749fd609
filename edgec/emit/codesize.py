"""Estimating the code size and the stack of generated C by compiling it with the target's
compiler (one compile gives both: ``edgec.emit.stackuse`` reads GCC's call graph)."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from edgec.emit.stackuse import STACK_FLAGS, StackUse, stack_use


def text_bytes(c_file: Path, compiler: str, flags: list[str]) -> int | None:
    """Bytes of ``.text`` in the object ``compiler -Os -c c_file`` produces, or None when the
    compiler or binutils' ``size`` is missing or compilation fails (the report then says the
    code size was not estimated)."""
    return compile_facts(c_file, compiler, flags)[0]


def compile_facts(c_file: Path, compiler: str, flags: list[str], entry: str | None = None,
                  level: str = "-Os") -> tuple[int | None, StackUse | None]:
    """``text_bytes`` and, with ``entry`` (a function name) and a compiler that writes call
    graphs (GCC), the worst stack chain from ``entry`` at the same flags; ``level`` is the
    optimization flag (``-Os``: what firmware builds use)."""
    size_tool = shutil.which("size")
    if shutil.which(compiler) is None or size_tool is None:
        return None, None
    with tempfile.TemporaryDirectory(prefix="edgec-size-") as tmp:
        obj = Path(tmp) / "model.o"
        compile_cmd = [compiler, *flags, level, "-c", str(c_file), "-o", str(obj)]
        stack = None
        if entry is not None and subprocess.run([*compile_cmd, *STACK_FLAGS],
                                                capture_output=True).returncode == 0:
            stack = stack_use(obj.with_suffix(".ci"), entry,
                              f"{compiler} {level} -fstack-usage -fcallgraph-info=su: worst chain "
                              f"from {entry}")
        elif subprocess.run(compile_cmd, capture_output=True).returncode != 0:
            return None, None
        listing = subprocess.run([size_tool, "-A", "-d", str(obj)], capture_output=True,
                                 text=True)
    if listing.returncode != 0:
        return None, stack
    return sum(int(fields[1]) for fields in (line.split() for line in listing.stdout.splitlines())
               if len(fields) >= 2 and fields[1].isdigit()
               and (fields[0] == ".text" or fields[0].startswith(".text."))), stack
