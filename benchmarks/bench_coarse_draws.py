"""Cost of the coarse-shares re-count draws and fits, and of candidates to cut it; sections of spikes.md.

``coarse_shares`` spends most of its time drawing honest re-counts: per resample and station a
component, then a beta-binomial count, for turnout (t* of N) and for the party's votes (v* of t*).
Drawn exactly, that is a Beta proportion and a Binomial count.  The package draws a large station's
count from the rounded second-order Cornish-Fisher normal instead (``forensics.stats._core.recount``),
and keeps the exact draws for the small and lopsided stations.  By default this script measures what
that saves, per stage, on a simulated 100,000-station election and on Russia 2018, and writes the
section "Coarse shares: cost of the re-count draws" of ``benchmarks/results/spikes.md``.

With ``--accuracy`` it measures what the fast draws change: their total variation distance from the
exact beta-binomial over random parameters where they are used, the mean share of stations per bin
of 400 fast and 400 exact re-counts of a simulated election, and F and p of the whole test over seeds
on a simulated election and Russia 2018, fast and exact; section "Coarse shares: accuracy of the fast
re-counts".

With ``--real`` it runs the whole test with fast and with exact re-counts on every election in
``../shared/data`` (six seeds below 90,000 stations, one for the Russian elections; section
"Coarse shares: fast and exact re-counts on the real elections").

With ``--whole`` it times the whole test instead (``coarse_shares`` with the default battery's 200
re-counts, on one thread and on two: CPU seconds of the process, all threads included, and wall
seconds) and writes the section "Coarse shares: the whole test on one and two threads".

With ``--tables`` it measures a candidate for the turnout re-counts, inversion of per-station
beta-binomial tables (exact; built once, then one uniform per draw), against numpy's draws, and
writes the section "Coarse shares: turnout re-counts by inversion of per-station tables".  With
``--fits`` it measures savings for the mixture fits' fixed cost (warm starts, scipy's default and a looser
tolerance) and writes "Coarse shares: the mixture fits' fixed cost".  With ``--compiled`` (numba
installed by hand) it times the inversion sampler compiled as one loop per station and writes
"Coarse shares: turnout re-counts by a compiled inversion sampler".

    python benchmarks/bench_coarse_draws.py [--replicates 20]
    python benchmarks/bench_coarse_draws.py --accuracy [--seeds 20]
    python benchmarks/bench_coarse_draws.py --real
    python benchmarks/bench_coarse_draws.py --whole [--sizes 10000 1000000]
    python benchmarks/bench_coarse_draws.py --tables
    python benchmarks/bench_coarse_draws.py --fits
    python benchmarks/bench_coarse_draws.py --compiled   # needs numba
"""
from __future__ import annotations

import argparse
from functools import partial
import time
from pathlib import Path
from unittest import mock

import numpy as np
from scipy import optimize, stats

import forensics
from forensics.simulate import simulate
from forensics.stats import coarse
from forensics.stats._core.recount import Posteriors, bb_moments, recount, smooth, smooth_pmf

OUT = Path(__file__).parent / "results" / "spikes.md"
TITLE = "## Coarse shares: cost of the re-count draws"
ACCURACY_TITLE = "## Coarse shares: accuracy of the fast re-counts"
REAL_TITLE = "## Coarse shares: fast and exact re-counts on the real elections"
WHOLE_TITLE = "## Coarse shares: the whole test on one and two threads"
TABLES_TITLE = "## Coarse shares: turnout re-counts by inversion of per-station tables"
FITS_TITLE = "## Coarse shares: the mixture fits' fixed cost"
COMPILED_TITLE = "## Coarse shares: turnout re-counts by a compiled inversion sampler"
RUSSIA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "ru_2018_president.csv.zip"



def counts(election):
    """Voters N, valid t and the leader's v at the stations coarse_shares uses."""
    party = coarse.party_column(election, None)
    N = election.table["registered"].to_numpy(float)
    t = election.ballots("valid").to_numpy(float)
    v = election.table[party].to_numpy(float)
    keep = np.isfinite(N + t + v) & (t > 0) & (t <= N) & (v <= t) & (v >= 0)
    return N[keep].astype(np.int64), t[keep].astype(np.int64), v[keep].astype(np.int64)


#: the candidate's tables cover all but this share of each beta-binomial's probability
TABLE_TAIL = 1e-14
#: its window first tried: mean +- this many standard deviations (checked, widened where the check fails)
TABLE_SDS = 8.0
#: tables are built in pieces of about this many entries, small enough to stay in the processor's cache
TABLE_ENTRIES = 1 << 15
#: components less responsible than this for a station get no table (a draw that picks one falls back to
#: numpy's Beta and Binomial draws, so the candidate stays exact)
TABLE_MIN_RESP = 1e-12


class BetaBinomialTables:
    """Inverse-CDF tables of beta-binomial distributions BB(n_j, a_j, b_j), one per pair j.

    Each pmf is built by the ratio recurrence pmf(k + 1) / pmf(k) = (n - k)(k + a) / ((k + 1)(n - k - 1 + b))
    (cumulated in logs along the row, so no anchor value can overflow) over a window of the support
    that holds all but ``TABLE_TAIL`` of the mass: the window mean +- ``TABLE_SDS`` standard deviations
    is checked by bounding the mass beyond each end with a geometric series (the ratios fall beyond the
    mode when a, b >= 1, the pmf being log-concave), and a side that fails is widened (``wider``) up to
    the full support 0..n, which is also used where a or b < 1.  Rows are padded to a power of two in
    groups of similar width.  A draw inverts a uniform: a guide table (Chen and Asau's indexed
    search) gives a starting index at or below the answer, then vectorised steps finish it, so the
    draws are exact to floating point, as numpy's own samplers are.
    """

    def __init__(self, n, a, b):
        n, a, b = (np.asarray(x, dtype=float) for x in (n, a, b))
        s = a + b
        mean = n * a / s
        sd = np.sqrt(n * a * b * (s + n) / (s * s * (s + 1)))
        self.n, self.a, self.b = n, a, b
        self.lo, self.width = np.zeros(n.size), np.zeros(n.size, dtype=np.int64)
        groups, todo = [], np.flatnonzero((a < 1) | (b < 1))
        self._window(todo, 0.0, n[todo])  # not log-concave: the tail check does not apply
        groups += self._cdf(todo)[0]
        todo = np.flatnonzero((a >= 1) & (b >= 1))
        left, right = np.full(n.size, TABLE_SDS), np.full(n.size, TABLE_SDS)
        while todo.size:  # a side whose tail may hold more than half of TABLE_TAIL is widened
            self._window(todo, mean[todo] - left[todo] * sd[todo], mean[todo] + right[todo] * sd[todo])
            found, ok_left, ok_right = self._cdf(todo)
            ok = ok_left & ok_right
            groups += [(rows[ok[rows]], cdf[ok[rows]]) for rows, cdf in found]
            todo = todo[~ok[todo]]
            left[todo] = np.where(ok_left[todo], left[todo], wider(left[todo]))
            right[todo] = np.where(ok_right[todo], right[todo], wider(right[todo]))
        self._store(groups)

    def _window(self, rows, low, high):
        """Set the window of ``rows`` to the integers in [low, high] within the support 0..n."""
        self.lo[rows] = np.clip(np.floor(low), 0, self.n[rows])
        self.width[rows] = np.clip(np.ceil(high), 0, self.n[rows]) - self.lo[rows] + 1

    def _cdf(self, rows):
        """[(rows, padded CDF)] for ``rows`` grouped by padded width, and whether the mass beyond each
        row's window on the left and on the right is below half of ``TABLE_TAIL``."""
        pad = 2 ** np.ceil(np.log2(self.width[rows])).astype(np.int64)
        out, ok_left, ok_right = [], np.ones(self.n.size, dtype=bool), np.ones(self.n.size, dtype=bool)
        for size in np.unique(pad):
            same = rows[pad == size]
            for start in range(0, same.size, max(1, TABLE_ENTRIES // size)):  # arrays that stay in the cache
                r = same[start:start + max(1, TABLE_ENTRIES // size)]
                self._cdf_rows(r, int(size), out, ok_left, ok_right)
        return out, ok_left, ok_right

    def _cdf_rows(self, r, size, out, ok_left, ok_right):
        """The padded CDF rows of ``r`` (added to ``out``) and their tail checks."""
        n, a, b, lo, width = (x[r][:, None] for x in (self.n, self.a, self.b, self.lo, self.width))
        k = lo + np.arange(size)[None, :]
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = (n - k) * (k + a) / ((k + 1) * (n - k - 1 + b))  # pmf(k + 1) / pmf(k)
        up = ratio[np.arange(r.size), width[:, 0] - 1]  # at the window's right end
        ratio[np.arange(size)[None, :] >= width - 1] = 0.0  # so the pmf is 0 beyond the window
        logpmf = np.zeros(k.shape)
        with np.errstate(divide="ignore"):
            np.cumsum(np.log(ratio[:, :-1]), axis=1, out=logpmf[:, 1:])
        logpmf -= logpmf.max(axis=1, keepdims=True)
        pmf = np.exp(logpmf, out=logpmf)
        cdf = np.cumsum(pmf, axis=1)
        total = cdf[:, -1:].copy()
        cdf /= total
        # mass beyond the window, bounded by geometric series (the ratios fall beyond the mode)
        last = width[:, 0] - 1
        n, a, b, kl = n[:, 0], a[:, 0], b[:, 0], lo[:, 0]
        with np.errstate(divide="ignore", invalid="ignore"):
            down = kl * (n - kl + b) / ((n - kl + 1) * (kl - 1 + a))  # pmf(lo - 1) / pmf(lo)
            right = np.where(up < 1, pmf[np.arange(r.size), last] * up / (1 - up), np.inf)
            left = np.where(down < 1, pmf[:, 0] * down / (1 - down), np.inf)
        right[kl + last >= n] = 0.0
        left[kl <= 0] = 0.0
        ok_left[r], ok_right[r] = left <= TABLE_TAIL / 2 * total[:, 0], right <= TABLE_TAIL / 2 * total[:, 0]
        out.append((r, cdf))

    def _store(self, groups):
        """Flat padded CDF rows, each row's offset into them, and the guide tables (one entry per support point)."""
        self.base = np.zeros(self.n.size, dtype=np.int64)
        self.guide_base = np.zeros(self.n.size, dtype=np.int64)
        guides, offset, guide_offset = [], 0, 0
        for rows, cdf in groups:
            self.base[rows] = offset + cdf.shape[1] * np.arange(rows.size)
            offset += cdf.size
            width = self.width[rows]
            # guide[j] = first position whose CDF reaches j / width, for j = 0..width
            counts = np.diff(np.ceil(cdf * width[:, None]).astype(np.int64), axis=1, prepend=-1)
            guides.append(np.repeat(np.tile(np.arange(cdf.shape[1], dtype=np.int32), rows.size), counts.ravel()))
            self.guide_base[rows] = guide_offset + np.cumsum(width + 1) - (width + 1)
            guide_offset += int((width + 1).sum())
        self.cdf = np.concatenate([cdf.ravel() for _, cdf in groups] or [np.ones(0)])
        self.guide = np.concatenate(guides or [np.zeros(0, dtype=np.int32)])

    def draw(self, pair, u):
        """Counts at quantiles ``u`` (uniforms in [0, 1)) of the tables ``pair`` (arrays of one shape)."""
        shape = np.shape(pair)
        pair, u = np.ravel(pair), np.ravel(u)
        base = self.base[pair]
        pos = base + self.guide[self.guide_base[pair] + (u * self.width[pair]).astype(np.int64)]
        todo = np.flatnonzero(self.cdf[pos] <= u)  # forward: to the first position whose CDF exceeds u
        for _ in range(4):
            pos[todo] += 1
            todo = todo[self.cdf[pos[todo]] <= u[todo]]
        # the few left (far in a tail): bisection between pos (CDF <= u) and the window's end (CDF = 1)
        low, high = pos[todo], base[todo] + self.width[pair[todo]] - 1
        while todo.size and np.any(high - low > 1):
            mid = (low + high) // 2
            below = self.cdf[mid] <= u[todo]
            low, high = np.where(below, mid, low), np.where(below, high, mid)
        pos[todo] = high
        todo = np.flatnonzero((pos > base) & (self.cdf[pos - 1] > u))  # backward: a guard against rounding
        while todo.size:
            pos[todo] -= 1
            todo = todo[(pos[todo] > base[todo]) & (self.cdf[pos[todo] - 1] > u[todo])]
        pos -= base
        pos += self.lo.astype(np.int64)[pair]
        return pos.reshape(shape)


def wider(sds):
    """The next window half-width, in standard deviations: 8, 9, 10, 12, 16, 24, 40, then the full support."""
    return np.where(sds < 10, sds + 1, np.where(sds < 40, 2 * sds - 8, np.inf))


def build_tables(fit, resp, n, k):
    """The candidate's tables: one per station and component at least TABLE_MIN_RESP responsible."""
    stations, L = resp.shape
    a = k[:, None] + fit["alpha"][None, :]
    b = (n - k)[:, None] + fit["beta"][None, :]
    tabled = resp >= TABLE_MIN_RESP
    pair = np.full((stations, L), -1, dtype=np.int64)
    pair[tabled] = np.arange(int(tabled.sum()))
    return pair, a, b, BetaBinomialTables(np.broadcast_to(n[:, None], (stations, L))[tabled], a[tabled], b[tabled])


def table_draw(rng, resp, n, built, size):
    """(stations x size) re-counts of n by inversion: a component by responsibility, then a uniform through
    that component's table (station by station, so a station's draws read one small table in cache)."""
    pair, a, b, tables = built
    stations, L = resp.shape
    cell = coarse._draw_components(rng, resp, size).T + (L * np.arange(stations))[:, None]
    which = pair.ravel()[cell]
    u = rng.random(which.shape)
    missing = which < 0
    which[missing] = 0
    out = tables.draw(which, u)
    if missing.any():
        rare = cell[missing]
        out[missing] = rng.binomial(np.broadcast_to(n[:, None], which.shape)[missing],
                                    rng.beta(a.ravel()[rare], b.ravel()[rare]))
    return out


def check_tables_exact(seed=0, draws=200_000):
    """Chi-square of the candidate's draws against scipy's beta-binomial pmf: small, large, lopsided and
    full-support cases; raises if any is off (p < 1e-6), so the timings below are of an exact sampler."""
    n = np.array([1, 5, 40, 800, 3000, 1200, 2000, 50, 10])
    a = np.array([0.3, 2.0, 1.5, 500.0, 2100.5, 3.0, 1999.4, 0.05, 400.0])
    b = np.array([0.5, 3.0, 40.0, 300.2, 900.0, 1197.0, 0.6, 50.0, 0.2])
    tables = BetaBinomialTables(n, a, b)
    rng = np.random.default_rng(seed)
    for j in range(n.size):
        x = tables.draw(np.full(draws, j), rng.random(draws))
        expected = draws * stats.betabinom.pmf(np.arange(n[j] + 1), n[j], a[j], b[j])
        observed = np.bincount(x, minlength=n[j] + 1)
        big = expected >= 5  # the rest pooled in one cell
        chi2 = (((observed[big] - expected[big]) ** 2 / expected[big]).sum()
                + (observed[~big].sum() - expected[~big].sum()) ** 2 / max(expected[~big].sum(), 1e-9))
        if stats.chi2.sf(chi2, big.sum()) < 1e-6:
            raise AssertionError(f"table sampler off for BB({n[j]}, {a[j]}, {b[j]}): chi2 {chi2:.1f}")


def measure_tables(name, election, stations=20_000, n_sim=200, block=5_000, seed=0) -> dict:
    """Turnout re-counts of the first ``stations`` stations, ``n_sim`` each, in blocks: numpy's exact draws
    against the candidate's table build and draws (CPU seconds)."""
    N, t, _ = counts(election)
    rng = np.random.default_rng(seed)
    fit_t = coarse.fit_betabinom_mixture(N, t, rng=rng)
    resp_t = coarse._responsibilities(fit_t, N.astype(float), t.astype(float))
    out = {"election": name, "stations": min(stations, N.size), "L": fit_t["L"], "numpy": 0.0, "build": 0.0,
           "draw": 0.0, "entries": 0, "tables": 0}
    for start in range(0, out["stations"], block):
        rows = slice(start, min(start + block, out["stations"]))
        n, k, resp = N[rows], t[rows], resp_t[rows]
        seconds, _ = cpu(coarse._recount_exact, rng, fit_t, resp, n, k, np.broadcast_to(n, (n_sim, n.size)))
        out["numpy"] += seconds
        seconds, built = cpu(build_tables, fit_t, resp, n, k)
        out["build"] += seconds
        out["entries"] += int(built[3].width.sum())
        out["tables"] += int(built[3].width.size)
        seconds, _ = cpu(table_draw, rng, resp, n, built, n_sim)
        out["draw"] += seconds
    return out


def markdown_section(title: str, intro: str, header: list, cells: list, reading: str = "") -> str:
    """A results section: title, what generated it, one table (a row of cell texts per entry), the reading."""
    lines = [title, "", intro, "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header),
             *("| " + " | ".join(row) + " |" for row in cells)]
    return "\n".join(lines + (["", reading, ""] if reading else [""]))


def tables_section(rows, n_sim) -> str:
    cells = []
    for r in rows:
        draws = r["stations"] * n_sim
        numpy_per, table_per = r["numpy"] / draws, r["draw"] / draws
        per_station = r["build"] / r["stations"]
        even = per_station / (numpy_per - table_per) if numpy_per > table_per else float("inf")
        cells.append([r["election"], f"{r['stations']:,}", str(r["L"]), f"{r['numpy']:.2f}", f"{r['build']:.2f}",
                      f"{r['draw']:.2f}", f"{r['entries'] / r['stations']:.0f}",
                      f"{1e9 * r['build'] / r['entries']:.0f} ns", f"{1e9 * numpy_per:.0f} ns",
                      f"{1e9 * table_per:.0f} ns", f"{even:.0f}"])
    return markdown_section(
        TABLES_TITLE,
        f"Generated by `benchmarks/bench_coarse_draws.py --tables`: the turnout re-counts t* of N ({n_sim} "
        "per station) drawn by numpy (a component, a Beta posterior proportion, a Binomial count) and by "
        "the candidate, inversion of per-station tables: the beta-binomial pmf of each station and "
        "component (ratio recurrence, a window holding all but 1e-14 of the mass, checked by geometric "
        "bounds on the tails), its CDF and a guide table, then one uniform per draw. The candidate is "
        "exact (a chi-square against scipy's beta-binomial on small, large, lopsided and full-support "
        "cases runs first). CPU seconds; per station and per draw.",
        ["election", "stations", "components", "numpy s", "tables: build s", "tables: draw s",
         "table entries per station", "build per entry", "numpy per draw", "table per draw",
         "break-even re-counts"], cells,
        "Reading. A table saves about half of each draw's cost, but it must first be built, and a "
        "window that holds all but 1e-14 of a beta-binomial's mass spans 16 to 20 standard deviations, for "
        "each component a station may come from: several hundred entries per station, each costing a "
        "dozen numpy passes (ratio, logarithm, cumulative sums, exponential, guide table). That pays only "
        "beyond the break-even count of re-counts per station; the scan draws 200. Wired into "
        "`coarse_shares` (all re-counts of blocks of 5,000 stations, tables in cache-sized pieces) the "
        "whole test on Russia 2018 took 30.3 CPU seconds against 15.9 with numpy's draws (n_sim = 200, "
        "seed 0; F 0.936 against 0.980, p at its floor 0.005 both), so `coarse_shares` keeps numpy's "
        "Beta and Binomial draws. Narrower windows with exact rejection from geometric tails would cut "
        "the entries by about three, still short of paying at 200 re-counts; a compiled kernel (no numpy "
        "temporaries) would change the balance, at the price of a compiler dependency.")


def split_start(x, L):
    """Start for L + 1 components from the L-component optimum ``x``: its heaviest component split in two,
    means half a standard deviation apart, each with half its weight."""
    a, b, logw = coarse._unpack(x, L)
    w = np.exp(logw)
    j = int(np.argmax(w))
    mean, size = a[j] / (a[j] + b[j]), a[j] + b[j]
    halves = np.clip(mean + np.array([-0.5, 0.5]) * np.sqrt(mean * (1 - mean) / (size + 1)), 0.01, 0.99)
    a, b = np.concatenate([np.delete(a, j), halves * size]), np.concatenate([np.delete(b, j), (1 - halves) * size])
    logw = np.log(np.concatenate([np.delete(w, j), [w[j] / 2, w[j] / 2]]))
    return np.concatenate([np.clip(np.log(a), *coarse.LOG_BOUNDS), np.clip(np.log(b), *coarse.LOG_BOUNDS),
                           np.clip(logw[1:] - logw[0], -10, 10)])


def fit_variant(n, k, seed, warm=False, ftol=None):
    """``coarse.fit_betabinom_mixture`` with two candidate savings: ``warm`` starts each L from the L - 1
    optimum (``split_start``), ``ftol`` replaces L-BFGS-B's relative tolerance on the likelihood
    (``coarse.FIT_FTOL``).  Returns the fit and the likelihood evaluations per L."""
    evaluations, optimum = [], []
    minimize = optimize.minimize

    def counted(fun, x0, args, **kwargs):
        if warm and optimum:
            x0 = split_start(optimum[-1], args[3] - 1)
        opt = minimize(fun, x0, args=args, **{**kwargs, **({} if ftol is None else {"options": {"ftol": ftol}})})
        evaluations.append(int(opt.nfev))
        optimum.append(opt.x)
        return opt

    with mock.patch.object(coarse.optimize, "minimize", counted):
        fit = coarse.fit_betabinom_mixture(n, k, rng=np.random.default_rng(seed))
    return fit, evaluations


def measure_fits(name, election, seeds=(0, 1, 2)) -> list[dict]:
    """The two mixture fits per seed: as coarse_shares fits them, warm-started, and with a looser tolerance."""
    N, t, v = counts(election)
    x = np.linspace(0.005, 0.995, 199)
    rows = []
    for seed in seeds:
        for what, n, k in (("turnout", N, t), ("votes", t, v)):
            reference = None
            for label, options in (("as in coarse_shares", {}), ("warm start (split)", {"warm": True}),
                                   ("scipy's ftol 2.2e-9", {"ftol": 2.220446049250313e-09}),
                                   ("ftol 1e-7", {"ftol": 1e-7})):
                seconds, (fit, evals) = cpu(partial(fit_variant, n, k, seed, **options))
                if reference is None:
                    base, reference = fit, coarse._mixture_density(fit, x).ravel()
                density = coarse._mixture_density(fit, x).ravel()
                rows.append({"election": name, "fit": what, "seed": seed, "variant": label, "L": fit["L"],
                             "evaluations": evals, "cpu": seconds, "loglik": fit["loglik"] - base["loglik"],
                             "change": np.max(np.abs(density - reference)) / reference.max()})
    return rows


def fits_section(rows) -> str:
    cells = [[r["election"], r["fit"], str(r["seed"]), r["variant"], str(r["L"]),
              ", ".join(map(str, r["evaluations"])), f"{r['cpu']:.2f}", f"{r['loglik']:+.2f}", f"{r['change']:.1%}"]
             for r in rows]
    return markdown_section(
        FITS_TITLE,
        "Generated by `benchmarks/bench_coarse_draws.py --fits`: the turnout and vote mixtures of "
        "`coarse_shares` (a sample of 5,000 stations, L = 1, 2, ... components until the fitted density "
        "stops changing), per seed, as fitted now and with candidate savings. Likelihood evaluations "
        "per L, CPU seconds, the log-likelihood against the current fit's and the largest change of the "
        "fitted latent density (relative to its peak).",
        ["election", "fit", "seed", "variant", "L", "evaluations per L", "CPU s", "log-likelihood change",
         "density change"], cells,
        "Reading. The fits run to a relative tolerance of 1e-10 (`coarse.FIT_FTOL`): with scipy's default "
        "(2.2e-9) L-BFGS-B stops some fits on a flat ridge short of the optimum (the log-likelihood a few tenths "
        "lower, the fitted density moved by up to 2% of its peak), at a point the last digits of the sums decide. "
        "A warm start does not save evaluations: the split component must still travel to its place. On "
        "Russia's turnout it ends at a higher likelihood (by up to 5 log units), so the quantile-group start can "
        "stop at a local optimum; on the simulated turnout it can end lower: a point about the fit's quality, "
        "not its cost. A looser tolerance saves up to two thirds of the evaluations but stops fits further short "
        "(the log-likelihood up to 4 units lower), which would move F. An evaluation takes gammaln and digamma "
        "once per distinct count (k, n - k and n; about 5,000 values on the 5,000-station sample) and component, "
        "not once per (n, k) pair, so at L = 2 and 3 it costs about 2.5 times less than with a log-beta and three "
        "digammas per pair and component; the special functions are still about half of it. Against the "
        "per-pair evaluation at scipy's tolerance, measured in turn in one process on the samples "
        "`coarse_shares(rng=0)` fits, the two fits take 0.26 s of CPU instead of 0.53 on the simulated "
        "10,000 and 0.59 s instead of 1.52 on Russia 2018 (least of five runs).")


def compiled_kernel():
    """The inversion sampler as one compiled loop per station (numba, not a dependency of the package): the
    station's mixture pmf over its components, each walked out from its mean by the ratio recurrence until
    a geometric bound puts the rest below 1e-16 of its mass (the whole support where a or b < 1: no bound),
    the CDF, then a bisection per uniform.  No temporaries: each entry costs a few floating-point operations."""
    import numba

    @numba.njit(cache=False)
    def station(n, a, b, w, u, out, pmf, part):
        lo_all, hi_all = n, 0
        for c in range(a.size):
            if w[c] > 0:
                mean = int(n * a[c] / (a[c] + b[c]))
                lo_all, hi_all = min(lo_all, mean), max(hi_all, mean)
        pmf[lo_all:hi_all + 1] = 0.0
        for c in range(a.size):
            if w[c] <= 0:
                continue
            bounded = a[c] >= 1 and b[c] >= 1  # log-concave: the ratios fall beyond the mode
            m = int(n * a[c] / (a[c] + b[c]))
            part[m], total, hi, p = 1.0, 1.0, m, 1.0
            while hi < n:
                r = (n - hi) * (hi + a[c]) / ((hi + 1) * (n - hi - 1 + b[c]))
                p *= r
                hi += 1
                part[hi] = p
                total += p
                if bounded and r < 1 and p * r / (1 - r) < 1e-16 * total:
                    break
            lo, p = m, 1.0
            while lo > 0:
                r = lo * (n - lo + b[c]) / ((n - lo + 1) * (lo - 1 + a[c]))
                p *= r
                lo -= 1
                part[lo] = p
                total += p
                if bounded and r < 1 and p * r / (1 - r) < 1e-16 * total:
                    break
            if lo < lo_all:
                pmf[lo:lo_all] = 0.0
                lo_all = lo
            if hi > hi_all:
                pmf[hi_all + 1:hi + 1] = 0.0
                hi_all = hi
            for k in range(lo, hi + 1):
                pmf[k] += part[k] * w[c] / total
        cumulative = 0.0
        for k in range(lo_all, hi_all + 1):
            cumulative += pmf[k]
            part[k] = cumulative
        for j in range(u.size):
            x, low, high = u[j] * cumulative, lo_all, hi_all
            while low < high:
                mid = (low + high) // 2
                if part[mid] > x:
                    high = mid
                else:
                    low = mid + 1
            out[j] = low
        return hi_all - lo_all + 1

    @numba.njit(cache=False)
    def draw(n, a, b, w, u, out):
        pmf, part = np.empty(n.max() + 2), np.empty(n.max() + 2)
        entries = 0
        for i in range(n.size):
            entries += station(n[i], a[i], b[i], w[i], u[i], out[i], pmf, part)
        return entries

    return draw


def measure_compiled(name, election, n_sim=200, seed=0) -> dict:
    """Turnout re-counts of every station: numpy's draws against the compiled inversion sampler (CPU seconds)."""
    draw = compiled_kernel()
    n, a, b, w = 800, np.array([[500.0, 30.0]]), np.array([[300.2, 50.0]]), np.array([[0.7, 0.3]])
    x = np.empty((1, 400_000), dtype=np.int64)  # compiles, and checks the mixture against scipy
    draw(np.array([n]), a, b, w, np.random.default_rng(seed).random(x.shape), x)
    expected = x.size * (0.7 * stats.betabinom.pmf(np.arange(n + 1), n, 500.0, 300.2)
                         + 0.3 * stats.betabinom.pmf(np.arange(n + 1), n, 30.0, 50.0))
    observed, big = np.bincount(x[0], minlength=n + 1), expected >= 5
    chi2 = (((observed[big] - expected[big]) ** 2 / expected[big]).sum()
            + (observed[~big].sum() - expected[~big].sum()) ** 2 / max(expected[~big].sum(), 1e-9))
    if stats.chi2.sf(chi2, big.sum()) < 1e-6:
        raise AssertionError(f"compiled sampler off: chi2 {chi2:.1f} on {big.sum()} cells")
    N, t, _ = counts(election)
    rng = np.random.default_rng(seed)
    fit_t = coarse.fit_betabinom_mixture(N, t, rng=rng)
    resp_t = coarse._responsibilities(fit_t, N.astype(float), t.astype(float))
    per_block = 25
    numpy_s, _ = cpu(lambda: [coarse._recount_exact(rng, fit_t, resp_t, N, t, np.broadcast_to(N, (per_block, N.size)))
                              for _ in range(0, n_sim, per_block)])

    def compiled():
        out = np.empty((N.size, n_sim), dtype=np.int64)
        return draw(N, t[:, None] + fit_t["alpha"][None, :], (N - t)[:, None] + fit_t["beta"][None, :], resp_t,
                    rng.random((N.size, n_sim)), out)

    compiled_s, entries = cpu(compiled)
    return {"election": name, "stations": N.size, "numpy": numpy_s, "compiled": compiled_s,
            "entries": entries / N.size}


def compiled_section(rows, n_sim) -> str:
    cells = [[r["election"], f"{r['stations']:,}", f"{r['numpy']:.2f}", f"{r['compiled']:.2f}",
              f"{r['entries']:.0f}", f"{r['numpy'] / r['compiled']:.1f}"] for r in rows]
    return markdown_section(
        COMPILED_TITLE,
        f"Generated by `benchmarks/bench_coarse_draws.py --compiled` (needs numba, which the package does not "
        f"depend on): the turnout re-counts t* of N of every station, {n_sim} each, by numpy's draws (as "
        "`coarse_shares`) and by the inversion sampler compiled as one loop per station (the station's "
        "mixture pmf, its CDF, a bisection per uniform; exact, checked by a chi-square against scipy's "
        "beta-binomial mixture first). CPU seconds, uniforms included.",
        ["election", "stations", "numpy s", "compiled s", "pmf entries per station", "ratio"], cells,
        "Reading. Without numpy's temporaries a table entry costs a few nanoseconds instead of two "
        "hundred, so inversion pays at 200 re-counts: the turnout half of the draws, about 45% of "
        "`coarse_shares` on Russia 2018, would cost a third to a half. The votes v* of t* would not gain "
        "the same way (t* changes from draw to draw, so no table is reused). Adopting it means a compiler "
        "dependency (numba and llvmlite, with their import and compile times at the first call), which "
        "the package has not taken.")


def cpu(func, *args):
    start = time.process_time()
    result = func(*args)
    return time.process_time() - start, result


def fitted(election, seed=0):
    """Counts, mixture fits and responsibilities of turnout and votes, as coarse_shares makes them."""
    N, t, v = counts(election)
    rng = np.random.default_rng(seed)
    fit_t = coarse.fit_betabinom_mixture(N, t, rng=rng)
    fit_v = coarse.fit_betabinom_mixture(t, v, rng=rng)
    resp_t = coarse._responsibilities(fit_t, N.astype(float), t.astype(float))
    resp_v = coarse._responsibilities(fit_v, t.astype(float), v.astype(float))
    posts = (Posteriors(fit_t["alpha"], fit_t["beta"], resp_t, N, t, fixed=True),
             Posteriors(fit_v["alpha"], fit_v["beta"], resp_v, t, v))
    return (N, t, v), (fit_t, resp_t, fit_v, resp_v), posts


def fast_share(post, trials, rng):
    """Share of one re-count of every station that the fast path draws."""
    cell = post.cells(rng)
    if trials is None:
        return float(post.fixed[-1][cell].mean())
    m = trials.astype(np.float32)
    _, sd, skew, _, s = post.moments(m, cell)
    return float(smooth(sd, skew, s, m).mean())


def measure(name, election, replicates, seed=0) -> list[dict]:
    (N, t, v), (fit_t, resp_t, fit_v, resp_v), (post_t, post_v) = fitted(election, seed)
    rng = np.random.default_rng(seed)
    seconds_t, t_star = cpu(coarse._recount_exact, rng, fit_t, resp_t, N, t, np.broadcast_to(N, (replicates, N.size)))
    seconds_v, _ = cpu(coarse._recount_exact, rng, fit_v, resp_v, t, v, t_star)
    rows = [{"election": name, "stations": N.size, "sampler": "exact Beta + Binomial",
             "turnout s": seconds_t, "votes s": seconds_v, "fast t": 0.0, "fast v": 0.0}]
    seconds_t, t_star = cpu(lambda: [recount(rng, post_t) for _ in range(replicates)])
    seconds_v, _ = cpu(lambda: [recount(rng, post_v, row) for row in t_star])
    rows.append({"election": name, "stations": N.size, "sampler": "package: Cornish-Fisher where close, else exact",
                 "turnout s": seconds_t, "votes s": seconds_v, "fast t": fast_share(post_t, None, rng),
                 "fast v": fast_share(post_v, t_star[0], rng)})
    return rows


def section(rows, replicates) -> str:
    cells = [[r["election"], f"{r['stations']:,}", r["sampler"], f"{r['turnout s']:.2f}", f"{r['votes s']:.2f}",
              f"{r['turnout s'] + r['votes s']:.2f}", f"{r['fast t']:.0%}", f"{r['fast v']:.0%}"] for r in rows]
    return markdown_section(
        TITLE,
        f"Generated by `benchmarks/bench_coarse_draws.py --replicates {replicates}`: CPU seconds to draw "
        f"{replicates} re-counts of every station (turnout t* of N, then the leader's votes v* of t*), and "
        "the share of draws the fast path takes (the rest are exact).",
        ["election", "stations", "sampler", "turnout s", "votes s", "total s", "fast draws, turnout",
         "fast draws, votes"], cells,
        "Reading. The exact draws cost a few hundred nanoseconds per station and re-count, in numpy's Beta "
        "and Binomial samplers. The fast path costs a uniform, a normal and a few dozen arithmetic operations "
        "per draw, one re-count of all stations at a time so that its passes stay in the processor's cache; "
        "the small and lopsided stations it leaves to the exact draws are the slowest ones to draw.")


def tv_grid(draws=1500, seed=1) -> dict:
    """Largest and quantiles of the total variation between the fast draw and BB(m, a, b) where it is used."""
    rng = np.random.default_rng(seed)
    tvs = []
    while len(tvs) < draws:
        m = int(np.exp(rng.uniform(np.log(10), np.log(5000))))
        p, r = rng.uniform(0.002, 0.998), np.exp(rng.uniform(np.log(0.75), np.log(30)))
        a, b = p * r * m, (1 - p) * r * m
        _, sd, skew, _ = bb_moments(float(m), a, b)
        if smooth(sd, skew, a + b, m):
            tvs.append(0.5 * np.abs(smooth_pmf(m, a, b) - stats.betabinom.pmf(np.arange(m + 1), m, a, b)).sum())
    tvs = np.array(tvs)
    return {"points": draws, "median": np.median(tvs), "q99": np.quantile(tvs, 0.99), "max": tvs.max()}


def bin_agreement(election, replicates=400, seed=0) -> dict:
    """z of the mean share of stations per bin, fast against exact re-counts (independent streams)."""
    (N, t, v), (fit_t, resp_t, fit_v, resp_v), posts = fitted(election, seed)
    out = {}
    for name, use in (("fast", posts), ("exact", (None, None))):
        blocks = [coarse._recount_block(np.random.default_rng([b, seed]), fit_t, resp_t, fit_v, resp_v, N, t, v,
                                        1e-4, 1001, use, 25) for b in range(replicates // 25)]
        out[name] = np.vstack([share for _, share in blocks])
    se = np.sqrt((out["fast"].var(axis=0) + out["exact"].var(axis=0)) / replicates)
    used = se > 0
    mean_f, mean_e = out["fast"].mean(axis=0)[used], out["exact"].mean(axis=0)[used]
    z = (mean_f - mean_e) / se[used]
    with np.errstate(divide="ignore", invalid="ignore"):  # bins only the fast re-counts reached
        relative = np.abs(mean_f - mean_e) / mean_e
        spread = out["exact"].std(axis=0)[used] / mean_e  # one re-count's spread, which the envelope is made of
    busy = mean_e * N.size >= 10  # bins holding at least 10 stations on average
    return {"bins": int(used.sum()), "max_z": float(np.abs(z).max()), "over3": int((np.abs(z) > 3).sum()),
            "relative": float(relative[np.abs(z) > 3].max()) if np.any(np.abs(z) > 3) else 0.0,
            "spread": float(np.median(spread[busy]))}


def whole_over_seeds(name, election, seeds) -> list[dict]:
    rows = []
    for exact in (False, True):
        runs = [coarse.coarse_shares(election, n_sim=200, rng=seed, exact=exact) for seed in range(seeds)]
        F = np.array([r.statistic for r in runs])
        p = np.array([r.pvalue for r in runs])
        null = np.array([r.details["null_F"].mean() for r in runs])
        rows.append({"election": name, "draws": "exact" if exact else "fast", "seeds": seeds, "F": F.mean(),
                     "F_se": F.std(ddof=1) / np.sqrt(seeds), "null": null.mean(), "p05": np.mean(p <= 0.05),
                     "p_median": np.median(p)})
    return rows


def real_elections(seeds=6) -> list[dict]:
    """F and p of the whole test, fast and exact, on every election ../shared/data holds: ``seeds`` seeds each
    below 90,000 stations, one seed for the large (Russian) ones; CPU seconds of one run."""
    rows = []
    for path in sorted(RUSSIA.parent.glob("*.csv*")):
        election = forensics.load(path)
        row = {"election": path.name.split(".")[0]}
        for exact in (False, True):
            key = "exact" if exact else "fast"
            start = time.process_time()
            runs = [coarse.coarse_shares(election, n_sim=200, rng=0, exact=exact)]
            row[f"{key} s"] = time.process_time() - start
            if runs[0].n_used < 90_000:
                runs += [coarse.coarse_shares(election, n_sim=200, rng=seed, exact=exact) for seed in range(1, seeds)]
            F, p = np.array([r.statistic for r in runs]), np.array([r.pvalue for r in runs])
            row.update({f"{key} F": F, f"{key} p": p, "stations": runs[0].n_used, "seeds": len(runs),
                        f"{key} null": np.mean([r.details["null_F"].mean() for r in runs])})
        rows.append(row)
    return rows


def real_section(rows) -> str:
    def spread(values, digits=3):
        return f"{values[0]:.{digits}f}" if values.size == 1 else \
            f"{values.mean():.{digits}f} ({values.min():.{digits}f}-{values.max():.{digits}f})"

    cells = [[r["election"], f"{r['stations']:,}", str(r["seeds"]), spread(r["fast F"]), spread(r["exact F"]),
              f"{r['fast null']:.3f} / {r['exact null']:.3f}", spread(r["fast p"]), spread(r["exact p"]),
              f"{r['fast s']:.1f}", f"{r['exact s']:.1f}"] for r in rows]
    return markdown_section(
        REAL_TITLE,
        "Generated by `benchmarks/bench_coarse_draws.py --real`: `coarse_shares(e, n_sim=200, rng=seed)` with fast "
        "and with exact re-counts (`exact=True`) on every election in `../shared/data`, loaded with its default "
        "profile (the leader's share, all stations with valid votes): seeds 0-5 below 90,000 stations (mean and "
        "range over the seeds), seed 0 for the Russian elections. CPU seconds of one run.",
        ["election", "stations", "seeds", "F fast", "F exact", "null F mean fast / exact", "p fast", "p exact",
         "CPU s fast", "CPU s exact"], cells,
        "Reading. Compare the two samplers' columns with the spread over seeds within each: where the test does "
        "not reject strongly, F and p move with the seed under either sampler (the envelope is a maximum over "
        "200 re-counts), so one seed's difference between them is that noise; where it rejects at its floor "
        "(the Russian elections) one seed each suffices.")


def accuracy_section(grid, bins, rows) -> str:
    cells = [[r["election"], r["draws"], str(r["seeds"]), f"{r['F']:.3f} ± {r['F_se']:.3f}", f"{r['null']:.3f}",
              f"{r['p_median']:.3f}", f"{r['p05']:.0%}"] for r in rows]
    return markdown_section(
        ACCURACY_TITLE,
        "Generated by `benchmarks/bench_coarse_draws.py --accuracy`. (1) Total variation distance between the "
        f"fast draw's distribution (`smooth_pmf`, computed, not sampled) and the exact beta-binomial at "
        f"{grid['points']:,} random parameters where the fast path is used (m 10-5,000, p 0.002-0.998, "
        f"a + b 0.75-30 m): median {grid['median']:.5f}, 99th percentile {grid['q99']:.4f}, largest "
        f"{grid['max']:.4f}. (2) 400 fast and 400 exact re-counts of a simulated 10,000-station election, "
        f"mean share of stations in each of the {bins['bins']} bins used: largest |z| {bins['max_z']:.2f}, "
        f"{bins['over3']} bins with |z| > 3 (about {0.0027 * bins['bins']:.1f} expected by chance), the largest "
        f"difference in those {bins['relative']:.1%} of the bin's share, against a spread of one re-count's share of "
        f"{bins['spread']:.0%} (median over bins holding at least 10 stations). (3) The "
        "whole test (200 re-counts) over seeds, fast and exact: F (mean ± standard error over seeds), the "
        "mean of its null, the median p-value and the share of p <= 0.05.",
        ["election", "draws", "seeds", "F", "null F mean", "median p", "p <= 0.05"], cells,
        "Reading. The fast draws are within total variation 0.005 of the exact counts wherever they are "
        "used. 400 re-counts of 10,000 stations resolve differences of about 1% of a bin's share, so the "
        "approximation's small, smooth error can show in a few bins; it is a small fraction of the spread "
        "of one re-count's share, of which the envelope is the maximum, and F, its null and the p-value agree "
        "within their Monte Carlo error.")


def measure_whole(name, election, n_sim=200, seed=0) -> list[dict]:
    """CPU (every thread) and wall seconds of coarse_shares on 1 and 2 threads; F and p must not move."""
    rows = []
    for workers in (1, 2):
        cpu0, wall0 = time.process_time(), time.perf_counter()
        res = coarse.coarse_shares(election, n_sim=n_sim, rng=seed, workers=workers)
        rows.append({"election": name, "stations": res.n_used, "workers": workers, "F": res.statistic,
                     "p": res.pvalue, "cpu": time.process_time() - cpu0, "wall": time.perf_counter() - wall0})
    if (rows[0]["F"], rows[0]["p"]) != (rows[1]["F"], rows[1]["p"]):
        raise AssertionError(f"{name}: one and two threads disagree: {rows}")
    return rows


def whole_section(rows, n_sim) -> str:
    cells = [[r["election"], f"{r['stations']:,}", str(r["workers"]), f"{r['F']:.4f}", f"{r['p']:.4f}",
              f"{r['cpu']:.1f}", f"{r['wall']:.1f}"] for r in rows]
    return markdown_section(
        WHOLE_TITLE,
        f"Generated by `benchmarks/bench_coarse_draws.py --whole`: `coarse_shares(e, n_sim={n_sim}, rng=0, "
        "workers=w)`, CPU seconds of the process (all threads) and wall seconds. The machine is shared, so "
        "wall seconds depend on its load; CPU seconds are the comparable figure.",
        ["election", "stations", "threads", "F", "p", "CPU s", "wall s"], cells)


def write_section(text: str, title: str = TITLE) -> None:
    old = OUT.read_text(encoding="utf-8") if OUT.exists() else ""
    if title in old:
        head, rest = old.split(title, 1)
        tail = rest[rest.find("\n## "):].lstrip("\n") if "\n## " in rest else ""
        new = head + text.rstrip("\n") + "\n" + ("\n" + tail if tail else "")
    else:
        new = old.rstrip("\n") + "\n\n" + text
    tmp = OUT.with_suffix(".md.tmp")
    tmp.write_text(new, encoding="utf-8")
    tmp.replace(OUT)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replicates", type=int, default=20)
    parser.add_argument("--accuracy", action="store_true", help="what the fast re-counts change")
    parser.add_argument("--seeds", type=int, default=20, help="seeds of the whole test for --accuracy")
    parser.add_argument("--real", action="store_true", help="fast and exact on the real elections")
    parser.add_argument("--whole", action="store_true", help="time the whole test on one and two threads")
    parser.add_argument("--sizes", type=int, nargs="*", default=[10_000], help="simulated elections for --whole")
    parser.add_argument("--tables", action="store_true", help="time the inversion-table candidate for turnout")
    parser.add_argument("--fits", action="store_true", help="time warm starts and a looser tolerance for the fits")
    parser.add_argument("--compiled", action="store_true", help="time a compiled inversion sampler (needs numba)")
    args = parser.parse_args(argv)
    if args.real:
        write_section(real_section(real_elections()), REAL_TITLE)
    elif args.accuracy:
        grid = tv_grid()
        bins = bin_agreement(simulate(n_pec=10_000, n_regions=80, rng=10_000))
        rows = [r for name, e in elections([10_000]) for r in whole_over_seeds(name, e, args.seeds if "simulated"
                                                                                in name else max(4, args.seeds // 5))]
        write_section(accuracy_section(grid, bins, rows), ACCURACY_TITLE)
    elif args.compiled:
        rows = [measure_compiled(*named) for named in elections([100_000])]
        write_section(compiled_section(rows, 200), COMPILED_TITLE)
    elif args.fits:
        write_section(fits_section([r for named in elections([10_000]) for r in measure_fits(*named)]), FITS_TITLE)
    elif args.tables:
        check_tables_exact()
        rows = [measure_tables(*named) for named in elections([100_000])]
        write_section(tables_section(rows, 200), TABLES_TITLE)
    elif args.whole:
        write_section(whole_section([r for named in elections(args.sizes) for r in measure_whole(*named)], 200),
                      WHOLE_TITLE)
    else:
        rows = [r for named in elections([100_000], "simulated") for r in measure(*named, args.replicates)]
        write_section(section(rows, args.replicates))


def elections(sizes, simulated_name=None):
    """(name, election) of each simulated size (80 regions), then Russia 2018 where ../shared has it."""
    for size in sizes:
        yield simulated_name or f"simulated {size:,}", simulate(n_pec=size, n_regions=80, rng=size)
    if RUSSIA.exists():
        yield "Russia 2018", forensics.load(RUSSIA)

if __name__ == "__main__":
    main()
