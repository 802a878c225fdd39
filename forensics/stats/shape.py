"""Shape tests: how votes move with turnout, and the shape of the turnout and share distributions.

* ``turnout_regression`` - Sobyanin-Sukhovolsky / Myagkov-Ordeshook-Shakin:
  each party's votes as a share of the electorate regressed on turnout.  The
  slope is the part of each additional voter that goes to the party; with
  honest counting it is close to the party's share, in [0, 1] for every
  party.  Ballot stuffing pushes the leader's slope above its share (above
  1 when more than every extra ballot goes to it) and vote transfers give
  rivals negative slopes.
* ``turnout_share_correlation`` - the correlation of a party's share of the
  vote with turnout across stations.
* ``vote_rate_collapse`` - Klimek et al.'s data collapse: skewness and
  kurtosis of the standardised log vote rate ln((V - W) / W).
* ``dip_test`` - Hartigan's dip test for multimodality of turnout or a
  party's share (a second mode near 100% is the classic stuffing sign).

Turnout here is ballots cast (valid + invalid) / voters on the list and a
party's share is its votes / valid votes.  Turnout, share and regression
slopes co-vary for social reasons too (urban and rural areas, ethnic
regions), and stations of one region or TEC move together, so by default
the p-values of ``turnout_regression`` and ``turnout_share_correlation``
compare stations within their TEC (TEC fixed effects) with standard errors
clustered by TEC (the key is region + TEC, as TEC names repeat across
regions) and t(clusters - 1) references.  ``fixed_effects=None, cov="HC1"``
gives the older inference that treats stations as independent; it rejects
most clean elections.
"""
from __future__ import annotations

import threading
import warnings
import weakref

import numpy as np
import pandas as pd
from scipy import special

from ..errors import DataError
from ..exclusions import Excluded, Exclusions
from ..model import as_election
from ._core.bootstrap import percentile_interval, resample_power_sums
from ._last import LastReading
from ._core.moments import skew_kurtosis, skew_kurtosis_from_sums
from ._core.plane import bin_edges, bin_index, party_column, require_registered
from .dip import dip
from .registry import IMPORTS_SCIPY_STATS, one_party, register_test
from .result import TestResult

__all__ = ["turnout_regression", "turnout_share_correlation", "vote_rate_collapse", "dip_test"]

CAVEAT = ("Turnout and party support also move together for social reasons (towns and villages, "
          "regions), so this is a reason to look closer, not proof of manipulation.")


#: the last stations read: several tests and levels of a scan read the same ones
_LAST_STATIONS = LastReading()


def _stations(e, min_registered: int):
    """Exclusions (the caller's own copy) and the used stations' voters on the list, ballots cast, valid votes
    and turnout; the last ones read are kept (per thread) for the same table, parties and minimum."""
    ex, frame = _LAST_STATIONS.get(e.table, (tuple(e.parties), min_registered),
                                   lambda: _read_stations(e, min_registered))
    return ex.copy(), frame.copy(deep=False)


def _read_stations(e, min_registered: int):
    require_registered(e)
    frame = pd.DataFrame({"N": e.table["registered"], "cast": e.ballots("cast"),
                          "valid": e.ballots("valid")}).astype(float)
    ex = Exclusions.for_election(e)
    ex.require(frame.notna().all(axis=1), "missing counts")
    ex.require(frame["N"] >= max(min_registered, 1), f"fewer than {max(min_registered, 1)} voters on the list")
    ex.require(frame["valid"] > 0, "no valid votes")
    ex.require(frame["cast"] <= frame["N"], "turnout above 100%")
    frame = frame[ex.keep]
    frame["turnout"] = frame["cast"] / frame["N"]
    return ex, frame


# -- shared design: within-TEC comparisons, TEC-clustered errors ----------------------------------

def _options(e, fixed_effects, cov, cluster):
    """The fixed-effect and cluster columns ("auto": TEC when present, else region, else none)."""
    if cov not in ("HC1", "cluster"):
        raise ValueError("cov must be 'HC1' or 'cluster'")
    cols = e.table.columns
    finest = next((c for c in ("tec", "region") if c in cols), None)
    fixed_effects = finest if fixed_effects == "auto" else fixed_effects
    if fixed_effects is not None and fixed_effects not in cols:
        raise DataError(f"there is no column '{fixed_effects}' for fixed effects", column=fixed_effects,
                        fix="use 'region', 'tec' or another column of the table, or fixed_effects=None")
    if cov == "HC1":
        return fixed_effects, None
    cluster = finest if cluster in (None, "auto") else cluster
    if cluster not in cols:
        raise DataError(f"there is no column '{cluster}' to cluster the standard errors by", column=cluster,
                        fix="pass cluster= with a column of the table, or use cov='HC1'")
    return fixed_effects, cluster


def _key(e, rows, column: str) -> np.ndarray:
    """Non-negative codes of the labels of ``column`` on the table rows at positions ``rows``: equal codes, equal
    labels.

    TECs are qualified by region (their names repeat): a TEC's code is
    that of its (region, TEC) pair.  Labels compare as text; a missing
    label is a label of its own.
    """
    def codes(name):
        return pd.factorize(e.table[name].take(rows).astype(str), use_na_sentinel=False)[0]

    key = codes(column)
    if column == "tec" and "region" in e.table.columns:
        key = codes("region") * (int(key.max(initial=-1)) + 1) + key
    return key


def _cells(e, rows, group, n_groups: int, column: str):
    """Codes of the (group, ``column``) cells of the table rows at positions ``rows``, numbered in order of first
    appearance.

    Returns (codes, number of cells, each cell's group, cells per group).
    """
    key = _key(e, rows, column)
    span = int(key.max(initial=-1)) + 1
    if n_groups * span >= 2 ** 62:  # numbered densely first, so that group x label stays within 64 bits
        key = pd.factorize(key)[0]
        span = int(key.max(initial=-1)) + 1
    codes, uniques = pd.factorize(group.astype(np.int64) * span + key)
    owner = uniques // span
    return codes, len(uniques), owner, np.bincount(owner, minlength=n_groups)


def _layout(e, rows, group, n_groups: int, fixed_effects, cov, cluster) -> dict:
    """The design of the table rows at positions ``rows`` split into groups ``group`` (codes 0..n_groups-1, rows
    in group order)."""
    layout = {"group": group, "n_groups": n_groups, "n": np.bincount(group, minlength=n_groups).astype(float),
              "fixed_effects": fixed_effects, "cov": cov, "cluster_column": cluster}
    found = {}
    if fixed_effects is not None:
        found[fixed_effects] = _cells(e, rows, group, n_groups, fixed_effects)
        cells, n_cells, _, per_group = found[fixed_effects]
        layout.update(fe=cells, n_fe_cells=n_cells, fe_counts=np.bincount(cells, minlength=n_cells).astype(float),
                      n_fe=per_group)
    if cov == "cluster":
        # clustered by the fixed-effect column (the default: TEC for both), its cells serve twice
        cells, n_cells, owner, per_group = found.get(cluster) or _cells(e, rows, group, n_groups, cluster)
        layout.update(cluster=cells, n_cells=n_cells, cluster_group=owner, n_clusters=per_group)
    return layout


def _info(layout, k: int) -> dict:
    """The design of group ``k`` as reported in ``details``."""
    fe, clustered = layout["fixed_effects"], layout["cov"] == "cluster"
    return {"fixed_effects": fe, "n_groups": int(layout["n_fe"][k]) if fe is not None else 0, "cov": layout["cov"],
            "cluster": layout["cluster_column"] if clustered else None,
            "n_clusters": int(layout["n_clusters"][k]) if clustered else None}


def _reference(info):
    """The reference distribution of the t statistics, t(clusters - 1) or normal with HC1, as (cdf, sf, ppf).

    ``scipy.special``'s functions, the ones ``scipy.stats.t`` and ``norm`` call, without building a
    distribution object per result.
    """
    if info["cov"] == "cluster":
        df = max(info["n_clusters"] - 1, 1)
        return (lambda v: special.stdtr(df, v)), (lambda v: special.stdtr(df, -v)), (lambda q: special.stdtrit(df, q))
    return special.ndtr, (lambda v: special.ndtr(-v)), special.ndtri


# -- closed-form OLS by group: one pass over the rows for every group and party ---------------------

def _sums(codes, values, size: int) -> np.ndarray:
    """Per-code sums of ``values`` (a vector, or each column of a matrix), in row order."""
    if values.ndim == 1:
        return np.bincount(codes, weights=values, minlength=size)
    return np.stack([np.bincount(codes, weights=values[:, j], minlength=size) for j in range(values.shape[1])],
                    axis=1).reshape(size, values.shape[1])


def _demean(cells, n_cells: int, counts, values):
    """``values`` minus the mean of their cell (the within transformation)."""
    means = _sums(cells, values, n_cells) / (counts if values.ndim == 1 else counts[:, None])
    return values - means[cells]


def _group_slopes(layout, x, ys, k: int):
    """Slopes of each column of ``ys`` on ``x`` per group (both centred or demeaned) and their standard errors.

    They are what ``statsmodels`` OLS gives with ``cov_type="cluster"`` (CR1:
    the sandwich times G / (G - 1) * (n - 1) / (n - k); no se with one
    cluster) or ``"HC1"`` (n / (n - k)) for a model of ``k`` parameters in
    which the slope's influence is ``x / sum(x²)`` (a centred regressor next to
    a constant, or a demeaned one alone).  Returns (slope, se, sum(x²)).
    """
    group, n_groups, n = layout["group"], layout["n_groups"], layout["n"]
    sxx = np.bincount(group, weights=x * x, minlength=n_groups)
    with np.errstate(divide="ignore", invalid="ignore"):
        slope = _sums(group, x[:, None] * ys, n_groups) / sxx[:, None]
        score = x[:, None] * (ys - slope[group] * x[:, None])
        if layout["cov"] == "cluster":
            per_cluster = _sums(layout["cluster"], score, layout["n_cells"])
            meat = _sums(layout["cluster_group"], per_cluster * per_cluster, n_groups)
            g = layout["n_clusters"].astype(float)
            factor = np.where(g > 1, g / (g - 1) * (n - 1) / (n - k), np.nan)
        else:
            meat = _sums(group, score * score, n_groups)
            factor = n / (n - k)
        se = np.sqrt(factor[:, None] * meat) / sxx[:, None]
    return slope, se, sxx


def _pooled_slopes(layout, x, ys):
    """Slopes (with a constant per group) of each column of ``ys`` on ``x``: (slope, se, sum(xc²), x and ys centred)."""
    group, n_groups, n = layout["group"], layout["n_groups"], layout["n"]
    xc = x - (np.bincount(group, weights=x, minlength=n_groups) / n)[group]
    yc = ys - (_sums(group, ys, n_groups) / n[:, None])[group]
    return (*_group_slopes(layout, xc, yc, 2), xc, yc)


def _within_slopes(layout, x, ys):
    """Slopes of each column of ``ys`` on ``x`` within the fixed-effect cells and their se: (slope, se, sum(xw²)).

    With HC1 errors the se allows for the degrees of freedom of the absorbed means.
    """
    cells, n_cells, counts = layout["fe"], layout["n_fe_cells"], layout["fe_counts"]
    slope, se, sxx = _group_slopes(layout, _demean(cells, n_cells, counts, x), _demean(cells, n_cells, counts, ys), 1)
    if layout["cov"] == "HC1":
        n = layout["n"]
        se = se * np.sqrt((n - 1) / np.maximum(n - 1 - layout["n_fe"], 1))[:, None]
    return slope, se, sxx


def _regression_numbers(layout, turnout, registered, cast, votes) -> dict:
    """Every number of ``turnout_regression`` for each group (rows) and party (columns of ``votes``)."""
    group, n_groups, n = layout["group"], layout["n_groups"], layout["n"]
    y, share = votes / registered[:, None], votes / cast[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        slope, se, _, xc, yc = _pooled_slopes(layout, turnout, y)
        mean_x = np.bincount(group, weights=turnout, minlength=n_groups) / n
        resid = yc - slope[group] * xc[:, None]
        tss = _sums(group, yc * yc, n_groups)
        out = {"slope": slope, "se": se, "intercept": _sums(group, y, n_groups) / n[:, None] - slope * mean_x[:, None],
               "r2": np.where(tss > 0, 1 - _sums(group, resid * resid, n_groups) / tss, np.nan),
               "expected": _sums(group, share, n_groups) / n[:, None],
               "overall_share": _sums(group, votes, n_groups) / np.bincount(group, cast, n_groups)[:, None]}
        if layout["fixed_effects"] is None:
            out["t"] = np.where(se > 0, (slope - out["expected"]) / se, np.nan)
            return out
        cells, n_cells, counts = layout["fe"], layout["n_fe_cells"], layout["fe_counts"]
        c = _demean(cells, n_cells, counts, turnout) * turnout  # a station's weight in the within slope
        share_mean = _sums(cells, share, n_cells) / counts[:, None]
        gamma, gamma_se, _ = _within_slopes(layout, c, share)
        out.update(within_slope=_within_slopes(layout, turnout, y)[0],
                   within_expected=_sums(group, c[:, None] * share_mean[cells], n_groups)
                   / np.bincount(group, c, n_groups)[:, None],
                   t=np.where(gamma_se > 0, gamma / gamma_se, np.nan))
    return out


_LAST = threading.local()


def _group_stations(e, positions: list, min_registered):
    """``_stations`` of the whole table split into groups of rows ``positions``.

    Returns (exclusions, used rows of each group, frame of the used rows in group order, their positions in the
    table).
    """
    ex, frame = _stations(e, min_registered)
    keep = ex.keep.to_numpy()
    row_of = np.cumsum(keep) - 1  # a kept row's position in ``frame``
    used = [p[keep[p]] for p in positions]
    rows = np.concatenate(used) if used else np.zeros(0, np.int64)
    return ex, used, frame.iloc[row_of[rows]], rows


def _grouped_design(e, groups: dict, min_registered, fixed_effects, cov, cluster):
    """The stations and design of every group, computed once per table and grouping (one entry per thread).

    The scan runs a test once per party on the same groups; the exclusions,
    the stations' counts, the within-cell design and each party's numbers
    (filled on first use) depend on the table and grouping only.
    Returns (exclusions, rows per group, used rows per group, frame of the
    used rows in group order, layout, leader per group, numbers per party,
    exclusions per group, table positions of the frame's rows).
    """
    fixed_effects, cluster = _options(e, fixed_effects, cov, cluster)
    positions = [np.asarray(p, dtype=np.int64) for p in groups.values()]
    everything = np.concatenate(positions) if positions else np.zeros(0, np.int64)
    key = (id(e.table), min_registered, fixed_effects, cov, cluster, tuple(groups), tuple(len(p) for p in positions))
    last = getattr(_LAST, "value", None)
    if last is not None and last[0] == key and last[1]() is e.table and np.array_equal(last[2], everything):
        return last[3]
    ex, used, frame, rows = _group_stations(e, positions, min_registered)
    group = np.repeat(np.arange(len(used)), [len(u) for u in used])
    layout = _layout(e, rows, group, len(used), fixed_effects, cov, cluster)
    parties = list(e.parties)
    votes = e.table[parties].astype(float).to_numpy() if parties else np.zeros((len(e.table), 0))
    leaders = [str(parties[int(np.argmax(np.nansum(votes[p], axis=0)))]) if parties else None for p in positions]
    prepared = (ex, positions, used, frame, layout, leaders, {}, {}, rows)
    _LAST.value = (key, weakref.ref(e.table), everything, prepared)
    return prepared


def _each_group(used: list, groups: dict):
    """(index, name, slice of its used rows in the group-ordered frame) of every group."""
    start = 0
    for k, name in enumerate(groups):
        yield k, name, slice(start, start + len(used[k]))
        start += len(used[k])


def _group_excluded(prepared, k: int) -> Excluded:
    """Group ``k``'s exclusions (every group's computed on first use, shared by every party's result)."""
    ex, positions, excluded = prepared[0], prepared[1], prepared[7]
    if not excluded:
        excluded.update(enumerate(ex.split(positions)))
    return excluded[k]


def _numbers(e, prepared, party: str):
    """``_regression_numbers`` of ``party`` (computed for every party of the election at once, then kept)."""
    frame, layout, numbers = prepared[3], prepared[4], prepared[6]
    if party not in numbers:
        parties = list(dict.fromkeys([*e.parties, party]))
        votes = e.table[parties].take(prepared[8]).astype(float).to_numpy()
        turnout, registered, cast = (frame[c].to_numpy(float) for c in ("turnout", "N", "cast"))
        found = _regression_numbers(layout, turnout, registered, cast, votes)
        for j, name in enumerate(parties):
            y = votes[:, j] / registered
            numbers[name] = {k: v[:, j] for k, v in found.items()} | {"y": y, "cell": _cells_2d(turnout, y)}
    return numbers[party]


_HISTOGRAM_BIN = 0.005


def _cells_2d(x, y) -> np.ndarray:
    """Each station's cell of the 2-D histogram over turnout and votes / voters on the list."""
    n_bins = int(round(1 / _HISTOGRAM_BIN))
    return bin_index(np.clip(x, 0, 1), _HISTOGRAM_BIN) * n_bins + bin_index(np.clip(y, 0, 1), _HISTOGRAM_BIN)


_HISTOGRAM_COLUMNS = pd.Index(["turnout_bin", "votes_bin", "weight"])


def _histograms(numbers, layout) -> tuple:
    """``histogram2d`` of each group's stations (weight 1) from their cells (``_cells_2d``): the non-empty cells.

    One table of every group's cells, group by group (each group's sorted),
    and the bounds of each group's rows in it; computed on first use and
    kept in the party's ``numbers``.
    """
    if "histograms" not in numbers:
        n_bins = int(round(1 / _HISTOGRAM_BIN))
        code = layout["group"].astype(np.int64) * n_bins ** 2 + numbers["cell"]
        size = layout["n_groups"] * n_bins ** 2
        if size <= 4 * code.size + (1 << 20):  # a count per possible cell is cheaper than sorting the stations
            counts = np.bincount(code, minlength=size)
            filled = np.flatnonzero(counts)
            counts = counts[filled]
        else:
            filled, counts = np.unique(code, return_counts=True)
        owner, filled = np.divmod(filled, n_bins ** 2)
        table = pd.DataFrame(np.column_stack([bin_edges(filled // n_bins, _HISTOGRAM_BIN),
                                              bin_edges(filled % n_bins, _HISTOGRAM_BIN), counts.astype(float)]),
                             columns=_HISTOGRAM_COLUMNS)
        numbers["histograms"] = table, np.searchsorted(owner, np.arange(layout["n_groups"] + 1))
    return numbers["histograms"]


def _histogram(numbers, layout, k: int) -> pd.DataFrame:
    """Group ``k``'s histogram (``_histograms``), as a table of its own."""
    table, bounds = _histograms(numbers, layout)
    part = table.iloc[bounds[k]:bounds[k + 1]]
    part.index = pd.RangeIndex(len(part))
    return part


# -- Sobyanin-Sukhovolsky / MOS regression -----------------------------------------------------

@register_test("turnout_regression", renamed={"parties": ("party", one_party)})
def turnout_regression(election, party=None, fixed_effects: str | None = "auto", cov: str = "cluster",
                       cluster: str | None = "auto", min_registered: int = 100,
                       confidence_level: float = 0.95) -> TestResult:
    """Slope of a party's votes / voters on the list on turnout (the leader by default).

    ``statistic`` is the slope over all used stations (pooled OLS, the
    classic Sobyanin-Sukhovolsky number), ``ci`` its interval at
    ``confidence_level`` and ``expected`` the mean station share of the
    votes cast (the slope when support does not depend on turnout).
    Standard errors are clustered by ``cluster`` ("auto": TEC, keyed by
    region + TEC) with t(clusters - 1) references, or
    heteroskedasticity-robust with ``cov="HC1"``.  ``pvalue`` tests that
    support does not depend on turnout.  Pooled, that test also picks up
    districts that differ in both turnout and support, so by default it is
    made within ``fixed_effects`` groups ("auto": TEC): the within slope
    minus its null value (group mean shares weighted as the within
    estimator weights them) is, up to a positive factor, the within slope
    of the station share on (turnout - group mean) * turnout, whose
    clustered t-test gives the p-value.  ``fixed_effects=None, cov="HC1"``
    is the older z-test (slope - expected) / se treating stations as
    independent, which rejects most clean elections.  ``details``: se, z
    (the test statistic), intercept, overall share, ``slope_above_one``,
    ``negative_slope``, the one-sided p-values of slope > 1
    (``pvalue_above_one``) and slope < 0 (``pvalue_negative``), which
    honest voting cannot produce, ``within_slope`` / ``within_expected``,
    the design, whether the party is the leader, and ``histogram`` (tidy
    2-D histogram of the stations over turnout and votes / voters on the
    list, 0.005 cells) for figures.  Run it once per party for every
    party's slope (the scan does).  The fits are closed-form OLS (the
    numbers of ``statsmodels`` OLS with the same covariance), for every
    party at once; ``turnout_regression.grouped`` does every group of a
    level in the same pass.
    """
    e = election
    return turnout_regression_by_group(e, {"": np.arange(len(e.table))}, {}, party=party, fixed_effects=fixed_effects,
                                       cov=cov, cluster=cluster, min_registered=min_registered,
                                       confidence_level=confidence_level)[""]


def turnout_regression_by_group(election, groups: dict, rngs: dict, party=None, fixed_effects: str | None = "auto",
                                cov: str = "cluster", cluster: str | None = "auto", min_registered: int = 100,
                                confidence_level: float = 0.95) -> dict:
    """``turnout_regression`` of each group of rows at once: {group: TestResult}.

    ``groups`` maps a group's name to the positions of its rows in the table
    (``rngs`` is accepted for the grouped-form interface; the test draws no
    random numbers).  Each group's result is the one ``turnout_regression``
    gives on that group alone: the same sums in the same order, with every
    group and party done in one pass over the rows (per-group sums by
    ``np.bincount`` on group x TEC codes).  ``party=None`` is each group's
    leader.
    """
    e = as_election(election)
    prepared = _grouped_design(e, groups, min_registered, fixed_effects, cov, cluster)
    layout, leaders = prepared[4], prepared[5]
    out = {}
    for k, name, rows in _each_group(prepared[2], groups):
        group_party = party_column(e, party or leaders[k])
        numbers = _numbers(e, prepared, group_party)
        out[name] = _regression_result(_group_excluded(prepared, k), numbers["y"][rows],
                                       _histogram(numbers, layout, k), group_party, group_party == leaders[k],
                                       {key: numbers[key][k] for key in numbers if key not in _PER_STATION},
                                       _info(layout, k), confidence_level)
    return out


turnout_regression.grouped = turnout_regression_by_group


#: what a party's ``_numbers`` hold besides one number per group
_PER_STATION = ("y", "cell", "histograms")


def _regression_result(ex, y, histogram, party, is_leader, numbers, info, confidence_level) -> TestResult:
    """The result of one group and party from its closed-form numbers, its stations' votes / list ``y`` and
    their histogram."""
    n = len(y)
    if n < 3:
        return TestResult.from_exclusions("turnout_regression", ex, party=party,
                                          explanation="Too few polling stations for a regression.")
    slope, se, t = (float(numbers[k]) for k in ("slope", "se", "t"))
    cdf, sf, ppf = _reference(info)
    pvalue = float(2 * sf(abs(t))) if np.isfinite(t) else np.nan
    within = {k: float(numbers[k]) if info["fixed_effects"] else None for k in ("within_slope", "within_expected")}
    details = {
        "se": se, "z": t, "overall_share": float(numbers["overall_share"]),
        "pvalue_above_one": float(sf((slope - 1) / se)) if se > 0 else np.nan,
        "pvalue_negative": float(cdf(slope / se)) if se > 0 else np.nan,
        "intercept": float(numbers["intercept"]), "slope_above_one": slope > 1, "negative_slope": slope < 0,
        "is_leader": is_leader, **within, **info,
        "r2": float(numbers["r2"]),  # NaN for a constant share, which has no R²
        "histogram": histogram,
    }
    q = float(ppf(0.5 + confidence_level / 2))
    expected = float(numbers["expected"])
    return TestResult.from_exclusions(
        "turnout_regression", ex, slope, pvalue=pvalue, ci=(slope - q * se, slope + q * se), expected=expected,
        details=details, party=party, alternative="two-sided", confidence_level=confidence_level,
        method=_method(info), explanation=_explain_regression(party, slope, se, expected, pvalue, n, is_leader, info),
    )


def _method(info) -> str:
    """How the p-value was computed, in a few words."""
    where = f"within {_label(info['fixed_effects'])}" if info["fixed_effects"] else "pooled"
    if info["cov"] == "cluster":
        return f"OLS {where}; errors clustered by {_label(info['cluster'])}, t({info['n_clusters']} - 1)"
    return f"OLS {where}; HC1 errors, normal reference"


def _label(column: str) -> str:
    return "TEC" if column == "tec" else column


def _explain_design(info) -> str:
    """One sentence on what the p-value compares and what its uncertainty allows for."""
    where = (f" The p-value compares each station only with others of the same {_label(info['fixed_effects'])}, so areas that "
             f"differ in both turnout and support do not count as evidence," if info["fixed_effects"]
             else " The p-value compares all stations at once,")
    if info["n_clusters"] == 1:
        return f" All these stations are in one {_label(info['cluster'])}, too few groups for a p-value."
    if info["cov"] == "cluster":
        return (f"{where} and allows for stations of one {_label(info['cluster'])} moving together "
                f"({info['n_clusters']:,} groups).")
    return f"{where} and treats every station as independent, which overstates the evidence."


def _explain_regression(party, slope, se, expected, pvalue, n, is_leader, info) -> str:
    reading = ""
    if slope > 1:
        reading = (" A slope above 1 means more than every additional ballot went to this party, "
                   "which honest voting cannot produce.")
    elif slope < 0:
        reading = (" A negative slope means this party loses votes where turnout is higher, "
                   "as when votes are moved to another party.")
    return (
        f"Across {n:,} polling stations we regressed {party}'s votes, as a share of the voters on the list, on "
        f"turnout. Each additional percentage point of turnout brings this party {slope:.3f} points "
        f"(standard error {se:.3f}); if support did not depend on turnout it would be about its average share, "
        f"{expected:.3f} (two-sided p = {pvalue:.2g}).{_explain_design(info)}{reading} "
        + ("For the leader a slope well above its share is the classic sign of ballot stuffing. " if is_leader else "")
        + CAVEAT
    )


# -- correlation of share with turnout ------------------------------------------------------------

@register_test("turnout_share_correlation")
def turnout_share_correlation(election, party=None, method: str = "pearson", min_registered: int = 100,
                              fixed_effects: str | None = "auto", cov: str = "cluster",
                              cluster: str | None = "auto", confidence_level: float = 0.95) -> TestResult:
    """Correlation across stations between turnout and a party's share of valid votes.

    ``statistic`` is Pearson's r (or Spearman's rho) over all used stations,
    a description of the pooled pattern.  ``pvalue`` tests that the share
    does not move with turnout in the design of ``turnout_regression``: by
    default the within-TEC slope of the share (ranks for Spearman) on
    turnout, standard errors clustered by TEC (region + TEC), t(clusters - 1).
    ``fixed_effects=None, cov="HC1"`` gives the test that treats stations as
    independent (Pearson's exact test of r = 0, on ranks for Spearman); only
    then is ``ci`` (Fisher's z, at ``confidence_level``) reported, as with clustered stations that
    interval is too narrow.  ``details``: the
    within-group correlation, the slope, its se, t and the design.
    ``turnout_share_correlation.grouped`` does every group of a level at once.
    """
    e = election
    return turnout_share_correlation_by_group(
        e, {"": np.arange(len(e.table))}, {}, party=party, method=method, min_registered=min_registered,
        fixed_effects=fixed_effects, cov=cov, cluster=cluster, confidence_level=confidence_level)[""]


def turnout_share_correlation_by_group(election, groups: dict, rngs: dict, party=None, method: str = "pearson",
                                       min_registered: int = 100, fixed_effects: str | None = "auto",
                                       cov: str = "cluster", cluster: str | None = "auto",
                                       confidence_level: float = 0.95) -> dict:
    """``turnout_share_correlation`` of each group of rows at once: {group: TestResult}.

    As ``turnout_regression_by_group``: one pass over the rows for every
    group, each group's result the one it gives alone; ``party=None`` is
    each group's leader.
    """
    if method not in ("pearson", "spearman"):
        raise ValueError("method must be 'pearson' or 'spearman'")
    e = as_election(election)
    prepared = _grouped_design(e, groups, min_registered, fixed_effects, cov, cluster)
    frame, layout, leaders, numbers = prepared[3:7]
    out = {}
    for k, name, rows in _each_group(prepared[2], groups):
        group_party = party_column(e, party or leaders[k])
        key = ("correlation", method, group_party)
        if key not in numbers:
            numbers[key] = _correlation_numbers(layout, frame, e.table[group_party].take(prepared[8]), method)
        found = numbers[key]
        out[name] = _correlation_result(_group_excluded(prepared, k), found["x"][rows], found["y"][rows], group_party, method,
                                        {c: found[c][k] for c in ("r", "within_r", "slope", "se")},
                                        _info(layout, k), confidence_level)
    return out


turnout_share_correlation.grouped = turnout_share_correlation_by_group
turnout_share_correlation.shared_work = IMPORTS_SCIPY_STATS  # Pearson's test where stations are independent


def _correlation_numbers(layout, frame, votes, method) -> dict:
    """Turnout and share (ranks within each group for Spearman), r, within r, the slope and its se per group."""
    group, n_groups = layout["group"], layout["n_groups"]
    x, y = frame["turnout"], votes.astype(float) / frame["valid"]
    if method == "spearman":
        x, y = (v.groupby(group).rank() for v in (x, y))
    x, y = x.to_numpy(float), y.to_numpy(float)

    def correlation(a, b):
        return _sums(group, a * b, n_groups) / np.sqrt(_sums(group, a * a, n_groups) * _sums(group, b * b, n_groups))

    with np.errstate(divide="ignore", invalid="ignore"):
        slope, se, _, xc, yc = _pooled_slopes(layout, x, y[:, None])
        r = within_r = correlation(xc, yc[:, 0])
        if layout["fixed_effects"] is not None:
            cells, n_cells, counts = layout["fe"], layout["n_fe_cells"], layout["fe_counts"]
            within_r = correlation(_demean(cells, n_cells, counts, x), _demean(cells, n_cells, counts, y))
            slope, se, _ = _within_slopes(layout, x, y[:, None])
    return {"x": x, "y": y, "r": r, "within_r": within_r, "slope": slope[:, 0], "se": se[:, 0]}


def _correlation_result(ex, x, y, party, method, numbers, info, confidence_level) -> TestResult:
    """The result of one group from its numbers and its stations' turnout and share (or their ranks)."""
    n = len(x)
    if n < 4:
        return TestResult.from_exclusions("turnout_share_correlation", ex, party=party,
                                          explanation="Too few polling stations for a correlation.")
    r, within_r, slope, se = (float(numbers[c]) for c in ("r", "within_r", "slope", "se"))
    fe = info["fixed_effects"]
    t = slope / se if se > 0 else np.nan
    pvalue = float(2 * _reference(info)[1](abs(t))) if np.isfinite(t) else np.nan
    ci = None
    if fe is None and info["cov"] == "HC1":  # stations as independent: the exact test of r = 0 and Fisher's interval
        from scipy import stats  # here: scipy.stats costs a second to import

        pvalue = float(stats.pearsonr(x, y).pvalue)
        half = special.ndtri(0.5 + confidence_level / 2) / np.sqrt(n - 3)
        ci = (float(np.tanh(np.arctanh(r) - half)), float(np.tanh(np.arctanh(r) + half)))
    interval = f" ({confidence_level:.0%} interval {ci[0]:.2f} to {ci[1]:.2f})" if ci else ""
    within = f" Within each {_label(info['fixed_effects'])} it is {within_r:.2f}." if fe is not None else ""
    return TestResult.from_exclusions(
        "turnout_share_correlation", ex, r, pvalue=pvalue, ci=ci, expected=0.0, party=party,
        alternative="two-sided", confidence_level=confidence_level if ci else None,
        method=("Pearson's exact test, stations independent" if ci else _method(info)),
        details={"method": method, "within_r": within_r, "slope": slope, "se": se, "t": float(t), **info},
        explanation=(
            f"Across {n:,} polling stations the correlation between turnout and {party}'s share of the valid votes "
            f"is {r:.2f}{interval}.{within} In honest elections it is usually weak; a strong positive correlation "
            f"is what ballot stuffing for this party produces. The p-value ({pvalue:.2g}) asks whether the share "
            f"rises or falls with turnout more than chance allows.{_explain_design(info)} Judge the size too. "
            + CAVEAT),
    )


# -- Klimek's data collapse -------------------------------------------------------------------------

@register_test("vote_rate_collapse")
def vote_rate_collapse(election, party=None, min_registered: int = 100, n_sim: int = 1000,
                       rng=None, confidence_level: float = 0.95) -> TestResult:
    """Skewness and kurtosis of the standardised log vote rate ln((V - W) / W) (Klimek et al. 2012).

    Clean elections collapse onto a roughly normal curve (skewness 0,
    kurtosis 3); ballot stuffing for the party gives a long tail.
    ``statistic`` is the (non-excess) kurtosis, ``expected`` 3, ``ci`` its
    percentile bootstrap interval (``n_sim`` station resamples, each resample's moments from its
    power sums, drawn per fiftieth of a standard deviation of the standardised rate by
    ``forensics.stats._core.bootstrap.resample_power_sums``); ``details`` has the
    skewness and its interval, and ``bootstrap_within_share``, the part of the
    power sums' variance drawn by its moments (within the bins) rather than exactly.  Descriptive: no p-value, compare elections
    and levels.  Stations where the party got all or none of the valid
    votes are excluded (the log is undefined).
    """
    e = election
    party = party_column(e, party)
    ex, _ = _stations(e, min_registered)
    valid = e.ballots("valid")
    ex.require(e.table[party] > 0, "party got no votes")
    ex.require(e.table[party] < valid, "party got every valid vote")
    v = valid[ex.keep].astype(float)
    w = e.table.loc[ex.keep, party].astype(float)
    nu = np.log((v - w) / w).to_numpy()
    n = nu.size
    if n < 10:
        return TestResult.from_exclusions("vote_rate_collapse", ex, party=party,
                                          explanation="Too few polling stations for a data collapse.")
    z = (nu - nu.mean()) / nu.std()
    skew, kurt = (float(v) for v in skew_kurtosis(z))
    # every resample's moments from its power sums (z has mean 0 and sd 1, a well-conditioned centre)
    sums, within_share = resample_power_sums(z, n_sim, rng)
    replicates = skew_kurtosis_from_sums(sums)
    (low_skew, high_skew), (low_kurt, high_kurt) = (percentile_interval(r, confidence_level) for r in replicates)
    return TestResult.from_exclusions(
        "vote_rate_collapse", ex, kurt, ci=(low_kurt, high_kurt), expected=3.0, party=party,
        confidence_level=confidence_level, method=f"descriptive; percentile bootstrap interval ({n_sim} resamples)",
        details={"skewness": skew, "skewness_ci": (low_skew, high_skew), "mean_log_rate": float(nu.mean()),
                 "sd_log_rate": float(nu.std()), "z": z, "bootstrap_within_share": within_share},
        explanation=(
            f"For {n:,} polling stations we took the log-ratio of votes for the others to votes for {party} and "
            f"standardised it. Honest elections give a bell curve: skewness near 0 and kurtosis near 3. Here the "
            f"skewness is {skew:.2f} and the kurtosis {kurt:.2f} ({confidence_level:.0%} bootstrap interval {low_kurt:.2f} to "
            f"{high_kurt:.2f}). Ballot stuffing for {party} stretches the curve into a long tail and raises both; "
            f"regional differences can too, so compare with other elections and look region by region."),
    )


# -- Hartigan's dip test -------------------------------------------------------------------------

@register_test("dip_test", renamed={"subject": ("party", lambda v: None if v == "turnout" else v)})
def dip_test(election, party=None, min_registered: int = 100, jitter: bool = True, rng=None) -> TestResult:
    """Hartigan's dip test of unimodality of turnout (``party=None``) or of ``party``'s share of the vote.

    Counts are jittered by U(-0.5, 0.5) before dividing (``jitter``) so the
    lattice of small stations does not create artificial modes.
    ``statistic`` is the dip D, ``pvalue`` the table-interpolated p-value of
    ``forensics.stats.dip``; ``details["effect_percent"]`` = 100 D, the
    largest gap (in percent of stations) between the observed cumulative
    distribution and the closest unimodal one, which unlike the p-value does
    not grow with the number of stations.
    """
    e = election
    return dip_test_by_group(e, {"": np.arange(len(e.table))}, {"": rng}, party=party, min_registered=min_registered,
                             jitter=jitter)[""]


def dip_test_by_group(election, groups: dict, rngs: dict, party=None, min_registered: int = 100,
                      jitter: bool = True) -> dict:
    """``dip_test`` of each group of rows at once: {group: TestResult}, each group's jitter from its own stream.

    The stations' exclusions and values are computed once for the table;
    every group's result is the one ``dip_test`` gives on that group alone
    with the same stream.
    """
    e = as_election(election)
    positions = [np.asarray(p, dtype=np.int64) for p in groups.values()]
    ex, used, frame, rows = _group_stations(e, positions, min_registered)
    if party is None:
        num, den, label = frame["cast"], frame["N"], "turnout"
    else:
        party = party_column(e, party)
        num, den, label = e.table[party].take(rows).astype(float), frame["valid"], f"{party}'s share of the vote"
    num, den = num.to_numpy(float), den.to_numpy(float)
    out = {}
    for (k, name, rows), excluded in zip(_each_group(used, groups), ex.split(positions)):
        out[name] = _dip_result(excluded, num[rows], den[rows], party, label, jitter, rngs.get(name))
    return out


dip_test.grouped = dip_test_by_group


def _dip_result(ex, num, den, party, label, jitter, rng) -> TestResult:
    """The dip test of one group's numerators and denominators."""
    if jitter:
        num = num + rng.uniform(-0.5, 0.5, num.size)
    values = np.clip(num / den, 0, 1)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        d, p = dip(values)
    n = values.size
    return TestResult.from_exclusions(
        "dip_test", ex, d, pvalue=p, party=party, alternative="greater",
        method="Hartigan's dip, table-interpolated p-value (diptest)",
        details={"subject": party or "turnout", "effect_percent": 100 * d, "sqrt_n_dip": float(np.sqrt(n) * d), "jitter": jitter,
                 "note": "; ".join(str(w.message) for w in caught)},
        explanation=(
            f"Hartigan's dip test asks whether the distribution of {label} over {n:,} polling stations has a single "
            f"peak. The dip is {d:.4f}: at most {100 * d:.2f}% of stations separate the observed distribution from "
            f"the closest single-peaked one (p = {p:.2g}). A second peak, for example near 100% turnout, is a classic "
            f"sign of ballot stuffing, but regions that vote differently also make several peaks, and with many "
            f"stations even a tiny dip is 'significant', so judge the size. " + CAVEAT),
    )
