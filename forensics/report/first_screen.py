"""The report's first screen: the election, one plain sentence per verdict, the arithmetic, in the reader's language.

This is the one place where the report reads the verdicts: the sentence
functions turn each ``Verdict`` of the scan's ``Verdicts`` (``forensics.verdicts``) into words from the message catalogs, with
numbers written the locale's way.  No test code, method name or raw
p-value appears here: how unusual a finding is is said in words
(``unusual_words``), and the codes and p-values stay in the methods section.
"""
from __future__ import annotations

from ..i18n import N_, Formats, translations

__all__ = ["verdict_sentences", "quiet_sentence", "arithmetic_sentence", "flagged_sentence",
           "unusual_words", "summary_text", "SHORT_TITLES", "CAVEAT"]

CAVEAT = N_("A statistical anomaly is a reason to look, not proof of fraud: honest explanations (very small "
            "stations, hospitals, military units, local habits) must be ruled out first.")

#: each headline's name inside a sentence ("Checked, nothing unusual: ...")
SHORT_TITLES = {
    "integer": N_("whole-number percentages"),
    "stuffing": N_("extra ballots going to one party"),
    "turnout_100": N_("a cluster of stations at 100% turnout"),
    "digits": N_("last digits of the vote counts"),
    "arithmetic": N_("protocol arithmetic"),
}


def unusual_words(p: float, lang: str = "en") -> str:
    """How unusual a corrected p-value is, in words a journalist can quote (never the number itself)."""
    t = translations(lang)
    if p < 1e-6:
        return t.gettext("far beyond chance: fewer than 1 in a million clean elections would show this")
    if p < 1e-3:
        return t.gettext("well beyond chance: fewer than 1 in a thousand clean elections would show this")
    return t.gettext("beyond chance: fewer than 1 in %(n)s clean elections would show this") % {
        "n": Formats(lang).number(100 if p < 0.01 else 20)}


def _found(v, lang: str) -> str:
    """What a fired verdict found, with its effect in stations, votes or points."""
    t, f, e = translations(lang), Formats(lang), v.effect
    party = v.party or t.gettext("the leading party")
    if v.code == "integer":
        return t.gettext("More whole-number percentages than honest counting gives: %(observed)s stations report a "
                         "whole-number turnout or result for %(party)s, %(excess)s more than the %(expected)s "
                         "expected") % {"observed": f.number(e["observed"]), "party": party,
                                        "excess": f.number(e["excess_stations"]), "expected": f.number(e["expected"])}
    if v.code == "stuffing":
        return t.gettext("Extra ballots going to one party: where turnout is higher than at neighbouring stations, "
                         "the other parties receive only %(kappa)s of their usual share of the extra ballots; about "
                         "%(votes)s votes for %(party)s exceed a proportional share") % {
            "kappa": f.percent(e["kappa"], 0), "votes": f.number(e["excess_votes"]), "party": party}
    if v.code == "turnout_100":
        return t.gettext("A cluster at 100%% turnout: %(stations)s stations report 100%% turnout with at least 95%% "
                         "of the ballots for %(party)s (%(ballots)s ballots), where closed institutions such as "
                         "military units or hospitals could explain about %(allowed)s") % {
            "stations": f.number(e["stations"]), "party": party, "ballots": f.number(e["ballots"]),
            "allowed": f.number(e["allowed"])}
    if v.code == "digits":
        return t.gettext("Unusual last digits: %(digit)s ends %(share)s of the vote counts, against %(expected)s "
                         "expected of honest counts") % {
            "digit": f.number(e["digit"]), "share": f.percent(e["share"], 1),
            "expected": f.percent(e["expected_share"], 1)}
    return t.gettext(SHORT_TITLES.get(v.code, v.check.title))


def _where(v, lang: str) -> str:
    t = translations(lang)
    regions = ", ".join(v.driving_regions)
    if v.scope == "national":
        return (t.gettext("Seen in the country as a whole; strongest in %(regions)s") % {"regions": regions}
                if regions else t.gettext("Seen in the country as a whole"))
    return t.gettext("Seen in some regions only: %(regions)s") % {"regions": regions}


def verdict_sentences(verdicts, lang: str = "en") -> list[dict]:
    """One sentence per fired fraud-pattern verdict: {"code", "text"} (what, how much, where, how unusual)."""
    out = []
    for v in verdicts.headlines:
        if v.check.kind != "fraud pattern":
            continue
        unusual = unusual_words(v.pvalue, lang)
        text = f"{_found(v, lang)}. {_where(v, lang)}. {unusual[:1].upper()}{unusual[1:]}."
        out.append({"code": v.code, "text": text})
    return out


def quiet_sentence(verdicts, lang: str = "en") -> str:
    """The checks that ran and found nothing unusual, in one sentence (empty when there are none)."""
    t = translations(lang)
    quiet = [v for v in verdicts.verdicts.values()
             if v.check.kind == "fraud pattern" and not v.fired and not v.note]
    if not quiet:
        return ""
    names = ", ".join(t.gettext(SHORT_TITLES.get(v.code, v.check.title)) for v in quiet)
    return t.gettext("Checked and within what honest counting gives: %(checks)s.") % {"checks": names}


def arithmetic_sentence(verdicts, n_stations: int, lang: str = "en") -> str:
    """The protocol arithmetic in one sentence: how many protocols do not add up, or that all do."""
    t, f = translations(lang), Formats(lang)
    v = verdicts.verdicts.get("arithmetic")
    if v is None or v.note:
        return t.gettext("Protocol arithmetic could not be checked on these data.")
    n = int((v.effect or {}).get("stations", 0) or 0)
    if n == 0:
        return t.gettext("Protocol arithmetic: every protocol that could be checked adds up.")
    return t.ngettext("Protocol arithmetic: %(n)s protocol of %(total)s does not add up; it is listed below "
                      "to be checked against the paper copy.",
                      "Protocol arithmetic: %(n)s protocols of %(total)s do not add up; they are listed below "
                      "to be checked against the paper copy.", n) % {"n": f.number(n), "total": f.number(n_stations)}



def flagged_sentence(n_flagged: int, n_stations: int, lang: str = "en", expected: float | None = None) -> str:
    """How many stations are flagged for a closer look, beside how many honest counting would flag."""
    t, f = translations(lang), Formats(lang)
    if n_flagged == 0:
        text = t.gettext("No polling station is flagged for a closer look.")
    else:
        text = t.ngettext("%(n)s polling station of %(total)s is flagged for a closer look (see the station table).",
                          "%(n)s polling stations of %(total)s are flagged for a closer look (see the station "
                          "table).", n_flagged) % {"n": f.number(n_flagged), "total": f.number(n_stations)}
    if expected is not None:
        text += " " + t.gettext("Without any manipulation about %(expected)s would be flagged by chance and by "
                                "honest special stations.") % {"expected": f.number(round(expected))}
    return text


def summary_text(scan, verdicts, lang: str = "en", title: str = "", date: str = "") -> str:
    """The first screen as plain text (the CLI's summary): election, verdicts, arithmetic, flagged stations."""
    t = translations(lang)
    st = scan.stations
    lines = [" — ".join(x for x in (title, date) if x)] if title or date else []
    sentences = verdict_sentences(verdicts, lang)
    if sentences:
        lines.append(t.gettext("What stands out:"))
        lines += [f"- {s['text']}" for s in sentences]
    else:
        lines.append(t.gettext("No pattern that fraud leaves stands out beyond what honest counting gives."))
    quiet = quiet_sentence(verdicts, lang)
    lines += [quiet] if quiet else []
    lines.append(arithmetic_sentence(verdicts, len(st), lang))
    lines.append(flagged_sentence(int((st["n_flags"] > 0).sum()), len(st), lang,
                                  verdicts.stations_summary.get("expected")))
    lines.append(t.gettext(CAVEAT))
    return "\n\n".join(lines)
