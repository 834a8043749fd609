"""A small graph with hand-written C kernels: emission tests that need no lowering.

x int8[2,4] -> RELU -> a -> RESHAPE -> r int8[8] -> ADD(r, w) -> y int8[8]; the "ADD" kernel
also reads a derived int32 constant and scratch, so every argument kind is exercised. The
expected output is computed here in numpy, not by the reference interpreter, because these
kernels are deliberately simpler than the ops they stand for.
"""

import numpy as np

from edgec.cdefs import CParam
from edgec.ir import Graph, Node, Tensor
from edgec.lower.kernel import Kernel

W = np.arange(-4, 4, dtype=np.int8)
OFFSET = np.array([3], dtype=np.int32)

RELU_PARAMS = [CParam("x", "int8_t", const=True), CParam("a", "int8_t")]
RELU_C = """{
    for (int32_t i = 0; i < 8; ++i) {
        a[i] = (int8_t)(x[i] < 0 ? 0 : x[i]);
    }
}
"""
RESHAPE_PARAMS = [CParam("a", "int8_t", const=True), CParam("r", "int8_t")]
RESHAPE_C = """{
    for (int32_t i = 0; i < 8; ++i) {
        r[i] = a[i];
    }
}
"""
ADD_PARAMS = [CParam("r", "int8_t", const=True), CParam("w", "int8_t", const=True),
              CParam("offset", "int32_t", const=True), CParam("y", "int8_t"),
              CParam("tmp", "int32_t")]
ADD_C = """{
    for (int32_t i = 0; i < 8; ++i) {
        tmp[i] = (int32_t)r[i] + (int32_t)w[i] + offset[0];
    }
    for (int32_t i = 0; i < 8; ++i) {
        y[i] = (int8_t)(tmp[i] > 127 ? 127 : tmp[i]);
    }
}
"""


def handmade_graph() -> Graph:
    g = Graph(name="handmade")
    for t in (Tensor("x", (2, 4), "int8"), Tensor("a", (2, 4), "int8"), Tensor("r", (8,), "int8"),
              Tensor("w", (8,), "int8", W), Tensor("y", (8,), "int8")):
        g.add_tensor(t)
    g.nodes = [Node("RELU", ["x"], ["a"], name="relu"),
               Node("RESHAPE", ["a"], ["r"], {"shape": (8,)}, name="flatten"),
               Node("ADD", ["r", "w"], ["y"], name="add/bias")]
    g.inputs, g.outputs = ["x"], ["y"]
    return g


def handmade_kernels() -> list[Kernel]:
    return [Kernel("relu", "RELU", "relu_0", RELU_C, ["x", "a"], params=RELU_PARAMS),
            Kernel("flatten", "RESHAPE", "reshape_1", RESHAPE_C, ["a", "r"],
                   params=RESHAPE_PARAMS),
            Kernel("add/bias", "ADD", "add_2", ADD_C, ["r", "w", "offset", "y"],
                   constants={"offset": OFFSET}, scratch_bytes=32, params=ADD_PARAMS)]


def expected_output(x: np.ndarray) -> np.ndarray:
    total = np.maximum(x.astype(np.int32), 0).reshape(-1) + W + OFFSET[0]
    return np.minimum(total, 127).astype(np.int8)
