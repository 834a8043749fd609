"""Lowering: IR nodes -> C99 kernel functions through TVM (the only package importing tvm,
and only lazily, when a kernel is not in the cache).

Public API: ``lower_graph(graph, options, *, progress)`` (``options``: ``BuildOptions``),
``Kernel``, ``lowering_rule`` (to add an op), ``supported()`` (the ``OP/dtype`` list).
"""

from edgec.lower.driver import lower_graph, node_lowerer
from edgec.lower.kernel import Kernel
from edgec.lower.registry import lowering_rule
from edgec.lower.select import supported

__all__ = ["Kernel", "lower_graph", "node_lowerer", "lowering_rule", "supported"]
