"""MIRROR_PAD lowered to C against the reference interpreter, every mode."""

import numpy as np
import pytest

from edgec.ir import QuantParams, Tensor
from tests.lower.harness import check_against_reference, needs_gcc, single_node_graph
from tests.ops.test_mirror_pad import CASES, _out_shape

pytestmark = needs_gcc


def mirror_pad_graph(case: int, mode: str, dtype: str):
    """One MIRROR_PAD node of ``CASES[case]``'s geometry in ``mode``."""
    shape, pads, _ = CASES[case]
    q = QuantParams(np.float32(0.1), 4) if dtype == "int8" else None
    return single_node_graph("MIRROR_PAD", [Tensor("x", shape, dtype, quant=q)],
                             [Tensor("y", _out_shape(shape, pads), dtype, quant=q)],
                             {"pads": pads, "mode": mode})


@pytest.mark.parametrize("mode", ["REFLECT", "SYMMETRIC", "EDGE", "WRAP"])
@pytest.mark.parametrize("dtype", ["int8", "float32"])
def test_c_kernel_matches_reference(cache_dir, mode, dtype):
    rng = np.random.default_rng(len(mode))
    check_against_reference(mirror_pad_graph(1 if mode == "REFLECT" else 3, mode, dtype),
                            cache_dir, rng)


def test_wrap_pads_beyond_the_input_periodically(cache_dir):
    """WRAP may pad more than the input's length (numpy's and ONNX's ``wrap``)."""
    graph = single_node_graph("MIRROR_PAD", [Tensor("x", (1, 3, 2), "int32")],
                              [Tensor("y", (1, 3 + 4 + 5, 2 + 3), "int32")],
                              {"pads": ((0, 0), (4, 5), (2, 1)), "mode": "WRAP"})
    check_against_reference(graph, cache_dir, np.random.default_rng(0))
