"""Writing an IR graph back to a file: ``.tflite`` through the ``tflite`` schema builders.

``to_tflite_bytes(graph)`` returns the flatbuffer bytes; ``save_tflite(graph, path)`` writes
them. Every IR op maps back to its TFLite builtin (see ``edgec.export.ops``); int4 constants
are packed as ``edgec.ir.int4`` documents.
"""

from __future__ import annotations

from pathlib import Path

from edgec.errors import EdgecError
from edgec.export.writer import export_graph
from edgec.ir.check import check_graph
from edgec.ir.graph import Graph


def to_tflite_bytes(graph: Graph) -> bytes:
    """The ``.tflite`` bytes of a checked ``graph``."""
    return export_graph(check_graph(graph))


def save_tflite(graph: Graph, path) -> int:
    """Write ``graph`` to ``path`` as a ``.tflite`` file; return the number of bytes."""
    data = to_tflite_bytes(graph)
    try:
        Path(path).write_bytes(data)
    except OSError as exc:
        raise EdgecError(f"cannot write '{path}': {exc.strerror}",
                         "check that the directory exists and is writable") from exc
    return len(data)


__all__ = ["save_tflite", "to_tflite_bytes"]
