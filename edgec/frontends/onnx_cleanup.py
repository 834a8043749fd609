"""Tidying the freshly imported graph: layout changes that cancel or do nothing go away.

The converters materialize layouts locally (a RESHAPE here, a TRANSPOSE there); seen whole,
chains of RESHAPEs collapse into one, chains of TRANSPOSEs compose, and a RESHAPE to the same
shape, an identity TRANSPOSE or a QUANTIZE to the same scale is no op at all. This is the
``identity`` pass (``edgec.passes.identity``) limited to those three ops, so that the import
keeps every other op the model has; the pipeline's own pass removes the rest later.
"""

from __future__ import annotations

from edgec.ir import Graph
from edgec.passes.identity import simplify_in_place

_LAYOUT_OPS = frozenset({"RESHAPE", "TRANSPOSE", "QUANTIZE"})


def simplify(graph: Graph) -> Graph:
    """Collapse RESHAPE/TRANSPOSE chains, drop no-op ones and dead nodes, in place."""
    return simplify_in_place(graph, _LAYOUT_OPS)
