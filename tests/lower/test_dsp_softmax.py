"""The DSP int8 SOFTMAX (``edgec.lower.dsp.softmax``: a compile-time exp table) against the
reference interpreter, on the host (plain C99), to int8 and int16 outputs."""

import numpy as np
import pytest

from edgec.ir import QuantParams, Tensor, interpret
from edgec.ir.ops.softmax import softmax_params
from edgec.lower import lower_graph
from edgec.lower.dsp.softmax import TEMPLATE, exp_table
from edgec.options import BuildOptions
from tests.lower.harness import needs_gcc, run_kernel, single_node_graph
from tests.refs import describe_mismatch

pytestmark = needs_gcc
SHAPES = [(1, 12), (1, 10), (3, 7), (2, 2, 5), (1, 1), (2, 300)]
OUT = {"int8": (1 / 256, -128), "int16": (1 / 65536, -32768)}


def _graph(rng, shape, scale, out_dtype, beta):
    x = Tensor("x", shape, "int8", quant=QuantParams(np.float32(scale),
                                                     int(rng.integers(-128, 128))))
    y = Tensor("y", shape, out_dtype, quant=QuantParams(np.float32(OUT[out_dtype][0]),
                                                        OUT[out_dtype][1]))
    return single_node_graph("SOFTMAX", [x], [y], {"beta": beta})


def _inputs(rng, shape, spread):
    """Full-range values, values within ``spread`` of each other (many live differences, the
    tie between equal maxima), or all equal (spread 0)."""
    base = int(rng.integers(-128, 128 - spread))
    return rng.integers(base, base + spread + 1, shape).astype(np.int8)


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("scale", [0.0039, 0.05, 0.25, 2.0])
@pytest.mark.parametrize("out_dtype", ["int8", "int16"])
def test_dsp_softmax_matches_reference(cache_dir, shape, scale, out_dtype):
    rng = np.random.default_rng([len(shape), shape[-1], int(scale * 1e4), len(out_dtype)])
    graph = _graph(rng, shape, scale, out_dtype, float(rng.choice([1.0, 0.5, 2.0])))
    (kernel,) = lower_graph(graph, BuildOptions(target="mps2_an386", cache_dir=cache_dir))
    assert kernel.form == TEMPLATE  # the DSP variant took the node
    sanitize = shape == (3, 7)
    for spread in (255, 12, 3, 0):
        x = _inputs(rng, shape, spread)
        expected = interpret(graph, {"x": x})["y"]
        got = run_kernel(kernel, graph, {"x": x}, sanitize=sanitize)["y"]
        problem = describe_mismatch(expected, got, "y")
        assert problem is None, f"spread {spread}: {problem}"


@pytest.mark.parametrize("scale", [0.0039, 0.05, 2.0])
def test_table_holds_the_live_differences_only(scale):
    p = softmax_params(1.0, scale)
    lut = exp_table(p.input_multiplier, p.input_left_shift, p.diff_min)
    assert lut.size == min(256, -p.diff_min + 1)
    assert lut[0] == 2 ** 31 - 1  # exp(0) = 1.0 in Q0.31, saturated
    assert np.all(np.diff(lut.astype(np.int64)) <= 0) and lut.min() >= 0


def test_the_host_keeps_the_portable_kernel(cache_dir):
    rng = np.random.default_rng(1)
    graph = _graph(rng, (1, 12), 0.05, "int8", 1.0)
    (kernel,) = lower_graph(graph, BuildOptions(target="host", cache_dir=cache_dir))
    assert kernel.form == ""
