"""A small graph with hand-written C kernels: emission tests that need no lowering.

x int8[2,4] -> RELU -> a -> RESHAPE -> r int8[8] -> ADD(r, w) -> y int8[8]; the "ADD" kernel
also reads a derived int32 constant and scratch, so every argument kind is exercised. The
expected output is computed here in numpy, not by the reference interpreter, because these
kernels are deliberately simpler than the ops they stand for.
"""

import numpy as np

from edgec.ir import Graph, Node, Tensor
from edgec.lower.kernel import Kernel

W = np.arange(-4, 4, dtype=np.int8)
OFFSET = np.array([3], dtype=np.int32)

RELU_C = """void relu_0(const int8_t *restrict x, int8_t *restrict a)
{
    for (int32_t i = 0; i < 8; ++i) {
        a[i] = (int8_t)(x[i] < 0 ? 0 : x[i]);
    }
}
"""
RESHAPE_C = """void reshape_1(const int8_t *restrict a, int8_t *restrict r)
{
    for (int32_t i = 0; i < 8; ++i) {
        r[i] = a[i];
    }
}
"""
ADD_C = """int32_t add_2(const int8_t *restrict r, const int8_t *restrict w,
                const int32_t *restrict offset, int8_t *restrict y, int32_t *restrict tmp)
{
    for (int32_t i = 0; i < 8; ++i) {
        tmp[i] = (int32_t)r[i] + (int32_t)w[i] + offset[0];
    }
    for (int32_t i = 0; i < 8; ++i) {
        y[i] = (int8_t)(tmp[i] > 127 ? 127 : tmp[i]);
    }
    return 0;
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
    return [Kernel("relu", "RELU", "relu_0", RELU_C, ["x", "a"]),
            Kernel("flatten", "RESHAPE", "reshape_1", RESHAPE_C, ["a", "r"]),
            Kernel("add/bias", "ADD", "add_2", ADD_C, ["r", "w", "offset", "y"],
                   constants={"offset": OFFSET}, scratch_bytes=32)]


def expected_output(x: np.ndarray) -> np.ndarray:
    total = np.maximum(x.astype(np.int32), 0).reshape(-1) + W + OFFSET[0]
    return np.minimum(total, 127).astype(np.int8)
