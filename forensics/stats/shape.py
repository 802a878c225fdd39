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
regions), so read them within regions (``fixed_effects``, ``by_level``).
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


# -- Sobyanin-Sukhovolsky / MOS regression -----------------------------------------------------

def turnout_regression(election, parties=None, fixed_effects: str | None = None, cov: str = "HC1",
                       cluster: str | None = None, min_registered: int = 100) -> list[TestResult]:
    """Slope of each party's votes / voters on the list on turnout, one TestResult per party.

    OLS per party with heteroskedasticity-robust (``cov="HC1"``) or
    cluster-robust (``cov="cluster"``, clusters ``cluster``: the TEC column if
    present, else region) standard errors; ``fixed_effects`` ("region",
    "tec" or any column) removes group means first (within estimator).
    ``statistic`` is the slope, ``expected`` the mean of the party's station
    shares of the votes cast (the slope when support does not depend on
    turnout), ``pvalue`` the two-sided z-test of slope = expected, ``ci`` the
    95% interval of the slope.  ``details``: se, z, intercept (without fixed
    effects), overall share, ``slope_above_one``, ``negative_slope`` and the
    one-sided p-values of slope > 1 (``pvalue_above_one``) and slope < 0
    (``pvalue_negative``), which honest voting cannot produce, and whether
    the party is the leader.  Support that varies with turnout for social
    reasons also moves the slope away from the share, so the z-test rejects
    on clean data with such variation; the two bounds do not.
    """
    e = as_election(election)
    parties = [_party_column(e, p) for p in parties] if parties is not None else list(e.parties)
    leader = e.leader
    if cov not in ("HC1", "cluster"):
        raise ValueError("cov must be 'HC1' or 'cluster'")
    ex, frame = _stations(e, min_registered)
    if fixed_effects is not None:
        if fixed_effects not in e.table.columns:
            raise DataError(f"there is no column '{fixed_effects}' for fixed effects", column=fixed_effects,
                            fix="use 'region', 'tec' or another column of the table")
    groups_col = cluster or ("tec" if "tec" in e.table.columns else "region")
    if cov == "cluster" and groups_col not in e.table.columns:
        raise DataError(f"there is no column '{groups_col}' to cluster the standard errors by", column=groups_col,
                        fix="pass cluster= with a column of the table, or use cov='HC1'")

    x = frame["turnout"]
    fe = e.table.loc[frame.index, fixed_effects].astype(str) if fixed_effects else None
    n_fe = int(fe.nunique()) if fe is not None else 0
    design = x - x.groupby(fe).transform("mean") if fe is not None else sm.add_constant(x)
    fit_kw = {"cov_type": "HC1"}
    if cov == "cluster":
        clusters = pd.factorize(e.table.loc[frame.index, groups_col].astype(str))[0]
        fit_kw = {"cov_type": "cluster", "cov_kwds": {"groups": clusters}}

    results = []
    for party in parties:
        votes = e.table.loc[frame.index, party].astype(float)
        y = votes / frame["N"]
        if fe is not None:
            y = y - y.groupby(fe).transform("mean")
        model = sm.OLS(y.to_numpy(), np.asarray(design, dtype=float)).fit(**fit_kw)
        slope_idx = -1
        slope = float(model.params[slope_idx])
        se = float(model.bse[slope_idx])
        if fe is not None and cov == "HC1":
            se *= np.sqrt((len(y) - 1) / max(len(y) - 1 - n_fe, 1))  # degrees of freedom of the absorbed means
        share = votes / frame["cast"]
        expected = float(share.mean())
        z = (slope - expected) / se if se > 0 else np.nan
        pvalue = float(2 * stats.norm.sf(abs(z))) if np.isfinite(z) else np.nan
        details = {
            "se": se, "z": float(z), "overall_share": float(votes.sum() / frame["cast"].sum()),
            "pvalue_above_one": float(stats.norm.sf((slope - 1) / se)) if se > 0 else np.nan,
            "pvalue_negative": float(stats.norm.cdf(slope / se)) if se > 0 else np.nan,
            "intercept": None if fe is not None else float(model.params[0]),
            "slope_above_one": slope > 1, "negative_slope": slope < 0, "is_leader": party == leader,
            "fixed_effects": fixed_effects, "n_groups": n_fe, "cov": cov, "r2": float(model.rsquared),
        }
        results.append(TestResult(
            name="turnout_regression", statistic=slope, pvalue=pvalue,
            ci=(slope - 1.959964 * se, slope + 1.959964 * se), expected=expected, n_used=len(y),
            excluded=ex.counts, excluded_rows=ex.rows, details=details, party=party,
            explanation=_explain_regression(party, slope, se, expected, pvalue, len(y), party == leader),
        ))
    return results


def _explain_regression(party, slope, se, expected, pvalue, n, is_leader) -> str:
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
        f"{expected:.3f} (two-sided p = {pvalue:.2g}).{reading} "
        + ("For the leader a slope well above its share is the classic sign of ballot stuffing. " if is_leader else "")
        + CAVEAT
    )


# -- correlation of share with turnout ------------------------------------------------------------

def turnout_share_correlation(election, party=None, method: str = "pearson", min_registered: int = 100) -> TestResult:
    """Correlation across stations between turnout and a party's share of valid votes.

    ``statistic`` is Pearson's r (or Spearman's rho); ``pvalue`` tests zero
    correlation; ``ci`` is the 95% interval (Fisher's z for Pearson).
    """
    e = as_election(election)
    party = _party_column(e, party)
    ex, frame = _stations(e, min_registered)
    share = e.table.loc[frame.index, party].astype(float) / frame["valid"]
    n = len(frame)
    if n < 4:
        return TestResult(name="turnout_share_correlation", statistic=float("nan"), n_used=n, excluded=ex.counts,
                          excluded_rows=ex.rows, party=party, explanation="Too few polling stations for a correlation.")
    if method == "pearson":
        res = stats.pearsonr(frame["turnout"], share)
        ci = tuple(float(c) for c in res.confidence_interval(0.95))
    elif method == "spearman":
        res = stats.spearmanr(frame["turnout"], share)
        half = 1.959964 / np.sqrt(n - 3)
        ci = (float(np.tanh(np.arctanh(res.statistic) - half)), float(np.tanh(np.arctanh(res.statistic) + half)))
    else:
        raise ValueError("method must be 'pearson' or 'spearman'")
    r = float(res.statistic)
    return TestResult(
        name="turnout_share_correlation", statistic=r, pvalue=float(res.pvalue), ci=ci, expected=0.0, n_used=n,
        excluded=ex.counts, excluded_rows=ex.rows, party=party, details={"method": method},
        explanation=(
            f"Across {n:,} polling stations the correlation between turnout and {party}'s share of the valid votes "
            f"is {r:.2f} (95% interval {ci[0]:.2f} to {ci[1]:.2f}). In honest elections it is usually weak; a strong "
            f"positive correlation is what ballot stuffing for this party produces. With many stations even a tiny "
            f"correlation is 'significant', so judge its size. " + CAVEAT),
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
