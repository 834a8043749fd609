"""Elementwise kernels in place: which inputs each declares (``Kernel.in_place``), that its
signature leaves exactly those and the output without ``restrict``, and that it stays
bit-exact with the output pointer equal to that input (under the sanitizers)."""

import re

import numpy as np
import pytest

from edgec.ir import Graph, Node, QuantParams, Tensor, interpret
from edgec.lower import lower_graph
from edgec.options import BuildOptions
from tests.lower.harness import needs_gcc, random_inputs, run_kernel, single_node_graph
from tests.lower.quantgen import act_q

SHAPE = (1, 5, 3, 7)  # 105 elements: the DSP ADD's word loop and its tail both run


def _q(rng, dtype: str, fixed: tuple[float, int] | None = None):
    if dtype != "int8":
        return None
    return act_q(rng) if fixed is None else QuantParams(np.float32(fixed[0]), fixed[1])


def _unary(op, dtype="int8", out_dtype=None, out_q=None):
    def make(rng):
        x = Tensor("x", SHAPE, dtype, quant=_q(rng, dtype))
        y = Tensor("y", SHAPE, out_dtype or dtype, quant=_q(rng, out_dtype or dtype, out_q))
        return single_node_graph(op, [x], [y])
    return make


def _binary(op, a_shape=SHAPE, b_shape=SHAPE, dtype="int8"):
    def make(rng):
        a = Tensor("a", a_shape, dtype, quant=_q(rng, dtype))
        b = Tensor("b", b_shape, dtype, quant=_q(rng, dtype))
        y = Tensor("y", np.broadcast_shapes(a_shape, b_shape), dtype, quant=_q(rng, dtype))
        return single_node_graph(op, [a, b], [y], {"activation": "RELU"})
    return make


# name: (graph maker, target, the inputs the kernel must declare in place)
CASES = {
    "relu_int8": (_unary("RELU"), "host", ["x"]),
    "relu6_int8": (_unary("RELU6"), "host", ["x"]),
    "requantize_int8": (_unary("QUANTIZE"), "host", ["x"]),
    "logistic_int8": (_unary("LOGISTIC", out_q=(1 / 256, -128)), "host", ["x"]),
    "tanh_int8": (_unary("TANH", out_q=(1 / 128, 0)), "host", ["x"]),
    "relu_float": (_unary("RELU", "float32"), "host", ["x"]),
    "logistic_float": (_unary("LOGISTIC", "float32"), "host", ["x"]),
    "tanh_float": (_unary("TANH", "float32"), "host", ["x"]),
    "quantize_float": (_unary("QUANTIZE", "float32", "int8"), "host", []),  # 4 bytes -> 1
    "dequantize_int8": (_unary("DEQUANTIZE", "int8", "float32"), "host", []),
    "add_int8": (_binary("ADD"), "host", ["a", "b"]),
    "mul_int8_broadcast_b": (_binary("MUL", b_shape=(7,)), "host", ["a"]),
    "sub_int8_broadcast_both": (_binary("SUB", (1, 5, 1, 7), (1, 1, 3, 1)), "host", []),
    "add_float": (_binary("ADD", dtype="float32"), "host", ["a", "b"]),
    "add_int8_dsp": (_binary("ADD"), "mps2_an386", ["a", "b"]),
    "sub_int8_dsp": (_binary("SUB"), "mps2_an386", ["a", "b"]),
}


def _lowered(case: str, cache_dir):
    make, target, _ = CASES[case]
    graph = make(np.random.default_rng(sorted(CASES).index(case)))
    (kernel,) = lower_graph(graph, BuildOptions(target=target, cache_dir=cache_dir))
    return graph, kernel


def _restrict_by_arg(kernel) -> dict[str, bool]:
    """Whether each argument's C parameter is ``restrict``, by tensor name."""
    signature = rf"\bvoid\s+{kernel.func_name}\s*\(([^)]*)\)"
    params = re.search(signature, kernel.c_source).group(1).split(",")
    assert len(params) == len(kernel.args)
    return {arg: "restrict" in p for arg, p in zip(kernel.args, params)}


@pytest.mark.parametrize("case", CASES)
def test_declared_inputs_and_restrict(cache_dir, case):
    graph, kernel = _lowered(case, cache_dir)
    assert kernel.in_place == CASES[case][2]
    shared = set(kernel.in_place) | (set(graph.outputs) if kernel.in_place else set())
    assert _restrict_by_arg(kernel) == {a: a not in shared for a in kernel.args}


@needs_gcc
@pytest.mark.parametrize("case,source", [(c, s) for c in CASES for s in CASES[c][2]])
def test_in_place_is_bit_exact_under_sanitizers(cache_dir, case, source):
    graph, kernel = _lowered(case, cache_dir)
    inputs = random_inputs(graph, np.random.default_rng(7))
    (name,) = graph.outputs
    expected = interpret(graph, inputs)[name]
    actual = run_kernel(kernel, graph, inputs, sanitize=True, in_place=source)[name]
    if expected.dtype == np.float32:
        np.testing.assert_allclose(actual, expected, rtol=1e-5, atol=1e-6)
    else:
        np.testing.assert_array_equal(actual, expected)


def test_no_in_place_when_one_tensor_feeds_both_inputs(cache_dir):
    rng = np.random.default_rng(1)
    x = Tensor("x", SHAPE, "int8", quant=act_q(rng))
    y = Tensor("y", SHAPE, "int8", quant=act_q(rng))
    graph = Graph(name="t")
    graph.add_tensor(x), graph.add_tensor(y)
    graph.nodes.append(Node("ADD", ["x", "x"], ["y"], {"activation": "NONE"}, "n0"))
    graph.inputs, graph.outputs = ["x"], ["y"]
    for target in ("host", "mps2_an386"):
        (kernel,) = lower_graph(graph, BuildOptions(target=target, cache_dir=cache_dir))
        assert kernel.in_place == []
