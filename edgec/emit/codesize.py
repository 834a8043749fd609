"""Estimating the code size of generated C by compiling it with the target's compiler."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path


def text_bytes(c_file: Path, compiler: str, flags: list[str]) -> int | None:
    """Bytes of ``.text`` in the object ``compiler -Os -c c_file`` produces, or None when the
    compiler or binutils' ``size`` is missing or compilation fails (the report then says the
    code size was not estimated)."""
    size_tool = shutil.which("size")
    if shutil.which(compiler) is None or size_tool is None:
        return None
    with tempfile.TemporaryDirectory(prefix="edgec-size-") as tmp:
        obj = Path(tmp) / "model.o"
        compile_cmd = [compiler, *flags, "-Os", "-c", str(c_file), "-o", str(obj)]
        if subprocess.run(compile_cmd, capture_output=True).returncode != 0:
            return None
        listing = subprocess.run([size_tool, "-A", "-d", str(obj)], capture_output=True,
                                 text=True)
    if listing.returncode != 0:
        return None
    return sum(int(fields[1]) for fields in (line.split() for line in listing.stdout.splitlines())
               if len(fields) >= 2 and fields[1].isdigit()
               and (fields[0] == ".text" or fields[0].startswith(".text.")))
