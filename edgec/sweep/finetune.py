"""The fine-tuning hook of ``edgec sweep --finetune SCRIPT``: a user function called after
pruning and before quantization, so any training loop (numpy, scikit-learn, a framework) can
recover what pruning cost. The contract is framework-neutral: numpy arrays in, numpy arrays
out.

SCRIPT is a ``.py`` file that defines::

    def finetune(model: edgec.sweep.FinetuneModel, data: dict[str, numpy.ndarray])
            -> dict[str, numpy.ndarray]:

``model`` is the pruned float network (see ``FinetuneModel``: its weights by tensor name,
its layers, a forward pass); ``data`` holds the arrays of the training ``.npz`` (``--train``,
default the ``--calibrate`` file), samples on axis 0. It returns the updated weights by tensor
name (any subset, same shapes); the others stay as they are.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from edgec.errors import EdgecError
from edgec.ir import Graph, interpret

FUNCTION = "finetune"
# Ops whose constant operands are the trainable weights (weights, then bias).
LAYER_OPS = ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED")


@dataclass(frozen=True)
class Layer:
    """One trainable layer: its op, its activation input and output, its weight and bias
    tensor names (``bias`` None when it has none). FULLY_CONNECTED weights are [out, in];
    CONV_2D [out, kh, kw, in]; DEPTHWISE_CONV_2D [1, kh, kw, channels]."""

    name: str
    op: str
    input: str
    output: str
    weight: str
    bias: str | None


@dataclass
class FinetuneModel:
    """The pruned float model as the fine-tuning function sees it."""

    graph: Graph = field(repr=False)
    prune: float  # the ratio this model was pruned with (0: not pruned)

    @property
    def inputs(self) -> list[str]:
        return list(self.graph.inputs)

    @property
    def outputs(self) -> list[str]:
        return list(self.graph.outputs)

    @property
    def weights(self) -> dict[str, np.ndarray]:
        """Every float constant by tensor name (copies: change them freely)."""
        return {n: np.array(t.data) for n, t in self.graph.tensors.items()
                if t.is_const and t.dtype == "float32"}

    @property
    def layers(self) -> list[Layer]:
        """The trainable layers in graph order."""
        out = []
        for node in self.graph.nodes:
            if node.op in LAYER_OPS and len(node.inputs) >= 2:
                bias = node.inputs[2] if len(node.inputs) > 2 and node.inputs[2] else None
                out.append(Layer(node.name, node.op, node.inputs[0], node.outputs[0],
                                 node.inputs[1], bias))
        return out

    def run(self, inputs: dict[str, np.ndarray], tensors: list[str] | None = None,
            weights: dict[str, np.ndarray] | None = None) -> dict[str, np.ndarray]:
        """The reference interpreter on a batch: ``inputs`` by input name with samples on axis
        0; returns ``tensors`` (default: the outputs) stacked on axis 0, computed with
        ``weights`` replacing the model's where given."""
        graph = with_weights(self.graph, weights or {})
        names = tensors or self.outputs
        count = len(next(iter(inputs.values())))
        rows = []
        for i in range(count):
            sample = {n: np.asarray(inputs[n][i]).reshape(graph.tensors[n].shape)
                      .astype(graph.tensors[n].dtype) for n in graph.inputs}
            values = interpret(graph, sample, keep=True)
            rows.append([values[n] for n in names])
        return {n: np.stack([r[k] for r in rows]) for k, n in enumerate(names)}


def with_weights(graph: Graph, weights: dict[str, np.ndarray]) -> Graph:
    """A copy of ``graph`` with the float constants in ``weights`` replaced (shapes checked)."""
    result = graph.copy()
    for name, value in weights.items():
        t = result.tensors.get(name)
        if t is None or not t.is_const:
            raise EdgecError(f"the fine-tuning function returned '{name}', which is not a "
                             "weight of the model", "return arrays keyed by the names in "
                             "model.weights")
        value = np.asarray(value)
        if value.shape != t.data.shape:
            raise EdgecError(f"the fine-tuning function returned '{name}' with shape "
                             f"{value.shape}, the weight has {t.data.shape}",
                             "keep each weight's shape (pruning already removed filters)")
        t.data = value.astype(t.data.dtype)
    return result


def load_function(script: str) -> Callable:
    """The ``finetune`` function defined by ``script``."""
    path = Path(script)
    if not path.is_file():
        raise EdgecError(f"fine-tuning script '{script}' does not exist",
                         "give a .py file that defines finetune(model, data)")
    spec = importlib.util.spec_from_file_location(f"edgec_finetune_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as exc:  # noqa: BLE001 - the user's script: report it as theirs
        raise EdgecError(f"fine-tuning script '{script}' failed to load: "
                         f"{type(exc).__name__}: {exc}", "run it with python to see why") from exc
    function = getattr(module, FUNCTION, None)
    if not callable(function):
        raise EdgecError(f"fine-tuning script '{script}' defines no function '{FUNCTION}'",
                         "define finetune(model, data) -> dict of updated weight arrays")
    return function


def finetune(graph: Graph, prune: float, script: str, data: dict[str, np.ndarray]) -> Graph:
    """``graph`` with the weights the user's function returns."""
    function = load_function(script)
    try:
        updated = function(FinetuneModel(graph, prune), data)
    except EdgecError:
        raise
    except Exception as exc:  # noqa: BLE001 - the user's code failed, not edgec
        raise EdgecError(f"the fine-tuning function in '{script}' raised "
                         f"{type(exc).__name__}: {exc}", "fix the script; the other points "
                         "go on") from exc
    if updated is None:
        return graph
    if not isinstance(updated, dict):
        raise EdgecError(f"the fine-tuning function in '{script}' returned a "
                         f"{type(updated).__name__}", "return a dict of arrays by weight name")
    return with_weights(graph, updated)
