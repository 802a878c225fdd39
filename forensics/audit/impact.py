"""What the discrepancies add up to: votes moved per party, and the result recomputed.

Only stations whose difference points at the official side (``ALLEGED``
classes) count; transcription slips are left out until re-checked.
Differences are official minus observed: a positive number is votes the
official result gives a party beyond what the commission signed.
"""
from __future__ import annotations

import pandas as pd

from .compare import ALLEGED, Comparison

LEVELS = {"nation": [], "region": ["region"], "tec": ["region", "tec"]}


def impact(comparison: Comparison, level: str = "nation") -> pd.DataFrame:
    """Votes added (+) or removed (-) by the official figures, per party, at a level.

    One row per group: ids, ``stations`` (discrepant stations counted),
    then per party and for valid ballots the sum of official - observed.
    """
    if level not in LEVELS:
        raise ValueError(f"level must be one of {', '.join(LEVELS)}")
    keys = LEVELS[level]
    st = comparison.stations[comparison.stations["classification"].isin(ALLEGED)]
    cols = [f"diff_{p}" for p in (*comparison.official.parties, "valid") if f"diff_{p}" in st.columns]
    data = st[keys + cols].rename(columns=lambda c: c.removeprefix("diff_"))
    if keys:
        out = data.groupby(keys, sort=True).sum()
        out.insert(0, "stations", st.groupby(keys).size())
        return out.reset_index()
    out = data.sum().to_frame().T
    out.insert(0, "stations", len(st))
    out.insert(0, "level", "nation")
    return out


def recomputed(comparison: Comparison, official=None) -> pd.DataFrame:
    """The national result with the observers' figures where they have them.

    ``official`` is the full official Election (default: the compared
    stations only).  Slip stations keep the official figures.  One row per
    party and a ``turnout`` row: official and recomputed votes and shares
    (of valid, or of valid + invalid when the CEC divides by that).
    """
    full = official if official is not None else comparison.official
    parties = list(full.parties)
    st = comparison.stations
    use = st.index[st["classification"].isin(ALLEGED)]
    table = full.table.loc[full.published].copy()
    fixed = table.copy()
    lines = [c for c in comparison.lines if c in table.columns]
    fixed.loc[use, lines] = comparison.observed.loc[use, lines].to_numpy()

    def result(t):
        el = full.with_table(t)
        base = el.ballots(el.percent_base)
        cast = el.ballots("cast").sum()
        votes = t[parties].sum()
        shares = votes / base.sum()
        turnout = cast / t["registered"].sum()
        return (pd.concat([votes, pd.Series({"turnout": cast})]),
                pd.concat([shares, pd.Series({"turnout": turnout})]))

    ov, osh = result(table)
    rv, rsh = result(fixed)
    out = pd.DataFrame({"official_votes": ov, "recomputed_votes": rv, "official_share": osh,
                        "recomputed_share": rsh})
    out["change_votes"] = out["recomputed_votes"] - out["official_votes"]
    out["change_points"] = 100 * (out["recomputed_share"] - out["official_share"])
    out.index.name = "party"
    return out.reset_index()
