"""What pruning saved: parameters, weight (flash) bytes and MACs per layer, before and after.

A layer is a node with constant inputs (weights, bias, per-channel constants). Pruning and
dead channel removal never add or remove nodes, so layers pair up in execution order.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from edgec.analysis import node_macs, parameter_bytes
from edgec.ir.graph import Graph


@dataclass
class LayerSize:
    """One layer's size: output channels, parameter count, weight bytes and MACs."""

    channels: int
    params: int
    weight_bytes: int
    macs: int


@dataclass
class LayerRow:
    """One layer before and after."""

    name: str
    op: str
    before: LayerSize
    after: LayerSize


@dataclass
class PruneReport:
    """Per-layer rows and whole-model totals (``parameter_bytes`` counts every constant)."""

    layers: list[LayerRow]
    macs_before: int
    macs_after: int
    param_bytes_before: int
    param_bytes_after: int

    def to_dict(self) -> dict:
        return asdict(self)


def _layer_sizes(graph: Graph) -> list[tuple[str, str, LayerSize]]:
    rows = []
    for k, node in enumerate(graph.nodes):
        consts = [graph.tensors[i] for i in node.inputs if i and graph.tensors[i].is_const]
        if consts:
            out = graph.tensors[node.outputs[0]]
            size = LayerSize(out.shape[-1] if out.shape else 1, sum(t.size for t in consts),
                             sum(t.nbytes for t in consts), node_macs(graph, k))
            rows.append((node.name, node.op, size))
    return rows


def prune_report(before: Graph, after: Graph) -> PruneReport:
    """Compare two versions of one model, layer by layer."""
    old, new = _layer_sizes(before), _layer_sizes(after)
    if [(n, op) for n, op, _ in old] != [(n, op) for n, op, _ in new]:
        raise ValueError("the two graphs do not have the same layers")
    layers = [LayerRow(name, op, a, b) for (name, op, a), (_, _, b) in zip(old, new)]
    macs = [sum(node_macs(g, k) for k in range(len(g.nodes))) for g in (before, after)]
    return PruneReport(layers, macs[0], macs[1], parameter_bytes(before), parameter_bytes(after))


def _change(a: int, b: int) -> str:
    return f"{a:,} -> {b:,}" if a != b else f"{a:,}"


def format_prune_report(report: PruneReport) -> str:
    """The report as a table plus totals."""
    header = ["layer", "op", "channels", "params", "weight B", "MACs"]
    rows = [[r.name, r.op, _change(r.before.channels, r.after.channels),
             _change(r.before.params, r.after.params),
             _change(r.before.weight_bytes, r.after.weight_bytes),
             _change(r.before.macs, r.after.macs)] for r in report.layers]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip()
             for row in [header, *rows]]
    lines += ["",
              f"MACs: {_change(report.macs_before, report.macs_after)}",
              f"parameter bytes: {_change(report.param_bytes_before, report.param_bytes_after)}"]
    return "\n".join(lines)
