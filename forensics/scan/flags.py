"""Per-station flags, as data, and the documented review order.

``station_flags`` builds one row per input station: its ids, voters,
ballots cast, turnout and leader share (``Election`` definitions), why it
could not be analysed, the flags it trips with one reason each, and its
place in the review order.  Reconciliation findings join the stations by
row (the findings' ``station`` column), never by guessing ids.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..exclusions import Exclusions
from ..model import ID_COLUMNS, Election
from ..stats.spikes import is_integer_percent

#: flag code -> (tier, what was checked).  Lower tier = reviewed first.
FLAGS: dict[str, tuple[int, str]] = {
    "TURNOUT_100": (2, "turnout of 100% or more of the voters on the list"),
    "TURNOUT_HIGH": (2, "turnout far above the typical station of its region (robust z > {z})"),
    "PLANE_OUTLIER": (2, "turnout and leader share both far above the typical station of its region "
                         "(robust distance > {z} in the turnout-share plane)"),
    "INT_TURNOUT": (3, "turnout is a whole percentage (within 0.05 points; stations of 100+ voters)"),
    "INT_SHARE": (3, "leader's share is a whole percentage (within 0.05 points; stations of 100+ voters)"),
}
#: Tier of a reconciliation code: errors first, warnings with the integer flags.
RULE_TIER = {"error": 1, "warning": 3}

STATION_COLUMNS = ["station", "region", "tec", "pec", "registered", "ballots_cast", "turnout", "leader_share",
                   "excluded", "flag_codes", "flag_reasons", "n_flags", "review_tier", "review_order"]


def robust_z(values: pd.Series, groups: pd.Series, min_group: int = 20) -> pd.Series:
    """(x - group median) / (1.4826 * group MAD); NaN for small or constant groups."""
    g = values.groupby(groups)
    med = g.transform("median")
    mad = (values - med).abs().groupby(groups).transform("median") * 1.4826
    size = g.transform("count")
    z = (values - med) / mad.where(mad > 0)
    return z.where(size >= min_group)


def station_positions(election: Election, labels) -> np.ndarray:
    """0-based input positions of table index ``labels`` (-1 for a label that is not a station)."""
    pos = pd.Series(np.arange(len(election.table)), index=election.table.index)
    return pos.reindex(pd.Index(labels)).fillna(-1).astype(np.int64).to_numpy()


def station_flags(election: Election, findings: pd.DataFrame, z: float = 3.5) -> pd.DataFrame:
    """One row per input station: ids, turnout, leader share, flags with reasons, review order.

    Turnout is ``Election.turnout("issued")`` (ballots issued / voters on the
    list) and the leader's share ``Election.share(base="cast")`` (leader
    votes / ballots cast), the definitions of the CEC's published
    percentages and of Kobak et al.  ``findings`` carries a ``station``
    column (0-based position; -1 for published totals).

    Review order (documented, no score): tier 1 = an arithmetic error in the
    protocol; tier 2 = 100% turnout, turnout far above its region, or an
    outlier in the turnout-share plane; tier 3 = integer percentages or
    reconciliation warnings only.  Within a tier, more flags first, then more
    ballots cast (more votes at stake), then the station ids.
    """
    t = election.table
    n = len(t)
    ids = {c: (t[c].astype(str).to_numpy() if c in t else np.full(n, "")) for c in ID_COLUMNS}
    out = pd.DataFrame({"station": np.arange(n), **ids}, index=t.index)
    out["registered"] = t["registered"] if "registered" in t else np.nan
    has_votes = bool(election.parties) or "valid" in t
    nothing = pd.Series(np.nan, index=t.index)
    out["ballots_cast"] = election.ballots("cast").astype(float) if has_votes else nothing
    issued = election.ballots("issued").astype(float) if has_votes else nothing
    registered = out["registered"].astype(float)
    out["turnout"] = election.turnout("issued") if has_votes and "registered" in t else nothing
    leader = t[election.leader].astype(float) if election.parties else nothing
    out["leader_share"] = election.share(base="cast") if election.parties else nothing
    cast = out["ballots_cast"]

    ex = Exclusions.for_election(election)
    ex.require(out["registered"].fillna(0) > 0, "no voters on the list")
    ex.require(out["ballots_cast"].fillna(0) > 0, "no ballots cast")
    keep = ex.keep
    out["excluded"] = ex.reasons.fillna("").astype(str)

    codes = pd.DataFrame(False, index=t.index, columns=list(FLAGS))
    region = pd.Series(ids["region"], index=t.index)
    turnout, share = out["turnout"], out["leader_share"]
    tz = robust_z(turnout.where(keep), region)
    sz = robust_z(share.where(keep), region)
    codes["TURNOUT_100"] = keep & (turnout >= 1.0)
    codes["TURNOUT_HIGH"] = keep & (tz > z) & ~codes["TURNOUT_100"]
    codes["PLANE_OUTLIER"] = keep & (tz > 0) & (sz > 0) & (np.hypot(tz, sz) > z)
    # whole percentages, with Kobak et al.'s inclusion rule (N >= 100, value at most 99%)
    eligible = keep & (registered >= 100) & issued.notna() & leader.notna()
    for code, count, total in (("INT_TURNOUT", issued, registered), ("INT_SHARE", leader, cast)):
        ok = eligible & (count <= 0.99 * total)
        hit, _ = is_integer_percent(count.where(ok, 0).astype(np.int64), total.where(ok, 1).astype(np.int64))
        codes[code] = ok & hit

    reasons = {code: FLAGS[code][1].format(z=z) for code in FLAGS}
    flag_lists = [[] for _ in range(n)]
    reason_lists = [[] for _ in range(n)]
    tiers = np.full(n, 9)
    for code in FLAGS:
        for pos in np.flatnonzero(codes[code].to_numpy()):
            flag_lists[pos].append(code)
            reason_lists[pos].append(reasons[code])
            tiers[pos] = min(tiers[pos], FLAGS[code][0])
    for pos, code, severity, message in _finding_positions(findings):
        if code not in flag_lists[pos]:
            flag_lists[pos].append(code)
            reason_lists[pos].append(f"{code}: {message}")
            tiers[pos] = min(tiers[pos], RULE_TIER.get(severity, 3))

    out["flag_codes"] = [";".join(f) for f in flag_lists]
    out["flag_reasons"] = [" | ".join(r) for r in reason_lists]
    out["n_flags"] = [len(f) for f in flag_lists]
    flagged = out["n_flags"].to_numpy() > 0
    out["review_tier"] = pd.arrays.IntegerArray(tiers.astype(np.int64), mask=~flagged)
    order = out[flagged].assign(_cast=out["ballots_cast"].fillna(-1)).sort_values(
        ["review_tier", "n_flags", "_cast", "region", "tec", "pec", "station"],
        ascending=[True, False, False, True, True, True, True], kind="mergesort")
    rank = np.zeros(n, dtype=np.int64)
    rank[order["station"].to_numpy()] = np.arange(1, len(order) + 1)
    out["review_order"] = pd.arrays.IntegerArray(rank, mask=~flagged)
    return out[STATION_COLUMNS].reset_index(drop=True)


def _finding_positions(findings: pd.DataFrame):
    """(station position, code, severity, message) for every finding that names a station."""
    if findings is None or findings.empty or "code" not in findings or "station" not in findings:
        return []
    f = findings[findings["station"] >= 0]
    return list(zip(f["station"].to_numpy(), f["code"].astype(str),
                    f.get("severity", pd.Series("warning", index=f.index)).astype(str),
                    f.get("message", pd.Series("", index=f.index)).astype(str)))
