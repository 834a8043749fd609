"""Small float32 graphs for quantization tests, built node by node with shapes inferred."""

from __future__ import annotations

import numpy as np

from edgec.ir import Graph, Node, Tensor, check_graph, get_op


class FloatGraphBuilder:
    """Adds float32 nodes whose output shapes come from each op's shape inference."""

    def __init__(self, name: str, seed: int = 0):
        self.graph = Graph(name=name)
        self.rng = np.random.default_rng(seed)

    def input(self, name: str, shape) -> str:
        self.graph.add_tensor(Tensor(name, shape, "float32"))
        self.graph.inputs.append(name)
        return name

    def const(self, name: str, shape, scale: float = 0.3) -> str:
        data = (self.rng.normal(size=shape) * scale).astype(np.float32)
        self.graph.add_tensor(Tensor(name, shape, "float32", data))
        return name

    def node(self, op: str, inputs: list[str], out: str, **attrs) -> str:
        node = Node(op, inputs, [out], attrs, out)
        shape = get_op(op).infer_shapes(node, self.graph.input_tensors(node))[0]
        self.graph.add_tensor(Tensor(out, shape, "float32"))
        self.graph.nodes.append(node)
        return out

    def finish(self, *outputs: str) -> Graph:
        self.graph.outputs = list(outputs)
        return check_graph(self.graph)


def many_ops_graph() -> Graph:
    """A float graph touching every op family PTQ treats differently: weighted ops (with a
    SAME-like, a VALID and an asymmetric pad), shared-quantization ops, a CONCATENATION of
    free inputs and one of fixed-quantization inputs (which must be requantized),
    ADD/SUB/MUL with a constant operand, MEAN, RELU, TANH, LOGISTIC and SOFTMAX."""
    b = FloatGraphBuilder("many_ops")
    x = b.input("x", (1, 8, 8, 3))
    xp = b.node("PAD", [x], "xp", pads=((0, 0), (1, 1), (1, 1), (0, 0)))
    c1 = b.node("CONV_2D", [xp, b.const("w1", (6, 3, 3, 3)), b.const("b1", (6,))], "c1",
                activation="RELU")
    d = b.node("DEPTHWISE_CONV_2D", [c1, b.const("wd", (1, 3, 3, 12)), b.const("bd", (12,))],
               "d", pads=(1, 0, 1, 2), depth_multiplier=2, activation="RELU6")
    p = b.node("MAX_POOL_2D", [d], "p", filter=(2, 2), strides=(2, 2))
    a = b.node("AVERAGE_POOL_2D", [c1], "a", filter=(2, 2), strides=(2, 2))
    cat = b.node("CONCATENATION", [p, a], "cat", axis=3)
    c2 = b.node("CONV_2D", [cat, b.const("w2", (12, 1, 1, 18)), ""], "c2")
    s = b.node("ADD", [c2, p], "s")
    r = b.node("RELU", [s], "r")
    m = b.node("MUL", [r, b.const("k", (12,), 1.0)], "m")
    sub = b.node("SUB", [m, p], "sub")
    th = b.node("TANH", [sub], "th")
    lg = b.node("LOGISTIC", [sub], "lg")
    cat2 = b.node("CONCATENATION", [th, lg], "cat2", axis=3)
    mean = b.node("MEAN", [cat2], "mean", axes=(1, 2), keep_dims=False)
    flat = b.node("RESHAPE", [mean], "flat", shape=(1, 1, 24))
    fc = b.node("FULLY_CONNECTED", [flat, b.const("wf", (10, 24)), b.const("bf", (10,))], "fc")
    out = b.node("SOFTMAX", [fc], "out")
    return b.finish(out, "r")


def calibration_inputs(graph: Graph, count: int, seed: int) -> dict[str, np.ndarray]:
    """``count`` standard-normal samples per input, as a calibration dict."""
    rng = np.random.default_rng(seed)
    return {name: rng.normal(size=(count,) + graph.tensors[name].shape).astype(np.float32)
            for name in graph.inputs}
