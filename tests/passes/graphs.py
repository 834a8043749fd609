"""Small hand-built IR graphs for the pass tests, and the checks every pass test makes."""

from __future__ import annotations

import numpy as np

import pytest

from edgec.ir import Graph, Node, QuantParams, Tensor, check_graph, get_op, interpret
from tests.shared_models import MODELS_DIR


def q(scale: float, zero_point: int = 0) -> QuantParams:
    """Per-tensor quantization."""
    return QuantParams(np.float32(scale), zero_point)


class GraphMaker:
    """Builds a Graph node by node; output shapes come from the ops' shape inference."""

    def __init__(self):
        self.graph = Graph()

    def input(self, name: str, shape, dtype: str = "float32", quant=None) -> str:
        self.graph.add_tensor(Tensor(name, shape, dtype, None, quant))
        self.graph.inputs.append(name)
        return name

    def const(self, name: str, data, dtype: str = "float32", quant=None) -> str:
        data = np.asarray(data, dtype)
        self.graph.add_tensor(Tensor(name, data.shape, dtype, data, quant))
        return name

    def node(self, op: str, inputs, out: str, quant=None, dtype: str | None = None,
             **attrs) -> str:
        node = Node(op, list(inputs), [out], attrs, name=out)
        ins = self.graph.input_tensors(node)
        (shape,) = get_op(op).infer_shapes(node, ins)
        first = next(t for t in ins if t is not None)
        self.graph.add_tensor(Tensor(out, shape, dtype or first.dtype, None, quant))
        self.graph.nodes.append(node)
        return out

    def done(self, *outputs: str) -> Graph:
        self.graph.outputs = list(outputs)
        return check_graph(self.graph)


def random_inputs(graph: Graph, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    result = {}
    for name in graph.inputs:
        t = graph.tensors[name]
        if t.dtype == "int8":
            result[name] = rng.integers(-128, 128, t.shape).astype(np.int8)
        else:
            result[name] = rng.standard_normal(t.shape).astype(np.float32)
    return result


def assert_same_outputs(before: Graph, after: Graph, seeds=(0, 1, 2), rtol: float = 1e-5):
    """int8 (and other integer) outputs bit-identical, float within ``rtol`` (relative to the
    output's magnitude, so that values near zero compare by the scale of the whole output)."""
    assert before.outputs == after.outputs
    for seed in seeds:
        inputs = random_inputs(before, seed)
        expected, actual = interpret(before, inputs), interpret(after, inputs)
        for name in before.outputs:
            e, a = expected[name], actual[name]
            assert e.dtype == a.dtype and e.shape == a.shape, name
            if e.dtype == np.float32:
                np.testing.assert_allclose(a, e, rtol=rtol,
                                           atol=rtol * max(1.0, float(np.abs(e).max())))
            else:
                np.testing.assert_array_equal(a, e)


def structure(graph: Graph) -> list[tuple]:
    """What Before/Expected comparisons look at: ops, attributes and tensor shapes in order."""
    return [(n.op, sorted((k, str(v)) for k, v in n.attrs.items()),
             [graph.tensors[i].shape for i in n.inputs if i],
             [graph.tensors[o].shape for o in n.outputs]) for n in graph.nodes]


def check_pass(pass_fn, before: Graph) -> Graph:
    """Run ``pass_fn``: the input is unchanged, the result sound, a second run changes
    nothing. Returns the result."""
    snapshot = structure(before)
    after = check_graph(pass_fn(before))
    assert structure(before) == snapshot, "the pass mutated its input"
    again = check_graph(pass_fn(after))
    assert structure(again) == structure(after), "the pass is not idempotent"
    return after


def ops(graph: Graph) -> list[str]:
    return [n.op for n in graph.nodes]


def load_shared(name: str) -> Graph:
    """A model of ../shared/models by file name (``onnx/...`` for ONNX); skip if missing."""
    from edgec.frontends import load_model

    path = MODELS_DIR / name
    if not path.is_file():
        pytest.skip(f"{path} not available")
    return load_model(path)
