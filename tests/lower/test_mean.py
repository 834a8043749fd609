"""MEAN lowered to C against the reference interpreter."""

import numpy as np
import pytest

from edgec.ir import Tensor
from tests.lower.harness import check_against_reference, needs_gcc, single_node_graph
from tests.lower.quantgen import act_q

pytestmark = needs_gcc

CASES = [((1, 4, 5, 3), (1, 2), True), ((2, 3, 4), (-1,), False), ((2, 3, 4), (0, 2), True)]


@pytest.mark.parametrize("case", range(len(CASES)))
@pytest.mark.parametrize("dtype", ["int8", "float32"])
def test_matches_reference(cache_dir, case, dtype):
    rng = np.random.default_rng([case, len(dtype)])
    shape, axes, keep = CASES[case]
    rank = len(shape)
    norm = {a % rank for a in axes}
    out = tuple(1 if d in norm else s for d, s in enumerate(shape)) if keep else \
        tuple(s for d, s in enumerate(shape) if d not in norm)
    q_in, q_out = (act_q(rng), act_q(rng)) if dtype == "int8" else (None, None)
    x = Tensor("x", shape, dtype, quant=q_in)
    y = Tensor("y", out, dtype, quant=q_out)
    graph = single_node_graph("MEAN", [x], [y], {"axes": axes, "keep_dims": keep})
    check_against_reference(graph, cache_dir, rng, sanitize=case == 0)
