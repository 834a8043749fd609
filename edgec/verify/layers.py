"""``edgec verify --layers``: every intermediate tensor of the generated C against the
reference interpreter, to name the first node whose output differs.

The generated ``NAME_run`` calls ``NAME_AFTER_STEP(step)`` after each step; compiled with
``-DNAME_OBSERVE`` that is ``NAME_observe(step, arena)``, which the verification harnesses
(host and Cortex-M) define to copy each output of that step's node out of the arena, right
after the kernel wrote it (later steps may reuse the bytes). ``layer_table`` says which bytes;
``first_layer_difference`` compares them with ``interpret(graph, keep=True)`` step by step,
with the criteria of ``edgec.verify.compare`` (integers bit for bit, floats within
``FLOAT_RTOL`` of the tensor's scale).

The reference is the graph that was compiled (after the passes); its outputs are also compared
with the model as loaded, as every ``verify`` does.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from edgec.emit.cdata import c_type
from edgec.errors import printable
from edgec.ir import Graph, interpret
from edgec.verify.compare import FLOAT_RTOL, first_bad_element


@dataclass
class LayerDifference:
    """The first node whose output differs: where and by how much."""

    step: int
    node: str
    op: str
    tensor: str
    sample: int
    index: tuple[int, ...]
    flat: int
    expected: float
    actual: float
    note: str = ""

    def message(self) -> str:
        return (f"first difference at node {self.step} '{printable(self.node)}' ({self.op}), "
                f"output '{printable(self.tensor)}' on input {self.sample}, index "
                f"{self.index} (flat {self.flat}): reference {self.expected}, C {self.actual}"
                f"{self.note}")


@dataclass
class LayerReport:
    """The outcome of ``--layers``: the first difference, or None when every layer agrees."""

    layers: int  # tensors compared per sample
    samples: int
    difference: LayerDifference | None

    def summary(self) -> str:
        if self.difference is None:
            return (f"layers: all {self.layers} intermediate tensors equal the reference on "
                    f"{self.samples} input{'s' if self.samples != 1 else ''} (integers bit for "
                    f"bit, floats within {FLOAT_RTOL:g})")
        return "layers: " + self.difference.message()


def layer_table(graph: Graph, plan) -> list[dict]:
    """Per step, each output of its node that lives in the arena: its offset and size, in
    the order the harness writes them."""
    entries = []
    for step, node in enumerate(graph.nodes):
        for name in node.outputs:
            if not name or name not in plan.offsets or graph.tensors[name].is_const:
                continue
            t = graph.tensors[name]
            entries.append({"step": step, "tensor": name, "at": plan.offsets[name],
                            "nbytes": t.nbytes, "dtype": t.dtype, "shape": t.shape,
                            "ctype": c_type(t.dtype)})
    return entries


def unpack_layers(blob: bytes, table: list[dict], count: int) -> list[dict[str, np.ndarray]]:
    """Per sample, the tensors of ``table`` from the harness's concatenated dump."""
    size = sum(e["nbytes"] for e in table)
    if len(blob) != size * count:
        raise ValueError(f"the layer dump holds {len(blob)} bytes, expected {size * count}")
    samples, at = [], 0
    for _ in range(count):
        values = {}
        for e in table:
            values[e["tensor"]] = np.frombuffer(blob, e["dtype"], int(np.prod(e["shape"])),
                                                at).reshape(e["shape"])
            at += e["nbytes"]
        samples.append(values)
    return samples


def _floor(graph: Graph, step: int, values: dict[str, np.ndarray]) -> float:
    """The largest magnitude among the float inputs of node ``step`` (``compare``'s floor)."""
    ins = [values[i] for i in graph.nodes[step].inputs if i and i in values]
    floor = max((float(np.max(np.abs(v), initial=0.0)) for v in ins if v.dtype.kind == "f"),
                default=0.0)
    return floor if np.isfinite(floor) else 0.0


def first_layer_difference(graph: Graph, table: list[dict], samples: list[list[np.ndarray]],
                           actual: list[dict[str, np.ndarray]]) -> LayerReport:
    """Compare the dumped tensors ``actual`` (per sample) with the reference run of
    ``graph`` on ``samples`` (one stream: state carries, as in the C); the difference at the
    earliest step over all samples wins."""
    best: LayerDifference | None = None
    state: dict = {}  # a stateful model's C keeps its state from sample to sample
    for k, (sample, got) in enumerate(zip(samples, actual)):
        values = interpret(graph, sample, keep=True, state=state)
        for e in table:
            if best is not None and e["step"] >= best.step:
                break
            expected, c_value = values[e["tensor"]], got[e["tensor"]]
            bad = first_bad_element(expected, c_value, _floor(graph, e["step"], values))
            if bad is None:
                continue
            flat, note = bad
            node = graph.nodes[e["step"]]
            best = LayerDifference(
                e["step"], node.name, node.op, e["tensor"], k,
                tuple(int(i) for i in np.unravel_index(flat, expected.shape)), flat,
                expected.reshape(-1)[flat].item(), c_value.reshape(-1)[flat].item(), note)
            break
    return LayerReport(len(table), len(samples), best)
