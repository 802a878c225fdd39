"""Upper tail of a count of independent events with unequal probabilities (Poisson-binomial).

Several tests count stations with some property (a whole-number percentage,
100% turnout) and know, under their null, each station's own probability of
having it.  The count is then a sum of independent Bernoulli variables.  Its
upper tail is computed here by the saddlepoint approximation of Lugannani
and Rice with the continuity correction for lattice variables (Daniels 1987,
"Tail probability approximations", Int. Stat. Review 55), which is accurate
to a few per cent of the probability itself far into the tail, where a
Monte Carlo p-value stops at 1/(replicates + 1) and a normal approximation
is off by orders of magnitude.  Small problems use the exact distribution.
"""
from __future__ import annotations

import numpy as np
from scipy import optimize, special, stats

__all__ = ["poisson_binomial_sf", "poisson_binomial_pmf"]

#: below this many events with 0 < p < 1 the exact distribution is computed
EXACT_BELOW = 2_000


def poisson_binomial_pmf(p) -> np.ndarray:
    """Exact distribution of the number of successes, by repeated convolution (small inputs)."""
    pmf = np.ones(1)
    for q in np.asarray(p, dtype=float):
        pmf = np.convolve(pmf, [1 - q, q])
    return np.clip(pmf, 0, 1)


def poisson_binomial_sf(k, p) -> float:
    """P(X >= k) for X a sum of independent Bernoulli(p_i).

    Exact for fewer than ``EXACT_BELOW`` informative events, else the
    Lugannani-Rice saddlepoint approximation with Daniels' second continuity
    correction; never below the smallest positive float.
    """
    p = np.asarray(p, dtype=float)
    sure = int(np.sum(p >= 1))
    p = p[(p > 0) & (p < 1)]
    k = float(k) - sure
    if k <= 0:
        return 1.0
    if k > p.size:
        return 0.0
    if p.size < EXACT_BELOW:
        return float(min(1.0, poisson_binomial_pmf(p)[int(np.ceil(k)):].sum()))
    mean = p.sum()
    if k <= mean:
        return float(min(1.0, 1 - _saddlepoint_cdf_below(k, p)))
    return _saddlepoint_sf(k, p)


def _cgf(t, p):
    """Cumulant generating function K(t) and its first two derivatives."""
    e = p * np.exp(t)
    q = 1 - p + e
    return np.sum(np.log(q)), np.sum(e / q), np.sum(e * (1 - p) / q ** 2)


def _solve(x, p):
    """The saddlepoint t with K'(t) = x."""
    f = lambda t: _cgf(t, p)[1] - x  # noqa: E731
    low, high = -1.0, 1.0
    while f(low) > 0:
        low *= 2
    while f(high) < 0:
        high *= 2
    return optimize.brentq(f, low, high, xtol=1e-14, rtol=1e-14)


def _saddlepoint_sf(k, p) -> float:
    """P(X >= k), k above the mean: Lugannani-Rice at k - 1/2 with the lattice correction."""
    x = k - 0.5
    t = _solve(x, p)
    K, _, K2 = _cgf(t, p)
    if abs(t) < 1e-7:  # at the mean the formula is 0/0; the normal approximation is exact to that order
        return float(stats.norm.sf((x - p.sum()) / np.sqrt(K2)))
    w = np.sign(t) * np.sqrt(2 * (t * x - K))
    u = 2 * np.sinh(t / 2) * np.sqrt(K2)
    log_phi = stats.norm.logpdf(w)
    # sf = Phi(-w) + phi(w) (1/u - 1/w), in logs so the far tail does not underflow
    tail = special.log_ndtr(-w)
    corr = 1 / u - 1 / w
    value = np.exp(tail) + np.exp(log_phi) * corr
    if value <= 0 or not np.isfinite(value):  # pragma: no cover - guard against round-off in the far tail
        value = np.exp(tail)
    return float(max(min(value, 1.0), np.finfo(float).tiny))


def _saddlepoint_cdf_below(k, p) -> float:
    """P(X <= k - 1), k at or below the mean, by symmetry: failures count the other way."""
    return _saddlepoint_sf(p.size - k + 1, 1 - p)
