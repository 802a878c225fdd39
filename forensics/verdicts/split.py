"""How the extra ballots of a high-turnout station are split, compared with its neighbours.

Ballot stuffing adds ballots for one party only: at a stuffed station the
other parties' votes per voter on the list stay what they were while turnout
rises.  Honest turnout differences between stations of one neighbourhood
(weather, queues, a local event) raise every party's votes roughly in
proportion to its share.  So within neighbourhoods (``neighbourhoods``) we
regress the ballots of everyone but the leader (other parties and invalid
ballots), per voter on the list, on turnout:

    kappa = (within-neighbourhood slope) / (the others' share of all ballots)

is the others' part of an extra ballot relative to their part of all
ballots: about 1 for honest variation, 0 where every extra ballot went to
the leader, below 0 where the others even lose votes as turnout rises.
Demography inside a neighbourhood (the party's voters turn out more) lowers
it too; clean elections measured 0.7-1.2 by region and the confounded
simulations about 0.55-1.0 (``benchmarks/results/verdicts.md``), so the benign
null is kappa >= ``BENIGN_SPLIT`` = 0.5: "at least half of the proportional
share of extra ballots went to the others".  Below that, more than half of
the extra turnout inside neighbourhoods cannot be explained as voters voting
as their neighbours do.

A closed institution (a military unit, a hospital) sits far from its
neighbours in turnout and share on its own; one such station would weigh as
much as dozens of ordinary ones in a least-squares slope.  Stations whose
turnout is more than ``TRIM`` robust standard deviations from their
neighbourhood's are therefore left to the station evidence and the 100%
cluster check, and counted in ``excluded``; stuffing that moves many
stations a moderate amount stays in.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import special

from ..exclusions import Exclusions
from ..model import as_election
from ..stats.result import TestResult
from ..stats._core.plane import party_column
from .neighbourhoods import NEIGHBOURHOOD_SIZE, neighbourhoods, tec_codes

__all__ = ["BENIGN_SPLIT", "TRIM", "neighbourhood_split", "split_frame", "split_test", "split_tests"]

#: the lowest split of extra ballots that honest demography is allowed to produce
BENIGN_SPLIT = 0.5
#: stations further than this many robust sd from their neighbourhood's turnout are left out
TRIM = 4.0
_TRIMMED = f"turnout more than {TRIM:g} robust sd from its neighbourhood's (left to the station evidence)"


def split_frame(election, party=None, size: int = NEIGHBOURHOOD_SIZE, min_registered: int = 100):
    """Per-station deviations from the neighbourhood, computed once for every level.

    Returns ``(frame, exclusions, party)``: ``frame`` has ``region``, ``tec``
    (region-qualified), ``hood``, voters ``N``, ballots ``cast``, party votes
    ``W``, and ``x`` / ``y``: turnout and the others' ballots per voter on the
    list minus their neighbourhood means.  Neighbourhoods nest in TECs and
    regions, so a region's test uses these rows as they are.
    """
    e = as_election(election)
    party = party_column(e, party)
    frame = pd.DataFrame({"N": e.table["registered"], "cast": e.ballots_cast(), "W": e.table[party]}).astype(float)
    ex = Exclusions.for_election(e)
    ex.require(frame.notna().all(axis=1), "missing counts")
    ex.require(frame["N"] > 0, "no voters on the list")
    ex.require(frame["N"] >= min_registered, f"fewer than {min_registered} voters on the list")
    ex.require(frame["cast"] > 0, "no ballots cast")
    ex.require(frame["cast"] <= frame["N"], "turnout above 100% (ill-defined list)")
    ex.require(frame["W"] <= frame["cast"], "party votes exceed ballots cast")
    frame = frame[ex.keep].copy()
    table = e.table.loc[ex.keep, [c for c in ("region", "tec", "pec") if c in e.table]]
    frame["region"] = table["region"].astype(str).array if "region" in table else "all"
    frame["tec"] = tec_codes(table)
    frame["hood"] = neighbourhoods(table, size).to_numpy()
    turnout = frame["cast"] / frame["N"]
    shared = frame.groupby("hood")["N"].transform("size") > 1
    deviation = (turnout - turnout.groupby(frame["hood"]).transform("median")).abs()
    scale = 1.4826 * deviation[shared].median() if shared.any() else 0.0
    trimmed = (deviation > TRIM * scale) & (scale > 0)
    ex.require(~trimmed.reindex(ex.index, fill_value=False), _TRIMMED)
    frame = frame[~trimmed]
    turnout, others = frame["cast"] / frame["N"], (frame["cast"] - frame["W"]) / frame["N"]
    frame["x"] = turnout - turnout.groupby(frame["hood"]).transform("mean")
    frame["y"] = others - others.groupby(frame["hood"]).transform("mean")
    return frame, ex, party


def split_tests(frame: pd.DataFrame, by=None, benign: float = BENIGN_SPLIT) -> dict:
    """kappa and its one-sided test for each group of ``by`` (a column of ``frame``; None: all rows).

    Sums per TEC are formed once; a group's slope and TEC-clustered standard
    error follow from its TECs' sums (TECs nest in regions).
    """
    x, y = frame["x"].to_numpy(), frame["y"].to_numpy()
    cast, W = frame["cast"].to_numpy(), frame["W"].to_numpy()
    hood = frame["hood"].to_numpy()
    share = W / cast
    s = share - pd.Series(share, index=frame.index).groupby(hood).transform("mean").to_numpy()
    up, used = x > 0, x != 0
    if by is None:
        group, names = np.zeros(len(frame), dtype=np.int64), ["all"]
    else:
        group, names = pd.factorize(frame[by])
        names = list(names)
    # per TEC of each group (in order of appearance), then per group over its TECs in that order
    tec = frame["tec"].to_numpy()
    pair = pd.factorize(group * (int(tec.max(initial=0)) + 1) + tec)[0]
    per_pair = pd.DataFrame({"sxy": x * y, "sxx": x * x, "sss": s * s, "sxs": x * s, "cast": cast, "W": W,
                             "extra": np.where(up, frame["N"].to_numpy() * x, 0.0), "used": used,
                             "n": np.ones(len(frame), dtype=np.int64)}).groupby(pair, sort=False).agg(
        {"sxy": "sum", "sxx": "sum", "sss": "sum", "sxs": "sum", "cast": "sum", "W": "sum", "extra": "sum",
         "used": "any", "n": "sum"})
    first = np.unique(pair, return_index=True)[1]
    pair_group = group[first]
    order = np.argsort(pair_group, kind="stable")
    bounds = np.searchsorted(pair_group[order], np.arange(len(names) + 1))
    columns = {name: per_pair[name].to_numpy()[order] for name in per_pair.columns}
    used_group = group[used]
    hoods = np.unique(used_group * (int(hood.max(initial=0)) + 1) + hood[used], return_index=True)[1]
    n_hoods = np.bincount(used_group[hoods], minlength=len(names))
    out = {}
    for code in range(len(names)):
        part = slice(bounds[code], bounds[code + 1])
        out[names[code]] = _test({name: v[part] for name, v in columns.items()}, int(n_hoods[code]), benign)
    return out


def split_test(frame: pd.DataFrame, benign: float = BENIGN_SPLIT) -> dict:
    """kappa and its one-sided test on rows of ``split_frame`` (a whole election or one region)."""
    return split_tests(frame, None, benign)["all"] if len(frame) else _test(
        {name: np.zeros(0) for name in ("sxy", "sxx", "sss", "sxs", "cast", "W", "extra", "used", "n")}, 0, benign)


def _test(t: dict, n_hoods: int, benign: float) -> dict:
    """The test from one group's per-TEC sums (arrays, one entry per TEC)."""
    sxx, cast = float(t["sxx"].sum()), float(t["cast"].sum())
    others_share = float((cast - t["W"].sum()) / cast) if cast > 0 else np.nan
    n_tecs = int(t["used"].sum())
    out = {"kappa": np.nan, "pvalue": np.nan, "ci": None, "se": np.nan, "others_share": others_share,
           "others_slope": np.nan, "leader_slope": np.nan, "leader_share": 1 - others_share,
           "within_r": np.nan, "extra_ballots": 0.0, "excess_votes": 0.0, "n_tecs": n_tecs,
           "n_neighbourhoods": n_hoods, "n_used": int(t["n"].sum()), "benign": benign}
    if out["n_used"] < 10 or sxx <= 0 or n_tecs < 2 or not 0.005 < others_share < 0.995:
        return out
    slope = float(t["sxy"].sum() / sxx)
    score = t["sxy"] - slope * t["sxx"]
    se = float(np.sqrt((score ** 2).sum() * n_tecs / (n_tecs - 1)) / sxx) / others_share
    kappa = slope / others_share
    df = n_tecs - 1  # Student's t with TECs - 1 df (scipy.special directly: a frozen distribution costs ~2 ms)
    half = float(special.stdtrit(df, 0.975)) * se
    sss = float(t["sss"].sum())
    extra = float(t["extra"].sum())
    out.update(kappa=kappa, se=se, ci=(kappa - half, kappa + half), others_slope=slope, leader_slope=1 - slope,
               pvalue=float(special.stdtr(df, (kappa - benign) / se)) if se > 0 else float(kappa >= benign),
               within_r=float(t["sxs"].sum() / np.sqrt(sxx * sss)) if sss > 0 else np.nan,
               extra_ballots=extra, excess_votes=max(0.0, extra * (others_share - slope)))
    return out


def neighbourhood_split(election, party=None, size: int = NEIGHBOURHOOD_SIZE, benign: float = BENIGN_SPLIT,
                        min_registered: int = 100) -> TestResult:
    """The others' part of the extra ballots at higher-turnout stations, relative to their neighbours.

    ``statistic`` is kappa (module docstring), ``expected`` 1 (every party
    gains in proportion), ``pvalue`` the one-sided test of kappa >= ``benign``
    with standard errors clustered by TEC (t with TECs - 1 df), ``ci`` its
    95% interval.  ``details`` (``split_test``): ``others_slope`` (others'
    ballots per voter on the list per unit of turnout) and ``others_share``,
    ``leader_slope``, ``within_r`` (correlation of the party's share with
    turnout inside neighbourhoods), ``extra_ballots`` (ballots cast above the
    neighbourhood mean at stations above it) and ``excess_votes`` (the
    party's votes among them beyond a proportional share), ``n_neighbourhoods``,
    ``n_tecs``, ``benign``, ``se``.
    """
    frame, ex, party = split_frame(election, party, size, min_registered)
    d = split_test(frame, benign)
    d["size"] = size
    if np.isnan(d["kappa"]):
        return TestResult(name="neighbourhood_split", statistic=float("nan"), n_used=d["n_used"], excluded=ex.counts,
                          excluded_rows=ex.rows, party=party, details=d,
                          explanation="Too few stations, neighbourhoods or votes for other parties to compare how "
                                      "extra ballots are split within neighbourhoods.")
    return TestResult(name="neighbourhood_split", statistic=float(d["kappa"]), pvalue=d["pvalue"], ci=d["ci"],
                      expected=1.0, n_used=d["n_used"], excluded=ex.counts, excluded_rows=ex.rows, details=d,
                      party=party, explanation=explain_split(party, d))


def explain_split(party, d) -> str:
    """The result in words."""
    return (
        f"Inside neighbourhoods (runs of {d.get('size', NEIGHBOURHOOD_SIZE)} consecutive stations of a TEC, "
        f"{d['n_neighbourhoods']:,} of them), stations with higher turnout than their neighbours gave "
        f"{100 * d['others_slope']:.0f}% of each extra ballot to the other parties (and invalid ballots), who have "
        f"{100 * d['others_share']:.0f}% of all ballots: kappa = {d['kappa']:.2f} of their proportional part (1 when "
        f"voters vote as their neighbours do, 0 when every extra ballot goes to {party}). Demography inside "
        f"neighbourhoods lowers it, but not below {d['benign']:.1f} in clean elections or realistic simulations; "
        f"p = {d['pvalue']:.2g} that it is at least {d['benign']:.1f} (standard errors allow for stations of one "
        f"TEC moving together, {d['n_tecs']:,} TECs)."
    )
