"""Observers: what calibration records about one tensor, and the range it reports.

An observer sees every calibration value of its tensor (``observe``, once per sample) and
then answers ``range() -> (lo, hi)``, the real interval the int8 scale will cover.

- ``MinMaxObserver``: the extreme values seen; nothing is clipped.
- ``PercentileObserver``: the ``100 - p`` and ``p`` percentiles of all values seen, so rare
  outliers are clipped and the common values get a finer scale. Values go into a histogram
  symmetric around 0 whose range doubles (merging bin pairs) whenever a value falls outside
  it, so memory stays fixed however many samples come.
"""

from __future__ import annotations

import math
from typing import Callable

import numpy as np

from edgec.errors import EdgecError


class MinMaxObserver:
    """The smallest and largest value seen."""

    def __init__(self):
        self.lo, self.hi = math.inf, -math.inf

    def observe(self, x: np.ndarray) -> None:
        if x.size:
            self.lo = min(self.lo, float(np.min(x)))
            self.hi = max(self.hi, float(np.max(x)))

    def range(self) -> tuple[float, float]:
        if self.lo > self.hi:
            raise EdgecError("an observer saw no values", "pass at least one calibration sample")
        return self.lo, self.hi


class PercentileObserver(MinMaxObserver):
    """The ``[100 - percentile, percentile]`` percentile interval of all values seen."""

    BINS = 4096  # over [-radius, radius]; a multiple of 4 so the range can double

    def __init__(self, percentile: float = 99.99):
        super().__init__()
        if not 50.0 < percentile <= 100.0:
            raise EdgecError(f"percentile {percentile} is outside (50, 100]",
                             "pass e.g. --percentile 99.99")
        self.percentile = percentile
        self.radius = 0.0
        self.counts = np.zeros(self.BINS, np.int64)

    def observe(self, x: np.ndarray) -> None:
        if not x.size:
            return
        super().observe(x)
        peak = max(abs(self.lo), abs(self.hi))
        if self.radius == 0.0:
            self.radius = 2.0 ** math.ceil(math.log2(peak)) if peak > 0 else 1.0
        while peak > self.radius:
            self._double()
        self.counts += np.histogram(x, bins=self.BINS, range=(-self.radius, self.radius))[0]

    def _double(self) -> None:
        """Cover twice the range with the same number of bins: merged pairs in the middle."""
        merged = self.counts.reshape(-1, 2).sum(axis=1)
        quarter = self.BINS // 4
        self.counts = np.concatenate([np.zeros(quarter, np.int64), merged,
                                      np.zeros(quarter, np.int64)])
        self.radius *= 2.0

    def range(self) -> tuple[float, float]:
        lo, hi = super().range()
        edges = np.linspace(-self.radius, self.radius, self.BINS + 1)
        cumulative = np.cumsum(self.counts)
        total = cumulative[-1]
        tail = total * (100.0 - self.percentile) / 100.0
        # The first bin whose cumulative count passes the lower tail, and the last bin
        # before the upper tail starts; their outer edges bound the kept values.
        first = int(np.searchsorted(cumulative, tail, side="right"))
        last = int(np.searchsorted(cumulative, total - tail, side="left"))
        return max(lo, float(edges[first])), min(hi, float(edges[min(last, self.BINS - 1) + 1]))


OBSERVERS = ("minmax", "percentile")


def percentile_arg(text: str) -> float:
    """argparse type of ``--percentile``: a number in (50, 100], checked even when the
    observer that reads it is not chosen."""
    import argparse

    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a number") from None
    if not 50.0 < value <= 100.0:  # NaN fails too
        raise argparse.ArgumentTypeError(f"{text} is outside (50, 100]")
    return value


def observer_factory(name: str, percentile: float = 99.99) -> Callable[[], MinMaxObserver]:
    """A function making a fresh observer of kind ``name`` (one of ``OBSERVERS``)."""
    if name == "minmax":
        return MinMaxObserver
    if name == "percentile":
        PercentileObserver(percentile)  # reject a bad percentile before calibrating
        return lambda: PercentileObserver(percentile)
    raise EdgecError(f"unknown observer '{name}'", f"choose one of: {', '.join(OBSERVERS)}")
