"""Observers' copies against the official figures, station by station and line by line.

Each observed station gets one classification of how its official figures
differ from the copy the commission signed (``CLASSES``).  Differences are
``official - observed``: what was changed after the count.  Every row
carries its provenance (transcriber, time, photos and their SHA-256).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..exclusions import Exclusions
from ..i18n import N_
from ..model import FOUND_PARTS, ID_COLUMNS, ISSUED_PARTS, Election
from .stations import PROVENANCE, as_table, match_stations, protocol_lines
from .transcription import check_lines

#: classification -> what it means, in plain words
CLASSES = {
    "identical": N_("the official figures equal the observers' copy"),
    "slip": N_("one figure differs by a single digit or by two swapped digits: most likely a "
               "transcription slip; re-check the photo before alleging anything"),
    "moved": N_("votes were moved between parties: some parties lost exactly what others gained, "
                "every other line is unchanged"),
    "added": N_("ballots were added: party votes, valid ballots, ballots found and ballots issued all "
                "grew by the same number while cancelled ballots shrank by it"),
    "redrawn": N_("both versions add up arithmetically yet differ: the protocol was redrawn after "
                  "the commission signed it, the strongest sign of falsification"),
    "other": N_("the figures differ in a pattern none of the above explains; look at the photo and "
                "the rule codes"),
}
#: classes that point at the official side (slips point at the transcription)
ALLEGED = ("moved", "added", "redrawn", "other")


def digit_slip(a: int, b: int) -> str | None:
    """How two numbers differ if by one digit: 'one digit', 'swapped digits', 'digit missing'."""
    sa, sb = str(int(a)), str(int(b))
    if len(sa) == len(sb):
        diff = [i for i in range(len(sa)) if sa[i] != sb[i]]
        if len(diff) == 1:
            return "one digit"
        if len(diff) == 2 and diff[1] == diff[0] + 1 and sa[diff[0]] == sb[diff[1]] and sa[diff[1]] == sb[diff[0]]:
            return "swapped digits"
        return None
    short, long_ = sorted((sa, sb), key=len)
    if len(long_) - len(short) == 1 and any(long_[:i] + long_[i + 1:] == short for i in range(len(long_))):
        return "digit missing or extra"
    return None


def _group(lines, single: str, parts) -> list[str]:
    """The lines carrying one quantity: the single line if the form has it, else its parts."""
    if single in lines:
        return [single]
    return [p for p in parts if p in lines]


def _added_pattern(d: dict, x: int) -> bool:
    """True when the non-party lines ``d`` changed exactly as x ballots slipped into the box."""
    lines = list(d)
    accounted = set()
    for grp in (["valid"], _group(lines, "ballots_found", FOUND_PARTS),
                _group(lines, "ballots_issued", ISSUED_PARTS), ["signatures"]):
        grp = [g for g in grp if g in d]
        if grp:
            if sum(d[g] for g in grp) != x:
                return False
            accounted.update(grp)
    if d.get("ballots_cancelled") == -x:
        accounted.add("ballots_cancelled")
    elif d.get("ballots_received") == x:
        accounted.add("ballots_received")
    elif "ballots_cancelled" in d or "ballots_received" in d:
        return False
    return all(v == 0 for k, v in d.items() if k not in accounted)


def classify(d: dict, official: dict, observed: dict, parties, consistent: bool) -> tuple[str, str]:
    """(classification, detail) of one station from its differences ``d`` (official - observed, per line)."""
    changed = [k for k, v in d.items() if v != 0]
    if not changed:
        return "identical", ""
    if len(changed) == 1:
        line = changed[0]
        kind = digit_slip(official[line], observed[line])
        if kind:
            return "slip", f"{line}: official {int(official[line])}, copy {int(observed[line])} ({kind})"
    dp = {p: int(d[p]) for p in parties}
    gained = ", ".join(f"{p} +{v}" for p, v in dp.items() if v > 0)
    lost = ", ".join(f"{p} {v}" for p, v in dp.items() if v < 0)
    x = sum(dp.values())
    if set(changed) <= set(parties) and x == 0:
        return "moved", f"{sum(v for v in dp.values() if v > 0)} votes moved: {lost} -> {gained}"
    if x > 0 and min(dp.values()) >= 0 and _added_pattern({k: v for k, v in d.items() if k not in dp}, x):
        return "added", f"{x} ballots added: {gained}"
    listed = "lines changed: " + ", ".join(f"{k} {int(d[k]):+d}" for k in changed)
    return ("redrawn" if consistent else "other"), listed


def station_findings(election: Election) -> pd.DataFrame:
    """Reconciliation findings (``forensics.reconcile``) with ``_row``: the station's index label."""
    from ..reconcile import reconcile

    findings = reconcile(election).table  # indexed by the station's row label (-1: a published total)
    return findings[findings.index >= 0].reset_index(names="_row")


def _codes(findings: pd.DataFrame, index) -> pd.Series:
    """Codes of the error rules each station breaks, ';'-joined ("" when none)."""
    errors = findings[findings["severity"] == "error"]
    joined = errors.groupby("_row")["code"].agg(lambda s: ";".join(sorted(set(s))))
    return joined.reindex(index, fill_value="")


@dataclass(frozen=True)
class Comparison:
    """The result of ``compare``: per-station classes, per-line differences, exclusions.

    ``stations`` has one row per compared station (ids, ``classification``,
    ``detail``, rule codes broken on each side, provenance, and one
    ``diff_<line>`` column per line); ``differences`` is the long table of the
    lines that differ; ``official`` and ``observed`` are the compared figures
    (same index); ``excluded`` lists observed rows not compared, with the
    reason (and the blank lines, if any);
    ``findings_official`` / ``findings_observed`` are the reconciliation
    findings of each side (``_row`` = the station's index label).
    """

    stations: pd.DataFrame
    differences: pd.DataFrame
    official: Election
    observed: pd.DataFrame
    lines: list
    excluded: pd.DataFrame = field(default_factory=pd.DataFrame)
    findings_official: pd.DataFrame = field(default_factory=pd.DataFrame)
    findings_observed: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def discrepant(self) -> pd.DataFrame:
        return self.stations[self.stations["classification"] != "identical"]

    @property
    def counts(self) -> dict:
        counts = self.stations["classification"].value_counts()
        return {c: int(counts.get(c, 0)) for c in CLASSES}


def compare(official: Election, observed: pd.DataFrame, photo_hashes: pd.Series | None = None) -> Comparison:
    """Compare observers' copies (canonical columns) with the official election.

    Rows that cannot be compared (unknown station, a line left blank, the
    station transcribed twice) are listed in ``excluded`` with the reason.
    ``photo_hashes`` (observed row -> ';'-joined SHA-256) adds photo provenance.
    """
    observed = as_table(observed)
    lines = protocol_lines(official)
    check_lines(observed, lines)
    target, _ = match_stations(official, observed)
    ex = Exclusions(observed.index)
    ex.require(target.notna(), N_("station not in the official results"))
    blank = observed[lines].isna()
    ex.require(~blank.any(axis=1), N_("line(s) left blank"))
    seen = target.where(ex.keep)
    ex.require(~(seen.notna() & seen.duplicated(keep=False)),
               N_("station transcribed more than once (give a second transcription as a second entry)"))
    published = official.published
    ex.require(target.map(lambda t: t is not None and bool(published.get(t, False))),
               N_("official figures not published for this station"))
    placed = target[ex.keep]
    obs = observed.loc[placed.index]
    off_table = official.table.loc[placed.values]
    obs_table = off_table.copy()
    obs_table[lines] = obs[lines].to_numpy()
    observed_el = official.with_table(obs_table)
    off_el = official.subset(placed.values)
    d = (off_table[lines].astype("int64") - obs_table[lines].astype("int64"))

    find_off, find_obs = station_findings(off_el), station_findings(observed_el)
    rules_off, rules_obs = _codes(find_off, d.index), _codes(find_obs, d.index)
    consistent = (rules_off == "") & (rules_obs == "")
    ids = [c for c in ("region", "tec", "pec") if c in off_table.columns]
    stations = off_table[ids].copy()
    cls = pd.Series("identical", index=d.index, dtype=object)
    detail = pd.Series("", index=d.index, dtype=object)
    differ = d.index[(d != 0).any(axis=1)]
    dd, od, bd = (t.loc[differ, lines].to_dict("index") for t in (d, off_table, obs_table))
    for i in differ:
        cls[i], detail[i] = classify(dd[i], od[i], bd[i], official.parties, bool(consistent[i]))
    stations["classification"] = cls
    stations["detail"] = detail
    stations["lines_differing"] = (d != 0).sum(axis=1)
    stations["rules_official"] = rules_off
    stations["rules_observed"] = rules_obs
    for col in PROVENANCE:
        stations[col] = obs[col].to_numpy() if col in obs.columns else ""
    stations["photo_sha256"] = (photo_hashes.reindex(placed.index).fillna("").to_numpy()
                                if photo_hashes is not None else "")
    stations["source_row"] = obs["source_row"].to_numpy() if "source_row" in obs.columns else pd.NA
    diffs = d.add_prefix("diff_")
    stations = pd.concat([stations, diffs], axis=1)

    long = pd.DataFrame({"line": np.tile(lines, len(d)), "_row": np.repeat(d.index.to_numpy(), len(lines)),
                         "official": off_table[lines].to_numpy().ravel(), "observed": obs_table[lines].to_numpy().ravel(),
                         "difference": d.to_numpy().ravel()})
    long = long[long["difference"] != 0]
    long = off_table[ids].loc[long["_row"]].reset_index(drop=True).join(
        long.drop(columns="_row").reset_index(drop=True)[["line", "official", "observed", "difference"]])

    excluded = observed.loc[ex.rows.index, [c for c in (*ID_COLUMNS, "source_row") if c in observed.columns]]
    excluded = excluded.assign(reason=ex.rows, blank_lines=blank.loc[ex.rows.index].apply(
        lambda r: ", ".join(r.index[r]), axis=1) if len(ex.rows) else "")
    return Comparison(stations=stations, differences=long, official=off_el, observed=obs_table,
                      lines=lines, excluded=excluded, findings_official=find_off, findings_observed=find_obs)
