"""The marked sections of docs/BENCHMARKS.md: each benchmark command owns the text between its
``<!-- NAME:begin -->`` and ``<!-- NAME:end -->`` markers and leaves the rest alone."""

from __future__ import annotations

from pathlib import Path

REPORT = Path(__file__).resolve().parents[1] / "docs" / "BENCHMARKS.md"


def write_section(section: str, begin: str, end: str, report: Path = REPORT) -> None:
    """Replace what lies between ``begin`` and ``end`` (markers included) in ``report`` with
    ``section``, which starts with ``begin`` and ends with ``end``; append it when absent."""
    old = report.read_text() if report.exists() else "# Benchmarks\n"
    if begin in old and end in old:
        new = old[:old.index(begin)] + section + old[old.index(end) + len(end):]
    else:
        new = old.rstrip("\n") + "\n\n" + section + "\n"
    report.write_text(new)
