"""Observers: min-max exactly, percentile tails within one histogram bin."""

import numpy as np
import pytest

from edgec.errors import EdgecError
from edgec.quantize.observers import MinMaxObserver, PercentileObserver, observer_factory


def test_minmax_sees_every_sample():
    o = MinMaxObserver()
    o.observe(np.array([0.5, 2.0]))
    o.observe(np.array([-3.0, 1.0]))
    assert o.range() == (-3.0, 2.0)


def test_observer_without_values_is_an_error():
    with pytest.raises(EdgecError, match="no values"):
        MinMaxObserver().range()


@pytest.mark.parametrize("percentile", [99.0, 99.9])
def test_percentile_cuts_the_tails_within_a_bin(percentile):
    rng = np.random.default_rng(0)
    # Growing spread: the histogram's range doubles several times on the way.
    samples = [rng.normal(size=2000) * (0.1 + i) for i in range(12)]
    o = PercentileObserver(percentile)
    for s in samples:
        o.observe(s)
    lo, hi = o.range()
    values = np.concatenate(samples)
    tail = (100 - percentile) / 100 * values.size
    bin_width = 2 * o.radius / o.BINS
    # At most a tail's worth of values lies outside [lo, hi], at least one within a bin more.
    assert np.sum(values < lo) <= tail <= np.sum(values < lo + bin_width)
    assert np.sum(values > hi) <= tail <= np.sum(values > hi - bin_width)
    assert lo > o.lo and hi < o.hi  # outliers are clipped


def test_percentile_100_is_minmax():
    o = PercentileObserver(100.0)
    o.observe(np.array([-1.0, 0.25, 4.0]))
    assert o.range() == (-1.0, 4.0)


def test_bad_percentile_or_observer_name():
    with pytest.raises(EdgecError, match="outside"):
        observer_factory("percentile", 30.0)
    with pytest.raises(EdgecError, match="unknown observer"):
        observer_factory("entropy")
