"""Fast honest re-counts (forensics.stats._core.recount): moments, the distribution drawn, its error."""
from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from forensics.stats._core.recount import (Posteriors, bb_moments, cornish_fisher, recount, smooth, smooth_pmf)


def test_moments_are_the_betabinomials():
    rng = np.random.default_rng(0)
    m = rng.integers(1, 3000, 300).astype(float)
    a, b = np.exp(rng.uniform(-2, 7, 300)), np.exp(rng.uniform(-2, 7, 300))
    expected = stats.betabinom.stats(m, a, b, moments="mvsk")
    mean, sd, skew, kurt = bb_moments(m, a, b)
    for got, want in zip((mean, sd * sd, skew, kurt), expected):
        np.testing.assert_allclose(got, want, rtol=1e-8)
    # the per-cell constants give the same moments for any trials: the mean in float64, the shape in float32
    n = rng.integers(5, 2000, 300)
    k = rng.binomial(n, 0.4)
    post = Posteriors(np.array([0.7, 40.0]), np.array([2.5, 25.0]), np.full((300, 2), 0.5), n, k)
    cell = post.cells(rng)
    mean, sd, skew, kurt, _ = post.moments(m.astype(np.float32), cell)
    want = bb_moments(m, post.a[cell], post.b[cell])
    np.testing.assert_allclose(mean, want[0], rtol=1e-12)
    np.testing.assert_allclose(sd, want[1], rtol=2e-6)
    np.testing.assert_allclose(skew, want[2], rtol=2e-6, atol=1e-6)
    np.testing.assert_allclose(kurt, want[3], atol=1e-5)


@pytest.mark.parametrize("fixed", [True, False])
def test_float32_deviation_moves_almost_no_rounded_count(fixed):
    """The fast draws against the same cubic evaluated in float64 from the same uniforms and normals, on
    stations of 10 to 5,000 voters: the float32 deviation changes fewer than 1 count in 10,000."""
    rng = np.random.default_rng(3)
    size = 200_000
    n = np.exp(rng.uniform(np.log(10), np.log(5000), size)).astype(np.int64)
    k = rng.binomial(n, rng.uniform(0.05, 0.95, size))
    post = Posteriors(np.array([0.7, 40.0, 3.0]), np.array([2.5, 25.0, 300.0]), np.full((size, 3), 1 / 3), n, k,
                      fixed=fixed)
    trials = n if fixed else rng.binomial(n, 0.6)
    got = recount(np.random.default_rng(4), post, None if fixed else trials)
    replay = np.random.default_rng(4)
    cell = post.cells(replay)
    z = replay.standard_normal(size)
    m = trials.astype(float)
    a, b = post.a[cell], post.b[cell]
    mean, sd, skew, kurt = bb_moments(m, a, b)
    ok = smooth(sd, skew, a + b, m)
    with np.errstate(invalid="ignore"):
        want = np.clip(np.rint(mean + sd * cornish_fisher(z, skew, kurt)), 0, m)
    assert ok.mean() > 0.6
    assert np.sum(got[ok] != want[ok]) <= 20


def test_cornish_fisher_gives_the_skewness_and_kurtosis():
    z = np.random.default_rng(1).standard_normal(2_000_000)
    w = cornish_fisher(z, 0.3, 0.2)
    assert abs(stats.skew(w) - 0.3) < 0.02 and abs(stats.kurtosis(w) - 0.2) < 0.05
    assert abs(w.mean()) < 0.005 and abs(w.std() - 1) < 0.01


def _single(m, a, b, size, fixed):
    """Posteriors of ``size`` identical stations whose re-count out of m is BB(m, a, b)."""
    n = np.full(size, m)
    k = np.zeros(size, dtype=np.int64)
    return Posteriors(np.array([a]), np.array([b - m]), np.ones((size, 1)), n, k, fixed=fixed)


@pytest.mark.parametrize("m, a, b", [(1000, 770.0, 330.0), (100, 15.0, 85.0), (40, 20.0, 25.0), (12, 6.0, 14.0)])
def test_draws_follow_the_distribution_they_claim(m, a, b):
    """200,000 re-counts, on both paths (trials kept per cell, trials given), against the pmf they should
    follow: the rounded Cornish-Fisher normal where ``smooth`` holds, else the exact beta-binomial."""
    mean, sd, skew, _ = bb_moments(float(m), a, b)
    close = bool(smooth(sd, skew, a + b, m))
    pmf = smooth_pmf(m, a, b) if close else stats.betabinom.pmf(np.arange(m + 1), m, a, b)
    assert close == (m >= 40)
    size = 200_000
    for fixed in (True, False):
        post = _single(m, a, b, size, fixed)
        draws = recount(np.random.default_rng(m), post, None if fixed else np.full(size, m))
        seen = np.bincount(draws, minlength=m + 1)
        keep = pmf * size >= 5
        expected = np.append(pmf[keep] * size, size - pmf[keep].sum() * size)
        observed = np.append(seen[keep], size - seen[keep].sum())
        assert stats.chisquare(observed, expected).pvalue > 1e-3


def test_fast_draws_are_within_total_variation_0005_of_the_exact_counts():
    """Random parameters where the fast draw is used: n 10-5,000, p 0.002-0.998, a + b 0.75-30 n."""
    rng = np.random.default_rng(2)
    worst, checked = 0.0, 0
    while checked < 150:
        m = int(np.exp(rng.uniform(np.log(10), np.log(5000))))
        p, r = rng.uniform(0.002, 0.998), np.exp(rng.uniform(np.log(0.75), np.log(30)))
        a, b = p * r * m, (1 - p) * r * m
        mean, sd, skew, _ = bb_moments(float(m), a, b)
        if not smooth(sd, skew, a + b, m):
            continue
        checked += 1
        exact = stats.betabinom.pmf(np.arange(m + 1), m, a, b)
        worst = max(worst, 0.5 * np.abs(smooth_pmf(m, a, b) - exact).sum())
    assert worst <= 0.005
