"""The tails the scan computes without scipy.stats (whose import costs a second) are scipy.stats' numbers."""
from __future__ import annotations

import numpy as np
from scipy import special, stats

from forensics.stats._core.binomial import binom_sf
from forensics.stats.poisson_binomial import _norm_logpdf


def test_binomial_tail_is_scipy_stats_bit_for_bit():
    rng = np.random.default_rng(11)
    n = rng.integers(0, 5000, 100_000).astype(float)
    k = np.floor(rng.random(n.size) * (n + 2) * 1.1) - 2  # below 0, inside, at and above n
    p = rng.random(n.size)
    p[:50] = [0.0, 1.0] * 25
    assert np.array_equal(binom_sf(k, n, p), stats.binom.sf(k, n, p))


def test_poisson_tail_and_normal_functions_are_scipy_stats_bit_for_bit():
    rng = np.random.default_rng(12)
    mu, k = rng.random(10_000) * 60, rng.integers(0, 80, 10_000)
    assert np.array_equal(special.pdtrc(k, mu), stats.poisson.sf(k, mu))
    q = rng.random(10_000)
    assert np.array_equal(-special.ndtri(q), stats.norm.isf(q))
    z = rng.normal(0, 4, 10_000)
    assert np.array_equal(special.ndtr(-z), stats.norm.sf(z))
    assert np.array_equal(special.ndtri(q), stats.norm.ppf(q))
    assert np.array_equal(_norm_logpdf(z), stats.norm.logpdf(z))


def test_coarse_shares_kernel_and_mixture_density_are_scipy_stats():
    from forensics.stats.coarse import _kernel, _mixture_density

    for bw, step in ((1e-4, 2e-5), (1e-3, 1e-4), (5e-4, 1e-4)):
        half = max(1, int(np.ceil(4 * bw / step)))
        assert np.array_equal(_kernel(bw, step), stats.norm.pdf(np.arange(-half, half + 1) * step, scale=bw))
    fit = {"alpha": np.array([2.0, 30.0, 0.7]), "beta": np.array([5.0, 12.0, 0.9]), "logw": np.log([0.2, 0.5, 0.3])}
    x = np.linspace(0.01, 0.99, 99)
    expected = np.exp(fit["logw"])[None, :] @ stats.beta.pdf(x[:, None], fit["alpha"], fit["beta"]).T
    assert np.allclose(_mixture_density(fit, x), expected, rtol=1e-12, atol=0)
