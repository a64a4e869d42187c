"""The study's bootstrap intervals on known data (clients/study/stats.py)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from clients.study.stats import Interval, bootstrap, quantile


def test_a_coin_matches_the_normal_approximation():
    # 50 zeros and 50 ones: mean 0.5, standard error sqrt(0.25 / 100) = 0.05, so the 95%
    # interval is about 0.5 ± 1.96 × 0.05 = [0.402, 0.598]; the bootstrap lands close to it.
    ci = bootstrap([0] * 50 + [1] * 50)
    assert ci.value == 0.5 and ci.n == 100
    assert ci.low == pytest.approx(0.402, abs=0.02) and ci.high == pytest.approx(0.598, abs=0.02)
    assert ci.low < ci.value < ci.high


def test_seeded_and_repeatable():
    values = [3.1, 4.1, 5.9, 2.6, 5.3, 5.8, 9.7, 9.3, 2.3, 8.4]
    assert bootstrap(values) == bootstrap(list(values))
    assert bootstrap(values, seed=1) != bootstrap(values, seed=2)
    wider = bootstrap(values, level=0.99)
    narrower = bootstrap(values, level=0.80)
    assert wider.low < narrower.low and wider.high > narrower.high


def test_the_interval_is_the_percentile_of_resampled_means():
    # The same resamples by hand: B means of draws with replacement, cut at 2.5% and 97.5%.
    import random

    values = [1.0, 2.0, 4.0, 8.0, 16.0]
    rng = random.Random(7)
    means = sorted(math.fsum(rng.choices(values, k=5)) / 5 for _ in range(500))
    ci = bootstrap(values, resamples=500, seed=7)
    assert (ci.low, ci.high) == (quantile(means, 0.025), quantile(means, 0.975))


def test_strata_keep_the_mix_of_probes():
    # Probe a's answers all score 0, probe b's all 1: within each probe nothing varies, so the
    # stratified interval is the point; resampling across probes would invent variation.
    values, probes = [0] * 5 + [1] * 5, ["a"] * 5 + ["b"] * 5
    assert bootstrap(values, probes) == Interval(0.5, 0.5, 0.5, 10)
    assert bootstrap(values).high - bootstrap(values).low > 0.3
    with pytest.raises(ValueError, match="strata"):
        bootstrap([1, 2], ["a"])


def test_edge_cases():
    assert bootstrap([]) == Interval(None, None, None, 0)
    assert bootstrap([0.7]) == Interval(0.7, 0.7, 0.7, 1)
    assert bootstrap([2, 2, 2]) == Interval(2.0, 2.0, 2.0, 3)


@pytest.mark.parametrize("q", [0.0, 0.025, 0.3, 0.5, 0.975, 1.0])
def test_quantile_is_numpys_linear(q):
    ordered = sorted([0.3, 1.7, 2.2, 5.0, 5.5, 9.1, 12.0])
    assert quantile(ordered, q) == pytest.approx(float(np.quantile(ordered, q)))


def test_format_and_overlap():
    assert Interval(0.5, 0.4, 0.6, 10).fmt() == "0.50 [0.40–0.60]"
    assert Interval(0.5, 0.4, 0.6, 10).fmt(".0f", 100) == "50 [40–60]"
    assert Interval(0.5, 0.5, 0.5, 1).fmt() == "0.50"
    assert Interval(None, None, None, 0).fmt() == "–"
    assert Interval(0.5, 0.4, 0.6, 9).overlaps(Interval(0.7, 0.6, 0.8, 9))
    assert not Interval(0.5, 0.4, 0.6, 9).overlaps(Interval(0.8, 0.7, 0.9, 9))
    assert not Interval(None, None, None, 0).overlaps(Interval(0.8, 0.7, 0.9, 9))
