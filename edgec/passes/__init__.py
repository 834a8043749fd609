"""Graph -> Graph rewrites. Each pass returns a new graph and never mutates its input.

``PIPELINE`` is the order passes run in, read top to bottom like a recipe.
"""

from __future__ import annotations

from typing import Callable

from edgec.errors import EdgecError
from edgec.ir.graph import Graph
from edgec.passes.dilated_conv import fold_dilated_conv

Pass = Callable[[Graph], Graph]

PIPELINE: list[tuple[str, Pass]] = [
    # SPACE_TO_BATCH_ND -> conv -> BATCH_TO_SPACE_ND becomes one convolution with dilations.
    ("dilated_conv", fold_dilated_conv),
]


def pass_names() -> list[str]:
    """The names of the passes in ``PIPELINE``, in order."""
    return [name for name, _ in PIPELINE]


def run_passes(graph: Graph, names: list[str] | None = None) -> Graph:
    """Run the passes of ``PIPELINE`` (all, or only those in ``names``, in pipeline order)."""
    unknown = sorted(set(names or ()) - set(pass_names()))
    if unknown:
        raise EdgecError(f"unknown pass(es) {unknown}", f"known passes: {', '.join(pass_names())}")
    for name, run in PIPELINE:
        if names is None or name in names:
            graph = run(graph)
    return graph
