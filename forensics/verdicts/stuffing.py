"""Verdict: extra ballots that go to one party only, inside neighbourhoods (``split``)."""
from __future__ import annotations

import pandas as pd

from ..i18n import Message
from ..model import as_election
from .catalogue import CHECKS
from .family import decide, national_row
from .neighbourhoods import NEIGHBOURHOOD_SIZE
from .result import Verdict
from .split import BENIGN_SPLIT, split_frame, split_tests

__all__ = ["stuffing_verdict"]


def _row(d: dict, **ids) -> dict:
    if d["kappa"] != d["kappa"]:  # NaN: too little to test
        return {**ids, "n_used": d["n_used"], "note": "too few stations, neighbourhoods or votes for the others"}
    return {**ids, "statistic": d["kappa"], "expected": 1.0, "pvalue": d["pvalue"], "effect": d["excess_votes"],
            "n_used": d["n_used"], "se": d["se"], "within_r": d["within_r"], "others_slope": d["others_slope"],
            "others_share": d["others_share"], "extra_ballots": d["extra_ballots"], "n_tecs": d["n_tecs"]}


def stuffing_verdict(election, party=None, alpha: float = 0.01, levels=("nation", "region"),
                     size: int = NEIGHBOURHOOD_SIZE, benign: float = BENIGN_SPLIT) -> Verdict:
    """kappa nationally and per region; fires when, somewhere, it is credibly below ``benign``.

    ``groups``: statistic = kappa, expected = 1, pvalue = one-sided test of
    kappa >= benign, effect = the party's votes at above-neighbourhood
    turnout beyond a proportional share (votes); plus se, within_r (the
    party's share against turnout inside neighbourhoods), others_slope,
    others_share, extra_ballots, n_tecs.
    """
    e = as_election(election)
    frame, ex, party = split_frame(e, party, size)
    rows = []
    if "nation" in levels:
        nat = split_tests(frame, None, benign)["all"]
        rows.append(_row(nat, **national_row(), n_excluded=int(sum(ex.counts.values()))))
    if "region" in levels and "region" in e.table.columns:
        for name, d in sorted(split_tests(frame, "region", benign).items()):
            rows.append(_row(d, level="region", group=str(name)))
    groups = decide(rows, alpha)
    extra_cols = [c for c in ("se", "within_r", "others_slope", "others_share", "extra_ballots", "n_tecs")
                  if c in pd.DataFrame(rows)]
    groups = groups.merge(pd.DataFrame(rows)[["group", *extra_cols]], on="group", how="left")
    effect, direction = {}, ""
    n = groups[groups["level"] == "nation"]
    if len(n) and pd.notna(n.iloc[0]["statistic"]):
        r = n.iloc[0]
        effect = {"kappa": r["statistic"], "excess_votes": r["effect"], "extra_ballots": r["extra_ballots"],
                  "others_slope": r["others_slope"], "others_share": r["others_share"]}
        direction = (Message("inside neighbourhoods the party's share rises with turnout (correlation %(r)s)",
                             r=float(r["within_r"])) if r["within_r"] > 0 else
                     Message("inside neighbourhoods the party's share falls with turnout (correlation %(r)s)",
                             r=float(r["within_r"])))
    return Verdict(check=CHECKS["stuffing"], party=party, alpha=alpha, groups=groups, effect=effect,
                   direction=direction, details={"excluded": ex.counts, "benign": benign, "size": size})
