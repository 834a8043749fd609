"""STRIDED_SLICE lowered to C against the reference interpreter."""

import numpy as np
import pytest

from edgec.ir import QuantParams, Tensor
from tests.lower.harness import check_against_reference, needs_gcc, single_node_graph

pytestmark = needs_gcc

# (input shape, begin, size, steps)
CASES = [((2, 5, 6, 4), (1, 4, 5, 0), (1, 3, 3, 4), (1, -2, -2, 1)),
         ((7, 9), (2, 0), (3, 5), (2, 2))]


def strided_slice_graph(case: int, dtype: str):
    """One STRIDED_SLICE node of ``CASES[case]``."""
    shape, begin, size, steps = CASES[case]
    q = QuantParams(np.float32(0.1), 3) if dtype == "int8" else None
    return single_node_graph("STRIDED_SLICE", [Tensor("x", shape, dtype, quant=q)],
                             [Tensor("y", size, dtype, quant=q)],
                             {"begin": begin, "size": size, "steps": steps})


@pytest.mark.parametrize("dtype", ["int8", "float32", "int16"])
@pytest.mark.parametrize("case", range(len(CASES)))
def test_strided_slice_matches_reference(cache_dir, case, dtype):
    rng = np.random.default_rng([case, len(dtype)])
    check_against_reference(strided_slice_graph(case, dtype), cache_dir, rng)
