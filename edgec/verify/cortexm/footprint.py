"""Flash and static RAM of the model, read from the GNU ld map of the verification firmware.

Every input section the linker placed is attributed to its object file; sections from the
harness's own objects are left out, everything else (the model object and the library
routines it pulls in) is the model's. Alignment padding (``*fill*``) is not counted.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

# Output section -> the footprint field it adds to.
KIND = {".vectors": "text", ".text": "text", ".ARM.exidx": "text", ".rodata": "rodata",
        ".data": "data", ".bss": "bss"}
_OUTPUT = re.compile(r"^(\.\S+)")
_INPUT = re.compile(r"^ (\S+)?\s+0x([0-9a-fA-F]+)\s+0x([0-9a-fA-F]+)\s+(\S.*)$")
_NAME_ONLY = re.compile(r"^ (\S+)$")


@dataclass
class Footprint:
    """Bytes of the model's code, constants, initialised and zeroed data."""

    text: int = 0
    rodata: int = 0
    data: int = 0
    bss: int = 0

    @property
    def flash_bytes(self) -> int:
        """Code, constants and the initial values of .data (copied to RAM at reset)."""
        return self.text + self.rodata + self.data

    @property
    def static_ram_bytes(self) -> int:
        return self.data + self.bss


def input_sections(map_text: str):
    """``(output section, input section, size, object file)`` for each placed input section."""
    lines = map_text.split("Linker script and memory map", 1)[-1].splitlines()
    output, pending = None, None
    for line in lines:
        head = _OUTPUT.match(line)
        if head:
            output, pending = head.group(1), None
            continue
        named = _NAME_ONLY.match(line)
        if named and not line.startswith("  "):
            pending = named.group(1)
            continue
        entry = _INPUT.match(line)
        if entry and output in KIND:
            name = entry.group(1) or pending
            if name is not None and name != "*fill*":
                yield output, name, int(entry.group(3), 16), entry.group(4).strip()
        pending = None


def model_footprint(map_file: Path, harness_objects: list[str]) -> Footprint:
    """The footprint of everything in ``map_file`` not from ``harness_objects`` (file names)."""
    footprint = Footprint()
    for output, _, size, source in input_sections(map_file.read_text()):
        if Path(source).name not in harness_objects:
            setattr(footprint, KIND[output], getattr(footprint, KIND[output]) + size)
    return footprint


def firmware_sizes(elf: Path, tool: str = "arm-none-eabi-size") -> tuple[int, int, int]:
    """``(text, data, bss)`` of the whole image (harness included) by ``tool`` (binutils
    ``size``), Berkeley format: text counts code and constants, data the initialised
    variables."""
    listing = subprocess.run([tool, "-B", str(elf)], capture_output=True,
                             text=True, check=True).stdout.splitlines()
    text, data, bss = (int(v) for v in listing[1].split()[:3])
    return text, data, bss
