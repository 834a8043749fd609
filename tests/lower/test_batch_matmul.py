"""BATCH_MATMUL lowered to C against the reference interpreter."""

import numpy as np
import pytest

from edgec.ir import QuantParams, Tensor
from tests.lower.harness import check_against_reference, needs_gcc, single_node_graph
from tests.ops.test_batch_matmul import CASES

pytestmark = needs_gcc


def batch_matmul_graph(rng, case: int, dtype: str):
    """One BATCH_MATMUL node of ``tests.ops.test_batch_matmul.CASES[case]``."""
    xs, ys, adj_x, adj_y, out = CASES[case]
    q = [None] * 3
    if dtype == "int8":
        q = [QuantParams(np.float32(rng.uniform(0.01, 0.1)), int(rng.integers(-128, 128)))
             for _ in range(3)]
        q[2] = QuantParams(np.float32(float(q[0].s) * float(q[1].s) * 600), q[2].zp)
    return single_node_graph("BATCH_MATMUL", [Tensor("x", xs, dtype, quant=q[0]),
                                              Tensor("y", ys, dtype, quant=q[1])],
                             [Tensor("z", out, dtype, quant=q[2])],
                             {"adj_x": adj_x, "adj_y": adj_y})


@pytest.mark.parametrize("dtype", ["int8", "float32"])
@pytest.mark.parametrize("case", range(len(CASES)))
def test_batch_matmul_matches_reference(cache_dir, case, dtype):
    rng = np.random.default_rng([case, len(dtype)])
    check_against_reference(batch_matmul_graph(rng, case, dtype), cache_dir, rng)
