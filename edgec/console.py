"""All CLI output goes through one ``Console``: a verbosity ladder, as in west's ``log`` module.

Results (tables, JSON, arrays) go to stdout through ``out`` whatever the verbosity; messages go to
stderr prefixed with ``edgec:`` so that piping a result never mixes in chatter.
"""

from __future__ import annotations

import sys
import traceback
from typing import TextIO

from edgec.errors import printable, shape_line

QUIET, NORMAL, VERBOSE = 0, 1, 2


def _lines(text: str) -> str:
    return "\n".join(printable(line) for line in str(text).split("\n"))


class Console:
    """Prints results and leveled messages. Streams default to the ``sys`` streams of the
    moment a line is printed, so tests that swap them (pytest's capsys) see everything."""

    def __init__(self, verbosity: int = NORMAL, stdout: TextIO | None = None,
                 stderr: TextIO | None = None):
        self.verbosity = verbosity
        self._stdout = stdout
        self._stderr = stderr

    @property
    def stdout(self) -> TextIO:
        return self._stdout or sys.stdout

    @property
    def stderr(self) -> TextIO:
        return self._stderr or sys.stderr

    @property
    def verbose(self) -> bool:
        return self.verbosity >= VERBOSE

    def out(self, text: str) -> None:
        """A result: always printed, to stdout; control characters (from a model file's
        names) escaped line by line."""
        print(_lines(text), file=self.stdout)

    def dbg(self, message: str) -> None:
        """Detail for whoever debugs: only with ``-v``."""
        if self.verbosity >= VERBOSE:
            print(f"edgec: {_lines(message)}", file=self.stderr)

    def inf(self, message: str) -> None:
        """Progress worth one line in a normal run."""
        if self.verbosity >= NORMAL:
            print(f"edgec: {_lines(message)}", file=self.stderr)

    def wrn(self, message: str) -> None:
        """Something the user should look at; the run goes on."""
        print(f"edgec: warning: {_lines(message)}", file=self.stderr)

    def err(self, message: str, hint: str | None = None) -> None:
        """A user error, in one line."""
        suffix = f" (hint: {hint})" if hint else ""
        line = printable(f"edgec: error: {message}{suffix}")
        print(line, file=self.stderr)

    def internal(self, exc: BaseException) -> None:
        """A bug in edgec, in one line, pointing at ``-v`` for the traceback."""
        text = shape_line(f"{type(exc).__name__}: {exc}".strip(), 300)
        tail = "" if self.verbose else " (run with -v for the traceback)"
        print(f"edgec: internal error: {text}{tail}", file=self.stderr)

    def traceback(self, exc: BaseException) -> None:
        """The traceback of ``exc``, only with ``-v``."""
        if self.verbose:
            traceback.print_exception(exc, file=self.stderr)
