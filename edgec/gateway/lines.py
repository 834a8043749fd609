"""Parse the result lines the firmware prints (docs/GATEWAY.md, format version 1).

Version 1 knows three line kinds; anything else is garbage, counted and ignored by the caller:

- ``EDGEC,<index>,<label>,<score permille>,<cycles>``: one inference result (the UART/log
  action of zephyr_app/src/app.c.j2). ``EDGEC/1,...`` is the same line with its version spelled
  out; ``EDGEC/<n>`` for another n is refused as an unsupported version.
- ``inference: status <s>, label <index> (<label>), <cycles> cycles, <us> us``: the line of the
  default replay app (zephyr_app/src/main.c.j2); it carries no score.
- ``EDGEC DONE``: a bounded replay has ended.

Text before the tag is ignored, so lines that went through Zephyr's log subsystem
(``[00:00:01.000,000] <inf> app: EDGEC,...``) parse as well. Nothing here raises on bad input.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

FORMAT_VERSION = 1
MAX_LINE = 512  # bytes; a longer line is garbage (a node printing without newlines)

_RESULT = re.compile(r"EDGEC(?:/(?P<version>\d+))?,(?P<index>-?\d+),(?P<label>[^,]*),"
                     r"(?P<permille>-?\d+),(?P<cycles>\d+)\s*$")
_VERSIONED = re.compile(r"EDGEC/(?P<version>\d+),")
_INFERENCE = re.compile(r"inference: status (?P<status>-?\d+), label (?P<index>-?\d+) "
                        r"\((?P<label>[^)]*)\), (?P<cycles>\d+) cycles, (?P<us>\d+) us\s*$")
_DONE = re.compile(r"(?:^|\s)EDGEC DONE\s*$")


@dataclass(frozen=True)
class Result:
    """One parsed line. ``kind`` is "result", "done" or "error" (a failed inference)."""

    kind: str
    index: int = -1
    label: str = ""
    score: float | None = None  # 0..1, None when the line carries none
    cycles: int | None = None
    status: int = 0


@dataclass(frozen=True)
class Garbage:
    """A line that is not in the format; ``reason`` says why."""

    reason: str


def parse_line(text: str) -> Result | Garbage:
    """Parse one line (without its newline). Never raises."""
    if len(text.encode("utf-8", "replace")) > MAX_LINE:
        return Garbage(f"longer than {MAX_LINE} bytes")
    if "\ufffd" in text or "\x00" in text:
        return Garbage("not text")
    if _DONE.search(text):
        return Result("done")
    match = _RESULT.search(text)
    if match:
        version = int(match["version"] or FORMAT_VERSION)
        if version != FORMAT_VERSION:
            return Garbage(f"unsupported format version {version}")
        permille = int(match["permille"])
        if not 0 <= permille <= 1000:
            return Garbage(f"score {permille} permille is outside 0..1000")
        label = match["label"].strip() or match["index"]
        return Result("result", int(match["index"]), label, permille / 1000.0,
                      int(match["cycles"]))
    versioned = _VERSIONED.search(text)
    if versioned and int(versioned["version"]) != FORMAT_VERSION:
        return Garbage(f"unsupported format version {versioned['version']}")
    match = _INFERENCE.search(text)
    if match:
        status = int(match["status"])
        return Result("result" if status == 0 else "error", int(match["index"]),
                      match["label"] or str(match["index"]), None, int(match["cycles"]), status)
    return Garbage("no EDGEC result")


def format_line(index: int, label: str, score: float, cycles: int = 0) -> str:
    """The version-1 result line, as the firmware prints it (for simulators and tests)."""
    return f"EDGEC,{index},{label},{int(score * 1000.0 + 0.5)},{cycles}"
