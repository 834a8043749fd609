"""The second stage: a model compiled by edgec's frontends and run by the reference interpreter
on the gateway, with the nodes' latest results as its input (docs/GATEWAY.md, "Second stage").

The input is one vector of ``len(nodes) * len(labels)`` values: for node i and label j, the
node's score when its latest result within ``window`` seconds is label j (1.0 when the line
carries no score), else 0. A float32 input takes it as is; an int8/uint8 input is quantized
with the input's scale and zero point. The decision is the argmax of the first output, named
by ``outputs`` when given.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from edgec.errors import EdgecError

_KEYS = {"path", "nodes", "labels", "outputs", "window", "name"}


@dataclass
class SecondStage:
    graph: object
    nodes: list[str]
    labels: list[str]
    outputs: list[str] | None
    window: float = 10.0
    name: str = "model"
    state: object = None

    def features(self, latest: dict[str, tuple[float, str, float | None]]) -> np.ndarray:
        x = np.zeros((len(self.nodes), len(self.labels)), np.float32)
        for i, node in enumerate(self.nodes):
            if node in latest:
                _, label, score = latest[node]
                if label in self.labels:
                    x[i, self.labels.index(label)] = 1.0 if score is None else score
        return x.reshape(-1)

    def evaluate(self, latest: dict) -> tuple[str, float]:
        """The decision label and its output value for the nodes' latest results."""
        from edgec.ir import interpret

        tensor = self.graph.tensors[self.graph.inputs[0]]
        x = self.features(latest).reshape(tensor.shape)
        if tensor.dtype in ("int8", "uint8"):
            info = np.iinfo(tensor.dtype)
            q = np.round(x / tensor.quant.s) + tensor.quant.zp
            x = np.clip(q, info.min, info.max).astype(tensor.dtype)
        y = next(iter(interpret(self.graph, {self.graph.inputs[0]: x}).values())).reshape(-1)
        best = int(np.argmax(y))
        out = self.graph.tensors[self.graph.outputs[0]]
        value = float(y[best])
        if out.quant is not None:
            value = float(out.quant.s * (y[best] - out.quant.zp))
        label = self.outputs[best] if self.outputs and best < len(self.outputs) else str(best)
        return label, value


def load_stage2(section: dict, base=None) -> SecondStage:
    """A second stage from the rules file's ``model`` section (paths relative to ``base``)."""
    from pathlib import Path

    from edgec.frontends import load_model

    if not isinstance(section, dict) or "path" not in section:
        raise EdgecError("the rules file's model section needs path, nodes and labels",
                         "see docs/GATEWAY.md, 'Second stage'")
    unknown = sorted(set(section) - _KEYS)
    if unknown:
        raise EdgecError(f"model section: unknown keys {unknown}", f"valid keys: {sorted(_KEYS)}")
    nodes = [str(n) for n in section.get("nodes") or []]
    labels = [str(n) for n in section.get("labels") or []]
    if not nodes or not labels:
        raise EdgecError("the model section lists no nodes or no labels",
                         "name the nodes (input order) and the node labels")
    path = Path(section["path"])
    if base is not None and not path.is_absolute():
        path = Path(base) / path
    graph = load_model(path)
    tensor = graph.tensors[graph.inputs[0]]
    size = int(np.prod(tensor.shape))
    if size != len(nodes) * len(labels):
        raise EdgecError(f"second-stage model '{path}' takes {size} values, {len(nodes)} nodes x "
                         f"{len(labels)} labels make {len(nodes) * len(labels)}",
                         "give the model an input of nodes x labels values")
    if tensor.dtype not in ("float32", "int8", "uint8"):
        raise EdgecError(f"second-stage input dtype {tensor.dtype} is not supported",
                         "use a float32 or int8 input")
    outputs = section.get("outputs")
    return SecondStage(graph, nodes, labels, [str(o) for o in outputs] if outputs else None,
                       float(section.get("window", 10.0)), str(section.get("name", "model")))
