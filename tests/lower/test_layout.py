"""PAD, TRANSPOSE and CONCATENATION lowered to C against the reference interpreter."""

import numpy as np
import pytest

from edgec.ir import Tensor
from tests.lower.harness import check_against_reference, needs_gcc, single_node_graph
from tests.lower.quantgen import act_q

pytestmark = needs_gcc


def _t(rng, name, shape, dtype, q=None):
    return Tensor(name, shape, dtype, quant=q if dtype == "int8" else None)


@pytest.mark.parametrize("dtype", ["int8", "float32", "int32"])
@pytest.mark.parametrize("value", [None, 5])
def test_pad(cache_dir, dtype, value):
    rng = np.random.default_rng(len(dtype))
    q = act_q(rng)
    pads = ((0, 0), (1, 2), (0, 3), (2, 0))
    x = _t(rng, "x", (1, 3, 2, 2), dtype, q)
    y = _t(rng, "y", (1, 6, 5, 4), dtype, q)
    graph = single_node_graph("PAD", [x], [y], {"pads": pads, "value": value})
    check_against_reference(graph, cache_dir, rng, sanitize=value is None)


@pytest.mark.parametrize("dtype", ["int8", "float32"])
@pytest.mark.parametrize("perm", [(0, 3, 1, 2), (2, 0, 3, 1)])
def test_transpose(cache_dir, dtype, perm):
    rng = np.random.default_rng(len(perm))
    shape = (2, 3, 4, 5)
    q = act_q(rng)
    x = _t(rng, "x", shape, dtype, q)
    y = _t(rng, "y", tuple(shape[p] for p in perm), dtype, q)
    graph = single_node_graph("TRANSPOSE", [x], [y], {"perm": perm})
    check_against_reference(graph, cache_dir, rng, sanitize=dtype == "int8")


@pytest.mark.parametrize("dtype", ["int8", "float32", "int16"])
@pytest.mark.parametrize("axis", [1, -1])
def test_concatenation(cache_dir, dtype, axis):
    rng = np.random.default_rng(len(dtype) + axis)
    q = act_q(rng)
    shapes = [(1, 2, 3, 2), (1, 2, 3, 1), (1, 2, 3, 3)] if axis == -1 else \
        [(1, 1, 3, 2), (1, 3, 3, 2), (1, 2, 3, 2)]
    xs = [_t(rng, f"x{k}", s, dtype, q) for k, s in enumerate(shapes)]
    out = list(shapes[0])
    out[axis] = sum(s[axis] for s in shapes)
    y = _t(rng, "y", tuple(out), dtype, q)
    activation = "NONE" if dtype == "int16" else "RELU6"
    graph = single_node_graph("CONCATENATION", xs, [y], {"axis": axis, "activation": activation})
    check_against_reference(graph, cache_dir, rng, sanitize=axis == 1)
