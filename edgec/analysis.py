"""Static facts about a model: per-node shapes and MACs, parameter bytes, activation memory.

The **activation lower bound** (op-by-op bound) is the smallest RAM any arena plan can reach
when the nodes run one after another in ``graph.nodes`` order without aliasing or in-place
reuse; in-place and trailing writes (``edgec.plan``) go below it. At step ``k``
(node ``k`` running) a non-constant tensor is *live* when it was produced at or before step
``k`` and is still read at or after it:

- a graph input is live from step 0 until its last reader;
- a produced tensor is live from its producer's step until its last reader (a tensor nobody
  reads is live during its producer's step only);
- a graph output is live from its production to the last step.

The bound is the peak, over the steps, of the summed bytes of live tensors. So the running
node's inputs and outputs always count, plus everything still needed later. Every tensor
counts at its own size: a RESHAPE output is counted apart from its input even though the memory
planner may alias the two. On the MLPerf Tiny models in ``../shared/models`` the peak never
falls on a RESHAPE step, so counting or aliasing give the same published numbers (KWS 16,000 B,
IC 49,152 B, AD 768 B).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from edgec.ir.graph import Graph, QuantParams, Tensor
from edgec.ir.registry import get_op


@dataclass
class TensorInfo:
    """What a report says about one tensor."""

    name: str
    shape: list[int]
    dtype: str
    nbytes: int
    const: bool
    quant: dict | None = None

    @property
    def type_str(self) -> str:
        """``int8[1,8,8,1]``: dtype and shape in one token."""
        return f"{self.dtype}[{','.join(str(d) for d in self.shape)}]"


@dataclass
class NodeRow:
    """One node of the execution order: its op, tensors, MACs and live bytes while it runs."""

    index: int
    op: str
    name: str
    inputs: list[TensorInfo]
    outputs: list[TensorInfo]
    macs: int
    live_bytes: int


@dataclass
class ModelReport:
    """The result of ``analyze``; ``to_dict`` gives the JSON form."""

    name: str
    nodes: list[NodeRow]
    inputs: list[TensorInfo]
    outputs: list[TensorInfo]
    total_macs: int
    param_bytes: int
    activation_lower_bound: int
    peak_node: str | None = None
    op_counts: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)


def _quant_dict(q: QuantParams | None) -> dict | None:
    if q is None:
        return None
    return {"scale": [float(s) for s in q.scale],
            "zero_point": [int(z) for z in q.zero_point],
            "axis": q.axis}


def tensor_info(t: Tensor) -> TensorInfo:
    """The report's view of ``t``."""
    return TensorInfo(t.name, list(t.shape), t.dtype, t.nbytes, t.is_const, _quant_dict(t.quant))


def live_ranges(graph: Graph) -> dict[str, tuple[int, int]]:
    """First and last step (node index) at which each non-constant tensor is live."""
    last_step = len(graph.nodes) - 1
    first = {name: 0 for name in graph.inputs}
    last = {name: -1 for name in graph.inputs}
    for k, node in enumerate(graph.nodes):
        for name in node.inputs:
            if name and not graph.tensors[name].is_const:
                last[name] = k
        for name in node.outputs:
            first[name] = k
            last[name] = k
    for name in graph.outputs:
        last[name] = last_step
    return {name: (first[name], last[name]) for name in first}


def live_bytes_per_step(graph: Graph) -> list[int]:
    """Bytes of live non-constant tensors at each step (see the module docstring)."""
    steps = [0] * len(graph.nodes)
    for name, (first, last) in live_ranges(graph).items():
        for k in range(first, last + 1):
            steps[k] += graph.tensors[name].nbytes
    return steps


def activation_lower_bound(graph: Graph) -> int:
    """The peak of ``live_bytes_per_step``; for a graph without nodes, its I/O bytes."""
    steps = live_bytes_per_step(graph)
    if steps:
        return max(steps)
    return sum(graph.tensors[n].nbytes for n in set(graph.inputs) | set(graph.outputs))


def parameter_bytes(graph: Graph) -> int:
    """Bytes of the constant tensors the nodes read (each tensor once)."""
    used = {name for node in graph.nodes for name in node.inputs if name}
    return sum(graph.tensors[n].nbytes for n in used if graph.tensors[n].is_const)


def node_macs(graph: Graph, index: int) -> int:
    """Multiply-accumulates of ``graph.nodes[index]`` by its op's MAC formula."""
    node = graph.nodes[index]
    return int(get_op(node.op).macs(node, graph.input_tensors(node), graph.output_tensors(node)))


def analyze(graph: Graph) -> ModelReport:
    """Per-node rows, total MACs, parameter bytes and the activation lower bound of ``graph``."""
    live = live_bytes_per_step(graph)
    rows = []
    for k, node in enumerate(graph.nodes):
        ins = [tensor_info(graph.tensors[i]) for i in node.inputs if i]
        outs = [tensor_info(t) for t in graph.output_tensors(node)]
        rows.append(NodeRow(k, node.op, node.name, ins, outs, node_macs(graph, k), live[k]))
    counts: dict[str, int] = {}
    for node in graph.nodes:
        counts[node.op] = counts.get(node.op, 0) + 1
    peak = max(rows, key=lambda r: r.live_bytes).name if rows else None
    return ModelReport(
        name=graph.name,
        nodes=rows,
        inputs=[tensor_info(graph.tensors[n]) for n in graph.inputs],
        outputs=[tensor_info(graph.tensors[n]) for n in graph.outputs],
        total_macs=sum(r.macs for r in rows),
        param_bytes=parameter_bytes(graph),
        activation_lower_bound=activation_lower_bound(graph),
        peak_node=peak,
        op_counts=counts,
    )


def _quant_str(info: TensorInfo) -> str:
    q = info.quant
    if q is None:
        return "not quantized"
    if len(q["scale"]) == 1:
        return f"scale={q['scale'][0]:.9g} zero_point={q['zero_point'][0]}"
    return f"per-axis quantization on axis {q['axis']} ({len(q['scale'])} scales)"


def _table(header: list[str], rows: list[list[str]], right: set[int]) -> list[str]:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = []
    for r in [header, *rows]:
        cells = [c.rjust(w) if i in right else c.ljust(w)
                 for i, (c, w) in enumerate(zip(r, widths))]
        lines.append("  ".join(cells).rstrip())
    return lines


def format_report(report: ModelReport) -> str:
    """The report as text: an op table, the graph's inputs and outputs, then the totals."""
    header = ["#", "op", "node", "inputs", "weights", "outputs", "MACs", "live B"]
    rows = [[str(r.index), r.op, r.name,
             " ".join(i.type_str for i in r.inputs if not i.const),
             " ".join(i.type_str for i in r.inputs if i.const),
             " ".join(o.type_str for o in r.outputs),
             f"{r.macs:,}", f"{r.live_bytes:,}"] for r in report.nodes]
    lines = [f"model {report.name}: {len(report.nodes)} nodes", ""]
    lines += _table(header, rows, right={0, 6, 7})
    for title, infos in (("inputs", report.inputs), ("outputs", report.outputs)):
        lines += ["", f"{title}:"]
        lines += [f"  {i.name}: {i.type_str} {_quant_str(i)}" for i in infos]
    lines += ["",
              f"MACs: {report.total_macs:,}",
              f"parameter bytes: {report.param_bytes:,}",
              f"activation lower bound: {report.activation_lower_bound:,} B"
              + (f" (peak at node '{report.peak_node}')" if report.peak_node is not None else "")]
    return "\n".join(lines)
