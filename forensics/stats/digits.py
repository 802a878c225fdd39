"""Digit tests on vote counts: last digit, digit pairs, Benford's first and second digits.

People who invent numbers favour some digits; honest counts of a few
hundred votes have last digits close to uniform (Beber & Scacco 2012) and
second digits close to Benford's law (Mebane's 2BL).  Each function takes an
Election (or a canonical DataFrame), pools the chosen count columns (party
votes by default) over its published stations, and returns a
``TestResult``; run it per region or TEC with ``forensics.levels.by_level``
(or ``digit_tests``, which also corrects p-values across groups).

The textbook nulls (10% per last digit, 20% ending in 0 or 5) hold only
where counts are spread evenly over windows of ten; where small counts
dominate, low digits are naturally commoner and the textbook tests reject
clean elections.  By default (``null="smoothed"``) the expected digit shares
are those of a local-linear smooth of the counts' own histogram
(``smoothed_residues``); ``null="uniform"`` gives the textbook tests.

Digits are extracted by the same functions the EFToolkit battery uses
(``_core/digitize.py``), and intervals come from the station bootstrap
(``_core/bootstrap.py``): stations, not single counts, are resampled,
because counts on one protocol belong together.  Inside ``digit_tests`` the
tests share one reading of the counts and one set of resamples per group.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import fft, special

from ..exclusions import Exclusions
from ..levels import by_level, results_table
from ..model import as_election
from ..random import ensure_rng
from ._core.binomial import binom_pvalue, clopper_pearson
from ._core.bootstrap import (basic_interval, multiplicities, one_blas_thread, resample_categories,
                              resample_sums)
from ._core.counts import count_values
from ._core.digitize import digit_counts, first_digit, last_digit, last_two_digits, percent_ends_05, second_digit
from ._core.frames import frame
from ._core.shared import shared
from .registry import check_parameters, register_test
from .result import TestResult

__all__ = [
    "BENFORD_FIRST",
    "BENFORD_SECOND",
    "SECOND_DIGIT_MEAN",
    "DIGIT_PAIRS",
    "last_digit_test",
    "last_digit_mean",
    "zero_five_share",
    "digit_pairs_test",
    "second_digit_test",
    "second_digit_mean",
    "first_digit_test",
    "percent_zero_five",
    "digit_tests",
]

#: Benford's first-digit probabilities for digits 1..9.
BENFORD_FIRST = np.log10(1 + 1 / np.arange(1, 10))
#: Benford's second-digit probabilities for digits 0..9 (METHODS 6.1).
BENFORD_SECOND = np.array([np.log10(1 + 1 / (10 * np.arange(1, 10) + j)).sum() for j in range(10)])
#: Mean second digit under Benford's law (4.18739; Mebane's 4.187).
SECOND_DIGIT_MEAN = float(BENFORD_SECOND @ np.arange(10))
_SHARED_CELLS = 5_000_000  # largest stations x replicates matrix of resamples a group's tests share
_NULLS = ("smoothed", "uniform")
#: the three digit-pair tests of Beber & Scacco: kind -> (name, direction people err, word)
DIGIT_PAIRS = {
    "repeated": ("repeated last-two digits", "less", "fewer"),
    "adjacent": ("adjacent last-two digits", "greater", "more"),
    "non-adjacent": ("non-adjacent last-two digits", "less", "fewer"),
}


def smoothed_residues(values, lowest: int, period: int = 10, highest=None) -> np.ndarray:
    """Expected shares of ``value mod period`` among whole ``values`` in [lowest, highest], from a smooth fit.

    Honest counts have uniform last digits only where their distribution is
    flat over windows of ``period``; where it slopes (small parties, counts
    just above a cut-off) low digits are more common.  The histogram of the
    values in range is smoothed by a local linear fit of log(count) on
    log(value) over a centred window of 2 x ``period`` + 1 values (half
    weight at both ends, so that every last digit weighs the same; each
    value weighted by its count, as Poisson counts are): a power-law slope
    is kept, any excess on particular last digits is spread evenly over all
    of them.  Pooled counts of parties of very different sizes fall off
    like a power law just above the cut-off, so steeply and so convexly that
    a straight line on the natural scale misses it and the test rejects
    honest elections with many small parties; on the log-log scale the local
    line follows it.  Windows are cut at the ends of the range.
    """
    return smoothed_residues_each([values], lowest, period, highest)[0]


_SMOOTH_CELLS = 1 << 20  # largest groups x values block smoothed at once


def smoothed_residues_each(groups, lowest: int, period: int = 10, highest=None) -> list[np.ndarray]:
    """``smoothed_residues`` of each array of ``groups``, the groups smoothed side by side in blocks.

    Each group's result is the one it gives alone: its histogram is a row
    of the block, cut at its own largest value.
    """
    hists = []
    for values in groups:
        v = np.asarray(values, dtype=float)
        v = v[np.isfinite(v) & (v >= lowest) & ((v <= highest) if highest is not None else True)].astype(np.int64)
        hists.append(np.bincount(v - lowest).astype(float) if v.size else None)
    out = [np.full(period, 1.0 / period) if h is None else None for h in hists]
    todo = sorted((k for k, h in enumerate(hists) if h is not None), key=lambda k: hists[k].size)
    while todo:  # blocks of rows at most twice as long as the shortest, so padding costs little
        width = hists[todo[0]].size
        block = [todo.pop(0)]
        while todo and hists[todo[0]].size <= 2 * width and (len(block) + 1) * hists[todo[0]].size <= _SMOOTH_CELLS:
            block.append(todo.pop(0))
        for k, probs in zip(block, _smoothed_rows([hists[k] for k in block], lowest, period)):
            out[k] = probs
    return out


def _smoothed_rows(hists: list, lowest: int, period: int) -> list[np.ndarray]:
    """The smoothed residue shares of each histogram (counts of lowest, lowest + 1, ...), one row each."""
    sizes = np.array([h.size for h in hists])
    width = int(sizes.max())
    hist = np.zeros((len(hists), width))
    for k, h in enumerate(hists):
        hist[k, :h.size] = h
    grid = np.arange(lowest, lowest + width)
    j = np.arange(width)
    lo, hi = np.maximum(j - period, 0), np.minimum(j + period, sizes[:, None] - 1)
    x, y, u = np.log(grid + 1.0), np.log(hist + 0.5), hist + 0.5
    # weighted sums over (x - x_centre), from window sums of powers of x (the five sums in one pass, each row
    # summed on its own), the ends of each window at half weight when inside the row's range
    f = np.stack([u, u * x, u * x * x, u * y, u * x * y])
    c = np.zeros((len(f), len(hists), width + 1))
    np.cumsum(f, axis=2, out=c[:, :, 1:])
    at_hi = np.broadcast_to(hi, f.shape)
    total = np.take_along_axis(c, at_hi + 1, axis=2) - c[:, :, lo]
    total -= (0.5 * np.where(j - period >= 0, f[:, :, lo], 0)
              + 0.5 * np.where(j + period < sizes[:, None], np.take_along_axis(f, at_hi, axis=2), 0))
    S0, S1, S2, T0, T1 = total
    s1, s2, t1 = S1 - x * S0, S2 - 2 * x * S1 + x * x * S0, T1 - x * T0
    det = S0 * s2 - s1 ** 2
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        level = np.where(det > 1e-12 * S0 * S0, (s2 * T0 - s1 * t1) / det, T0 / S0)
        smooth = np.exp(level) - 0.5
    smooth = np.clip(np.nan_to_num(smooth), 0, None)
    out = []
    for k, size in enumerate(sizes):
        probs = np.bincount(grid[:size] % period, weights=smooth[k, :size], minlength=period)
        out.append(probs / probs.sum() if probs.sum() > 0 else np.full(period, 1.0 / period))
    return out


def _null_probs(pool, null: str, period: int = 10) -> np.ndarray:
    if null not in _NULLS:
        raise ValueError(f"null must be one of {_NULLS}, not {null!r}")
    if null == "uniform":
        return np.full(period, 1.0 / period)
    return pool.reading.smoothed(pool.min_count, period)


def _null_text(null: str, what: str = "counts") -> str:
    if null == "uniform":
        return "every digit equally often (the textbook rule)"
    return (f"the digit shares implied by the smoothed distribution of the {what} (about 10% each where "
            f"the {what} spread evenly, more low digits where small {what} dominate)")


_CAVEAT = ("A statistical anomaly is a reason to look closer at these stations' protocols, "
           "not proof of manipulation.")


# -- pooling counts ----------------------------------------------------------------------
class _Counts:
    """The chosen count columns of the published stations, read and checked once for several tests.

    ``digit_tests`` makes one per group and hands it to every test in place
    of the election; the tests then also share one set of station
    resamples for their intervals (``resamples``).  Inside a scan
    (``_core.shared.sharing``) the tests read an election once (``read``)
    and each group's rows once (``part``), whatever the level or parameters.
    """

    def __init__(self, election, columns):
        e = as_election(election)
        self.columns = list(e.parties if columns is None else ([columns] if isinstance(columns, str) else columns))
        missing = [c for c in self.columns if c not in e.table.columns]
        if missing:
            raise KeyError(f"column(s) not in the table: {', '.join(missing)}")
        ex = Exclusions.for_election(e)
        codes, kinds = pd.factorize(ex.reasons)  # -1: kept; a group's exclusions are sliced from these codes
        self._set(e, e.table.index, None, codes, np.array([str(k) for k in kinds], dtype=object))
        kept = e.subset(ex.keep)
        self.raw = np.column_stack([count_values(kept, c) for c in self.columns]) if self.columns else \
            np.empty((len(kept), 0))

    @classmethod
    def read(cls, election, columns) -> "_Counts":
        """``election``'s reading of ``columns`` (``election`` itself when it is one), shared inside a scan."""
        if isinstance(election, _Counts):
            return election
        e = as_election(election)
        names = tuple(e.parties if columns is None else ([columns] if isinstance(columns, str) else columns))
        return shared(("digit counts", id(e), id(e.table), names), lambda: cls(e, columns), keep=(e, e.table))

    def part(self, group, positions) -> "_Counts":
        """``take(positions)`` for ``group``, made once per reading and group inside a scan."""
        return shared(("digit counts of a group", id(self), group, id(positions)), lambda: self.take(positions),
                      keep=(self, positions))

    def smoothed(self, min_count: int, period: int) -> np.ndarray:
        """``smoothed_residues`` of the counts of at least ``min_count``, made once per reading."""
        key = (min_count, period)
        if key not in self._smoothed:
            self._smoothed[key] = smoothed_residues(self.raw.ravel(), min_count, period)
        return self._smoothed[key]

    @staticmethod
    def smooth_each(readings, min_count: int, period: int) -> None:
        """Make ``smoothed(min_count, period)`` of every reading at once (``smoothed_residues_each``)."""
        key = (min_count, period)
        todo = [r for r in readings if key not in r._smoothed]
        for r, probs in zip(todo, smoothed_residues_each([r.raw.ravel() for r in todo], min_count, period)):
            r._smoothed[key] = probs

    def _set(self, election, index, positions, codes, kinds):
        """The reading's rows: ``index`` at ``positions`` (None: all), their reason codes into ``kinds``."""
        self._election, self._base_index, self._positions = election, index, positions
        self._codes, self._kinds = codes, kinds
        self._resamples = None
        self._smoothed, self._pools = {}, {}
        excluded = codes >= 0
        first = np.unique(codes[excluded], return_index=True)
        counts = np.bincount(codes[excluded], minlength=len(kinds))
        # as Exclusions.counts and .rows give them: reasons in order of first appearance, rows by index label
        self.excluded = {str(kinds[c]): int(counts[c]) for c in first[0][np.argsort(first[1])]}
        rows = self._index[excluded] if excluded.any() else self._base_index[:0]
        self.excluded_rows = pd.Series(kinds[codes[excluded]], index=rows, dtype=object)

    @property
    def _index(self) -> pd.Index:
        return self._base_index if self._positions is None else self._base_index[self._positions]

    @property
    def keep(self) -> pd.Series:
        """True for the stations read (the published ones), by index label."""
        return pd.Series(self._codes < 0, index=self._index)

    @property
    def election(self):
        """The election read (for a group, its sub-election, built on first use)."""
        if callable(self._election):
            self._election = self._election()
        return self._election

    def take(self, positions) -> "_Counts":
        """The reading of the rows at 0-based ascending ``positions``: what reading them alone gives."""
        part = object.__new__(_Counts)
        part.columns = self.columns
        base = positions if self._positions is None else self._positions[positions]
        part._set(lambda: self.election.with_table(self.election.table.iloc[positions]), self._base_index, base,
                  self._codes[positions], self._kinds)
        kept = self._codes < 0
        part.raw = self.raw[(np.cumsum(kept) - 1)[positions][kept[positions]]]
        return part

    def resamples(self, n_sim: int, rng):
        """Station multiplicities of ``n_sim`` resamples (drawn on first use), or None when too many to hold."""
        n = len(self.raw)
        if n * n_sim > _SHARED_CELLS:
            return None
        if self._resamples is None or len(self._resamples) != n_sim:
            self._resamples = multiplicities(rng, n, n_sim, np.float32)  # sums of whole numbers < 2**24: exact
        return self._resamples


class _Pool:
    """The counts at or above ``min_count``, with every left-out count accounted for.

    ``counts`` is the reading; ``shared``: it was handed to the test (as
    ``digit_tests`` does once per group for all its tests), so the tests
    also share its resamples.  Made by ``of``.
    """

    def __init__(self, counts: "_Counts", shared: bool, min_count: int):
        self.shared = counts if shared else None
        self.reading = counts
        raw = counts.raw
        self.columns = counts.columns
        n_cols = max(len(self.columns), 1)
        self.excluded = {reason: count * n_cols for reason, count in counts.excluded.items()}
        self.excluded_rows = counts.excluded_rows
        n_missing = int(np.isnan(raw).sum())
        small = np.isfinite(raw) & (raw < min_count)
        if n_missing:
            self.excluded["count missing"] = n_missing
        if small.any():
            self.excluded[f"count below {min_count}"] = int(small.sum())
        self.raw = raw
        self.min_count = min_count
        self.values = np.where(small, np.nan, raw)  # stations x columns, NaN = not used
        self.n = int(raw.size - n_missing - small.sum())  # the counts used
        self._pairs = None

    @classmethod
    def of(cls, election, columns, min_count: int) -> "_Pool":
        """The pool of ``election``'s counts of at least ``min_count``, made once per reading (the tests of one
        reading share it)."""
        counts = _Counts.read(election, columns)
        key = (min_count, counts is election)
        if key not in counts._pools:
            counts._pools[key] = cls(counts, counts is election, min_count)
        return counts._pools[key]

    def pairs(self) -> np.ndarray:
        """The last two digits (0..99) of the counts used, made once."""
        if self._pairs is None:
            pairs = last_two_digits(self.values.ravel())
            self._pairs = pairs[np.isfinite(pairs)].astype(np.int8)  # 0..99: kept for the scan, so small
        return self._pairs

    def note(self) -> str:
        risky = [c for c in self.columns if c in ("registered", "valid", "invalid") or c.startswith("ballots")]
        if not risky:
            return ""
        return (f" Caution: {', '.join(risky)} {'is' if len(risky) == 1 else 'are'} included; voter lists are "
                "often rounded or padded and totals are computed from other lines, so their digits can "
                "deviate without any manipulation of the votes.")


def _label(names) -> str:
    """The ``party`` label of a result pooling several columns."""
    return ", ".join(names) if len(names) <= 3 else f"{len(names)} columns"


def _result(name, pool, statistic, **kw) -> TestResult:
    return TestResult(name=name, statistic=float(statistic), n_used=kw.pop("n_used", pool.n),
                      excluded=dict(pool.excluded), excluded_rows=pool.excluded_rows, party=_label(pool.columns),
                      **kw)


def _empty(name, pool, what) -> TestResult:
    return _result(name, pool, np.nan, explanation=f"No {what} were left to test after the exclusions listed.")


def _station_ci(numerator, denominator, n_sim, rng, confidence_level=0.95, shared=None):
    """Basic bootstrap interval of sum(numerator)/sum(denominator), resampling stations.

    With ``shared`` (the group's ``_Counts``), the resamples its tests share
    are used when it holds them.  Otherwise: per-station (numerator, denominator)
    pairs of digit statistics take few distinct values; when they are much
    fewer than the stations, stations are resampled exactly by drawing how
    many of each distinct pair enter a replicate (``resample_categories``),
    otherwise one by one (``resample_sums``).
    """
    x = np.column_stack([numerator, denominator])
    weights = shared.resamples(n_sim, rng) if shared is not None else None
    if weights is not None:
        with one_blas_thread():
            reps = (weights @ x.astype(np.float32)).astype(float)
    else:
        pairs, counts = np.unique(x, axis=0, return_counts=True)
        if 5 * len(pairs) < len(x):
            reps = resample_categories(counts, n_sim, rng) @ pairs
        else:
            reps = resample_sums(x, n_sim, rng)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = reps[:, 0] / reps[:, 1]
    low, high = basic_interval(x[:, 0].sum() / x[:, 1].sum(), ratio[:, None], confidence_level)
    return float(low[0]), float(high[0])


def _chisquare(observed, probs, n_sim, rng, exact_below):
    """Pearson X^2 against ``probs``; chi-square p-value, or Monte Carlo when n < exact_below."""
    observed = np.asarray(observed, dtype=float)
    n = observed.sum()
    expected = n * probs
    x2 = float(((observed - expected) ** 2 / expected).sum())
    if n >= exact_below:
        return x2, float(special.chdtrc(len(probs) - 1, x2)), "chi-square approximation"
    sims = rng.multinomial(int(n), probs, size=n_sim)
    sim_x2 = ((sims - expected) ** 2 / expected).sum(axis=1)
    p = (1 + np.count_nonzero(sim_x2 >= x2 - 1e-9)) / (n_sim + 1)
    return x2, float(p), f"Monte Carlo ({n_sim} multinomial draws; n < {exact_below})"


def _digit_table(observed, probs, digits, confidence_level: float = 0.95) -> pd.DataFrame:
    """Each digit's count and share with its exact interval, the expected share and a binomial p-value."""
    n = int(observed.sum())
    low, high = clopper_pearson(observed, n, confidence_level) if n else (np.nan, np.nan)
    return frame({
        "digit": digits,
        "observed": observed.astype(int),
        "share": observed / n if n else np.nan,
        "ci_low": low,
        "ci_high": high,
        "expected_share": probs,
        "pvalue": binom_pvalue(observed, n, probs) if n else np.nan,
    })


def _verdict(p) -> str:
    if p is None or not np.isfinite(p):
        return "could not be assessed"
    if p < 0.001:
        return f"is very unlikely to arise by chance in honest counts (p = {p:.2g})"
    if p < 0.05:
        return f"would arise by chance in honest counts less than 5% of the time (p = {p:.3f})"
    return f"is well within what chance produces in honest counts (p = {p:.2f})"


# -- last digit ------------------------------------------------------------------------------
def spike_dip_pvalue(n: int, spike: int, dip: int) -> float:
    """P(some digit occurs >= spike times and some digit <= dip times) in n uniform last digits, exactly.

    The check Beber and Scacco used for Iran 2009 (a 17% spike and a 4% dip
    in 116 counts: P < 0.04); ``last_digit_test`` reports it in its details.
    By inclusion-exclusion it is 1 - P(every digit < spike) - P(every digit
    > dip) + P(every digit in dip+1..spike-1), each the chance that a
    uniform multinomial falls in a box (``_multinomial_box``), so it costs
    the same whatever the number of counts and draws nothing.
    """
    n, spike, dip = int(n), int(spike), int(dip)
    boxes = _multinomial_box(n, [(0, spike - 1), (dip + 1, n), (dip + 1, spike - 1)])
    return float(np.clip(1 - boxes[0] - boxes[1] + boxes[2], 0.0, 1.0))


def _multinomial_box(n: int, boxes, cells: int = 10) -> np.ndarray:
    """P(each of ``cells`` equally likely cells gets lo..hi of n draws), for each (lo, hi) in ``boxes``.

    Poissonization: with X_1..X_cells iid Poisson(n / cells), the multinomial
    is X given sum(X) = n, so P(box) = P(X in box, sum X = n) / P(sum X = n);
    the numerator is the cells-fold convolution of the Poisson pmf cut to
    the box, at n (by FFT).  Values more than 15 sd + 15 from the mean are
    left out: their Poisson mass is below 1e-30.
    """
    mu = n / cells
    reach = 15 * np.sqrt(mu) + 15
    start, stop = max(int(np.floor(mu - reach)), 0), min(int(np.ceil(mu + reach)), n)
    k = np.arange(start, stop + 1)
    pmf = np.exp(k * np.log(mu) - mu - special.gammaln(k + 1)) if mu > 0 else (k == 0).astype(float)
    at_n = np.exp(n * np.log(n) - n - special.gammaln(n + 1)) if n > 0 else 1.0  # P(sum X = n), sum X ~ Poisson(n)
    out = np.zeros(len(boxes))
    for i, (lo, hi) in enumerate(boxes):
        lo, hi = max(lo, start), min(hi, stop)
        if lo > hi or lo * cells > n or hi * cells < n:
            continue  # the box cannot hold n draws (or only where the Poisson mass is negligible)
        size = fft.next_fast_len(cells * (hi - lo) + 1, real=True)
        conv = fft.irfft(fft.rfft(pmf[lo - start:hi - start + 1], size) ** cells, size)
        out[i] = conv[n - cells * lo] / at_n
    return out


@register_test("last_digit_test")
def last_digit_test(election, *, columns=None, min_count: int = 10, null: str = "smoothed",
                    exact_below: int = 50, n_sim: int = 10_000, confidence_level: float = 0.95,
                    rng=None) -> TestResult:
    """Chi-square test of the counts' last digits (9 df; Beber & Scacco).

    ``null="uniform"`` is the textbook test against 10% per digit;
    ``null="smoothed"`` (default) expects the digit shares implied by the
    smoothed count distribution (``smoothed_residues``), because on real and
    simulated clean elections many counts sit where the distribution slopes
    and the uniform rule then rejects honest data (see the README, "Digit tests").
    Counts below ``min_count`` are left out.  Below ``exact_below`` counts the
    p-value is Monte Carlo (``n_sim`` draws).  ``details["digits"]`` gives
    each digit's share with its exact interval at ``confidence_level`` and a
    two-sided binomial p-value; ``details["spike_dip_pvalue"]`` is the exact
    chance, under uniform digits, of a spike and a dip as extreme as
    observed.
    """
    pool = _Pool.of(election, columns, min_count)
    name = "last digit uniformity"
    if pool.n == 0:
        return _empty(name, pool, "counts")
    probs = _null_probs(pool, null)
    observed = digit_counts(last_digit(pool.values.ravel()))
    x2, p, method = _chisquare(observed, probs, n_sim, rng, exact_below)
    table = _digit_table(observed, probs, np.arange(10), confidence_level)
    spike_dip = spike_dip_pvalue(pool.n, observed.max(), observed.min())
    top, low = int(observed.argmax()), int(observed.argmin())
    text = (f"Checked the last digit of {pool.n} vote counts of at least {min_count} against "
            f"{_null_text(null)}. Digit {top} ends {observed[top] / pool.n:.1%} of them (expected "
            f"{probs[top]:.1%}) and {low} ends {observed[low] / pool.n:.1%} (expected {probs[low]:.1%}); the "
            f"overall departure {_verdict(p)}. {_CAVEAT}" + pool.note())
    return _result(name, pool, x2, pvalue=p, expected=9.0, explanation=text, alternative="greater", method=method,
                   details={"digits": table, "method": method, "df": 9, "null": null,
                            "spike_dip_pvalue": spike_dip})


def _station_digits(pool, extract):
    """Per-station sums of a digit statistic and the number of counts it covers."""
    d = extract(pool.values)
    return np.nansum(d, axis=1), np.isfinite(d).sum(axis=1)


def _interval_text(ci, confidence_level, percent=False) -> str:
    fmt = "{:.1%}" if percent else "{:.3f}"
    return f"{confidence_level:.0%} interval {fmt.format(ci[0])} to {fmt.format(ci[1])}"


@register_test("last_digit_mean")
def last_digit_mean(election, *, columns=None, min_count: int = 10, null: str = "smoothed",
                    n_sim: int = 1000, confidence_level: float = 0.95, rng=None) -> TestResult:
    """Mean last digit (EFToolkit's LastC) against 4.5 or the smoothed null, with a station-bootstrap interval.

    The p-value is a z-test with the null's digit variance (8.25 when uniform).
    """
    pool = _Pool.of(election, columns, min_count)
    name = "last digit mean (LastC)"
    if pool.n == 0:
        return _empty(name, pool, "counts")
    probs = _null_probs(pool, null)
    mu = float(probs @ np.arange(10))
    sd = float(np.sqrt(probs @ np.arange(10) ** 2 - mu ** 2))
    total, used = _station_digits(pool, last_digit)
    mean = total.sum() / used.sum()
    p = float(2 * special.ndtr(-abs(mean - mu) / (sd / np.sqrt(pool.n))))
    ci = _station_ci(total, used, n_sim, rng, confidence_level, shared=pool.shared)
    text = (f"The average last digit of {pool.n} counts of at least {min_count} is {mean:.3f} "
            f"({_interval_text(ci, confidence_level)}); {_null_text(null)} gives {mu:.3f}. The difference "
            f"{_verdict(p)}. {_CAVEAT}" + pool.note())
    return _result(name, pool, mean, pvalue=p, ci=ci, expected=mu, explanation=text, details={"null": null},
                   alternative="two-sided", confidence_level=confidence_level,
                   method="z-test; station-bootstrap basic interval")


@register_test("zero_five_share")
def zero_five_share(election, *, columns=None, min_count: int = 10, null: str = "smoothed",
                    n_sim: int = 1000, confidence_level: float = 0.95, rng=None) -> TestResult:
    """Share of counts ending in 0 or 5 (EFToolkit's C05s) against 0.2 or the smoothed null; binomial p-value."""
    pool = _Pool.of(election, columns, min_count)
    name = "counts ending in 0 or 5 (C05s)"
    if pool.n == 0:
        return _empty(name, pool, "counts")
    probs = _null_probs(pool, null)
    expected = float(probs[0] + probs[5])
    ends = np.where(np.isfinite(pool.values), np.isin(last_digit(pool.values), (0, 5)), np.nan)
    hits, used = np.nansum(ends, axis=1), np.isfinite(ends).sum(axis=1)
    share = hits.sum() / used.sum()
    p = float(binom_pvalue(hits.sum(), pool.n, expected))
    ci = _station_ci(hits, used, n_sim, rng, confidence_level, shared=pool.shared)
    text = (f"{share:.1%} of {pool.n} counts of at least {min_count} end in 0 or 5 "
            f"({_interval_text(ci, confidence_level, True)}), against {expected:.1%} expected from "
            f"{_null_text(null)}. Rounding invented figures to 'nice' numbers raises this share. The difference "
            f"{_verdict(p)}. {_CAVEAT}" + pool.note())
    return _result(name, pool, share, pvalue=p, ci=ci, expected=expected, explanation=text, details={"null": null},
                   alternative="two-sided", confidence_level=confidence_level,
                   method="exact binomial; station-bootstrap basic interval")


@register_test("digit_pairs_test")
def digit_pairs_test(election, *, kind: str = "adjacent", columns=None, min_count: int = 100,
                     wrap_adjacent: bool = True, null: str = "smoothed") -> TestResult:
    """One of Beber & Scacco's tests on the last two digits: a one-sided binomial TestResult.

    ``kind`` (``DIGIT_PAIRS``): "repeated" pairs (11, 22, ...; expected 10%,
    people under-produce them), "adjacent" pairs (digits differing by one;
    expected 20% when 0 and 9 count as adjacent, ``wrap_adjacent=True`` as
    the Iran op-ed's 70% implies, 18% otherwise; people over-produce them)
    or the remaining "non-adjacent" distinct pairs (70% or 72%;
    under-produced).  Counts below ``min_count`` (default 100, as for
    Senegal) are left out.  With ``null="smoothed"`` the expected shares
    come from the count distribution smoothed over windows of 100
    (``smoothed_residues``), otherwise from uniform pairs.
    """
    if kind not in DIGIT_PAIRS:
        raise ValueError(f"kind must be one of {', '.join(DIGIT_PAIRS)}, not {kind!r}")
    pool = _Pool.of(election, columns, min_count)
    name, alternative, direction = DIGIT_PAIRS[kind]
    pairs = pool.pairs()
    n = pairs.size
    if n == 0:
        return _empty(name, pool, "counts")
    grid = np.arange(100)
    gap = np.abs(grid // 10 - grid % 10)
    is_rep = gap == 0
    is_adj = (gap == 1) | ((gap == 9) if wrap_adjacent else False)
    member = {"repeated": is_rep, "adjacent": is_adj, "non-adjacent": ~is_rep & ~is_adj}[kind]
    expected = float(_null_probs(pool, null, period=100)[member].sum())
    k = int(member[pairs].sum())
    p = float(binom_pvalue(k, n, expected, alternative))
    text = (f"Of {n} counts of at least {min_count}, {k / n:.1%} end in {name.replace(' last-two digits', '')} "
            f"pairs of digits, against {expected:.1%} expected in honest counts; people inventing numbers "
            f"tend to write {direction}. Finding {'this few' if alternative == 'less' else 'this many'} "
            f"{_verdict(p)}. {_CAVEAT}" + pool.note())
    return _result(name, pool, k / n, pvalue=p, expected=expected, n_used=n, explanation=text,
                   alternative=alternative, method="exact binomial, one-sided",
                   details={"count": k, "kind": kind, "alternative": alternative, "wrap_adjacent": wrap_adjacent,
                            "null": null})


# -- Benford ---------------------------------------------------------------------------------
@register_test("second_digit_test")
def second_digit_test(election, *, columns=None, min_count: int = 10, exact_below: int = 50,
                      n_sim: int = 10_000, confidence_level: float = 0.95, rng=None) -> TestResult:
    """Mebane's 2BL: chi-square of second digits (counts >= 10) against Benford's law, 9 df."""
    pool = _Pool.of(election, columns, max(min_count, 10))
    name = "second digit Benford (2BL)"
    if pool.n == 0:
        return _empty(name, pool, "counts")
    observed = digit_counts(second_digit(pool.values.ravel()))
    x2, p, method = _chisquare(observed, BENFORD_SECOND, n_sim, rng, exact_below)
    mean = float(observed @ np.arange(10) / pool.n)
    text = (f"Checked the second digit of {pool.n} counts of at least 10 against Benford's law, which "
            f"predicts slightly more low than high second digits (mean 4.187; here {mean:.3f}). The "
            f"departure {_verdict(p)}. Benford's law for vote counts is a rough benchmark: strategic voting "
            f"and the size of stations also move it. {_CAVEAT}" + pool.note())
    return _result(name, pool, x2, pvalue=p, expected=9.0, explanation=text, alternative="greater", method=method,
                   details={"digits": _digit_table(observed, BENFORD_SECOND, np.arange(10), confidence_level),
                            "mean": mean, "method": method, "df": 9})


@register_test("second_digit_mean")
def second_digit_mean(election, *, columns=None, min_count: int = 10, n_sim: int = 1000,
                      confidence_level: float = 0.95, rng=None) -> TestResult:
    """Mean second digit against 4.187 (EFToolkit's _2BL), with a station-bootstrap interval.

    The p-value is a z-test with Benford's second-digit sd 2.873.
    """
    pool = _Pool.of(election, columns, max(min_count, 10))
    name = "second digit mean (2BL)"
    if pool.n == 0:
        return _empty(name, pool, "counts")
    total, used = _station_digits(pool, second_digit)
    mean = total.sum() / used.sum()
    sd = np.sqrt(BENFORD_SECOND @ np.arange(10) ** 2 - SECOND_DIGIT_MEAN ** 2)
    p = float(2 * special.ndtr(-abs(mean - SECOND_DIGIT_MEAN) / (sd / np.sqrt(pool.n))))
    ci = _station_ci(total, used, n_sim, rng, confidence_level, shared=pool.shared)
    text = (f"The average second digit of {pool.n} counts is {mean:.3f}; Benford's law gives 4.187 "
            f"({_interval_text(ci, confidence_level)}). The difference {_verdict(p)}. This is a weak benchmark "
            f"for vote counts. {_CAVEAT}" + pool.note())
    return _result(name, pool, mean, pvalue=p, ci=ci, expected=SECOND_DIGIT_MEAN, explanation=text,
                   alternative="two-sided", confidence_level=confidence_level,
                   method="z-test; station-bootstrap basic interval")


@register_test("first_digit_test")
def first_digit_test(election, *, columns=None, min_count: int = 1, exact_below: int = 50,
                     n_sim: int = 10_000, confidence_level: float = 0.95, rng=None) -> TestResult:
    """Chi-square of first digits against Benford's law (8 df); a weak test for vote counts."""
    pool = _Pool.of(election, columns, max(min_count, 1))
    name = "first digit Benford"
    if pool.n == 0:
        return _empty(name, pool, "counts")
    observed = digit_counts(first_digit(pool.values.ravel()))[1:]
    x2, p, method = _chisquare(observed, BENFORD_FIRST, n_sim, rng, exact_below)
    text = (f"Checked the first digit of {pool.n} counts against Benford's law (30% ones, 18% twos, ...). The "
            f"departure {_verdict(p)}. Caution: polling stations are drawn up to similar sizes, so honest vote "
            f"counts usually do NOT follow Benford's first-digit law; a departure here says little on its own. "
            f"{_CAVEAT}" + pool.note())
    return _result(name, pool, x2, pvalue=p, expected=8.0, explanation=text, alternative="greater", method=method,
                   details={"digits": _digit_table(observed, BENFORD_FIRST, np.arange(1, 10), confidence_level),
                            "method": method, "df": 8})


# -- percentages -----------------------------------------------------------------------------
def _percent_base(e):
    """The base of the vote percentages: the authority's (``meta["percent_base"]``), else EFToolkit's ballots found."""
    which = e.meta.get("percent_base") if e.meta.get("percent_base") in ("valid", "cast") else "found"
    return e.ballots(which), {"valid": "valid votes", "cast": "ballots cast", "found": "ballots found"}[which]


@register_test("percent_zero_five")
def percent_zero_five(election, *, columns=None, turnout: bool = True, min_base: int = 100,
                      min_percent: int = 10, max_percent: int = 90, null: str = "smoothed",
                      n_sim: int = 1000, confidence_level: float = 0.95, rng=None) -> TestResult:
    """Share of turnout and vote percentages whose whole-number value ends in 0 or 5 (EFToolkit's P05s).

    Percentages are capped at 100 and rounded half to even.  Turnout is
    ballots found / voters on the list, as in EFToolkit.  Left out:
    stations whose base (registered voters for turnout, ballots for votes,
    following ``meta["percent_base"]``) is below ``min_base`` (a percentage
    of a few ballots moves in steps of several points), and percentages
    outside ``min_percent``..``max_percent`` (near 0 and 100 the
    distribution is cut off).  By default (``columns=None``) only parties
    whose median percentage is at least ``min_percent`` + 10 take part:
    a small party's few percentages above the cut-off pile up at 10 and 15
    and would look rounded when they are not.  The expected share is 0.2 (``null="uniform"``)
    or, by default, what each percentage's smoothed distribution implies
    (``smoothed_residues``), summed over turnout and the parties.
    """
    if null not in _NULLS:
        raise ValueError(f"null must be one of {_NULLS}, not {null!r}")
    shared = election if isinstance(election, _Counts) else None
    e = shared.election if shared else election
    parties = list(e.parties if columns is None else ([columns] if isinstance(columns, str) else columns))
    if shared:
        keep, ex_counts, ex_rows = shared.keep, shared.excluded, shared.excluded_rows
    else:
        ex = Exclusions.for_election(e)
        keep, ex_counts, ex_rows = ex.keep, ex.counts, ex.rows
    kept = e.subset(keep)
    base, base_name = _percent_base(kept)
    base = count_values(kept, base_name, base)
    subjects = {}
    with np.errstate(divide="ignore", invalid="ignore"):
        if turnout and kept.has("registered"):
            reg = count_values(kept, "registered")
            subjects["turnout"] = (count_values(kept, "ballots_found", kept.ballots("found")) / reg, reg)
        for party in parties:
            subjects[party] = (count_values(kept, party) / base, base)
    small = []
    if columns is None:  # by default only percentages whose bulk lies in the tested range
        small = [p for p in parties if not np.nanmedian(subjects[p][0]) * 100 >= min_percent + 10]
        for party in small:
            del subjects[party]
    excluded = {r: c * len(subjects) for r, c in ex_counts.items()}
    reasons = {f"base below {min_base}": 0, "percentage undefined": 0,
               f"percentage outside {min_percent}-{max_percent}": 0}
    ends, rows, expected_hits = [], [], 0.0
    for subject, (share, denom) in subjects.items():
        ok_base = np.isfinite(denom) & (denom >= min_base)
        pct = np.where(ok_base, np.round(np.where(share >= 1, 1.0, share) * 100), np.nan)
        in_range = (pct >= min_percent) & (pct <= max_percent)
        reasons[f"base below {min_base}"] += int((~ok_base).sum())
        reasons["percentage undefined"] += int((ok_base & np.isnan(pct)).sum())
        reasons[f"percentage outside {min_percent}-{max_percent}"] += int((np.isfinite(pct) & ~in_range).sum())
        e05 = np.where(in_range, percent_ends_05(pct / 100), np.nan)
        used = int(np.isfinite(e05).sum())
        # period 5: residue 0 is "ends in 0 or 5", and the window is short enough to follow a steep slope
        expected = smoothed_residues(pct, min_percent, 5, max_percent)[0] if null == "smoothed" else 0.2
        expected_hits += used * expected
        ends.append(e05)
        rows.append({"subject": subject, "n": used, "share_05": float(np.nanmean(e05)) if used else np.nan,
                     "expected_share": float(expected)})
    excluded.update({r: c for r, c in reasons.items() if c})
    ends = np.column_stack(ends) if ends else np.empty((len(kept), 0))
    hits, used = np.nansum(ends, axis=1), np.isfinite(ends).sum(axis=1)
    n = int(used.sum())
    name = "percentages ending in 0 or 5 (P05s)"
    common = dict(excluded=excluded, excluded_rows=ex_rows, party=_label(list(subjects)))
    if n == 0:
        return TestResult(name=name, statistic=float("nan"), n_used=0, **common,
                          explanation="No percentages were left to test after the exclusions listed.")
    share, expected = hits.sum() / n, expected_hits / n
    p = float(binom_pvalue(hits.sum(), n, expected))
    ci = _station_ci(hits, used, n_sim, rng, confidence_level, shared=shared)
    text = (f"{share:.1%} of {n} percentages (turnout and vote shares of {base_name}, rounded to whole "
            f"numbers) end in 0 or 5 ({_interval_text(ci, confidence_level, True)}), against {expected:.1%} "
            f"expected from {_null_text(null, 'percentages')}. Figures written to hit a target percentage "
            f"raise this share. The difference {_verdict(p)}. {_CAVEAT}"
            + (f" Left out: {len(small)} parties whose typical percentage is below {min_percent + 10}%." if small
               else ""))
    return TestResult(name=name, statistic=float(share), pvalue=p, ci=ci, expected=float(expected), n_used=n,
                      details={"subjects": pd.DataFrame(rows), "null": null, "parties_left_out": small},
                      explanation=text, alternative="two-sided", confidence_level=confidence_level,
                      method="exact binomial; station-bootstrap basic interval", **common)


# -- all groups in one call -------------------------------------------------------------------
def _grouped(test, period=None):
    """The grouped form of a count-based digit test (``func.grouped(election, groups, rngs, **call)``).

    The count columns are read and checked once for the whole election and
    sliced per group (``_Counts.take``); the smoothed null of a test that
    uses one (``period``: of its residues) is made for all groups side by
    side; each group's result is the one the test gives on that group alone
    with the group's own stream.
    """
    takes_rng = "rng" in test.parameters
    defaults = test.__wrapped__.__kwdefaults__

    def grouped(election, groups, rngs, **call):
        check_parameters(test.test_name, test.parameters, {**call, **({"rng": None} if takes_rng else {})})
        reading = _Counts.read(election, call.pop("columns", None))
        parts = {group: reading.part(group, positions) for group, positions in groups.items()}
        if period is not None and call.get("null", defaults.get("null")) == "smoothed":
            _Counts.smooth_each(parts.values(), call.get("min_count", defaults["min_count"]), period)
        out = {}
        for group, part in parts.items():
            extra = {"rng": ensure_rng(rngs.get(group))} if takes_rng else {}
            out[group] = test.__wrapped__(part, **call, **extra)
        return out

    return grouped


for _test, _period in ((last_digit_test, 10), (digit_pairs_test, 100), (second_digit_test, None)):
    _test.grouped = _grouped(_test, _period)
    # the digit tests read the same counts (``_Counts.read``, once per scan and process): a scan runs them in one
    _test.shared_work = "the digit tests' counts"


# -- all of them, per level ----------------------------------------------------------------------
def digit_tests(election, level: str = "nation", *, columns=None, rng=None, n_sim: int = 1000) -> pd.DataFrame:
    """Every digit test at one level, p-values corrected across groups (Benjamini-Hochberg).

    In each group the count columns are read once and the interval tests
    share one set of station resamples; each group draws from its own
    stream (``forensics.levels.by_level``), so a group's rows do not depend
    on the other groups.
    """
    def battery(sub, rng):
        counts = _Counts(sub, columns)  # read once, shared by the count-based tests
        boot = dict(n_sim=n_sim, rng=rng)
        return [
            last_digit_test.__wrapped__(counts, rng=rng),
            last_digit_mean.__wrapped__(counts, **boot),
            zero_five_share.__wrapped__(counts, **boot),
            *(digit_pairs_test.__wrapped__(counts, kind=kind) for kind in DIGIT_PAIRS),
            second_digit_test.__wrapped__(counts, rng=rng),
            second_digit_mean.__wrapped__(counts, **boot),
            first_digit_test.__wrapped__(counts, rng=rng),
            percent_zero_five.__wrapped__(counts, columns=columns, **boot),
        ]

    return results_table(by_level(as_election(election), battery, level, rng=rng), level)
