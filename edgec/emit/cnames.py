"""C identifiers and comments: validating the user's prefix, keeping model text inert."""

from __future__ import annotations

import re

from edgec.cdefs import C_KEYWORDS
from edgec.errors import EdgecError


_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def check_identifier(name: str) -> str:
    """Return ``name`` if it can prefix every generated C symbol; raise ``EdgecError`` if not.

    Besides C's own rules, names starting with an underscore are refused: those are reserved
    for the implementation at file scope.
    """
    if not _IDENTIFIER.fullmatch(name) or name.startswith("_"):
        raise EdgecError(f"'{name}' is not a valid C identifier for the model name",
                         "use letters, digits and underscores, starting with a letter "
                         "(--name)")
    if name in C_KEYWORDS:
        raise EdgecError(f"'{name}' is a C keyword and cannot name the model",
                         "pick another --name")
    return name


def identifier_from_stem(stem: str) -> str:
    """A C identifier made from a file stem: other characters become ``_``, a leading digit
    gets an ``m`` in front. The result is still checked (a keyword stem is refused)."""
    name = re.sub(r"[^A-Za-z0-9_]", "_", stem).strip("_") or "model"
    if name[0].isdigit():
        name = "m" + name
    return check_identifier(name)


def c_comment_text(text: str, limit: int = 160) -> str:
    """``text`` made safe inside ``/* ... */``: ASCII, one line, no comment end, no
    trigraphs, shortened to ``limit`` characters."""
    text = text.encode("ascii", "replace").decode("ascii")
    text = " ".join(text.split())
    text = re.sub(r"\?(?=\?)", "? ", text.replace("*/", "* /").replace("/*", "/ *"))
    return text if len(text) <= limit else text[: limit - 3] + "..."
