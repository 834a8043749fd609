"""PRELU lowered to C against the reference interpreter (int8 over every code, float)."""

import numpy as np
import pytest

from edgec.ir import QuantParams, Tensor
from tests.lower.harness import check_against_reference, needs_gcc, single_node_graph

pytestmark = needs_gcc

# (x shape, alpha shape, input scale, alpha scale, output scale): identity multipliers
# below and above one, slopes negative and positive.
CASES = [((2, 4, 3, 5), (1, 1, 5), 0.05, 0.01, 0.04),
         ((3, 7), (7,), 0.02, 0.004, 0.1),
         ((2, 3, 6), (1,), 0.3, 0.02, 0.01)]


def prelu_graph(rng, case: int, dtype: str):
    """One PRELU node of ``CASES[case]``; int8 with random zero points."""
    x_shape, a_shape, xs, as_, ys = CASES[case]
    if dtype == "float32":
        alpha = rng.normal(size=a_shape).astype(np.float32)
        return single_node_graph("PRELU", [Tensor("x", x_shape, "float32"),
                                           Tensor("alpha", a_shape, "float32", alpha)],
                                 [Tensor("y", x_shape, "float32")])
    alpha = rng.integers(-128, 128, a_shape).astype(np.int8)
    q = [QuantParams(np.float32(s), int(rng.integers(-100, 100))) for s in (xs, as_, ys)]
    return single_node_graph("PRELU", [Tensor("x", x_shape, "int8", quant=q[0]),
                                       Tensor("alpha", a_shape, "int8", alpha, q[1])],
                             [Tensor("y", x_shape, "int8", quant=q[2])])


@pytest.mark.parametrize("dtype", ["int8", "float32"])
@pytest.mark.parametrize("case", range(len(CASES)))
def test_prelu_matches_reference(cache_dir, case, dtype):
    rng = np.random.default_rng([case, len(dtype)])
    check_against_reference(prelu_graph(rng, case, dtype), cache_dir, rng)
