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

import warnings

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import stats

from ..errors import DataError
from ..exclusions import Exclusions
from ..model import as_election
from ..random import ensure_rng
from .dip import dip
from .result import TestResult
from .spikes import _party_column, _require_registered

__all__ = ["turnout_regression", "turnout_share_correlation", "vote_rate_collapse", "dip_test"]

CAVEAT = ("Turnout and party support also move together for social reasons (towns and villages, "
          "regions), so this is a reason to look closer, not proof of manipulation.")


def _stations(e, min_registered: int):
    """Exclusions and the used stations' voters on the list, ballots cast, valid votes and turnout."""
    _require_registered(e)
    frame = pd.DataFrame({"N": e.table["registered"], "cast": e.ballots_cast(), "valid": e.valid()}).astype(float)
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
    fe = _key(e, index, fixed_effects) if fixed_effects else None
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


def _slope(y: pd.Series, x: pd.Series, fe, fit_kw, n_fe: int):
    """OLS slope of y on x (with absorbed group means, else a constant): (fit, slope, se, reference dist).

    With clustered errors and a single cluster there is no standard error: se is NaN.
    """
    design = _within(x, fe).to_numpy(float)[:, None] if fe is not None else sm.add_constant(x.to_numpy(float))
    clustered = fit_kw["cov_type"] == "cluster"
    n_clusters = int(fit_kw["cov_kwds"]["groups"].max()) + 1 if clustered else 0
    model = sm.OLS(_within(y, fe).to_numpy(float), design).fit(**(fit_kw if n_clusters != 1 else {}))
    slope, se = float(model.params[-1]), float(model.bse[-1]) if n_clusters != 1 else np.nan
    if fe is not None and not clustered:
        se *= np.sqrt((len(y) - 1) / max(len(y) - 1 - n_fe, 1))  # degrees of freedom of the absorbed means
    return model, slope, se, stats.t(max(n_clusters - 1, 1)) if clustered else stats.norm


# -- Sobyanin-Sukhovolsky / MOS regression -----------------------------------------------------

def turnout_regression(election, parties=None, fixed_effects: str | None = "auto", cov: str = "cluster",
                       cluster: str | None = "auto", min_registered: int = 100) -> list[TestResult]:
    """Slope of each party's votes / voters on the list on turnout, one TestResult per party.

    ``statistic`` is the slope over all used stations (pooled OLS, the
    classic Sobyanin-Sukhovolsky number), ``ci`` its 95% interval and
    ``expected`` the mean station share of the votes cast (the slope when
    support does not depend on turnout).  Standard errors are clustered by
    ``cluster`` ("auto": TEC, keyed by region + TEC) with t(clusters - 1)
    references, or heteroskedasticity-robust with ``cov="HC1"``.
    ``pvalue`` tests that support does not depend on turnout.  Pooled, that
    test also picks up districts that differ in both turnout and support, so
    by default it is made within ``fixed_effects`` groups ("auto": TEC):
    the within slope minus its null value (group mean shares weighted as the
    within estimator weights them) is, up to a positive factor, the within
    slope of the station share on (turnout - group mean) * turnout, whose
    clustered t-test gives the p-value.  ``fixed_effects=None, cov="HC1"`` is
    the older z-test (slope - expected) / se treating stations as
    independent, which rejects most clean elections.  ``details``: se, z (the
    test statistic), intercept, overall share, ``slope_above_one``,
    ``negative_slope``, the one-sided p-values of slope > 1
    (``pvalue_above_one``) and slope < 0 (``pvalue_negative``), which honest
    voting cannot produce, ``within_slope`` / ``within_expected``, the design
    and whether the party is the leader.
    """
    e = as_election(election)
    parties = [_party_column(e, p) for p in parties] if parties is not None else list(e.parties)
    leader = e.leader
    ex, frame = _stations(e, min_registered)
    fe, fit_kw, info = _design(e, frame.index, fixed_effects, cov, cluster)
    x = frame["turnout"]
    c = _within(x, fe) * x  # a station's weight in the within slope: sum(c * share) / sum(c)

    results = []
    for party in parties:
        votes = e.table.loc[frame.index, party].astype(float)
        y = votes / frame["N"]
        model, slope, se, dist = _slope(y, x, None, fit_kw, 0)
        share = votes / frame["cast"]
        expected = float(share.mean())
        within = {"within_slope": None, "within_expected": None}
        if fe is not None:
            within = {"within_slope": _slope(y, x, fe, fit_kw, info["n_groups"])[1],
                      "within_expected": float((c * share.groupby(fe).transform("mean")).sum() / c.sum())}
            _, g, g_se, _ = _slope(share, c, fe, fit_kw, info["n_groups"])
            t = g / g_se if g_se > 0 else np.nan
        else:
            t = (slope - expected) / se if se > 0 else np.nan
        pvalue = float(2 * dist.sf(abs(t))) if np.isfinite(t) else np.nan
        details = {
            "se": se, "z": float(t), "overall_share": float(votes.sum() / frame["cast"].sum()),
            "pvalue_above_one": float(dist.sf((slope - 1) / se)) if se > 0 else np.nan,
            "pvalue_negative": float(dist.cdf(slope / se)) if se > 0 else np.nan,
            "intercept": float(model.params[0]), "slope_above_one": slope > 1, "negative_slope": slope < 0,
            "is_leader": party == leader, **within, **info, "r2": float(model.rsquared),
        }
        q = float(dist.ppf(0.975))
        results.append(TestResult(
            name="turnout_regression", statistic=slope, pvalue=pvalue,
            ci=(slope - q * se, slope + q * se), expected=expected, n_used=len(y),
            excluded=ex.counts, excluded_rows=ex.rows, details=details, party=party,
            explanation=_explain_regression(party, slope, se, expected, pvalue, len(y), party == leader, info),
        ))
    return results


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

def turnout_share_correlation(election, party=None, method: str = "pearson", min_registered: int = 100,
                              fixed_effects: str | None = "auto", cov: str = "cluster",
                              cluster: str | None = "auto") -> TestResult:
    """Correlation across stations between turnout and a party's share of valid votes.

    ``statistic`` is Pearson's r (or Spearman's rho) over all used stations,
    a description of the pooled pattern.  ``pvalue`` tests that the share
    does not move with turnout in the design of ``turnout_regression``: by
    default the within-TEC slope of the share (ranks for Spearman) on
    turnout, standard errors clustered by TEC (region + TEC), t(clusters - 1).
    ``fixed_effects=None, cov="HC1"`` gives the test that treats stations as
    independent (Pearson's exact test of r = 0, on ranks for Spearman); only
    then is ``ci`` (Fisher's z) reported, as with clustered stations that
    interval is too narrow.  ``details``: the
    within-group correlation, the slope, its se, t and the design.
    """
    e = as_election(election)
    party = _party_column(e, party)
    if method not in ("pearson", "spearman"):
        raise ValueError("method must be 'pearson' or 'spearman'")
    ex, frame = _stations(e, min_registered)
    share = e.table.loc[frame.index, party].astype(float) / frame["valid"]
    n = len(frame)
    if n < 4:
        return TestResult(name="turnout_share_correlation", statistic=float("nan"), n_used=n, excluded=ex.counts,
                          excluded_rows=ex.rows, party=party, explanation="Too few polling stations for a correlation.")
    fe, fit_kw, info = _design(e, frame.index, fixed_effects, cov, cluster)
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
        half = 1.959964 / np.sqrt(n - 3)
        ci = (float(np.tanh(np.arctanh(r) - half)), float(np.tanh(np.arctanh(r) + half)))
    interval = f" (95% interval {ci[0]:.2f} to {ci[1]:.2f})" if ci else ""
    within = f" Within each {_label(info['fixed_effects'])} it is {within_r:.2f}." if fe is not None else ""
    return TestResult(
        name="turnout_share_correlation", statistic=r, pvalue=pvalue, ci=ci, expected=0.0, n_used=n,
        excluded=ex.counts, excluded_rows=ex.rows, party=party,
        details={"method": method, "within_r": within_r, "slope": slope, "se": se, "t": float(t), **info},
        explanation=(
            f"Across {n:,} polling stations the correlation between turnout and {party}'s share of the valid votes "
            f"is {r:.2f}{interval}.{within} In honest elections it is usually weak; a strong positive correlation "
            f"is what ballot stuffing for this party produces. The p-value ({pvalue:.2g}) asks whether the share "
            f"rises or falls with turnout more than chance allows.{_explain_design(info)} Judge the size too. "
            + CAVEAT),
    )


# -- Klimek's data collapse -------------------------------------------------------------------------

def vote_rate_collapse(election, party=None, min_registered: int = 100, n_resamples: int = 1000,
                       rng=None, confidence_level: float = 0.95) -> TestResult:
    """Skewness and kurtosis of the standardised log vote rate ln((V - W) / W) (Klimek et al. 2012).

    Clean elections collapse onto a roughly normal curve (skewness 0,
    kurtosis 3); ballot stuffing for the party gives a long tail.
    ``statistic`` is the (non-excess) kurtosis, ``expected`` 3, ``ci`` its
    bootstrap interval (``scipy.stats.bootstrap``, percentile); ``details`` has the
    skewness and its interval.  Descriptive: no p-value, compare elections
    and levels.  Stations where the party got all or none of the valid
    votes are excluded (the log is undefined).
    """
    e = as_election(election)
    party = _party_column(e, party)
    rng = ensure_rng(rng)
    ex, _ = _stations(e, min_registered)
    ex.require(e.table[party] > 0, "party got no votes")
    ex.require(e.table[party] < e.valid(), "party got every valid vote")
    v = e.valid()[ex.keep].astype(float)
    w = e.table.loc[ex.keep, party].astype(float)
    nu = np.log((v - w) / w).to_numpy()
    n = nu.size
    if n < 10:
        return TestResult(name="vote_rate_collapse", statistic=float("nan"), n_used=n, excluded=ex.counts,
                          excluded_rows=ex.rows, party=party,
                          explanation="Too few polling stations for a data collapse.")
    z = (nu - nu.mean()) / nu.std()
    skew, kurt = (float(v) for v in _skew_kurtosis(z))
    boot = stats.bootstrap((z,), _skew_kurtosis, n_resamples=n_resamples, confidence_level=confidence_level,
                           method="percentile", vectorized=True, batch=max(1, 5_000_000 // n), rng=rng)
    low, high = boot.confidence_interval
    return TestResult(
        name="vote_rate_collapse", statistic=kurt, ci=(float(low[1]), float(high[1])), expected=3.0, n_used=n,
        excluded=ex.counts, excluded_rows=ex.rows, party=party,
        details={"skewness": skew, "skewness_ci": (float(low[0]), float(high[0])), "mean_log_rate": float(nu.mean()),
                 "sd_log_rate": float(nu.std()), "z": z},
        explanation=(
            f"For {n:,} polling stations we took the log-ratio of votes for the others to votes for {party} and "
            f"standardised it. Honest elections give a bell curve: skewness near 0 and kurtosis near 3. Here the "
            f"skewness is {skew:.2f} and the kurtosis {kurt:.2f} (95% bootstrap interval {low[1]:.2f} to "
            f"{high[1]:.2f}). Ballot stuffing for {party} stretches the curve into a long tail and raises both; "
            f"regional differences can too, so compare with other elections and look region by region."),
    )


def _skew_kurtosis(sample, axis=-1):
    """(skewness, non-excess kurtosis) along ``axis``: moment ratios, as scipy.stats.skew/kurtosis."""
    d = sample - sample.mean(axis=axis, keepdims=True)
    d2 = d * d
    m2 = d2.mean(axis=axis)
    return np.stack([(d2 * d).mean(axis=axis) / m2 ** 1.5, (d2 * d2).mean(axis=axis) / m2 ** 2])


# -- Hartigan's dip test -------------------------------------------------------------------------

def dip_test(election, subject: str = "turnout", min_registered: int = 100, jitter: bool = True,
             rng=None) -> TestResult:
    """Hartigan's dip test of unimodality of turnout (``subject="turnout"``) or a party's share.

    Counts are jittered by U(-0.5, 0.5) before dividing (``jitter``) so the
    lattice of small stations does not create artificial modes.
    ``statistic`` is the dip D, ``pvalue`` the table-interpolated p-value of
    ``forensics.stats.dip``; ``details["effect_percent"]`` = 100 D, the
    largest gap (in percent of stations) between the observed cumulative
    distribution and the closest unimodal one, which unlike the p-value does
    not grow with the number of stations.
    """
    e = as_election(election)
    rng = ensure_rng(rng)
    ex, frame = _stations(e, min_registered)
    if subject == "turnout":
        num, den, label = frame["cast"], frame["N"], "turnout"
        party = None
    else:
        party = _party_column(e, subject)
        num, den, label = e.table.loc[frame.index, party].astype(float), frame["valid"], f"{party}'s share of the vote"
    num = num.to_numpy(float)
    if jitter:
        num = num + rng.uniform(-0.5, 0.5, num.size)
    values = np.clip(num / den.to_numpy(float), 0, 1)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        d, p = dip(values)
    n = values.size
    return TestResult(
        name="dip_test", statistic=d, pvalue=p, n_used=n, excluded=ex.counts, excluded_rows=ex.rows, party=party,
        details={"subject": subject, "effect_percent": 100 * d, "sqrt_n_dip": float(np.sqrt(n) * d), "jitter": jitter,
                 "note": "; ".join(str(w.message) for w in caught)},
        explanation=(
            f"Hartigan's dip test asks whether the distribution of {label} over {n:,} polling stations has a single "
            f"peak. The dip is {d:.4f}: at most {100 * d:.2f}% of stations separate the observed distribution from "
            f"the closest single-peaked one (p = {p:.2g}). A second peak, for example near 100% turnout, is a classic "
            f"sign of ballot stuffing, but regions that vote differently also make several peaks, and with many "
            f"stations even a tiny dip is 'significant', so judge the size. " + CAVEAT),
    )
