"""Bootstrap confidence intervals for the study's per-role measures.

Every figure in the report is a mean over answers (or over judged comparisons) of a handful of
samples, so each comes with a 95% interval from the percentile bootstrap (Efron & Tibshirani,
*An Introduction to the Bootstrap*, 1993, ch. 13):

    draw B resamples x*_1 … x*_B, each n values drawn with replacement from the n observed;
    θ*_b = mean(x*_b);  interval = [q(α/2), q(1 − α/2)] of the θ*_b  (α = 0.05, B = 2000)

where q is the sample quantile with linear interpolation (Hyndman & Fan type 7, numpy's default).
With `strata` (the probe of each value) the resampling is stratified: each probe's values are
drawn from that probe's own, so every resample keeps the study's mix of probes and the interval
reflects the variation between samples, not between probes. The generator is seeded: the same
answers give the same interval on every run and machine (pure Python, no numpy needed).

    >>> bootstrap([0, 1, 1, 1]).value
    0.75
"""

from __future__ import annotations

import math
import random
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from functools import lru_cache

RESAMPLES = 2000
SEED = 0
LEVEL = 0.95


@dataclass(frozen=True)
class Interval:
    """A mean with its bootstrap interval; `n` values went in. None when there were none."""

    value: float | None
    low: float | None
    high: float | None
    n: int

    def fmt(self, spec: str = ".2f", scale: float = 1.0) -> str:
        """`0.42 [0.30–0.55]` (`–` without values); `scale=100, spec=".0f"` for percentages."""
        if self.value is None:
            return "–"
        v, lo, hi = (format(x * scale, spec) for x in (self.value, self.low, self.high))
        return v if self.n < 2 else f"{v} [{lo}–{hi}]"

    def overlaps(self, other: Interval) -> bool:
        """Do the two intervals share any point? (False when either is empty.)"""
        if None in (self.low, self.high, other.low, other.high):
            return False
        return self.low <= other.high and other.low <= self.high


def quantile(ordered: Sequence[float], q: float) -> float:
    """The q-quantile (0…1) of sorted values, interpolating linearly (Hyndman & Fan type 7)."""
    h = (len(ordered) - 1) * q
    lo = math.floor(h)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (h - lo) * (ordered[hi] - ordered[lo])


def bootstrap(values: Sequence[float], strata: Sequence[Hashable] | None = None, *,
              resamples: int = RESAMPLES, seed: int = SEED, level: float = LEVEL) -> Interval:
    """The mean of `values` with its percentile-bootstrap interval (see the module's formula).

    values: n numbers (a measure of n answers, or n judged comparisons' scores in 0…1).
    strata: n labels (e.g. probe ids); resampling happens within each label's values.
    """
    data = tuple(float(v) for v in values)
    labels = tuple(strata) if strata is not None else (None,) * len(data)
    if len(labels) != len(data):
        raise ValueError(f"{len(data)} values but {len(labels)} strata")
    return _bootstrap(data, labels, resamples, seed, level)


@lru_cache(maxsize=4096)  # each report asks for the same intervals again (markdown, html, json)
def _bootstrap(data: tuple[float, ...], strata: tuple[Hashable, ...], resamples: int, seed: int,
               level: float) -> Interval:
    n = len(data)
    if n == 0:
        return Interval(None, None, None, 0)
    point = math.fsum(data) / n
    groups: dict[Hashable, list[float]] = {}
    for v, s in zip(data, strata, strict=True):
        groups.setdefault(s, []).append(v)
    if all(min(g) == max(g) for g in groups.values()):
        return Interval(point, point, point, n)  # every resample has the same mean
    rng = random.Random(seed)
    means = sorted(
        math.fsum(math.fsum(rng.choices(g, k=len(g))) for g in groups.values()) / n
        for _ in range(resamples)
    )
    alpha = 1 - level
    return Interval(point, quantile(means, alpha / 2), quantile(means, 1 - alpha / 2), n)
