"""The offset planners on synthetic lifetimes: correctness, alignment, quality."""

import random

import pytest

from edgec.plan import (Buffer, arena_bytes, best_offsets, find_overlap, greedy_offsets,
                        linear_offsets, live_peak)


def random_buffers(seed: int, count: int = 40, steps: int = 20) -> list[Buffer]:
    rng = random.Random(seed)
    buffers = []
    for i in range(count):
        first = rng.randrange(steps)
        last = rng.randrange(first, min(steps, first + 6))
        buffers.append(Buffer(f"b{i}", rng.choice([0, 1, 7, 16, 100, 490, 1000, 4096]),
                              first, last, rng.choice([1, 4, 16])))
    return buffers


@pytest.mark.parametrize("seed", range(25))
def test_best_plan_has_no_overlap_and_respects_alignment(seed):
    buffers = random_buffers(seed)
    offsets, _ = best_offsets(buffers)
    assert find_overlap(buffers, offsets) is None
    assert all(o % b.align == 0 for b, o in zip(buffers, offsets))


@pytest.mark.parametrize("seed", range(25))
def test_best_plan_between_live_peak_and_linear_baseline(seed):
    buffers = random_buffers(seed)
    offsets, _ = best_offsets(buffers)
    size = arena_bytes(buffers, offsets)
    assert live_peak(buffers) <= size <= arena_bytes(buffers, linear_offsets(buffers))


def test_linear_baseline_never_overlaps():
    buffers = random_buffers(7)
    assert find_overlap(buffers, linear_offsets(buffers)) is None


def test_overlap_checker_finds_live_overlap_and_ignores_dead_one():
    a, b, c = Buffer("a", 32, 0, 1), Buffer("b", 32, 1, 2), Buffer("c", 32, 2, 3)
    assert find_overlap([a, b], [0, 16]) == (a, b)
    assert find_overlap([a, c], [0, 0]) is None  # never live together


def test_overlap_checker_reports_misalignment():
    a = Buffer("a", 8, 0, 0, align=16)
    assert find_overlap([a], [8]) == (a, a)


def test_chain_reuses_memory_like_ping_pong():
    # x0 -> x1 -> x2 -> x3: each step needs only its input and its output.
    buffers = [Buffer(f"x{i}", 1000, max(i - 1, 0), i) for i in range(4)]
    offsets, _ = best_offsets(buffers)
    assert arena_bytes(buffers, offsets) == 1008 + 1000  # the second starts aligned
    assert arena_bytes(buffers, linear_offsets(buffers)) > 3000


def test_greedy_fills_gap_below_larger_buffers():
    big = Buffer("big", 100, 0, 0)
    small = Buffer("small", 16, 1, 1)
    other = Buffer("other", 64, 0, 1)
    offsets = greedy_offsets([big, small, other], [0, 2, 1])
    assert offsets[1] == 0  # small reuses big's bytes once big is dead
    assert find_overlap([big, small, other], offsets) is None


def test_buffer_rejects_inverted_lifetime():
    with pytest.raises(ValueError):
        Buffer("bad", 4, 3, 2)


def test_vectorized_fit_matches_the_part_by_part_one():
    """``_PlacedParts.lowest_fit`` (graphs of many parts) returns what ``_lowest_fit`` does."""
    import random

    from edgec.plan.planner import _PlacedParts, _lowest_fit

    rng = random.Random(1)
    for _ in range(300):
        buffers = []
        for i in range(rng.randint(1, 25)):
            first = rng.randint(0, 10)
            last = first + rng.randint(0, 6)
            size, parts = rng.choice([0, 16, 40, 64, 100, 256]), ()
            if rng.random() < 0.5:
                starts = sorted(rng.randint(first, last) for _ in range(rng.randint(1, 4)))
                parts = tuple((rng.randint(0, 80), rng.choice([0, 8, 30, 64]), s,
                               min(s + rng.randint(0, 3), last)) for s in starts)
                size = max(r + n for r, n, _, _ in parts)
            buffers.append(Buffer(f"b{i}", size, first, last, rng.choice([1, 4, 16]), parts))
        placed, arrays = [], _PlacedParts(sum(len(b.regions()) for b in buffers))
        for b in buffers:
            offset = _lowest_fit(b, placed)
            assert arrays.lowest_fit(b) == offset
            placed.append((offset, b))
            arrays.add(b, offset)
