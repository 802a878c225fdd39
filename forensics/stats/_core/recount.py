"""Honest re-counts from beta-binomial posterior predictives, fast where a normal is close enough.

A station with k of n, under a mixture component (alpha, beta), has the posterior Beta(a, b) with
a = alpha + k, b = beta + n - k; its re-count out of m trials is beta-binomial BB(m, a, b).  Drawing
it exactly (a Beta proportion, then a Binomial count) costs a few hundred nanoseconds.  Where the
re-count has a standard deviation of at least ``SMOOTH_SD``, a skewness of at most ``SMOOTH_SKEW``
in size and a + b >= ``SMOOTH_WEIGHT`` m, it is drawn instead as mean + sd w(z), z standard normal
and w the second-order Cornish-Fisher expansion that gives the right skewness and kurtosis, rounded
to the integers (the rounding keeps the lattice of whole counts, so the fractions v/t the
coarse-shares test looks at come out as often as from exact counts).  There the drawn count is
within total variation 0.005 of the beta-binomial (``benchmarks/bench_coarse_draws.py --accuracy``
computes it at random n, p and a + b); elsewhere (small or lopsided stations) the exact draws
are used.

The mean is computed in float64, the deviation sd w(z) from it in float32 (half the memory traffic of
float64): the shape's inputs (counts below 2^24, moments of order one) are exact or relatively close to
1e-7 in float32, and |sd w(z)| stays below a few hundred, so the deviation is off by less than 1e-4,
which moves a rounded count only when the float64 value lies that close to a half-integer: 7 of the
7.6 million fast draws of 20 re-counts of Russia 2018 and 100 of a simulated 10,000-station election
differ from the same cubic evaluated in float64 (``tests/test_recount.py`` checks the count).
"""
from __future__ import annotations

import numpy as np
from scipy import special

__all__ = ["Posteriors", "recount", "bb_moments", "cornish_fisher", "smooth", "smooth_pmf", "SMOOTH_SD", "SMOOTH_SKEW",
           "SMOOTH_WEIGHT"]

SMOOTH_SD = 4.0
SMOOTH_SKEW = 0.5
SMOOTH_WEIGHT = 0.75


def bb_moments(m, a, b):
    """Mean, standard deviation, skewness and excess kurtosis of BB(m, a, b), elementwise."""
    s = a + b
    ab = a * b
    msm = m * (s + m)
    with np.errstate(divide="ignore", invalid="ignore"):  # no trials: sd 0 and NaN shape
        sd = np.sqrt(msm * ab / (s * s * (s + 1)))
        skew = (s + 2 * m) * (b - a) * np.sqrt((s + 1) / (ab * msm)) / (s + 2)
        kurt = (s * s * (s + 1) / (ab * (s + 2) * (s + 3))
                * (s * (s - 1) - 6 * ab + m * (6 * s + 3 * ab - 18 * ab / s + m * (6 + 3 * ab / s - 18 * ab / (s * s))))
                / msm - 3)
    return m * a / s, sd, skew, kurt


def cornish_fisher(z, skew, kurt):
    """z + skew He2(z) / 6 + kurt He3(z) / 24 - skew^2 (2 z^3 - 5 z) / 36: a variable with that skewness
    and excess kurtosis to second order, from a standard normal z."""
    q = z * z
    return z * (1 - kurt / 8 + 5 * skew * skew / 36 + q * (kurt / 24 - skew * skew / 18)) + skew / 6 * (q - 1)


def smooth(sd, skew, s, m):
    """Where the rounded Cornish-Fisher normal stands in for the exact beta-binomial."""
    with np.errstate(invalid="ignore"):
        return (sd >= SMOOTH_SD) & (np.abs(skew) <= SMOOTH_SKEW) & (s >= SMOOTH_WEIGHT * m)


class Posteriors:
    """Every station's Beta posterior under every component, read by cell (station x L + component).

    ``n``, ``k``: the counts the posteriors come from; ``resp`` (stations x L) each component's
    responsibility for a station (the probability a re-count uses it); ``fixed``: keep the re-count
    moments for m = n trials (the turnout re-count, whose trials are the station's voters), else the
    per-cell constants of ``bb_moments`` in m, so that a re-count's moments cost a few operations.
    """

    def __init__(self, alpha, beta, resp, n, k, fixed=False):
        self.n, self.k = np.asarray(n, dtype=np.int64), np.asarray(k, dtype=np.int64)
        self.rest = self.n - self.k
        self.alpha, self.beta = alpha, beta
        self.cum = np.ascontiguousarray(np.cumsum(resp, axis=1)[:, :-1].T)
        self.offset = alpha.size * np.arange(self.n.size)
        # the Beta posterior's a and b in each cell, for the exact draws
        self.a = (alpha[None, :] + self.k[:, None]).ravel()
        self.b = (beta[None, :] + self.rest[:, None]).ravel()
        a, b = self.a, self.b
        s = a + b
        if fixed:
            m = np.repeat(self.n.astype(float), alpha.size)
            mean, sd, skew, kurt = bb_moments(m, a, b)
            # mean + sd cornish_fisher(z) as the cubic x0 + z (x1 + z (x2 + z x3)), its coefficients kept per cell
            x2 = sd * skew / 6
            self.fixed = (mean - x2, *(np.float32(x) for x in (sd * (1 - kurt / 8 + 5 * skew * skew / 36), x2,
                                                               sd * (kurt / 24 - skew * skew / 18))),
                          smooth(sd, skew, s, m))
            return
        self.fixed = None
        ab = a * b
        scale = s * s * (s + 1) / (ab * (s + 2) * (s + 3))
        # bb_moments with m factored out: sd = root_c sqrt(m (s + m)), skew = (s + 2m) e / sqrt(m (s + m)),
        # kurtosis + 3 = (k0 + m (k1 + m k2)) / (m (s + m)); all but the mean's p kept in float32
        self.p = a / s
        self.s, self.root_c, self.e, self.k0, self.k1, self.k2 = (np.float32(x) for x in (
            s, np.sqrt(ab / (s * s * (s + 1))), (b - a) * np.sqrt((s + 1) / ab) / (s + 2),
            scale * (s * (s - 1) - 6 * ab), scale * (6 * s + 3 * ab - 18 * ab / s),
            scale * (6 + 3 * ab / s - 18 * ab / (s * s))))

    def cells(self, rng):
        """A component for every station, drawn by responsibility: (stations,) cell indices."""
        u = rng.random(self.n.size)
        small = np.uint8 if self.alpha.size <= 256 else np.intp
        component = np.zeros(u.size, dtype=small)
        for column in self.cum:
            component += (u > column).view(np.uint8)
        return self.offset + component

    def moments(self, m, cell):
        """Mean (float64), standard deviation, skewness and excess kurtosis of re-counts out of ``m`` trials
        (float32: exact for counts below 2^24) in ``cell``, and the cells' a + b (float32)."""
        s = self.s[cell]
        msm = s + m
        skew = msm + m
        msm *= m
        root = np.sqrt(msm)
        with np.errstate(divide="ignore", invalid="ignore"):  # no trials: sd 0, drawn exactly
            skew *= self.e[cell]
            skew /= root
            kurt = self.k2[cell]
            kurt *= m
            kurt += self.k1[cell]
            kurt *= m
            kurt += self.k0[cell]
            kurt /= msm
            kurt -= 3
        root *= self.root_c[cell]
        return m * self.p[cell], root, skew, kurt, s


def recount(rng, post: Posteriors, trials=None) -> np.ndarray:
    """One re-count of every station (int64) from its posterior predictive.

    ``trials``: each station's trials (None: the ``n`` of ``post``, whose moments it keeps).  Draws, in
    this order: a uniform per station for its component, a standard normal per station, then the exact
    Beta and Binomial draws where the normal is not close enough.
    """
    cell = post.cells(rng)
    if trials is None:
        trials = post.n
        x, x1, x2, dev, ok = (arr[cell] for arr in post.fixed)
        z = rng.standard_normal(cell.size).astype(np.float32)
        with np.errstate(invalid="ignore"):  # the cubic's last three terms, the deviation from its first
            dev *= z
            dev += x2
            dev *= z
            dev += x1
            dev *= z
    else:
        m = trials.astype(np.float32)
        x, sd, skew, kurt, s = post.moments(m, cell)
        ok = smooth(sd, skew, s, m)
        z = rng.standard_normal(cell.size).astype(np.float32)
        with np.errstate(invalid="ignore"):  # NaN where there are no trials: drawn exactly below
            dev = cornish_fisher(z, skew, kurt)
            dev *= sd
    with np.errstate(invalid="ignore"):
        x += dev
        np.rint(x, out=x)
        out = x.astype(np.int64)
    np.minimum(out, trials, out=out)
    np.maximum(out, 0, out=out)
    rough = np.flatnonzero(~ok)
    cell = cell[rough]
    out[rough] = rng.binomial(trials[rough], rng.beta(post.a[cell], post.b[cell]))
    return out


def smooth_pmf(m: int, a: float, b: float, step: float = 1e-4) -> np.ndarray:
    """Probabilities of 0..m under the rounded Cornish-Fisher draw of BB(m, a, b) (to compare with the exact pmf).

    The cubic x(z) = mean + sd cornish_fisher(z) is cut into monotone pieces on a grid of ``step``
    over |z| <= 9; on each piece the z where x crosses k + 1/2 is found by interpolation, and the normal
    mass between crossings goes to the count k it rounds to (clipped to 0..m, as ``recount`` does).
    """
    mean, sd, skew, kurt = bb_moments(float(m), a, b)
    z = np.arange(-9.0, 9.0 + step / 2, step)
    x = mean + sd * cornish_fisher(z, skew, kurt)
    pmf = np.zeros(m + 1)
    turns = np.flatnonzero(np.diff(np.sign(np.diff(x)))) + 1
    for piece in np.split(np.arange(z.size), turns):
        zs, xs = z[piece], x[piece]
        if xs[0] > xs[-1]:
            zs, xs = zs[::-1], xs[::-1]
        cuts = np.arange(np.ceil(xs[0] - 0.5), np.floor(xs[-1] - 0.5) + 1) + 0.5
        at = np.concatenate([[zs[0]], np.interp(cuts, xs, zs), [zs[-1]]])
        mass = np.abs(np.diff(special.ndtr(at)))
        counts = np.clip(np.rint(np.concatenate([[xs[0]], cuts + 0.5])), 0, m).astype(np.int64)
        np.add.at(pmf, counts, mass)
    return pmf
