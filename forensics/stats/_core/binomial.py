"""Binomial tails, in one place: exact, vectorised, accurate far into the tails.

Both tails come from the regularised incomplete beta function, so a p-value
of 1e-200 is not lost to ``1 - cdf``.  One vectorised ``scipy.special.betainc``
call per array: no thread pool, which cost more to start on each of the
thousands of small calls a scan makes than it saved on the few large ones.
"""
from __future__ import annotations

import numpy as np
from scipy import special

ALTERNATIVES = ("two-sided", "less", "greater")


def binom_cdf(x, n, p) -> np.ndarray:
    """P(Bin(n, p) <= x), elementwise over broadcast integer arrays."""
    x, n, p = np.broadcast_arrays(np.asarray(x, dtype=float), np.asarray(n, dtype=float), np.asarray(p, dtype=float))
    out = np.where(x >= n, 1.0, 0.0)
    mid = np.flatnonzero((x >= 0) & (x < n))
    out.flat[mid] = special.betainc((n - x).flat[mid], (x + 1).flat[mid], (1 - p).flat[mid])
    return out


def binom_sf(x, n, p) -> np.ndarray:
    """P(Bin(n, p) > x), elementwise, without cancellation in the upper tail."""
    x, n, p = np.broadcast_arrays(np.asarray(x, dtype=float), np.asarray(n, dtype=float), np.asarray(p, dtype=float))
    out = np.where(x < 0, 1.0, 0.0)
    mid = np.flatnonzero((x >= 0) & (x < n))
    out.flat[mid] = special.betainc((x + 1).flat[mid], (n - x).flat[mid], p.flat[mid])
    return out


def binom_pvalue(k, n, p, alternative: str = "two-sided"):
    """Exact binomial p-value(s) of k successes in n trials; two-sided is twice the smaller tail."""
    if alternative not in ALTERNATIVES:
        raise ValueError(f"alternative must be one of {', '.join(ALTERNATIVES)}")
    k = np.asarray(k, dtype=float)
    less, greater = binom_cdf(k, n, p), binom_sf(k - 1, n, p)
    if alternative == "less":
        return less
    if alternative == "greater":
        return greater
    return np.minimum(1.0, 2 * np.minimum(less, greater))


def clopper_pearson(k, n, confidence_level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Exact (Clopper-Pearson) interval of the proportion k / n, elementwise.

    The Beta quantiles come from ``scipy.special.betaincinv`` (the same numbers as ``scipy.stats.beta.ppf``
    without its per-call argument checks, which cost more than the quantile for the few cells of a group).
    """
    from scipy import special

    k, n = np.asarray(k, dtype=float), np.asarray(n, dtype=float)
    a = (1 - confidence_level) / 2
    with np.errstate(invalid="ignore"):
        low = np.where(k > 0, special.betaincinv(k, n - k + 1, a), 0.0)
        high = np.where(k < n, special.betaincinv(k + 1, n - k, 1 - a), 1.0)
    return low, high
