"""Analytic tails of counts of independent events (forensics.stats.poisson_binomial) against exact distributions."""
from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from forensics.stats.poisson_binomial import (EXACT_BELOW, EXACT_EVENTS, grouped_sf, poisson_binomial_pmf,
                                             poisson_binomial_sf, poisson_binomial_sfs)


def _naive_pmf(p):
    pmf = np.ones(1)
    for q in p:
        pmf = np.convolve(pmf, [1 - q, q])
    return pmf


def _weighted_pmf(p, w):
    """Exact distribution of sum w_i Bernoulli(p_i) for small integer weights."""
    pmf = np.ones(1)
    for q, k in zip(p, w):
        step = np.zeros(k + 1)
        step[0], step[k] = 1 - q, q
        pmf = np.convolve(pmf, step)
    return pmf


def test_blocked_pmf_is_the_sequential_convolution():
    p = np.random.default_rng(0).uniform(0, 0.4, 700)
    exact = _naive_pmf(p)
    got = poisson_binomial_pmf(p)
    keep = exact > 1e-300
    # every entry a sum of products of non-negative numbers: relative accuracy even 100 sd into the tail
    np.testing.assert_allclose(got[keep], exact[keep], rtol=1e-11)


def test_grouped_tails_match_the_exact_distribution():
    rng = np.random.default_rng(1)
    sizes = [1, 5, EXACT_EVENTS, EXACT_EVENTS + 1, 300, 1500]
    ps = [rng.uniform(0, rng.uniform(0.02, 0.9), s) for s in sizes]
    group = np.concatenate([np.full(s, g) for g, s in enumerate(sizes)])
    pmfs = [_naive_pmf(q) for q in ps]
    for level in (0.01, 0.3, 0.5, 0.9, 0.999, 1 - 1e-6, 1 - 1e-12):
        ks = [int(np.searchsorted(np.cumsum(pm), level)) + 1 for pm in pmfs]
        got = grouped_sf(ks, np.concatenate(ps), group, len(sizes))
        exact = np.array([pm[k:].sum() for pm, k in zip(pmfs, ks)])
        small = np.array(sizes) <= EXACT_EVENTS
        np.testing.assert_allclose(got[small], exact[small], rtol=1e-10)
        # Lugannani-Rice with the lattice correction: within 2% of the probability itself, here at most 0.03%
        np.testing.assert_allclose(got[~small], exact[~small], rtol=0.02)
    # the single-group function agrees (exact below its own threshold)
    assert poisson_binomial_sf(ks[4], ps[4]) == pytest.approx(grouped_sf([ks[4]], ps[4], np.zeros(300, int), 1)[0],
                                                              rel=0.02)


def test_weighted_tails_match_the_exact_distribution():
    rng = np.random.default_rng(2)
    n = 400
    p = rng.uniform(0.01, 0.5, n)
    w = rng.integers(1, 9, n)
    pmf = _weighted_pmf(p, w)
    cdf = np.cumsum(pmf)
    for level in (0.2, 0.5, 0.95, 0.999, 1 - 1e-7):
        k = int(np.searchsorted(cdf, level)) + 1
        got = grouped_sf([k], p, np.zeros(n, int), 1, weights=w)[0]
        # unequal weights: the continuous Lugannani-Rice form on a fine lattice, within 5% (here at most 0.06%)
        assert got == pytest.approx(pmf[k:].sum(), rel=0.05), level


def test_weighted_tails_of_groups_called_apart_equal_one_call():
    # the integer test calls one weighting at a time: each group's tail must not depend on the other groups
    rng = np.random.default_rng(11)
    n, groups = 4000, 6
    p = rng.uniform(0.0, 0.3, n)
    group = np.sort(rng.integers(0, groups, n))
    weights = [rng.integers(0, 3000, n).astype(float), rng.integers(0, 40, n).astype(float)]
    k = [np.array([np.sum(w[group == g] * p[group == g]) * f for g in range(groups)])
         for w, f in zip(weights, (1.1, 0.9))]
    together = grouped_sf(np.concatenate(k), np.tile(p, 2), np.concatenate([group, group + groups]), 2 * groups,
                          weights=np.concatenate(weights))
    apart = np.concatenate([grouped_sf(k[j], p, group, groups, weights=weights[j]) for j in range(2)])
    assert np.all(together > 0) and np.all(together < 1)
    assert np.array_equal(together, apart)


def test_grouped_tails_edge_cases():
    p = np.array([1.0, 1.0, 0.0, 0.3, 0.3])
    group = np.array([0, 0, 0, 0, 1])
    # two sure events in group 0: at least 2 is certain, 4 is impossible
    np.testing.assert_allclose(grouped_sf([2, 0], p, group, 2), [1.0, 1.0])
    np.testing.assert_allclose(grouped_sf([4, 2], p, group, 2), [0.0, 0.0])
    np.testing.assert_allclose(grouped_sf([3, 1], p, group, 2), [0.3, 0.3])


def test_poisson_tail_bounds_the_count_on_a_whole_percentage():
    """Beyond the mean plus one, a Poisson-binomial tail is at most the Poisson tail of the same mean."""
    rng = np.random.default_rng(3)
    for _ in range(20):
        p = rng.uniform(0, rng.uniform(0.01, 0.4), rng.integers(5, 400))
        pmf = _naive_pmf(p)
        mean = p.sum()
        for k in range(int(np.ceil(mean + 1)), len(pmf)):
            exact = pmf[k:].sum()
            if exact < 1e-300:
                break
            assert exact <= stats.poisson.sf(k - 1, mean) * (1 + 1e-9)


def test_weighted_tails_sharing_exponentials_equal_one_per_term(monkeypatch):
    """Terms of a group with the same whole-number weight share e^{tw}: the same numbers as one per term."""
    import forensics.stats.poisson_binomial as pb

    rng = np.random.default_rng(12)
    n, n_groups = 20_000, 7
    group = np.sort(rng.integers(0, n_groups, n))
    p = rng.beta(0.5, 20, n)
    w = rng.integers(100, 400, n).astype(float)  # station sizes repeat
    mean = np.bincount(group, weights=w * p, minlength=n_groups)
    sd = np.sqrt(np.bincount(group, weights=w * w * p * (1 - p), minlength=n_groups))
    k = np.round(mean + np.array([-2, -0.5, 0, 0.5, 2, 4, 8]) * sd)
    assert pb._shared_weights(w, np.bincount(group, minlength=n_groups)) is not None
    shared = pb.grouped_sf(k, p, group, n_groups, weights=w)
    monkeypatch.setattr(pb, "_shared_weights", lambda *a: None)
    np.testing.assert_array_equal(shared, pb.grouped_sf(k, p, group, n_groups, weights=w))
    assert np.all((shared > 0) & (shared <= 1))


def test_tails_computed_together_are_those_computed_one_by_one():
    """The exact distributions of many inputs share one pass; each keeps the numbers it gets alone (bit for bit)."""
    rng = np.random.default_rng(7)
    sizes = [1, 31, 32, 33, 700, EXACT_BELOW - 1, EXACT_BELOW + 10, 5]
    ps = [rng.uniform(0, rng.uniform(0.02, 0.5), s) for s in sizes]
    ps[-1] = np.array([1.0, 1.0, 0.3, 0.0, 0.6])  # certain and impossible events
    ks = [1, 3, 10, 15, 40, 100, 150, 3]
    ks += [0, 2, 50, 5]  # k <= 0 after the certain events, k beyond the possible count, one near the mean
    ps += [ps[-1], ps[0], ps[4], ps[3]]
    alone = [poisson_binomial_sfs([k], [p])[0] for k, p in zip(ks, ps)]
    assert poisson_binomial_sfs(ks, ps) == alone
    assert alone == [poisson_binomial_sf(k, p) for k, p in zip(ks, ps)]
    assert alone[8] == 1.0 and alone[9] == 0.0
    exact = np.cumsum(_naive_pmf(ps[4])[::-1])[::-1]
    assert alone[4] == pytest.approx(exact[40], rel=1e-11)
