"""edgec's graph IR, its op registry, checker and reference interpreter."""

from edgec.ir.check import check_graph
from edgec.ir.graph import DTYPES, Graph, Node, QuantParams, Tensor
from edgec.ir.interpret import interpret
from edgec.ir.registry import define_op, get_op, kernel, registered_ops

# Last: every op module registers itself with the registry above when imported.
import edgec.ir.ops  # noqa: F401

__all__ = ["DTYPES", "Graph", "Node", "QuantParams", "Tensor", "check_graph", "define_op",
           "get_op", "interpret", "kernel", "registered_ops"]
