"""Verdict: whole-number percentages (Kobak, Shpilkin & Pshenichnikov 2016), with an exact tail.

The count of stations with a whole-number turnout or result is a sum of
independent indicators whose probabilities under honest counting are known
exactly (``forensics.stats.spikes.integer_probabilities``).  Its upper tail
(``forensics.stats.poisson_binomial``) is exact enough to reach any p-value,
so a region can pass a correction over all regions, and there is no Monte
Carlo noise: the same data give the same verdict whatever the seed.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..i18n import Message
from ..model import as_election
from ..stats.poisson_binomial import poisson_binomial_sfs
from ..stats.spikes import integer_probabilities, is_integer_percent, kobak_counts
from .catalogue import CHECKS
from .family import decide, national_row, regions_of
from .result import Verdict

__all__ = ["integer_verdict", "MIN_STATIONS"]

#: fewer used stations than this in a region: reported, not tested
MIN_STATIONS = 30


def _row(hit, prob, **ids) -> dict:
    """One group's row, with its stations' probabilities (``prob``) where ``_with_pvalues`` puts the p-value."""
    n = len(hit)
    if n < MIN_STATIONS:
        return {**ids, "n_used": n, "note": f"too few stations ({n} < {MIN_STATIONS})"}
    observed, expected = float(hit.sum()), float(prob.sum())
    sd = float(np.sqrt((prob * (1 - prob)).sum()))
    return {**ids, "statistic": observed, "expected": expected, "effect": observed - expected,
            "z": (observed - expected) / sd if sd > 0 else 0.0, "null_sd": sd, "prob": prob, "n_used": n}


def _with_pvalues(rows: list) -> list:
    """The rows with their exact upper tails in place of their probabilities (the small groups' exact
    distributions computed together: one pass for all regions, not one each)."""
    tested = [row for row in rows if "prob" in row]
    pvalues = poisson_binomial_sfs([row["statistic"] for row in tested], [row.pop("prob") for row in tested])
    for row, pvalue in zip(tested, pvalues):
        row["pvalue"] = pvalue
    return rows


def integer_verdict(election, party=None, alpha: float = 0.01, levels=("nation", "region"),
                    tolerance: float = 0.05) -> Verdict:
    """Whole-number turnout or result: observed against honest-counting stations, nationally and per region.

    ``groups``: statistic = stations with a whole-number turnout or result,
    expected = their number under honest counting, effect = the excess
    (stations), plus ``z`` (excess / null sd) and ``null_sd``.
    """
    e = as_election(election)
    frame, ex = kobak_counts(e, party)
    party = party or e.leader
    prob = integer_probabilities(frame, tolerance)["either"].to_numpy()
    turnout_hit, _ = is_integer_percent(frame["B"], frame["N"], tolerance)
    result_hit, _ = is_integer_percent(frame["W"], frame["R"], tolerance)
    hit = np.asarray(turnout_hit | result_hit)
    rows = []
    if "nation" in levels:
        rows.append(_row(hit, prob, **national_row(), n_excluded=int(sum(ex.counts.values()))))
    region = regions_of(e, frame.index)
    if "region" in levels and region is not None:
        codes, names = pd.factorize(region, sort=True)
        for k, name in enumerate(names):
            sel = codes == k
            rows.append(_row(hit[sel], prob[sel], level="region", group=str(name)))
    groups = decide(_with_pvalues(rows), alpha)
    extra = pd.DataFrame(rows)[["group", "z", "null_sd"]] if rows and "z" in pd.DataFrame(rows) else None
    if extra is not None:
        groups = groups.merge(extra, on="group", how="left")
    nat = groups[groups["level"] == "nation"]
    effect = {}
    if len(nat) and pd.notna(nat.iloc[0]["statistic"]):
        r = nat.iloc[0]
        effect = {"excess_stations": r["effect"], "observed": r["statistic"], "expected": r["expected"],
                  "z": r["z"], "share_of_stations": r["effect"] / max(r["n_used"], 1)}
    direction = (Message("more whole-number percentages than honest counting gives")
                 if effect.get("excess_stations", 0) > 0
                 else Message("no more whole-number percentages than honest counting gives"))
    return Verdict(check=CHECKS["integer"], party=party, alpha=alpha, groups=groups, effect=effect,
                   direction=direction, details={"excluded": ex.counts, "tolerance": tolerance})
