"""The Election Forensics Toolkit's basic battery, with its digit and bootstrap core.

``basic_battery`` reproduces EFToolkit's ``BasicElectionForensics`` (Kalinin &
Mebane, R 2.0.0; METHODS.md section 6.2) statistic by statistic: the
second-digit mean (``2BL``), last-digit mean (``LastC``), shares of
percentages and counts ending in 0 or 5 (``P05s``, ``C05s``), skewness and
kurtosis of the percentages, Hartigan's dip-test p-value, the
Sobyanin-Sukhovolsky measure and the turnout-share correlation, for turnout
(a pseudo-candidate) and each party, per level, with the same
nonparametric-bootstrap "basic" intervals and flag rules.

The same module holds the pieces the digit tests in ``digits.py`` share:
digit extraction (``first_digit``, ``second_digit``, ``last_digit``,
``last_two_digits``), ``percent_ends_05``, ``count_values`` (validated count
columns), ``resample_sums`` (a vectorised station bootstrap: resampled
station indices become multiplicities, turned into column sums by one
matrix product) and ``basic_interval`` (R ``boot.ci(type = "basic")``).

Speed: every bootstrapped statistic of the battery is a function of column
sums of per-station values (digits, indicators, powers of deviations), so
one resampling of each group's stations serves all statistics and subjects,
and all groups' replicates come out of one call: per group, a matrix of
resample multiplicities (replicates x stations) times the per-station
contributions (stations x columns), on one BLAS thread.
"""
from __future__ import annotations

import functools
import warnings

import numpy as np
import pandas as pd
from threadpoolctl import ThreadpoolController

from ..errors import DataError
from ..levels import by_level
from ..model import Election, as_election
from ..random import ensure_rng
from .dip import dip

__all__ = [
    "BATTERY_TESTS",
    "BATTERY_REFERENCE",
    "basic_battery",
    "first_digit",
    "second_digit",
    "last_digit",
    "last_two_digits",
    "percent_ends_05",
    "digit_counts",
    "digit_mean",
    "share_05",
    "resample_sums",
    "resample_categories",
    "basic_interval",
]

#: EFToolkit's test names, in its column order.
BATTERY_TESTS = ("2BL", "LastC", "P05s", "C05s", "Sobyanin", "Skew", "Kurt", "DipT", "Correlation")
#: Values a clean election is expected to give (EFToolkit's flagging references).
BATTERY_REFERENCE = {"2BL": 4.187, "LastC": 4.5, "P05s": 0.2, "C05s": 0.2, "Skew": 0.0, "Kurt": 3.0,
                     "DipT": 0.05, "Sobyanin": 1.6448536269514722, "Correlation": 0.4}
_BOOTSTRAPPED = ("2BL", "LastC", "P05s", "C05s", "Skew", "Kurt")
_POW10 = 10 ** np.arange(1, 19, dtype=np.int64)


# -- validated counts and digit extraction -------------------------------------------------
def count_values(election: Election, column: str, values=None) -> np.ndarray:
    """A count column as float64 (NaN where missing), checked to hold whole numbers >= 0."""
    series = election.table[column] if values is None else values
    if not pd.api.types.is_numeric_dtype(series):
        raise DataError(f"the count column holds text, not numbers (e.g. {series.dropna().iloc[0]!r})",
                        file=_source(election), column=column,
                        fix="map the column to numbers in the profile or clean the file")
    if isinstance(series.dtype, pd.api.extensions.ExtensionDtype):  # nullable: pd.NA becomes NaN
        x = series.to_numpy(dtype=float, na_value=np.nan)
    else:  # numpy-backed: a plain cast, without pandas' search for missing values
        x = np.asarray(series.to_numpy(), dtype=float)
    bad = np.isfinite(x) & ((x < 0) | (x != np.floor(x)))
    bad |= np.isinf(x)
    if bad.any():
        pos = int(np.flatnonzero(bad)[0])
        raise DataError(f"{int(bad.sum())} value(s) are not whole non-negative counts (first: {x[pos]!r})",
                        file=_source(election), row=_row_label(election, pos), column=column,
                        fix="correct the figure from the protocol, or blank it if it is unknown")
    return x


def _source(election: Election):
    return next(iter(election.sources), None) if election.sources else None


def _row_label(election: Election, pos: int) -> str:
    table = election.table
    label = f"{pos + 1}"
    if "pec" in table.columns:
        label += f" (station {table['pec'].iloc[pos]})"
    return label


def _digit_frame(values):
    """Integer view of whole counts, their mask, and the number of digits minus one."""
    x = np.asarray(values, dtype=float)
    ok = np.isfinite(x)
    v = np.where(ok, x, 0).astype(np.int64)
    return v, ok, np.searchsorted(_POW10, v, side="right")


def first_digit(values) -> np.ndarray:
    """First significant digit of each count (NaN for 0 and missing)."""
    v, ok, k = _digit_frame(values)
    d = (v // 10 ** k).astype(float)
    d[~ok | (v == 0)] = np.nan
    return d


def second_digit(values) -> np.ndarray:
    """Second significant digit of each count (NaN for counts below 10 and missing)."""
    v, ok, k = _digit_frame(values)
    d = ((v // 10 ** np.maximum(k - 1, 0)) % 10).astype(float)
    d[~ok | (v < 10)] = np.nan
    return d


def last_digit(values) -> np.ndarray:
    """Last digit of each count (NaN for missing); zero counts end in 0."""
    x = np.asarray(values, dtype=float)
    return np.where(np.isfinite(x), np.mod(x, 10), np.nan)


def last_two_digits(values) -> np.ndarray:
    """Last two digits of each count as 0..99 (NaN for counts below 10 and missing)."""
    x = np.asarray(values, dtype=float)
    return np.where(np.isfinite(x) & (x >= 10), np.mod(x, 100), np.nan)


def percent_ends_05(share) -> np.ndarray:
    """1.0 where round(100 * share) ends in 0 or 5, 0.0 otherwise, NaN where share is undefined.

    Rounds half to even as R does; 100 counts as ending in 0.  Shares are
    used as given (the battery caps them at 1 first).
    """
    p = np.asarray(share, dtype=float)
    r = np.round(p * 100)
    return np.where(np.isfinite(r), (np.mod(r, 5) == 0).astype(float), np.nan)


# -- bootstrap core ------------------------------------------------------------------------
def _draw_indices(rng: np.random.Generator, n: int, size: int) -> np.ndarray:
    """``size`` uniform draws from 0..n-1 (n < 2**32), two per 64 random bits.

    Multiply-shift mapping of 32-bit words (Lemire without rejection); its
    departure from uniformity is below n / 2**32 (2e-5 for 100,000 stations).
    """
    words = rng.bit_generator.random_raw((size + 1) // 2).view(np.uint32)[:size]
    idx = np.multiply(words, np.uint64(n), dtype=np.uint64)
    idx >>= np.uint64(32)
    return idx.view(np.int64)


def resample_sums(values: np.ndarray, n_boot: int, rng=None, dtype=np.float64,
                  max_cells: int = 2_000_000) -> np.ndarray:
    """Column sums of ``values`` (stations x q) over ``n_boot`` station bootstrap resamples.

    Each resample draws len(values) stations with replacement; the draws
    become per-station multiplicities (``bincount``) and the sums one matrix
    product, in chunks of at most ``max_cells`` draws.  Returns (n_boot, q).
    Any statistic of column sums (means, shares, moments) is then computed
    on all replicates at once.  ``dtype=np.float32`` halves the work; its
    rounding (about 1e-6 relative) is far below the bootstrap's own noise,
    and sums of whole numbers stay exact below 2**24.
    """
    x = np.asarray(values, dtype=dtype)
    return _resample_group_sums(x, np.zeros(len(x), dtype=np.int64), 1, n_boot, rng, dtype, max_cells)[:, 0]


def _multiplicities(rng, n: int, n_boot: int, dtype=np.float64, cells: int = 1 << 17) -> np.ndarray:
    """How often each of n stations is drawn in each of ``n_boot`` bootstrap resamples: (n_boot, n).

    Replicates are drawn and counted ``cells`` draws at a time, a block that
    stays in the processor's cache (twice as fast as one pass over all).
    """
    rng = ensure_rng(rng)
    out = np.empty((n_boot, n), dtype=dtype)
    step = max(2, cells // n // 2 * 2)  # an even number of draws per block keeps the random stream unchanged
    for start in range(0, n_boot, step):
        size = min(step, n_boot - start)
        idx = _draw_indices(rng, n, size * n).reshape(size, n)
        idx += (np.arange(size) * n)[:, None]
        out[start:start + size] = np.bincount(idx.ravel(), minlength=size * n).reshape(size, n)
    return out


@functools.cache
def _blas() -> ThreadpoolController:
    return ThreadpoolController()


def _one_blas_thread():
    """Context in which matrix products run on one BLAS thread.

    The bootstrap's products (replicates x stations times stations x
    columns) are many and mid-sized: on one thread BLAS does them several
    times faster than einsum, while a second thread (measured on a busy
    2-core machine) mostly waits for the first and adds CPU time.
    """
    return _blas().limit(limits=1, user_api="blas")


def _resample_group_sums(values, codes, n_groups: int, n_boot: int, rng=None, dtype=np.float64,
                         max_cells: int = 2_000_000) -> np.ndarray:
    """``resample_sums`` of every group, stations resampled within their group: (n_boot, n_groups, q).

    ``codes`` (0..n_groups-1) give each station's group.  A group's
    replicates are drawn in as few chunks as ``max_cells`` allows (all of
    them for a region of a few thousand stations), so that each chunk is
    one large matrix product.
    """
    rng = ensure_rng(rng)
    x = np.asarray(values, dtype=dtype)
    codes = np.asarray(codes, dtype=np.int64)
    out = np.zeros((n_boot, n_groups, x.shape[1]))
    order = np.argsort(codes, kind="stable")
    xs = np.ascontiguousarray(x[order])
    sizes = np.bincount(codes, minlength=n_groups)
    ends = np.cumsum(sizes)
    with _one_blas_thread():
        for g in np.flatnonzero(sizes):
            n, xg = sizes[g], xs[ends[g] - sizes[g]:ends[g]]
            step = max(1, max_cells // n)
            for start in range(0, n_boot, step):
                size = min(step, n_boot - start)
                out[start:start + size, g] = _multiplicities(rng, n, size, dtype) @ xg
    return out


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


def basic_interval(t0, replicates, conf: float = 0.95):
    """R ``boot.ci(type = "basic")`` for each column: (2 t0 - q_hi, 2 t0 - q_lo).

    ``replicates`` is (n_boot, m); non-finite replicates are dropped per
    column, as boot does; a column whose replicates are all equal gets no
    interval (NaN), as boot.ci refuses it.
    """
    t0 = np.atleast_1d(np.asarray(t0, dtype=float))
    reps = np.asarray(replicates, dtype=float).reshape(len(replicates), -1)
    reps = np.where(np.isfinite(reps), reps, np.nan)
    finite = np.isfinite(reps).sum(axis=0)
    ordered = np.sort(reps, axis=0)
    q_hi = _order_stat_quantile(ordered, finite, (1 + conf) / 2)
    q_lo = _order_stat_quantile(ordered, finite, (1 - conf) / 2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        centre = np.nanmean(reps, axis=0)
        spread = np.nanmax(np.abs(reps - centre), axis=0)
    constant = spread < np.minimum(1e-8, centre / 1e6)
    bad = constant | (finite == 0) | ~np.isfinite(t0)
    low = np.where(bad, np.nan, 2 * t0 - q_hi)
    high = np.where(bad, np.nan, 2 * t0 - q_lo)
    return low, high


# -- the battery -------------------------------------------------------------------------
def digit_counts(digits) -> np.ndarray:
    """How many values have each digit 0..9 (NaN skipped); works along the last axis."""
    d = np.asarray(digits, dtype=float)
    ok = np.isfinite(d)
    return np.stack([((d == k) & ok).sum(axis=-1) for k in range(10)], axis=-1)


def digit_mean(counts) -> np.ndarray:
    """Mean digit from counts per digit (..., 10)."""
    counts = np.asarray(counts, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return counts @ np.arange(10.0) / counts.sum(axis=-1)


def share_05(counts) -> np.ndarray:
    """Share of digits that are 0 or 5, from counts per digit (..., 10)."""
    counts = np.asarray(counts, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return (counts[..., 0] + counts[..., 5]) / counts.sum(axis=-1)


def resample_categories(counts, n_boot: int, rng=None) -> np.ndarray:
    """Bootstrap category counts: (..., k) observed counts -> (n_boot, ..., k) resampled.

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
    return rng.multinomial(total, pvals, size=(n_boot, *counts.shape[:-1]))


def _deviations(shares) -> tuple[np.ndarray, np.ndarray]:
    """Each column's deviation from its mean (0 where missing) and where it is present."""
    has = np.isfinite(shares)
    centre = np.array([col[ok].mean() if ok.any() else 0.0 for col, ok in zip(shares.T, has.T)])
    return np.where(has, shares - centre, 0.0), has


def _station_parts(second, last, ends, dev, has) -> np.ndarray:
    """Per-station contributions whose sums give every bootstrapped statistic: stations x (subjects x 12).

    Inputs are stations x subjects: second and last digits of the counts,
    whether the percentage ends in 0 or 5, and the percentage's deviation
    from its group mean.  Per subject the 12 columns are: second digits,
    counts having one, last digits, counts having one, last digits that are
    0 or 5, percentages ending in 0 or 5, percentages, percentages present
    (again, for the moments) and the deviation's powers 1..4.
    """
    parts = [np.nan_to_num(second), np.isfinite(second), np.nan_to_num(last), np.isfinite(last),
             np.isin(last, (0, 5)), ends == 1, np.isfinite(ends), has, *(dev ** k for k in (1, 2, 3, 4))]
    return np.stack(parts, axis=-1, dtype=float).reshape(len(second), 12 * second.shape[1])


def _statistics(sums) -> list:
    """2BL, LastC, P05s, C05s, Skew and Kurt from sums (..., 12) laid out as ``_station_parts``."""
    s = np.moveaxis(np.asarray(sums, dtype=float), -1, 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        digits = [s[0] / s[1], s[2] / s[3], s[5] / s[6], s[4] / s[3]]
    return digits + list(_skew_kurt(np.moveaxis(s[7:], 0, -1)))


def _skew_kurt(sums) -> tuple[np.ndarray, np.ndarray]:
    """Population skewness m3/m2^1.5 and kurtosis m4/m2^2 from sums (..., 5) of has and the deviation's powers 1..4."""
    s = np.moveaxis(np.asarray(sums, dtype=float), -1, 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        m, e2, e3, e4 = s[1] / s[0], s[2] / s[0], s[3] / s[0], s[4] / s[0]
        c2 = e2 - m ** 2
        c3 = e3 - 3 * m * e2 + 2 * m ** 3
        c4 = e4 - 4 * m * e3 + 6 * m ** 2 * e2 - 3 * m ** 4
        return c3 / c2 ** 1.5, c4 / c2 ** 2


def _cap(share) -> np.ndarray:
    """Percentages capped at 1 as EFToolkit does: x/0 (Inf) becomes 1, 0/0 stays missing."""
    return np.where(share >= 1, 1.0, share)


def _bootstrapped(groups: list, n_boot: int, rng) -> tuple[np.ndarray, np.ndarray]:
    """Basic intervals of the six bootstrapped statistics for every group and subject, (groups, subjects, 6) each.

    ``groups`` holds ``_group_inputs`` of each group.  As in boot, each
    replicate resamples a group's stations, once for all statistics and
    subjects; every statistic is a function of column sums, so all
    replicates of all groups come from ``_resample_group_sums``.
    """
    parts = np.concatenate([g["parts"] for g in groups])
    codes = np.repeat(np.arange(len(groups)), [len(g["parts"]) for g in groups])
    sums = _resample_group_sums(parts, codes, len(groups), n_boot, rng, dtype=np.float32)
    reps = np.stack(_statistics(sums.reshape(*sums.shape[:2], -1, 12)), axis=-1)  # (n_boot, groups, subjects, 6)
    t0 = np.stack([g["t0"] for g in groups])
    low, high = basic_interval(t0.ravel(), reps.reshape(n_boot, -1))
    return low.reshape(t0.shape), high.reshape(t0.shape)


def _finite_pairs(x, y):
    ok = np.isfinite(x) & np.isfinite(y)
    return x[ok], y[ok]


def _sobyanin(turnout, share) -> float:
    """OLS slope of share on turnout minus the mean share (EFToolkit's S-S measure)."""
    t, v = _finite_pairs(turnout, share)
    if t.size < 2 or np.ptp(t) == 0:
        return float("nan")
    slope = np.polyfit(t, v, 1)[0]
    return float(slope - np.nanmean(np.where(np.isfinite(share), share, np.nan)))


def _correlation(turnout, share) -> float:
    t, v = _finite_pairs(turnout, share)
    if t.size < 2 or np.ptp(t) == 0 or np.ptp(v) == 0:
        return float("nan")
    return float(np.corrcoef(t, v)[0, 1])


def _dip_pvalue(values) -> float:
    with warnings.catch_warnings():  # n above the table's 72,000 uses its last row, as R does
        warnings.simplefilter("ignore")
        return dip(values)[1]


def _flag(test: str, estimate, low, high) -> bool:
    """EFToolkit's flag rules, applied to figures rounded to 3 decimals as its table prints them."""
    ref = BATTERY_REFERENCE[test]
    if test in _BOOTSTRAPPED:
        if not (np.isfinite(low) and np.isfinite(high)):
            return False
        lo, hi = round(float(low), 3), round(float(high), 3)
        if lo == 0 and hi == 0:
            return False
        return bool(hi <= ref or lo >= ref)
    if not np.isfinite(estimate):
        return False
    value = round(float(estimate), 3)
    return bool(value < ref) if test == "DipT" else bool(abs(value) > ref)


def _group_inputs(election: Election, parties) -> dict:
    """What the battery needs of one group: its estimates, and the per-station values its bootstrap resamples."""
    sub = election.subset(election.published)
    found = count_values(sub, "ballots_found", sub.ballots_found())
    registered = count_values(sub, "registered")
    votes = [count_values(sub, p) for p in parties]
    with np.errstate(divide="ignore", invalid="ignore"):
        turnout = found / registered
        shares = [turnout, *(v / found for v in votes)]
    n, k = len(found), len(shares)
    counts = np.column_stack([found, *votes]).reshape(n, k)
    capped = np.column_stack([_cap(sh) for sh in shares]).reshape(n, k)
    second, last, ends = second_digit(counts), last_digit(counts), percent_ends_05(capped)
    dev, has = _deviations(capped)
    parts = _station_parts(second, last, ends, dev, has)
    t0 = np.column_stack(_statistics(parts.sum(axis=0).reshape(k, 12)))
    other = [{"DipT": _dip_pvalue(shares[0])}]
    other += [{"DipT": _dip_pvalue(sh), "Sobyanin": _sobyanin(turnout, sh), "Correlation": _correlation(turnout, sh)}
              for sh in shares[1:]]
    return {"n": n, "parts": parts, "t0": t0, "other": other}


def _rows(name, inputs, subjects, low, high) -> list:
    """Table rows of one group from its inputs and intervals (subjects x 6)."""
    rows = []
    for i, subject in enumerate(subjects):
        est = dict(zip(_BOOTSTRAPPED, inputs["t0"][i]), **inputs["other"][i])
        ci = {t: (low[i, j], high[i, j]) for j, t in enumerate(_BOOTSTRAPPED)}
        for test in BATTERY_TESTS:
            if test not in est:
                continue
            lo, hi = ci.get(test, (np.nan, np.nan))
            rows.append((name, subject, test, float(est[test]), lo, hi, inputs["n"], _flag(test, est[test], lo, hi),
                         BATTERY_REFERENCE[test]))
    return rows


def basic_battery(election, parties=None, level: str = "nation", n_boot: int = 1000, rng=None) -> pd.DataFrame:
    """EFToolkit's basic election-forensics tests for turnout and each party, per level.

    Returns a tidy frame: ``group`` (the level's value, or "National"),
    ``subject`` ("turnout" or a party column), ``test`` (2BL, LastC, P05s,
    C05s, Sobyanin, Skew, Kurt, DipT, Correlation), ``estimate``,
    ``ci_low``/``ci_high`` (bootstrap "basic" 95% interval, for the six
    bootstrapped statistics), ``n`` (stations in the group), ``flagged``
    (EFToolkit's rule) and ``reference`` (the value it compares with).

    As in EFToolkit: no station is filtered (zeros, missing values and
    turnout above 100% are kept; a missing value is skipped inside each
    statistic); turnout's count is the ballots found and its percentage
    ballots found / registered; a party's percentage is votes / ballots
    found; percentages are capped at 1 for P05s, Skew and Kurt only.
    Stations whose figures were never published, and stations without a
    value of ``level``, are left out: ``result.attrs["excluded"]`` counts
    them by reason and ``result.attrs["excluded_rows"]`` lists them.  ``level`` is "nation", "region",
    "tec" or any column (groups in alphabetical order); one ``rng`` feeds
    every group's bootstrap in that order.
    """
    election = as_election(election)
    parties = list(election.parties if parties is None else ([parties] if isinstance(parties, str) else parties))
    missing = [c for c in ["registered", *parties] if c not in election.table.columns]
    if missing:
        raise DataError(f"the battery needs column(s) {', '.join(missing)}", file=_source(election),
                        column=missing[0], fix="map them in the profile (registered voters and party votes)")
    rng = ensure_rng(rng)
    reasons = pd.Series(pd.NA, index=election.table.index, dtype="object")
    if level not in (None, "nation"):
        if level not in election.table.columns:
            raise KeyError(f"level '{level}' is not a column of the table")
        reasons[election.table[level].isna()] = f"no {level}"
    reasons[reasons.isna() & ~election.published] = "figures not published"
    inputs = by_level(election.subset(reasons.isna() | ~election.published), _group_inputs, level, parties=parties)
    low, high = _bootstrapped(list(inputs.values()), n_boot, rng)
    subjects = ["turnout", *parties]
    rows = [row for g, (name, group) in enumerate(inputs.items())
            for row in _rows(name, group, subjects, low[g], high[g])]
    table = pd.DataFrame(rows, columns=["group", "subject", "test", "estimate", "ci_low", "ci_high", "n", "flagged",
                                        "reference"])
    dropped = reasons.dropna()
    table.attrs["excluded"] = {str(k): int(v) for k, v in dropped.value_counts(sort=False).items()}
    table.attrs["excluded_rows"] = dropped
    return table
