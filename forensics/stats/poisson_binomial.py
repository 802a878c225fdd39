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
from scipy import optimize, special

__all__ = ["poisson_binomial_sf", "poisson_binomial_sfs", "poisson_binomial_pmf", "grouped_sf"]

#: below this many events with 0 < p < 1 the exact distribution is computed
EXACT_BELOW = 2_000


def poisson_binomial_pmf(p, block: int = 32) -> np.ndarray:
    """Exact distribution of the number of successes (small inputs).

    Blocks of ``block`` events are convolved one event at a time, all blocks
    together; the blocks' distributions are then convolved pairwise.  Every
    term is a sum of products of non-negative numbers, so the far tail keeps
    its relative accuracy.
    """
    return _pmfs([np.asarray(p, dtype=float).ravel()], block)[0]


def _pmfs(ps: list, block: int = 32) -> list:
    """``poisson_binomial_pmf`` of each array of ``ps``: the blocks of all of them convolved together (each block
    is a row of its own, so its numbers are those it gets alone), then each one's blocks pairwise."""
    n_blocks = [max(1, -(-p.size // block)) for p in ps]
    events = np.zeros((sum(n_blocks), block))
    start = 0
    for p, rows in zip(ps, n_blocks):
        events.ravel()[start * block:start * block + p.size] = p
        start += rows
    pmf = np.zeros((events.shape[0], block + 1))
    pmf[:, 0] = 1.0
    for j in range(block):
        q = events[:, j:j + 1]
        pmf[:, 1:] = pmf[:, 1:] * (1 - q) + pmf[:, :-1] * q
        pmf[:, :1] *= 1 - q
    out, start = [], 0
    for p, rows in zip(ps, n_blocks):
        parts = list(pmf[start:start + rows])
        start += rows
        while len(parts) > 1:
            parts = [np.convolve(*parts[i:i + 2]) if i + 1 < len(parts) else parts[i]
                     for i in range(0, len(parts), 2)]
        out.append(np.clip(parts[0][:p.size + 1], 0, 1))
    return out


def poisson_binomial_sf(k, p) -> float:
    """P(X >= k) for X a sum of independent Bernoulli(p_i).

    Exact for fewer than ``EXACT_BELOW`` informative events, else the
    Lugannani-Rice saddlepoint approximation with Daniels' second continuity
    correction; never below the smallest positive float.
    """
    return poisson_binomial_sfs([k], [p])[0]


def poisson_binomial_sfs(ks, ps) -> list:
    """``poisson_binomial_sf(k, p)`` of every pair of ``ks`` and ``ps`` (the same numbers), the exact
    distributions of all small ones computed together."""
    out, exact = [], []
    for k, p in zip(ks, ps):
        p = np.asarray(p, dtype=float)
        sure = int(np.sum(p >= 1))
        p = p[(p > 0) & (p < 1)]
        k = float(k) - sure
        if k <= 0:
            out.append(1.0)
        elif k > p.size:
            out.append(0.0)
        elif p.size < EXACT_BELOW:
            out.append(None)
            exact.append((len(out) - 1, k, p))
        elif k <= p.sum():
            out.append(float(min(1.0, 1 - _saddlepoint_cdf_below(k, p))))
        else:
            out.append(_saddlepoint_sf(k, p))
    for (at, k, _), pmf in zip(exact, _pmfs([p for _, _, p in exact])):
        out[at] = float(min(1.0, pmf[int(np.ceil(k)):].sum()))
    return out


def _norm_logpdf(x):
    """The standard normal log-density (as scipy.stats.norm.logpdf, without importing scipy.stats)."""
    return -x ** 2 / 2.0 - np.log(np.sqrt(2 * np.pi))


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
        return float(special.ndtr(-(x - p.sum()) / np.sqrt(K2)))
    w = np.sign(t) * np.sqrt(2 * (t * x - K))
    u = 2 * np.sinh(t / 2) * np.sqrt(K2)
    log_phi = _norm_logpdf(w)
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


#: groups with at most this many informative events get the exact distribution in ``grouped_sf``
EXACT_EVENTS = 64


def grouped_sf(k, p, group, n_groups: int, weights=None) -> np.ndarray:
    """P(X_g >= k_g) for every group g at once, X_g = sum over the group's events of w_i * Bernoulli(p_i).

    ``group`` gives each event's group (0 .. n_groups - 1), ``weights`` its
    non-negative integer weight (1 by default: X_g is a Poisson-binomial count).
    Groups with at most ``EXACT_EVENTS`` informative unit-weight events are
    computed exactly; the others by the Lugannani-Rice saddlepoint at
    k - 1/2 (Daniels' second continuity correction: the sums live on the
    integers).  With large weights the same formula is the continuous
    Lugannani-Rice tail, the half-unit correction being negligible at their
    scale.  The saddlepoints of all groups are found together by safeguarded
    Newton steps, so the cost is a few passes over the events whatever the
    number of groups.  For unit weights and many more events than groups, a
    group's probabilities within 1/64 (relative) of each other are pooled at
    their mean first (``_pool``): every group keeps its mean exactly and its
    variance to 1e-4 (relative).
    """
    k = np.asarray(k, dtype=float)
    p = np.asarray(p, dtype=float)
    group = np.asarray(group, dtype=np.int64)
    w = np.ones(p.size) if weights is None else np.asarray(weights, dtype=float)
    certain = p >= 1
    sure = np.bincount(group, weights=w * certain, minlength=n_groups) if certain.any() else np.zeros(n_groups)
    use = (p > 0) & (p < 1) & (w > 0)
    if not use.all():
        p, group, w = p[use], group[use], w[use]
    k = k - sure
    total = np.bincount(group, weights=w, minlength=n_groups)
    mean = np.bincount(group, weights=w * p, minlength=n_groups)
    events = np.bincount(group, minlength=n_groups)
    out = np.where(k <= 0, 1.0, 0.0)
    todo = (k > 0) & (k <= total)
    if weights is None:
        small = todo & (events <= EXACT_EVENTS)
        if small.any():
            out[small] = _exact_small(k[small], p, group, np.flatnonzero(small), n_groups)
        todo &= ~small
    if todo.any():
        # at or below the mean, count the other way: P(X >= k) = 1 - P(total - X >= total - k + 1)
        below = todo & (k <= mean)
        if weights is None:
            p, group, count = _pool(p, group, n_groups)
            w = np.ones(p.size)
            events = np.bincount(group, minlength=n_groups)
        else:
            if np.any(np.diff(group) < 0):  # sorted by group (the counts per group stay the same)
                order = np.argsort(group, kind="stable")
                p, group, w = p[order], group[order], w[order]
            count = np.ones(p.size)
        flip = below[group]
        q = 1 - p
        tail = _saddlepoint_many(np.where(below, total - k + 1, k), np.where(flip, q, p), np.where(flip, p, q),
                                 w, count, events, todo)
        out[todo] = np.where(below, 1 - tail, tail)[todo]
    return np.clip(out, np.finfo(float).tiny * (out > 0), 1.0)


def _exact_small(k, p, group, which, n_groups) -> np.ndarray:
    """Exact upper tails of the few-event groups ``which``: one convolution step per event rank, all groups together."""
    row = np.full(n_groups, -1)
    row[which] = np.arange(which.size)
    sel = np.flatnonzero(row[group] >= 0)
    g = row[group[sel]]
    order = np.argsort(g, kind="stable")
    g, q = g[order], p[sel][order]
    rank = np.arange(g.size) - np.searchsorted(g, g)
    size = int(rank.max(initial=-1)) + 1
    pmf = np.zeros((which.size, size + 1))
    pmf[:, 0] = 1.0
    for r in range(size):
        at = rank == r
        step = np.zeros(which.size)
        step[g[at]] = q[at]
        pmf[:, 1:] = pmf[:, 1:] * (1 - step)[:, None] + pmf[:, :-1] * step[:, None]
        pmf[:, 0] *= 1 - step
    first = np.ceil(k).astype(np.int64)
    tail = np.cumsum(pmf[:, ::-1], axis=1)[:, ::-1]
    return np.where(first <= size, tail[np.arange(which.size), np.minimum(first, size)], 0.0)


#: probabilities below this share one pooled cell per group (their variance is their mean to 1e-12)
POOL_FLOOR = 2.0 ** -40


def _pool(p, group, n_groups):
    """(p, group, count) of the cells of probabilities of a group within 1/64 (relative) of each other.

    A group's cells do not depend on the other groups, so a group pooled
    with others gets the numbers it gets alone.

    A cell's probability is the mean of its members' (so each group's mean is
    kept); the bits of a positive float above the first six of its mantissa
    (the exponent and those six) name the cell and grow with the number.
    Cells come out sorted by group.
    """
    level = np.ascontiguousarray(np.maximum(p, POOL_FLOOR), dtype=np.float64).view(np.int64) >> 46
    low = int(level.min())
    levels = int(level.max()) - low + 1
    code = group * levels + (level - low)
    if n_groups * levels <= 4 * p.size:  # a dense table of cells is cheaper than sorting
        count = np.bincount(code, minlength=n_groups * levels)
        cells = np.flatnonzero(count)
        total = np.bincount(code, weights=p, minlength=n_groups * levels)[cells]
        count = count[cells]
    else:
        cells, inverse, count = np.unique(code, return_inverse=True, return_counts=True)
        total = np.bincount(inverse.ravel(), weights=p, minlength=cells.size)
    return np.clip(total / count, np.finfo(float).tiny, np.nextafter(1.0, 0.0)), cells // levels, count.astype(float)


def _shared_weights(w, events):
    """(each term's (group, weight) pair, each pair's group, a term of each pair) when whole-number weights repeat
    within the groups (a station size is shared by many stations), else None: one exponential per pair then
    serves all its terms."""
    if w.size == 0 or not np.all(w == np.floor(w)):
        return None
    top = int(w.max()) + 1
    if events.size * top > 4 * w.size + (1 << 20):  # too many possible pairs to tabulate
        return None
    key = np.repeat(np.arange(events.size, dtype=np.int64) * top, events) + w.astype(np.int64)
    present = np.zeros(events.size * top, dtype=bool)
    present[key] = True
    pairs = np.flatnonzero(present)
    if 2 * pairs.size > w.size:  # hardly any repeats
        return None
    number = np.cumsum(present) - 1
    term = number[key]
    first = np.empty(pairs.size, dtype=np.int64)
    first[term] = np.arange(w.size)  # any term of a pair: its terms have the same group and weight
    return term, pairs // top, first


def _saddlepoint_many(k, p, q, w, count, events, which, iterations: int = 60) -> np.ndarray:
    """Lugannani-Rice P(X_g >= k_g) for all groups (valid where ``which``; k above the mean there).

    Terms are sorted by group (``events`` per group), each standing for
    ``count`` events of weight ``w`` with probability ``p`` (``q`` = 1 - p,
    passed so that neither loses precision), so sums over a group are
    contiguous reductions.
    """
    n_groups = events.size
    starts = np.concatenate([[0], np.cumsum(events)[:-1]])
    nonempty = events > 0

    def per_group(values):
        out = np.zeros(n_groups)
        out[nonempty] = np.add.reduceat(values, starts[nonempty])
        return out

    scale = per_group(w * count) / np.maximum(per_group(count), 1)
    scale = np.where(scale > 0, scale, 1.0)
    ws = w / np.repeat(scale, events)          # weights in units of the group's mean weight
    x = (k - 0.5) / scale                      # the continuity-corrected point, same units
    unit = bool(np.all(ws == 1))
    cws = count * ws

    cws2 = cws * ws
    pe, rest, s = np.empty(p.size), np.empty(p.size), np.empty(p.size)
    shared = None if unit else _shared_weights(w, events)

    def tilt(t):
        """p e^{tw} of every term, in ``pe`` (``unit``: one exponential per group; terms of a group with the same
        weight share theirs)."""
        if unit:
            np.multiply(p, np.repeat(np.exp(np.minimum(t, 700.0)), events), out=pe)
        elif shared is not None:
            term, owner, first = shared
            grown = t[owner] * ws[first]
            np.minimum(grown, 700.0, out=grown)
            np.multiply(np.exp(grown, out=grown)[term], p, out=pe)
        else:
            np.multiply(np.repeat(t, events), ws, out=pe)
            np.minimum(pe, 700.0, out=pe)
            np.exp(pe, out=pe)
            np.multiply(pe, p, out=pe)
        return pe

    def moments(t):
        """K'(t) and K''(t) of every group; ``rest`` keeps 1 - p + p e^{tw}, whose logs sum to K(t)."""
        tilt(t)
        np.add(q, pe, out=rest)
        np.divide(pe, rest, out=s)         # the tilted probability s
        np.divide(q, rest, out=pe)         # 1 - s, without cancellation
        first = per_group(cws * s)
        np.multiply(s, pe, out=s)
        np.multiply(s, cws2, out=s)
        return first, per_group(s)

    t = np.zeros(n_groups)
    low, high = np.full(n_groups, -np.inf), np.full(n_groups, np.inf)
    active = which & nonempty
    for _ in range(iterations):
        k1, k2 = moments(t)
        gap = x - k1
        low = np.where(gap > 0, t, low)
        high = np.where(gap < 0, t, high)
        with np.errstate(divide="ignore", invalid="ignore"):
            step = t + gap / k2
        bisect = np.where(np.isfinite(low) & np.isfinite(high), (low + high) / 2,
                          np.where(np.isfinite(low), 2 * np.maximum(np.abs(t), 1.0), -2 * np.maximum(np.abs(t), 1.0)))
        new = np.where(np.isfinite(step) & (step > low) & (step < high), step, bisect)
        # solved to a billionth of a standard deviation, or no step left to take
        active &= (np.abs(gap) > 1e-9 * np.sqrt(k2)) & (np.abs(new - t) > 1e-12 * (1 + np.abs(t)))
        t = np.where(active, new, t)
        if not active.any():
            break  # t did not move: k2 and ``rest`` are those of the final t
    else:
        _, k2 = moments(t)
    # K(t) = sum log(1 - p + p e^{t w})
    big_k = per_group(count * np.log(rest))
    mean = per_group(cws * p)
    lattice = np.isclose(scale, 1)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        root = np.sign(t) * np.sqrt(np.maximum(2 * (t * x - big_k), 0.0))
        u = np.where(lattice, 2 * np.sinh(t / 2), t) * np.sqrt(k2)
        value = np.exp(special.log_ndtr(-root)) + np.exp(_norm_logpdf(root)) * (1 / u - 1 / root)
        normal = special.ndtr(-(x - mean) / np.sqrt(k2))
    bad = ~np.isfinite(value) | (value <= 0)
    return np.where(np.abs(t) < 1e-6, normal, np.where(bad, np.exp(special.log_ndtr(-root)), value))
