"""Verdict: a cluster of regular-size stations at 100% turnout with a near-unanimous vote.

Extreme ballot stuffing (every non-voter "votes" for the party) leaves
stations at (100%, 100%) in the turnout x share plane.  Honest stations get
there only when they are tiny (a few dozen voters), when their list is drawn
up on election day (turnout then exceeds or equals 100% by construction) or
when they are closed institutions that vote as one.  The first two are left
out by definition; for the third, at most ``INSTITUTION_RATE`` (1 in 1,000)
of the remaining stations may sit in the corner honestly, and the count is
tested against that binomial allowance.
"""
from __future__ import annotations

import pandas as pd

from ..exclusions import Exclusions
from ..i18n import Message
from ..model import as_election
from ..stats._core.binomial import binom_sf
from ..stats._core.plane import party_column
from .catalogue import CHECKS, CLUSTER_SHARE, CLUSTER_TURNOUT, INSTITUTION_RATE, SMALL_STATION
from .family import decide, national_row, regions_of
from .result import Verdict

__all__ = ["cluster_verdict", "cluster_stations"]


def cluster_stations(election, party=None):
    """(in_cluster, eligible, frame): which stations sit in the 100% corner and which could be counted.

    ``frame`` has ``N`` (voters on the list), ``issued``, ``cast``, ``W``,
    ``turnout`` (issued / N) and ``share`` (W / cast) for every station.
    """
    e = as_election(election)
    party = party_column(e, party)
    frame = pd.DataFrame({"N": e.table["registered"], "issued": e.ballots_issued(), "cast": e.ballots_cast(),
                          "W": e.table[party]}).astype(float)
    frame["turnout"] = frame["issued"] / frame["N"].where(frame["N"] > 0)
    frame["share"] = frame["W"] / frame["cast"].where(frame["cast"] > 0)
    ex = Exclusions.for_election(e)
    ex.require(frame[["N", "issued", "cast", "W"]].notna().all(axis=1), "missing counts")
    ex.require(frame["N"] > 0, "no voters on the list")
    ex.require(frame["cast"] > 0, "no ballots cast")
    ex.require(frame["N"] >= SMALL_STATION, f"fewer than {SMALL_STATION} voters on the list (small electorate)")
    ex.require(frame["turnout"] <= 1, "turnout above 100% (list drawn up or extended on the day)")
    corner = ex.keep & (frame["turnout"] >= CLUSTER_TURNOUT) & (frame["share"] >= CLUSTER_SHARE)
    return corner, ex, frame, party


def _row(hit, n, ballots, votes, **ids) -> dict:
    allowed = n * INSTITUTION_RATE
    return {**ids, "statistic": float(hit), "expected": allowed, "effect": float(hit) - allowed,
            "pvalue": float(binom_sf(hit - 1, n, INSTITUTION_RATE)) if n else float("nan"), "n_used": int(n),
            "ballots": float(ballots), "party_votes": float(votes)}


def cluster_verdict(election, party=None, alpha: float = 0.01, levels=("nation", "region")) -> Verdict:
    """Stations in the 100% corner against the institutions' allowance, nationally and per region.

    ``groups``: statistic = stations in the corner, expected = the allowance
    (1 in 1,000 eligible stations), effect = the excess (stations), plus
    ``ballots`` and ``party_votes`` cast at the corner stations.
    """
    e = as_election(election)
    corner, ex, frame, party = cluster_stations(e, party)
    keep = ex.keep
    rows = []
    if "nation" in levels:
        rows.append(_row(int(corner.sum()), int(keep.sum()), frame.loc[corner, "cast"].sum(),
                         frame.loc[corner, "W"].sum(), **national_row(), n_excluded=int(sum(ex.counts.values()))))
    region = regions_of(e, frame.index)
    if "region" in levels and region is not None:
        # one pass over the stations (the sums are whole numbers, so they do not depend on the order)
        per = pd.DataFrame({"hit": corner.to_numpy(), "n": keep.to_numpy(),
                            "cast": frame["cast"].where(corner, 0.0).to_numpy(),
                            "W": frame["W"].where(corner, 0.0).to_numpy()}).groupby(region.array).sum()
        per = per.loc[sorted(per.index)]
        rows += [_row(int(hit), int(n), cast, W, level="region", group=str(name))
                 for name, hit, n, cast, W in zip(per.index, per["hit"], per["n"], per["cast"], per["W"])]
    groups = decide(rows, alpha)
    groups = groups.merge(pd.DataFrame(rows)[["group", "ballots", "party_votes"]], on="group", how="left")
    small = (frame["N"] < SMALL_STATION) & (frame["N"] > 0) & (frame["turnout"] >= CLUSTER_TURNOUT) \
        & (frame["turnout"] <= 1) & (frame["share"] >= CLUSTER_SHARE)
    effect, direction = {}, ""
    nat = groups[groups["level"] == "nation"]
    if len(nat):
        r = nat.iloc[0]
        effect = {"stations": r["statistic"], "allowed": r["expected"], "excess_stations": r["effect"],
                  "ballots": r["ballots"], "party_votes": r["party_votes"], "small_stations_not_counted": int(small.sum())}
        direction = Message("stations at 100% turnout with a near-unanimous vote for the party")
    return Verdict(check=CHECKS["turnout_100"], party=party, alpha=alpha, groups=groups, effect=effect,
                   direction=direction, details={"excluded": ex.counts, "stations": corner[corner].index.tolist()})
