"""The one exception type library code raises for problems a user can fix."""

from __future__ import annotations

import re

# A user error is one line: the message at most MAX_MESSAGE characters; the hint may list
# the valid keys (supported operators...), so it gets more room.
MAX_MESSAGE = 200
MAX_HINT = 600
# A single word (a fused TFLite tensor name, a path) longer than this is shortened.
_MAX_WORD = 64
_LONG_WORD = re.compile(r"\S{%d,}" % (_MAX_WORD + 1))


def printable(text: str) -> str:
    """``text`` with every non-printable character escaped (``\\x1b``, ``\\n``...), so that
    bytes taken from a model file cannot reach the terminal raw."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii")
                   for c in text)


def _elide(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    keep = limit - 3
    return text[:keep - keep // 3] + "..." + text[len(text) - keep // 3:]


def shape_line(text: str, limit: int) -> str:
    """One printable line of at most ``limit`` characters: long words shortened in the middle,
    then the whole line if still too long."""
    text = printable(str(text))
    text = _LONG_WORD.sub(lambda m: _elide(m.group(0), _MAX_WORD), text)
    if len(text) > limit:
        text = text[:limit - 3] + "..."
    return text


class EdgecError(Exception):
    """A user-facing error: a one-line message plus a hint on what to try.

    The CLI prints ``edgec: error: <message> (hint: <hint>)`` and exits 2. Both parts are
    shaped to one printable line (``shape_line``).
    """

    def __init__(self, message: str, hint: str | None = None):
        # The unshortened text, for code that looks into a tool's output and for ``-v``.
        self.full_message = printable(str(message))
        message = shape_line(message, MAX_MESSAGE)
        hint = shape_line(hint, MAX_HINT) if hint else hint
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        if self.hint:
            return f"{self.message} (hint: {self.hint})"
        return self.message
