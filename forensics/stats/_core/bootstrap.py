"""The station bootstrap, in one place.

Stations, not single counts, are resampled: counts on one protocol belong
together.  Three ways to draw, all the same nonparametric bootstrap:

* ``resample_indices``: one resample as station indices, for statistics that
  are not sums (a turnout peak, a fitted model);
* ``resample_sums`` / ``resample_group_sums``: column sums of per-station
  values over many resamples at once; the draws become per-station
  multiplicities and the sums one matrix product on one BLAS thread;
* ``resample_categories``: when each station has one categorical value (a
  digit), the resampled counts per category are multinomial, drawn exactly
  without station indices;
* ``resample_power_sums``: the power sums of one value per station, drawn
  per narrow bin of the value (multinomial numbers per bin, exact; the
  small spread within a bin by its first two moments).

``basic_interval`` (R ``boot.ci(type = "basic")``) and
``percentile_interval`` turn replicates into intervals.
"""
from __future__ import annotations

import functools
import warnings

import numpy as np
from threadpoolctl import ThreadpoolController

from ...random import ensure_rng


def resample_indices(rng: np.random.Generator, n: int) -> np.ndarray:
    """One bootstrap resample of n stations: n indices drawn with replacement."""
    return rng.integers(0, n, n)


def _draw_indices(rng: np.random.Generator, n: int, size: int) -> np.ndarray:
    """``size`` uniform draws from 0..n-1 (n < 2**32), two per 64 random bits.

    Multiply-shift mapping of 32-bit words (Lemire without rejection); its
    departure from uniformity is below n / 2**32 (2e-5 for 100,000 stations).
    """
    words = rng.bit_generator.random_raw((size + 1) // 2).view(np.uint32)[:size]
    idx = np.multiply(words, np.uint64(n), dtype=np.uint64)
    idx >>= np.uint64(32)
    return idx.view(np.int64)


def multiplicities(rng, n: int, n_sim: int, dtype=np.float64, cells: int = 1 << 17) -> np.ndarray:
    """How often each of n stations is drawn in each of ``n_sim`` bootstrap resamples: (n_sim, n).

    Replicates are drawn and counted ``cells`` draws at a time, a block that
    stays in the processor's cache (twice as fast as one pass over all).
    """
    rng = ensure_rng(rng)
    out = np.empty((n_sim, n), dtype=dtype)
    step = max(2, cells // n // 2 * 2)  # an even number of draws per block keeps the random stream unchanged
    for start in range(0, n_sim, step):
        size = min(step, n_sim - start)
        idx = _draw_indices(rng, n, size * n).reshape(size, n)
        idx += (np.arange(size) * n)[:, None]
        out[start:start + size] = np.bincount(idx.ravel(), minlength=size * n).reshape(size, n)
    return out


@functools.cache
def _blas() -> ThreadpoolController:
    return ThreadpoolController()


def one_blas_thread():
    """Context in which matrix products run on one BLAS thread.

    The bootstrap's products (replicates x stations times stations x
    columns) are many and mid-sized: on one thread BLAS does them several
    times faster than einsum, while a second thread (measured on a busy
    2-core machine) mostly waits for the first and adds CPU time.
    """
    return _blas().limit(limits=1, user_api="blas")


def resample_sums(values: np.ndarray, n_sim: int, rng=None, dtype=np.float64,
                  max_cells: int = 2_000_000) -> np.ndarray:
    """Column sums of ``values`` (stations x q) over ``n_sim`` station bootstrap resamples: (n_sim, q).

    Any statistic of column sums (means, shares, moments) is then computed
    on all replicates at once.  ``dtype=np.float32`` halves the work; its
    rounding (about 1e-6 relative) is far below the bootstrap's own noise,
    and sums of whole numbers stay exact below 2**24.
    """
    x = np.asarray(values, dtype=dtype)
    return resample_group_sums(x, np.zeros(len(x), dtype=np.int64), 1, n_sim, rng, dtype, max_cells)[:, 0]


def resample_group_sums(values, codes, n_groups: int, n_sim: int, rng=None, dtype=np.float64,
                        max_cells: int = 2_000_000) -> np.ndarray:
    """``resample_sums`` of every group, stations resampled within their group: (n_sim, n_groups, q).

    ``codes`` (0..n_groups-1) give each station's group.  A group's
    replicates are drawn in as few chunks as ``max_cells`` allows (all of
    them for a region of a few thousand stations), so that each chunk is
    one large matrix product.
    """
    rng = ensure_rng(rng)
    x = np.asarray(values, dtype=dtype)
    codes = np.asarray(codes, dtype=np.int64)
    out = np.zeros((n_sim, n_groups, x.shape[1]))
    order = np.argsort(codes, kind="stable")
    xs = np.ascontiguousarray(x[order])
    sizes = np.bincount(codes, minlength=n_groups)
    ends = np.cumsum(sizes)
    with one_blas_thread():
        for g in np.flatnonzero(sizes):
            n, xg = sizes[g], xs[ends[g] - sizes[g]:ends[g]]
            step = max(1, max_cells // n)
            for start in range(0, n_sim, step):
                size = min(step, n_sim - start)
                out[start:start + size, g] = multiplicities(rng, n, size, dtype) @ xg
    return out


def resample_categories(counts, n_sim: int, rng=None) -> np.ndarray:
    """Bootstrap category counts: (..., k) observed counts -> (n_sim, ..., k) resampled.

    In a nonparametric bootstrap of n stations, the number of resampled
    stations in each category is multinomial(n, observed shares), so a
    statistic of one categorical value per station (a digit, an indicator)
    is bootstrapped exactly without drawing station indices.  Stations
    without a value (a NaN digit) must be counted as their own category by
    the caller, so that the number of usable stations varies as it would.
    """
    rng = ensure_rng(rng)
    counts = np.asarray(counts, dtype=np.int64)
    total = counts.sum(axis=-1)
    pvals = counts / np.maximum(total, 1)[..., None]
    pvals[..., -1] = np.clip(1.0 - pvals[..., :-1].sum(axis=-1), 0.0, 1.0)  # rounding goes to the last one
    return rng.multinomial(total, pvals, size=(n_sim, *counts.shape[:-1]))


def resample_power_sums(z, n_sim: int, rng=None, width: float = 0.02, powers: int = 4,
                        chunk: int = 100) -> tuple[np.ndarray, float]:
    """Bootstrap replicates of the power sums (n, sum z, ..., sum z^powers) of n values: ((n_sim, powers + 1), share).

    The values are split into bins of ``width`` (in the values' units; for
    standardised values, a fiftieth of a standard deviation).  In a resample
    of n stations the numbers drawn from each bin are multinomial (n, size /
    n), drawn exactly; a bin's share of each power sum is then its number of
    draws times its mean, plus the sum of that many draws of the deviations
    from the mean within the bin.  That last part is drawn as a normal vector
    with the deviations' exact covariance (a sum of many draws of small
    bounded deviations; a bin of one station has none), so every
    replicate's sums have the bootstrap's exact mean and covariance.  The
    spread within the bins is a small part of the whole: ``share``, the
    largest over the powers of the within-bin variance over the total
    variance, is returned so that it can be reported (about 0.2 width² for
    normal values: 1e-4).  The cost is in the bins, not the stations.
    """
    rng = ensure_rng(rng)
    z = np.asarray(z, dtype=float)
    n = z.size
    _, cell = np.unique(np.floor(z / width), return_inverse=True)
    sizes = np.bincount(cell)
    y = np.column_stack([z ** k for k in range(1, powers + 1)])
    means = np.stack([np.bincount(cell, weights=col) for col in y.T], axis=1) / sizes[:, None]
    d = y - means[cell]
    cov = np.empty((sizes.size, powers, powers))
    for j in range(powers):
        for k in range(j, powers):
            cov[:, j, k] = cov[:, k, j] = np.bincount(cell, weights=d[:, j] * d[:, k]) / sizes
    total = y.var(axis=0)
    share = float(np.max(np.einsum("b,bjj->j", sizes, cov) / (n * np.where(total > 0, total, np.inf))))
    spread = np.flatnonzero(sizes > 1)
    value, vector = np.linalg.eigh(cov[spread])
    root = vector * np.sqrt(np.clip(value, 0.0, None))[:, None, :]     # root @ root.T = the covariance
    out = np.empty((n_sim, powers + 1))
    out[:, 0] = n
    for start in range(0, n_sim, chunk):
        size = min(chunk, n_sim - start)
        counts = rng.multinomial(n, sizes / n, size=size)
        within = np.einsum("rb,rbk,bjk->rj", np.sqrt(counts[:, spread]),
                           rng.standard_normal((size, spread.size, powers)), root)
        out[start:start + size, 1:] = counts @ means + within
    return out, share


def _order_stat_quantile(sorted_reps: np.ndarray, finite: np.ndarray, alpha: float) -> np.ndarray:
    """boot's normal-scale interpolation of order statistics (R ``norm.inter``), per column."""
    from scipy.special import ndtri  # the standard normal quantile (norm.ppf without its overhead)

    r = finite.astype(float)
    rk = (r + 1) * alpha
    k = np.trunc(rk).astype(int)
    cols = np.arange(sorted_reps.shape[1])

    def at(order):  # 1-based order statistic, clipped into range
        return sorted_reps[np.clip(order - 1, 0, sorted_reps.shape[0] - 1), cols]

    tk, tk1 = at(k), at(k + 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        lo, hi = ndtri(k / (r + 1)), ndtri((k + 1) / (r + 1))
        interp = tk + (ndtri(alpha) - lo) / (hi - lo) * (tk1 - tk)
    out = np.where(k == rk, tk, interp)
    out = np.where(k <= 0, at(np.ones_like(k)), out)
    out = np.where(k >= finite, at(finite), out)
    return np.where(finite > 0, out, np.nan)


def basic_interval(t0, replicates, confidence_level: float = 0.95):
    """R ``boot.ci(type = "basic")`` for each column: (2 t0 - q_hi, 2 t0 - q_lo).

    ``replicates`` is (n_sim, m); non-finite replicates are dropped per
    column, as boot does; a column whose replicates are all equal gets no
    interval (NaN), as boot.ci refuses it.
    """
    t0 = np.atleast_1d(np.asarray(t0, dtype=float))
    reps = np.asarray(replicates, dtype=float).reshape(len(replicates), -1)
    reps = np.where(np.isfinite(reps), reps, np.nan)
    finite = np.isfinite(reps).sum(axis=0)
    ordered = np.sort(reps, axis=0)
    q_hi = _order_stat_quantile(ordered, finite, (1 + confidence_level) / 2)
    q_lo = _order_stat_quantile(ordered, finite, (1 - confidence_level) / 2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        centre = np.nanmean(reps, axis=0)
        spread = np.nanmax(np.abs(reps - centre), axis=0)
    constant = spread < np.minimum(1e-8, centre / 1e6)
    bad = constant | (finite == 0) | ~np.isfinite(t0)
    low = np.where(bad, np.nan, 2 * t0 - q_hi)
    high = np.where(bad, np.nan, 2 * t0 - q_lo)
    return low, high


def percentile_interval(replicates, confidence_level: float = 0.95) -> tuple[float, float]:
    """The percentile interval of one statistic's replicates."""
    tail = round(50 * (1 - confidence_level), 10)  # 2.5 exactly for 0.95
    low, high = np.percentile(replicates, [tail, 100 - tail])
    return float(low), float(high)
