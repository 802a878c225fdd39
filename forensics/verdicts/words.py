"""The words of each verdict: what was checked, what was found, how unusual, what was ruled out.

Every verdict says in plain words what it measured, the effect in stations,
votes or points, how unusual that is after the correction over regions, how
often it fired on clean simulated elections, which benign explanations its
null covers and which it does not, the direction of the pattern and the
regions that drive it.  No verdict calls a pattern proof of fraud.  Every
sentence is a msgid of the message catalogs (``forensics/locale``), said in
``lang`` with the locale's number formats.
"""
from __future__ import annotations

import math

from ..i18n import Formats, say, translations

__all__ = ["verdict_words", "p_words", "family_words"]


def _missing(x) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


def p_words(p, lang: str = "en") -> str:
    """A corrected p-value in words: two significant digits, "below 1e-300" for zero."""
    _ = translations(lang).gettext
    if _missing(p):
        return _("not computable")
    return _("below 1e-300") if p == 0 else f"{p:.2g}"


def family_words(n: int, lang: str = "en") -> str:
    """The family a verdict's p-values are corrected over."""
    t = translations(lang)
    if n > 1:
        return t.gettext("Holm over %(n)s tests: the nation and each region tested") % {"n": Formats(lang).number(n)}
    return t.gettext("a single test (no correction)")


def _found(v, lang: str) -> str:
    _, f = translations(lang).gettext, Formats(lang)
    e = v.effect
    party = v.party or _("the leading party")
    if not e:
        return _("it could not be computed on these data")
    if v.code == "integer":
        return _("%(observed)s stations report a whole-number turnout or result for %(party)s, against %(expected)s "
                 "expected from honest counting of the same stations (excess %(excess)s stations, %(z)s standard "
                 "deviations)") % {"observed": f.number(e["observed"]), "party": party,
                                   "expected": f.number(e["expected"]), "excess": f.signed(e["excess_stations"]),
                                   "z": f.number(e["z"], 1)}
    if v.code == "stuffing":
        return _("inside neighbourhoods, stations with higher turnout than their neighbours gave the other parties "
                 "%(kappa)s of their proportional part of the extra ballots (1 when voters vote as their neighbours "
                 "do, 0 when all extra ballots go to %(party)s; clean elections stay above %(benign)s); about "
                 "%(votes)s votes for %(party)s at those stations exceed a proportional share") % {
            "kappa": f.number(e["kappa"], 2), "party": party, "benign": f.number(v.details.get("benign", 0.5), 1),
            "votes": f.number(e["excess_votes"])}
    if v.code == "turnout_100":
        return _("%(stations)s stations of 100+ voters report 100%% turnout with at least 95%% for %(party)s "
                 "(%(ballots)s ballots), where closed institutions could explain about %(allowed)s; %(small)s "
                 "smaller stations that do the same were not counted") % {
            "stations": f.number(e["stations"]), "party": party, "ballots": f.number(e["ballots"]),
            "allowed": f.number(e["allowed"], 1), "small": f.number(e["small_stations_not_counted"])}
    if v.code == "digits":
        return _("digit %(digit)s ends %(share)s of the party counts against %(expected)s expected (%(points)s "
                 "points)") % {"digit": int(e["digit"]), "share": f.percent(e["share"], 1),
                               "expected": f.percent(e["expected_share"], 1), "points": f.points(e["excess_points"], 1)}
    if v.code == "arithmetic":
        rules = [f"{k[5:]} ({f.number(n)})" for k, n in e.items() if k.startswith("rule ")]
        found = _("%(stations)s stations' protocols break a control relation of the form") % {
            "stations": f.number(e["stations"])}
        return found + (" " + _("(most common: %(rules)s)") % {"rules": ", ".join(rules)} if rules else "")
    return ""


def _calibration(v, lang: str) -> str:
    _, f = translations(lang).gettext, Formats(lang)
    fa = v.false_alarm
    if not fa:
        return _("Its false-alarm rate has not been measured (run benchmarks/calibrate_verdicts.py).")
    return _("On %(runs)s clean simulated elections with realistic benign structure (preset %(preset)s, "
             "%(benchmark)s) it fired in %(fired)s (%(rate)s).") % {
        "runs": f.number(fa["runs"]), "preset": fa["preset"], "benchmark": fa["benchmark"],
        "fired": f.number(fa["fired"]), "rate": f.percent(fa["rate"], 1)}


def verdict_words(v, lang: str = "en") -> str:
    """One verdict in plain words, in ``lang``."""
    tr = translations(lang)
    _ = tr.gettext
    check = v.check
    title = _(check.title)
    if v.note.startswith("could not run"):
        return _("%(title)s: could not run: %(reason)s.") % {"title": title, "reason": v.note[len("could not run: "):]}
    family = family_words(int(v.groups["pvalue"].notna().sum()), lang)
    if v.fired:
        how = (_("This stands out nationally: corrected p = %(p)s (%(family)s).") if v.scope == "national" else
               _("This stands out in some regions, not in the nation as a whole: corrected p = %(p)s (%(family)s)."))
        how %= {"p": p_words(v.pvalue, lang), "family": family}
        regions = v.driving_regions
        if regions and v.significant_regions:
            n = len(v.significant_regions)
            how += " " + tr.ngettext("Significant on its own in %(n)s region; driven most by %(regions)s.",
                                     "Significant on its own in %(n)s regions; driven most by %(regions)s.", n) % {
                "n": Formats(lang).number(n), "regions": ", ".join(regions)}
        elif regions:
            how += " " + _("The regions most unusual before correction: %(regions)s.") % {"regions": ", ".join(regions)}
    else:
        how = _("Nothing stands out: the smallest corrected p-value is %(p)s (%(family)s).") % {
            "p": p_words(v.pvalue, lang), "family": family}
    parts = [f"{title}: {_found(v, lang)}.", how]
    if v.direction and v.fired:
        parts.append(_("Direction: %(direction)s.") % {"direction": say(v.direction, lang)})
    parts.append(_calibration(v, lang))
    if check.ruled_out:
        parts.append(_("Ruled out by the null: %(items)s.") % {"items": "; ".join(_(x) for x in check.ruled_out)})
    if check.not_ruled_out:
        parts.append(_("Not ruled out: %(items)s.") % {"items": "; ".join(_(x) for x in check.not_ruled_out)})
    if v.fired and check.kind == "fraud pattern":
        parts.append(_("A reason to look at these stations' protocols and observers' reports, not proof of fraud."))
    elif v.fired:
        parts.append(_("This is a fact about the protocols, not a statistical pattern of fraud: each one is worth "
                       "checking against its paper copy."))
    return " ".join(parts)
