"""The words of each verdict: what was checked, what was found, how unusual, what was ruled out.

Every verdict says in plain words what it measured, the effect in stations,
votes or points, how unusual that is after the correction over regions, how
often it fired on clean simulated elections, which benign explanations its
null covers and which it does not, the direction of the pattern and the
regions that drive it.  No verdict calls a pattern proof of fraud.
"""
from __future__ import annotations

import math

__all__ = ["verdict_words", "p_words", "number"]


def number(x, digits: int = 0) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    return f"{x:,.{digits}f}"


def p_words(p) -> str:
    if p is None or (isinstance(p, float) and math.isnan(p)):
        return "not computable"
    return "below 1e-300" if p == 0 else f"{p:.2g}"


def _found(v) -> str:
    e, party = v.effect, v.party or "the leading party"
    if not e:
        return "it could not be computed on these data"
    if v.code == "integer":
        return (f"{number(e['observed'])} stations report a whole-number turnout or result for {party}, against "
                f"{number(e['expected'])} expected from honest counting of the same stations (excess "
                f"{e['excess_stations']:+,.0f} stations, {e['z']:.1f} standard deviations)")
    if v.code == "stuffing":
        return (f"inside neighbourhoods, stations with higher turnout than their neighbours gave the other parties "
                f"{e['kappa']:.2f} of their proportional part of the extra ballots (1 when voters vote as their "
                f"neighbours do, 0 when all extra ballots go to {party}; clean elections stay above "
                f"{v.details.get('benign', 0.5):.1f}); about {number(e['excess_votes'])} votes for {party} at those "
                f"stations exceed a proportional share")
    if v.code == "turnout_100":
        return (f"{number(e['stations'])} stations of 100+ voters report 100% turnout with at least 95% for {party} "
                f"({number(e['ballots'])} ballots), where closed institutions could explain about "
                f"{number(e['allowed'], 1)}; {number(e['small_stations_not_counted'])} smaller stations that do the "
                f"same were not counted")
    if v.code == "digits":
        return (f"digit {int(e['digit'])} ends {e['share']:.1%} of the party counts against {e['expected_share']:.1%} "
                f"expected ({e['excess_points']:+.1f} points)")
    if v.code == "arithmetic":
        rules = [f"{k[5:]} ({number(n)})" for k, n in e.items() if k.startswith("rule ")]
        return (f"{number(e['stations'])} stations' protocols break a control relation of the form"
                + (f" (most common: {', '.join(rules)})" if rules else ""))
    return ""


def _calibration(v) -> str:
    fa = v.false_alarm
    if not fa:
        return "Its false-alarm rate has not been measured (run benchmarks/calibrate_verdicts.py)."
    return (f"On {fa['runs']} clean simulated elections with realistic benign structure (preset {fa['preset']}, "
            f"{fa['benchmark']}) it fired in {fa['fired']} ({100 * fa['rate']:.1f}%).")


def verdict_words(v) -> str:
    check = v.check
    if v.note.startswith("could not run"):
        return f"{check.title}: {v.note}."
    if v.fired:
        where = ("nationally" if v.scope == "national" else "in some regions, not in the nation as a whole")
        how = f"This stands out {where}: corrected p = {p_words(v.pvalue)} ({v.family})."
        regions = v.driving_regions
        if regions:
            how += (f" Significant on its own in {len(v.significant_regions)} region(s); driven most by "
                    f"{', '.join(regions)}." if v.significant_regions
                    else f" The regions most unusual before correction: {', '.join(regions)}.")
    else:
        how = f"Nothing stands out: the smallest corrected p-value is {p_words(v.pvalue)} ({v.family})."
    direction = f" Direction: {v.direction}." if v.direction and v.fired else ""
    ruled = (f" Ruled out by the null: {'; '.join(check.ruled_out)}." if check.ruled_out else "")
    not_ruled = (f" Not ruled out: {'; '.join(check.not_ruled_out)}." if check.not_ruled_out else "")
    reason = ""
    if v.fired and check.kind == "fraud pattern":
        reason = " A reason to look at these stations' protocols and observers' reports, not proof of fraud."
    elif v.fired:
        reason = (" This is a fact about the protocols, not a statistical pattern of fraud: each one is worth "
                  "checking against its paper copy.")
    return (f"{check.title}: {_found(v)}. {how}{direction} {_calibration(v)}{ruled}{not_ruled}{reason}")
