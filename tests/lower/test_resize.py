"""RESIZE_NEAREST_NEIGHBOR and RESIZE_BILINEAR lowered to C against the reference."""

import numpy as np
import pytest

from edgec.ir import QuantParams, Tensor
from tests.lower.harness import check_against_reference, needs_gcc, single_node_graph

pytestmark = needs_gcc

# (input H, W, output H, W, align_corners, half_pixel_centers, ONNX coordinate)
CASES = [(4, 5, 8, 10, False, False, ""), (5, 3, 7, 9, True, False, ""),
         (9, 7, 4, 3, False, True, ""), (3, 4, 5, 7, False, True, ""),
         (4, 5, 7, 3, False, False, "half_pixel")]


def resize_graph(op: str, case: int, dtype: str):
    """One resize node of ``CASES[case]`` on a (2, H, W, 3) image."""
    h, w, oh, ow, align, half, coordinate = CASES[case]
    q = QuantParams(np.float32(0.05), -7) if dtype == "int8" else None
    rounding = "round_prefer_floor" if coordinate and op == "RESIZE_NEAREST_NEIGHBOR" else ""
    return single_node_graph(op, [Tensor("x", (2, h, w, 3), dtype, quant=q)],
                             [Tensor("y", (2, oh, ow, 3), dtype, quant=q)],
                             {"size": (oh, ow), "align_corners": align,
                              "half_pixel_centers": half, "coordinate": coordinate,
                              "rounding": rounding})


@pytest.mark.parametrize("op", ["RESIZE_NEAREST_NEIGHBOR", "RESIZE_BILINEAR"])
@pytest.mark.parametrize("dtype", ["int8", "float32"])
@pytest.mark.parametrize("case", range(len(CASES)))
def test_resize_matches_reference(cache_dir, op, dtype, case):
    if CASES[case][-1] and op == "RESIZE_BILINEAR" and dtype == "int8":
        pytest.skip("int8 bilinear has TFLite's coordinates only")
    rng = np.random.default_rng([case, len(op), len(dtype)])
    check_against_reference(resize_graph(op, case, dtype), cache_dir, rng)
