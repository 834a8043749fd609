"""SUM and REDUCE_MAX lowered to C against the reference interpreter."""

import numpy as np
import pytest

from edgec.ir import QuantParams, Tensor
from tests.lower.harness import check_against_reference, needs_gcc, single_node_graph
from tests.lower.quantgen import act_q

pytestmark = needs_gcc

CASES = [((1, 4, 5, 3), (1, 2), True), ((2, 3, 4), (-1,), False), ((2, 3, 4), (0, 2), True),
         ((3, 7), (0, 1), False)]


def reduce_graph(op: str, case: int, dtype: str, rng):
    """The single-node graph of ``op`` on case ``case`` (REDUCE_MAX int8: one quantization;
    SUM int8: output scale a random multiple of the input's, either side of 1)."""
    shape, axes, keep = CASES[case]
    rank = len(shape)
    norm = {a % rank for a in axes}
    out = tuple(1 if d in norm else s for d, s in enumerate(shape)) if keep else \
        tuple(s for d, s in enumerate(shape) if d not in norm)
    q_in = q_out = None
    if op == "REDUCE_ANY":
        dtype = "bool"
    if dtype == "int8":
        q_in = act_q(rng)
        q_out = q_in if op == "REDUCE_MAX" else \
            QuantParams(np.float32(q_in.s * 10.0 ** rng.uniform(-0.5, 1.5)), act_q(rng).zp)
    x = Tensor("x", shape, dtype, quant=q_in)
    y = Tensor("y", out, dtype, quant=q_out)
    return single_node_graph(op, [x], [y], {"axes": axes, "keep_dims": keep})


@pytest.mark.parametrize("case", range(len(CASES)))
@pytest.mark.parametrize("dtype", ["int8", "float32"])
@pytest.mark.parametrize("op", ["SUM", "REDUCE_MAX"])
def test_matches_reference(cache_dir, op, case, dtype):
    rng = np.random.default_rng([case, len(dtype), len(op)])
    graph = reduce_graph(op, case, dtype, rng)
    check_against_reference(graph, cache_dir, rng, sanitize=case == 0)


@pytest.mark.parametrize("case", range(len(CASES)))
def test_reduce_any_matches_reference(cache_dir, case):
    rng = np.random.default_rng([case, 7])
    check_against_reference(reduce_graph("REDUCE_ANY", case, "bool", rng), cache_dir, rng,
                            sanitize=case == 0)
