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
from scipy import stats

from ..errors import DataError
from ..exclusions import Exclusions
from ._core.moments import skew_kurtosis
from ._core.plane import histogram2d, party_column, require_registered
from .dip import dip
from .registry import one_party, register_test
from .result import TestResult

__all__ = ["turnout_regression", "turnout_share_correlation", "vote_rate_collapse", "dip_test"]

CAVEAT = ("Turnout and party support also move together for social reasons (towns and villages, "
          "regions), so this is a reason to look closer, not proof of manipulation.")


def _stations(e, min_registered: int):
    """Exclusions and the used stations' voters on the list, ballots cast, valid votes and turnout."""
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

def _design(e, index, fixed_effects, cov, cluster):
    """Groups to absorb (or None), ``statsmodels`` fit keywords and a description, for rows ``index``.

    ``fixed_effects`` and ``cluster`` are column names; "auto" means the TEC
    column when present, else region, else none.
    """
    if cov not in ("HC1", "cluster"):
        raise ValueError("cov must be 'HC1' or 'cluster'")
    cols = e.table.columns
    finest = next((c for c in ("tec", "region") if c in cols), None)
    fixed_effects = finest if fixed_effects == "auto" else fixed_effects
    if fixed_effects is not None and fixed_effects not in cols:
        raise DataError(f"there is no column '{fixed_effects}' for fixed effects", column=fixed_effects,
                        fix="use 'region', 'tec' or another column of the table, or fixed_effects=None")
    fe = pd.Series(pd.factorize(_key(e, index, fixed_effects))[0], index=index) if fixed_effects else None
    info = {"fixed_effects": fixed_effects, "n_groups": int(fe.nunique()) if fe is not None else 0, "cov": cov,
            "cluster": None, "n_clusters": None}
    if cov == "HC1":
        return fe, {"cov_type": "HC1"}, info
    cluster = finest if cluster in (None, "auto") else cluster
    if cluster not in cols:
        raise DataError(f"there is no column '{cluster}' to cluster the standard errors by", column=cluster,
                        fix="pass cluster= with a column of the table, or use cov='HC1'")
    groups = pd.factorize(_key(e, index, cluster))[0]
    info.update(cluster=cluster, n_clusters=int(groups.max()) + 1 if groups.size else 0)
    return fe, {"cov_type": "cluster", "cov_kwds": {"groups": groups}, "use_t": True}, info


def _key(e, index, column: str) -> pd.Series:
    """Group labels of ``column`` on rows ``index``; TECs are qualified by region (their names repeat)."""
    key = e.table.loc[index, column].astype(str)
    if column == "tec" and "region" in e.table.columns:
        key = e.table.loc[index, "region"].astype(str) + " / " + key
    return key


def _within(values: pd.Series, fe):
    """``values`` minus their group mean (the within transformation), or unchanged without groups."""
    return values - values.groupby(fe).transform("mean") if fe is not None else values


def _slope(y: pd.Series, x: pd.Series, fe, fit_kw, n_fe: int, x_within=None):
    """OLS slope of y on x (with absorbed group means, else a constant): (fit, slope, se, reference dist).

    ``x_within`` is ``_within(x, fe)`` when the caller already has it.  With
    clustered errors and a single cluster there is no standard error: se is NaN.
    """
    import statsmodels.api as sm  # on first use: importing statsmodels takes a second

    if fe is not None:
        design = (_within(x, fe) if x_within is None else x_within).to_numpy(float)[:, None]
    else:
        design = sm.add_constant(x.to_numpy(float))
    clustered = fit_kw["cov_type"] == "cluster"
    n_clusters = int(fit_kw["cov_kwds"]["groups"].max()) + 1 if clustered else 0
    model = sm.OLS(_within(y, fe).to_numpy(float), design).fit(**(fit_kw if n_clusters != 1 else {}))
    slope, se = float(model.params[-1]), float(model.bse[-1]) if n_clusters != 1 else np.nan
    if fe is not None and not clustered:
        se *= np.sqrt((len(y) - 1) / max(len(y) - 1 - n_fe, 1))  # degrees of freedom of the absorbed means
    return model, slope, se, stats.t(max(n_clusters - 1, 1)) if clustered else stats.norm


_LAST = threading.local()


def _prepared(e, min_registered, fixed_effects, cov, cluster):
    """``_stations`` and ``_design`` of one table, reused while the same table is tested party by party.

    The scan runs the regression once per party on the same group; the
    exclusions, the design (fixed-effect groups, clusters) and the demeaned
    regressors (the last item, filled on first use) depend on the table only,
    so they are computed once (one entry per thread).
    """
    key = (id(e.table), min_registered, fixed_effects, cov, cluster)
    last = getattr(_LAST, "value", None)
    if last is not None and last[0] == key and last[1]() is e.table:
        return last[2]
    ex, frame = _stations(e, min_registered)
    prepared = (ex, frame, *_design(e, frame.index, fixed_effects, cov, cluster), {})
    _LAST.value = (key, weakref.ref(e.table), prepared)
    return prepared


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
    party's slope (the scan does).
    """
    e = election
    party = party_column(e, party)
    leader = e.leader
    ex, frame, fe, fit_kw, info, within_x = _prepared(e, min_registered, fixed_effects, cov, cluster)
    x = frame["turnout"]
    if fe is not None and not within_x:
        within_x["x"] = _within(x, fe)
        within_x["c"] = within_x["x"] * x  # a station's weight in the within slope: sum(c * share) / sum(c)
        within_x["c_within"] = _within(within_x["c"], fe)

    votes = e.table.loc[frame.index, party].astype(float)
    y = votes / frame["N"]
    model, slope, se, dist = _slope(y, x, None, fit_kw, 0)
    share = votes / frame["cast"]
    expected = float(share.mean())
    within = {"within_slope": None, "within_expected": None}
    if fe is not None:
        c = within_x["c"]
        within = {"within_slope": _slope(y, x, fe, fit_kw, info["n_groups"], within_x["x"])[1],
                  "within_expected": float((c * share.groupby(fe).transform("mean")).sum() / c.sum())}
        _, g, g_se, _ = _slope(share, c, fe, fit_kw, info["n_groups"], within_x["c_within"])
        t = g / g_se if g_se > 0 else np.nan
    else:
        t = (slope - expected) / se if se > 0 else np.nan
    pvalue = float(2 * dist.sf(abs(t))) if np.isfinite(t) else np.nan
    details = {
        "se": se, "z": float(t), "overall_share": float(votes.sum() / frame["cast"].sum()),
        "pvalue_above_one": float(dist.sf((slope - 1) / se)) if se > 0 else np.nan,
        "pvalue_negative": float(dist.cdf(slope / se)) if se > 0 else np.nan,
        "intercept": float(model.params[0]), "slope_above_one": slope > 1, "negative_slope": slope < 0,
        "is_leader": party == leader, **within, **info,
        "r2": float(model.rsquared) if model.centered_tss > 0 else float("nan"),  # a constant share has no R²
        "histogram": histogram2d(np.clip(x.to_numpy(float), 0, 1), np.clip(y.to_numpy(float), 0, 1),
                                 np.ones(len(y)), 0.005, names=("turnout", "votes")),
    }
    q = float(dist.ppf(0.5 + confidence_level / 2))
    return TestResult.from_exclusions(
        "turnout_regression", ex, slope, pvalue=pvalue, ci=(slope - q * se, slope + q * se), expected=expected,
        details=details, party=party, alternative="two-sided", confidence_level=confidence_level,
        method=_method(info), explanation=_explain_regression(party, slope, se, expected, pvalue, len(y),
                                                              party == leader, info),
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
    """
    e = election
    party = party_column(e, party)
    if method not in ("pearson", "spearman"):
        raise ValueError("method must be 'pearson' or 'spearman'")
    ex, frame, fe, fit_kw, info, _ = _prepared(e, min_registered, fixed_effects, cov, cluster)
    share = e.table.loc[frame.index, party].astype(float) / frame["valid"]
    n = len(frame)
    if n < 4:
        return TestResult.from_exclusions("turnout_share_correlation", ex, party=party,
                                          explanation="Too few polling stations for a correlation.")
    x, y = frame["turnout"], share
    if method == "spearman":
        x, y = x.rank(), y.rank()
    r = float(np.corrcoef(x, y)[0, 1])
    within_r = float(np.corrcoef(_within(x, fe), _within(y, fe))[0, 1])
    _, slope, se, dist = _slope(y, x, fe, fit_kw, info["n_groups"])
    t = slope / se if se > 0 else np.nan
    pvalue = float(2 * dist.sf(abs(t))) if np.isfinite(t) else np.nan
    ci = None
    if fe is None and cov == "HC1":  # stations as independent: the exact test of r = 0 and Fisher's interval
        pvalue = float(stats.pearsonr(x, y).pvalue)
        half = stats.norm.ppf(0.5 + confidence_level / 2) / np.sqrt(n - 3)
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
    bootstrap interval (``scipy.stats.bootstrap``, percentile, ``n_sim`` resamples); ``details`` has the
    skewness and its interval.  Descriptive: no p-value, compare elections
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
    boot = stats.bootstrap((z,), skew_kurtosis, n_resamples=n_sim, confidence_level=confidence_level,
                           method="percentile", vectorized=True, batch=max(1, 5_000_000 // n), rng=rng)
    low, high = boot.confidence_interval
    return TestResult.from_exclusions(
        "vote_rate_collapse", ex, kurt, ci=(float(low[1]), float(high[1])), expected=3.0, party=party,
        confidence_level=confidence_level, method=f"descriptive; percentile bootstrap interval ({n_sim} resamples)",
        details={"skewness": skew, "skewness_ci": (float(low[0]), float(high[0])), "mean_log_rate": float(nu.mean()),
                 "sd_log_rate": float(nu.std()), "z": z},
        explanation=(
            f"For {n:,} polling stations we took the log-ratio of votes for the others to votes for {party} and "
            f"standardised it. Honest elections give a bell curve: skewness near 0 and kurtosis near 3. Here the "
            f"skewness is {skew:.2f} and the kurtosis {kurt:.2f} ({confidence_level:.0%} bootstrap interval {low[1]:.2f} to "
            f"{high[1]:.2f}). Ballot stuffing for {party} stretches the curve into a long tail and raises both; "
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
    ex, frame = _stations(e, min_registered)
    if party is None:
        num, den, label = frame["cast"], frame["N"], "turnout"
    else:
        party = party_column(e, party)
        num, den, label = e.table.loc[frame.index, party].astype(float), frame["valid"], f"{party}'s share of the vote"
    num = num.to_numpy(float)
    if jitter:
        num = num + rng.uniform(-0.5, 0.5, num.size)
    values = np.clip(num / den.to_numpy(float), 0, 1)
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
