"""Coarse vote shares: Rozenas' resampled kernel density (RKD) test.

A commission that invents a result tends to write a "round" share such as
1/2, 2/3 or 3/4 of the votes.  Small stations produce such coarse fractions
honestly too (with 4 voters every share is a multiple of 1/4), so the test
does not count them: it asks whether the density of observed shares pokes
above everything honest data with the same station sizes produce.

1. Honest latent densities: a mixture of beta-binomial distributions is fitted
   by maximum likelihood to turnout (valid votes t out of voters N) and to the
   party's votes (v out of t); the number of components grows until the
   fitted density stops changing (correlation >= 0.99) or reaches
   ``max_components``.
2. Resampling: each station draws a component in proportion to how well it
   explains the station's counts, a proportion from that component's
   conjugate posterior, and new counts t* ~ Bin(N, p_t), v* ~ Bin(t*, p_v):
   a beta-binomial count, which for large stations is drawn from a rounded
   Cornish-Fisher normal within total variation 0.005 of it (``_core.recount``).
3. The kernel density of the observed shares v/t is compared, grid point by
   grid point, with the pointwise maximum over the resamples.  Bins of width
   1/(grid-1) where the observed density exceeds that envelope carry their
   excess mass (observed minus mean resampled proportion of stations);
   F = 100 x the total is the estimated percentage of stations with excess
   coarse shares.

Deviations from the R package ``spikes``, stated so results can be compared:
the mixture is started from quantile groups (method of moments) instead of
random starts refined against a kernel density; the likelihood is maximised
directly (L-BFGS-B with analytic gradients, log alpha and log beta boxed in
[-3, 6] as in the package, to a relative tolerance of 1e-10) on a weighted
sample of distinct (n, k) pairs; large stations' re-counts are drawn from the
rounded Cornish-Fisher normal (``exact=True``: every draw exact); the kernel
density is computed as in R's ``density()`` (linear binning onto 2 x 1024
points over [-4bw, 1 + 4bw], Gaussian smoothing, linear interpolation to the
grid).  The p-value is an addition: F of each resample
against the envelope and mean of the other resamples gives the null
distribution of F, and the p-value is the share of resamples whose F is at
least the observed one.
"""
from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache

import numpy as np
import pandas as pd
from scipy import optimize, special

from ..exclusions import Exclusions
from ..random import ensure_rng
from ._core.plane import party_column, require_registered
from ._core.recount import Posteriors, recount
from .registry import register_test
from .result import TestResult

__all__ = ["coarse_shares"]

#: box for log alpha and log beta (alpha, beta in [0.050, 403])
LOG_BOUNDS = (-3.0, 6.0)
#: L-BFGS-B stops when an iteration improves the log-likelihood by less than this fraction of it: scipy's
#: default (2.2e-9, about 6e-5 log units on 5,000 stations) stops some fits on a flat ridge up to 0.2 log
#: units short of the optimum, where the last digits of the sums decide where; 1e-10 reaches it
FIT_FTOL = 1e-10
#: at most this many re-counts per block: every block has its own random stream, so the blocks can be
#: drawn in parallel, and the numbers depend on this constant and ``chunk``, never on the number of threads
RECOUNTS_PER_BLOCK = 25
#: the fast re-counts' densities are taken in calls of at least this many values (whole re-counts)
DENSITY_VALUES = 100_000


# -- step 1: beta-binomial mixture ------------------------------------------------------------

class _Distinct:
    """Counts (n, k) as indices into the distinct values of k, n - k and n.

    The likelihood's special functions of k + a, n - k + b and n + a + b take
    one value per distinct count and component, not per station or pair: a
    sample of 5,000 stations has about 5,000 distinct counts over the three,
    against 15,000 per-pair arguments.  The counts are sorted to find their
    distinct values; with ``by_value`` (for a single evaluation on many
    stations), counts spanning fewer integers than there are stations are
    indexed by their value instead, with no sort.
    """

    def __init__(self, n, k, by_value=False):
        self.sides = [self._index(x, by_value) for x in (k, n - k, n)]
        self._flat = {}

    @staticmethod
    def _index(x, by_value):
        top = int(x.max())
        if by_value and top < x.size:
            return np.arange(top + 1, dtype=float), x.astype(np.intp)
        values, index = np.unique(x, return_inverse=True)
        return values, index.ravel()

    def flat_index(self, L):
        """Per side, (L x stations) position of each station's distinct count in a raveled (L x values) array."""
        if L not in self._flat:
            self._flat[L] = [index[None, :] + values.size * np.arange(L)[:, None] for values, index in self.sides]
        return self._flat[L]

    def log_gamma(self, a, b):
        """(L x stations) gammaln(k + a) + gammaln(n - k + b) - gammaln(n + a + b)."""
        (uk, ik), (ur, ir), (un, iN) = self.sides
        out = np.take(special.gammaln(uk[None, :] + a[:, None]), ik, axis=1)
        out += np.take(special.gammaln(ur[None, :] + b[:, None]), ir, axis=1)
        out -= np.take(special.gammaln(un[None, :] + (a + b)[:, None]), iN, axis=1)
        return out

    def log_choose(self):
        """log C(n, k) per station."""
        (uk, ik), (ur, ir), (un, iN) = self.sides
        return special.gammaln(un + 1)[iN] - special.gammaln(uk + 1)[ik] - special.gammaln(ur + 1)[ir]

    def digamma_gains(self, a, b, weight):
        """Sums over stations of ``weight`` (L x stations) times digamma(x + c) - digamma(c), for (x, c) =
        (k, a), (n - k, b) and (n, a + b): the weights are first added up per distinct count."""
        L, gains = weight.shape[0], []
        for (values, _), flat, shift in zip(self.sides, self.flat_index(L), (a, b, a + b)):
            per_value = np.bincount(flat.ravel(), weights=weight.ravel(), minlength=L * values.size)
            step = special.digamma(values[None, :] + shift[:, None]) - special.digamma(shift)[:, None]
            gains.append((per_value.reshape(L, -1) * step).sum(axis=1))
        return gains


def _component_loglik(n, k, a, b, log_choose=None, distinct=None):
    """(pairs x L) log BB(k | n, a_l, b_l), the transpose of an (L x pairs) array; ``log_choose`` = log C(n, k)
    and ``distinct`` = _Distinct(n, k) when precomputed."""
    distinct = _Distinct(n, k) if distinct is None else distinct
    log_choose = distinct.log_choose() if log_choose is None else log_choose
    comp = distinct.log_gamma(a, b)
    comp += log_choose
    comp -= special.betaln(a, b)[:, None]
    return comp.T


def _logsumexp_rows(x):
    """``log(sum(exp(x), axis=1))`` for a (rows x L) array of finite values (scipy's logsumexp, without its checks)."""
    top = x.max(axis=1)
    return np.log(np.exp(x - top[:, None]).sum(axis=1)) + top


def _normalise_components(comp):
    """Turn (L x stations) log-weights, in place, into each station's probabilities over the L rows;
    returns the log of each station's total weight."""
    top = comp.max(axis=0)
    comp -= top
    np.exp(comp, out=comp)
    mass = comp.sum(axis=0)
    comp /= mass
    return np.log(mass) + top


def _unpack(theta, L):
    a = np.exp(theta[:L])
    b = np.exp(theta[L:2 * L])
    u = np.concatenate([[0.0], theta[2 * L:]])
    logw = u - _logsumexp_rows(u[None, :])[0]
    return a, b, logw


def _negloglik(theta, n, k, count, L, log_choose, distinct=None):
    """Negative mixture log-likelihood and its gradient in (log a, log b, weight logits).

    Works on (L x pairs) arrays, so the sums over components are row operations; ``distinct`` is
    _Distinct(n, k) when precomputed.
    """
    distinct = _Distinct(n, k) if distinct is None else distinct
    a, b, logw = _unpack(theta, L)
    resp = _component_loglik(n, k, a, b, log_choose, distinct).T
    resp += logw[:, None]
    total = _normalise_components(resp)
    resp *= count
    weight = resp.sum(axis=1)
    gain_k, gain_rest, gain_n = distinct.digamma_gains(a, b, resp)
    grad_a = a * (gain_k - gain_n)
    grad_b = b * (gain_rest - gain_n)
    grad_u = weight - count.sum() * np.exp(logw)
    return -float(count @ total), -np.concatenate([grad_a, grad_b, grad_u[1:]])


def _start(n, k, count, L):
    """Starting values: method-of-moments Beta fits to L quantile groups of the proportions."""
    q = k / n
    order = np.argsort(q, kind="stable")
    cum = np.cumsum(count[order]) / count.sum()
    group = np.minimum((cum * L).astype(int), L - 1)
    a0, b0 = np.empty(L), np.empty(L)
    for g in range(L):
        sel = order[group == g]
        wts = count[sel] if sel.size else np.ones(1)
        vals = q[sel] if sel.size else np.array([0.5])
        m = np.clip(np.average(vals, weights=wts), 0.01, 0.99)
        v = max(np.average((vals - m) ** 2, weights=wts), 1e-4)
        common = max(m * (1 - m) / v - 1, 0.5)
        a0[g], b0[g] = m * common, (1 - m) * common
    return np.concatenate([np.clip(np.log(a0), *LOG_BOUNDS), np.clip(np.log(b0), *LOG_BOUNDS), np.zeros(L - 1)])


def _mixture_density(fit, x):
    """The fitted mixture of Beta densities at ``x`` (scipy.special, not scipy.stats: a scan's re-counts need
    nothing of scipy.stats, whose import costs a second)."""
    a, b, x = fit["alpha"], fit["beta"], x[:, None]
    log_pdf = special.xlogy(a - 1, x) + special.xlog1py(b - 1, -x) - special.betaln(a, b)
    return np.exp(fit["logw"])[None, :] @ np.exp(log_pdf).T


def fit_betabinom_mixture(n, k, max_components: int = 5, rng=None, sample: int = 5_000,
                          grid: np.ndarray | None = None) -> dict:
    """Maximum-likelihood mixture of beta-binomials for counts k out of n.

    Fits L = 1, 2, ... components (a weighted sample of at most ``sample``
    stations, collapsed to distinct (n, k) pairs) and stops when the fitted
    latent density for L correlates >= 0.99 with the one for L - 1, or at
    ``max_components``.  Returns {"alpha", "beta", "w", "logw", "L",
    "loglik", "path"} for the last L (``path``: log-likelihood per L).
    """
    rng = ensure_rng(rng)
    n = np.asarray(n, dtype=np.int64)
    k = np.asarray(k, dtype=np.int64)
    if n.size > sample:
        pick = rng.choice(n.size, size=sample, replace=False)
        n, k = n[pick], k[pick]
    pairs, count = np.unique(np.column_stack([n, k]), axis=0, return_counts=True)
    n, k, count = pairs[:, 0].astype(float), pairs[:, 1].astype(float), count.astype(float)
    distinct = _Distinct(n, k)
    log_choose = distinct.log_choose()
    x = np.linspace(0.01, 0.99, 99) if grid is None else grid
    path, previous, fit = [], None, None
    for L in range(1, max_components + 1):
        bounds = [LOG_BOUNDS] * (2 * L) + [(-10.0, 10.0)] * (L - 1)
        opt = optimize.minimize(_negloglik, _start(n, k, count, L), args=(n, k, count, L, log_choose, distinct),
                                jac=True, method="L-BFGS-B", bounds=bounds, options={"ftol": FIT_FTOL})
        a, b, logw = _unpack(opt.x, L)
        fit = {"alpha": a, "beta": b, "w": np.exp(logw), "logw": logw, "L": L, "loglik": -opt.fun}
        path.append(-opt.fun)
        density = _mixture_density(fit, x).ravel()
        if previous is not None and np.corrcoef(previous, density)[0, 1] >= 0.99:
            break
        previous = density
    fit["path"] = path
    return fit


def _responsibilities(fit, n, k):
    """(stations x L) probability of each component given a station's counts."""
    # log C(n, k) is the same for every component: left out, it changes no probability
    comp = _component_loglik(n, k, fit["alpha"], fit["beta"], 0.0, _Distinct(n, k, by_value=True)).T
    comp += fit["logw"][:, None]
    _normalise_components(comp)
    return comp.T


def _draw_components(rng, resp, size):
    """(size x stations) component index drawn by responsibility (inverse CDF, one uniform per draw)."""
    u = rng.random((size, resp.shape[0]))
    cum = np.cumsum(resp, axis=1)
    comp = np.zeros(u.shape, dtype=np.uint8 if resp.shape[1] <= 256 else np.intp)
    for column in cum[:, :-1].T:
        comp += u > column
    return comp


def _draw_posterior(rng, fit, resp, n, k, size):
    """(size x stations) proportions: a component by responsibility, then its conjugate Beta posterior."""
    comp = _draw_components(rng, resp, size)
    a = np.take(fit["alpha"], comp)
    a += k
    b = np.take(fit["beta"], comp)
    b += n - k
    return rng.beta(a, b)


def _recount_exact(rng, fit, resp, n, k, trials):
    """Re-counts out of ``trials`` (size x stations): a Beta posterior proportion, then a Binomial count."""
    return rng.binomial(trials, _draw_posterior(rng, fit, resp, n, k, trials.shape[0]))


# -- step 3: kernel density on the grid, as R's density() ---------------------------------------

def share_density(values, bw: float = 1e-4, grid: int = 1001) -> np.ndarray:
    """Gaussian kernel density of shares on ``grid`` points over [0, 1]; rows of a 2-D input separately.

    Linear binning onto 2 x 1024 points over [-4 bw, 1 + 4 bw], convolution
    with the Gaussian kernel and linear interpolation to the grid, as R's
    ``density(x, bw, from = 0, to = 1, n = grid)`` does.
    """
    values = np.atleast_2d(np.asarray(values, dtype=float))
    size = 2 * int(2 ** np.ceil(np.log2(max(grid, 512))))
    lo, hi = -4 * bw, 1 + 4 * bw
    step = (hi - lo) / (size - 1)
    rows, m = values.shape
    pos = values - lo
    pos /= step
    left = pos.astype(np.intp)  # truncation: the floor wherever the clip leaves it
    np.clip(left, 0, size - 2, out=left)
    frac = pos
    frac -= left
    np.clip(frac, 0.0, 1.0, out=frac)
    if rows > 1:
        left += (np.arange(rows) * size)[:, None]
    # each value's 1 - frac on its left point and frac on the next one: the frac sums, moved one point on
    right = np.bincount(left.ravel(), weights=frac.ravel(), minlength=rows * size)
    np.subtract(1.0, frac, out=frac)
    mass = np.bincount(left.ravel(), weights=frac.ravel(), minlength=rows * size)
    mass[1:] += right[:-1]
    mass = mass.reshape(rows, size)
    mass /= m
    smooth = _convolve_rows(mass, _kernel(bw, step))
    return _interp_rows(np.linspace(0, 1, grid), lo + step * np.arange(size), smooth)


@lru_cache(maxsize=8)
def _kernel(bw: float, step: float) -> np.ndarray:
    """The Gaussian kernel's weights on the binning grid, out to 4 bandwidths (made once per bw and step:
    the re-counts' densities ask for it a row at a time)."""
    half = max(1, int(np.ceil(4 * bw / step)))
    z = np.arange(-half, half + 1) * step / bw
    kernel = np.exp(-z ** 2 / 2.0) / np.sqrt(2 * np.pi) / bw  # the normal density of scale bw
    kernel.setflags(write=False)
    return kernel


def _convolve_rows(mass, kernel):
    """``np.convolve(row, kernel, mode="same")`` for every row at once (odd-length kernel)."""
    half = kernel.size // 2
    width = mass.shape[1]
    out = np.zeros_like(mass)
    for j, weight in enumerate(kernel[::-1]):
        shift = j - half
        src = slice(max(0, shift), width + min(0, shift))
        dst = slice(max(0, -shift), width - max(0, shift))
        out[:, dst] += mass[:, src] * weight
    return out


def _interp_rows(x, xp, fp):
    """``np.interp(x, xp, row)`` for every row of ``fp`` at once (x inside [xp[0], xp[-1]))."""
    j = np.clip(np.searchsorted(xp, x, side="right") - 1, 0, xp.size - 2)
    slope = (fp[:, j + 1] - fp[:, j]) / (xp[j + 1] - xp[j])
    return np.where(x == xp[j], fp[:, j], slope * (x - xp[j]) + fp[:, j])


def _bin_shares(values, grid):
    """(rows x grid) proportion of stations in right-closed bins of width 1/(grid-1) centred on the grid."""
    values = np.atleast_2d(values)
    rows, m = values.shape
    at = values * (grid - 1)
    at -= 0.5
    np.ceil(at, out=at)
    idx = at.astype(np.intp)
    np.clip(idx, 0, grid - 1, out=idx)
    if rows > 1:
        idx += (np.arange(rows) * grid)[:, None]
    return np.bincount(idx.ravel(), minlength=rows * grid).reshape(rows, grid) / m


def _F(dens, envelope, share, mean_share):
    """Percent of stations in bins whose density exceeds the envelope (share-0 bin excluded)."""
    excess = np.maximum(0.0, share - mean_share)
    excess[..., 0] = 0.0
    flagged = dens > envelope
    return 100 * (excess * flagged).sum(axis=-1), flagged, excess


# -- the test -----------------------------------------------------------------------------------

@register_test("coarse_shares", renamed={"resamples": "n_sim"})
def coarse_shares(election, party=None, n_sim: int = 1000, bw: float = 1e-4, grid: int = 1001,
                  rng=None, max_components: int = 5, fit_sample: int = 5_000,
                  chunk: int = 1_000_000, workers: int | None = None, exact: bool = False) -> TestResult:
    """Rozenas' RKD estimate of the percentage of stations with excess coarse vote shares.

    Uses t = valid votes and v = the party's votes (the leader by default) at
    stations with 0 < t <= voters on the list.  ``statistic`` is F (percent of
    stations); ``pvalue`` the share of the ``n_sim`` resamples with F at least as large;
    ``details``: ``flagged`` (share, excess in percent of stations),
    ``fits`` (turnout and vote mixtures), ``x``, ``density``, ``envelope``
    and ``null_F`` for figures.

    The two mixtures are fitted, and the re-counts drawn in blocks of at
    most ``RECOUNTS_PER_BLOCK`` resamples and ``chunk`` station draws, each
    from its own stream spawned from ``rng``, on ``workers`` threads (None:
    the cores this process may use); the result does not depend on ``workers``.
    A re-count of a large station is drawn from a rounded, skewness-corrected
    normal within total variation 0.005 of its beta-binomial (``_core.recount``);
    ``exact=True`` draws every re-count as a Beta proportion and a Binomial
    count (several times slower).
    """
    if n_sim < 2:
        raise ValueError("n_sim must be at least 2")
    e = election
    require_registered(e)
    party = party_column(e, party)
    N, t, v = (e.table["registered"].astype(float), e.ballots("valid").astype(float), e.table[party].astype(float))
    ex = Exclusions.for_election(e)
    ex.require(N.notna() & t.notna() & v.notna(), "missing counts")
    ex.require((N >= 0) & (v >= 0), "negative counts")
    ex.require(t > 0, "no valid votes")
    ex.require(t <= N, "more valid votes than voters on the list")
    ex.require(v <= t, "party votes exceed valid votes")
    N, t, v = (s[ex.keep].to_numpy(np.int64) for s in (N, t, v))
    if N.size < 10:
        return TestResult.from_exclusions("coarse_shares", ex, party=party, details={"party": party},
                                          explanation="Too few polling stations with valid votes to fit the "
                                                      "honest-count model.")

    size = max(1, min(RECOUNTS_PER_BLOCK, n_sim, chunk // N.size))
    starts = range(0, n_sim, size)
    fit_t_stream, fit_v_stream, *block_streams = np.random.SeedSequence(int(rng.integers(2**63))).spawn(
        2 + len(starts))
    workers = _workers(workers)

    def fit(job):
        n, k, stream = job
        return fit_betabinom_mixture(n, k, max_components, np.random.default_rng(stream), fit_sample)

    fit_t, fit_v = _run(fit, [(N, t, fit_t_stream), (t, v, fit_v_stream)], workers)
    resp_t = _responsibilities(fit_t, N.astype(float), t.astype(float))
    resp_v = _responsibilities(fit_v, t.astype(float), v.astype(float))

    observed = v / t
    dens_obs = share_density(observed, bw, grid)[0]
    share_obs = _bin_shares(observed, grid)[0]
    posts = (None, None)  # exact draws
    if not exact:
        posts = (Posteriors(fit_t["alpha"], fit_t["beta"], resp_t, N, t, fixed=True),
                 Posteriors(fit_v["alpha"], fit_v["beta"], resp_v, t, v))
    model = (fit_t, resp_t, fit_v, resp_v, N, t, v, bw, grid, posts)

    def block(job):
        start, stream = job
        return _recount_block(np.random.default_rng(stream), *model, min(size, n_sim - start))

    dens_sim, share_sim = zip(*_run(block, list(zip(starts, block_streams)), workers))
    dens_sim, share_sim = np.vstack(dens_sim), np.vstack(share_sim)

    envelope = dens_sim.max(axis=0)
    F, flagged, excess = _F(dens_obs, envelope, share_obs, share_sim.mean(axis=0))
    null_F = _leave_one_out_F(dens_sim, share_sim)
    pvalue = (1 + np.sum(null_F >= F - 1e-12)) / (1 + n_sim)

    x = np.linspace(0, 1, grid)
    hits = flagged & (excess > 0)
    flagged_table = pd.DataFrame({"share": x[hits], "excess_percent": 100 * excess[hits],
                                  "observed_percent": 100 * share_obs[hits]})
    flagged_table = flagged_table.sort_values("excess_percent", ascending=False, ignore_index=True)
    details = {
        "party": party, "flagged": flagged_table, "fits": {"turnout": _fit_table(fit_t), "votes": _fit_table(fit_v)},
        "x": x, "density": dens_obs, "envelope": envelope, "null_F": null_F,
        "n_sim": n_sim, "bw": bw, "grid": grid,
    }
    return TestResult.from_exclusions(
        "coarse_shares", ex, F, pvalue=float(pvalue), expected=float(np.mean(null_F)), details=details,
        explanation=_explain(F, pvalue, flagged_table, N.size, party, n_sim), party=party, alternative="greater",
        method=f"resampled kernel density ({n_sim} honest re-counts)",
    )


def _recount_block(rng, fit_t, resp_t, fit_v, resp_v, N, t, v, bw, grid, posts, size):
    """Densities and bin shares of ``size`` honest re-counts: t* of N, then v* of t* (``posts``: exact if None).

    The fast draws go one re-count at a time, so each pass over the stations stays in the cache, and their
    densities a few re-counts at a time.
    """
    if posts[0] is None:
        t_star = _recount_exact(rng, fit_t, resp_t, N, t, np.broadcast_to(N, (size, N.size)))
        v_star = _recount_exact(rng, fit_v, resp_v, t, v, t_star)
        y = np.divide(v_star, t_star, out=np.zeros(t_star.shape), where=t_star > 0)
        return share_density(y, bw, grid), _bin_shares(y, grid)
    dens, share = np.empty((size, grid)), np.empty((size, grid))
    y = np.zeros((size, N.size))
    rows = max(1, DENSITY_VALUES // N.size)  # re-counts per density call: few values cost the call's overhead
    for row in range(size):
        t_star = recount(rng, posts[0])
        v_star = recount(rng, posts[1], t_star)
        np.divide(v_star, np.maximum(t_star, 1), out=y[row])  # no votes where no turnout: share 0
        if (row + 1) % rows == 0 or row + 1 == size:
            done = slice(row - row % rows, row + 1)
            dens[done], share[done] = share_density(y[done], bw, grid), _bin_shares(y[done], grid)
    return dens, share


def _run(func, jobs, workers):
    """``[func(job) for job in jobs]``, on up to ``workers`` threads."""
    workers = min(workers, len(jobs))
    if workers == 1:
        return [func(job) for job in jobs]
    with ThreadPoolExecutor(workers) as pool:
        return list(pool.map(func, jobs))


def _workers(workers):
    """Threads to use: ``workers``, or the cores this process may run on."""
    if workers is None:
        workers = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    if workers < 1:
        raise ValueError("workers must be at least 1")
    return int(workers)


def _leave_one_out_F(dens, share):
    """F of each resample against the envelope and the mean of all the other resamples."""
    r = dens.shape[0]
    top2 = np.sort(np.partition(dens, r - 2, axis=0)[r - 2:], axis=0)
    argmax = dens.argmax(axis=0)
    others_max = np.where(np.arange(r)[:, None] == argmax[None, :], top2[0][None, :], top2[1][None, :])
    others_mean = (share.sum(axis=0)[None, :] - share) / (r - 1)
    return _F(dens, others_max, share, others_mean)[0]


def _fit_table(fit) -> pd.DataFrame:
    return pd.DataFrame({"component": np.arange(1, fit["L"] + 1), "alpha": fit["alpha"],
                         "beta": fit["beta"], "weight": fit["w"]})


def _explain(F, pvalue, flagged, n, party, n_sim) -> str:
    where = ", ".join(f"{s:.3f}" for s in flagged["share"].head(5)) or "none"
    return (
        f"We compared the distribution of {party}'s vote share at {n:,} polling stations with {n_sim} "
        f"re-counts simulated from a smooth model of honest voting that keeps each station's size (so shares "
        f"such as 1/2 or 2/3 that small stations produce naturally are expected). The observed shares pile up "
        f"above every simulated re-count at: {where}; the stations in those spikes beyond what honest counting "
        f"gives make up an estimated {F:.4f}% of all stations (F). Honest data give an F at least this large "
        f"in {pvalue:.0%} of re-counts. A spike at a round share is a reason to look at those stations, "
        f"not proof that their figures were invented."
    )
