"""SPACE_TO_BATCH_ND and BATCH_TO_SPACE_ND lowered to C against the reference interpreter,
on random shapes, block shapes, paddings and crops."""

import numpy as np
import pytest

from edgec.ir import Tensor
from tests.lower.harness import check_against_reference, needs_gcc, single_node_graph
from tests.lower.quantgen import act_q

pytestmark = needs_gcc

DTYPES = ["int8", "uint8", "int16", "int32", "float32"]


def _tensor(rng, name, shape, dtype) -> Tensor:
    # int8 input and output get different zero points: the pad must be the output's.
    return Tensor(name, shape, dtype, quant=act_q(rng) if dtype == "int8" else None)


def _geometry(rng):
    """Random ``block_shape``, spatial grid (H, W of the blocked side), batch and channels."""
    block = tuple(int(b) for b in rng.integers(1, 4, 2))
    grid = tuple(int(g) for g in rng.integers(1, 4, 2))
    return block, grid, int(rng.integers(1, 3)), int(rng.integers(1, 4))


def _pair(rng, full: int) -> tuple[int, int]:
    """(before, after), each at most 2, leaving at least one of ``full`` pixels."""
    before = int(rng.integers(0, min(2, full - 1) + 1))
    return before, int(rng.integers(0, min(2, full - 1 - before) + 1))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_space_to_batch(cache_dir, dtype, seed):
    rng = np.random.default_rng([seed, len(dtype), 1])
    (bh, bw), (oh, ow), n, c = _geometry(rng)
    (t, b), (l, r) = _pair(rng, oh * bh), _pair(rng, ow * bw)
    x = _tensor(rng, "x", (n, oh * bh - t - b, ow * bw - l - r, c), dtype)
    y = _tensor(rng, "y", (n * bh * bw, oh, ow, c), dtype)
    graph = single_node_graph("SPACE_TO_BATCH_ND", [x], [y],
                              {"block_shape": (bh, bw), "paddings": ((t, b), (l, r))})
    check_against_reference(graph, cache_dir, rng, sanitize=seed == 0 and dtype == "int8")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_batch_to_space(cache_dir, dtype, seed):
    rng = np.random.default_rng([seed, len(dtype), 2])
    (bh, bw), (h, w), n, c = _geometry(rng)
    (t, b), (l, r) = _pair(rng, h * bh), _pair(rng, w * bw)
    x = _tensor(rng, "x", (n * bh * bw, h, w, c), dtype)
    y = _tensor(rng, "y", (n, h * bh - t - b, w * bw - l - r, c), dtype)
    graph = single_node_graph("BATCH_TO_SPACE_ND", [x], [y],
                              {"block_shape": (bh, bw), "crops": ((t, b), (l, r))})
    check_against_reference(graph, cache_dir, rng, sanitize=seed == 0 and dtype == "int8")
