"""Verdicts as data: what each headline checks, what it decided, and the words.

``Check`` describes a headline once (the question, the statistic, the null
that accounts for benign explanations, which of those it rules out and
which it does not).  ``Verdict`` is one decision on one election: the
statistic nationally, each region's result, the p-value corrected over the
nation and the regions, the effect in plain units, the false-alarm rate the
calibration benchmark measured, and the words.  ``Verdicts`` holds them all,
like a statsmodels results object: ``table``, ``summary()``, ``to_dict()``.
"""
from __future__ import annotations

import functools
import math
import textwrap
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..i18n import Formats, translations
from .calibration import false_alarm

__all__ = ["Check", "Verdict", "Verdicts", "TABLE_COLUMNS"]

#: columns of ``Verdicts.table``: one row per headline x level x group
TABLE_COLUMNS = ["code", "level", "group", "party", "statistic", "expected", "pvalue", "pvalue_adj", "significant",
                 "effect", "effect_units", "n_used", "n_excluded", "note"]


@dataclass(frozen=True)
class Check:
    """A headline, described as data.

    ``kind`` is "fraud pattern" (a statistical pattern some fraud leaves) or
    "protocol" (arithmetic the protocol must satisfy); ``statistic`` names the
    number and its units; ``null`` says what honest counting with the benign
    explanations is assumed to produce; ``ruled_out`` / ``not_ruled_out``
    list benign explanations the null does / does not cover.
    """

    code: str
    title: str
    kind: str
    question: str
    statistic: str
    null: str
    ruled_out: tuple = ()
    not_ruled_out: tuple = ()
    effect_units: str = ""

    def as_dict(self) -> dict:
        return {"code": self.code, "title": self.title, "kind": self.kind, "question": self.question,
                "statistic": self.statistic, "null": self.null, "ruled_out": list(self.ruled_out),
                "not_ruled_out": list(self.not_ruled_out), "effect_units": self.effect_units}


@dataclass
class Verdict:
    """One headline's decision on one election.

    ``groups`` has one row per level and group (National first, then the
    regions): statistic, expected, pvalue (before correction), pvalue_adj
    (Holm over the nation and every region tested), significant, effect (in
    ``check.effect_units``), n_used, note.  ``pvalue`` is the smallest
    corrected p-value (the test of "nowhere in this election"), ``fired``
    whether it is below ``alpha``, ``scope`` "national" when the nation's own
    test is significant, "regional" when only regions are, else None.
    """

    check: Check
    party: str | None
    alpha: float
    groups: pd.DataFrame
    effect: dict = field(default_factory=dict)
    direction: str = ""
    details: dict = field(default_factory=dict)
    note: str = ""

    @property
    def code(self) -> str:
        return self.check.code

    # what follows from ``groups`` is worked out once per verdict (its words, its dict and the page ask often)
    @functools.cached_property
    def national(self) -> pd.Series | None:
        rows = self.groups[self.groups["level"] == "nation"]
        return rows.iloc[0] if len(rows) else None

    @functools.cached_property
    def pvalue(self) -> float:
        p = self.groups["pvalue_adj"].astype(float)
        return float(p.min()) if p.notna().any() else math.nan

    @property
    def fired(self) -> bool:
        return bool(self.pvalue < self.alpha)

    @property
    def scope(self) -> str | None:
        if not self.fired:
            return None
        nat = self.national
        return "national" if nat is not None and bool(nat["significant"]) else "regional"

    @property
    def significant_regions(self) -> list:
        return list(self._significant_regions)

    @functools.cached_property
    def _significant_regions(self) -> tuple:
        sub = self.groups[(self.groups["level"] != "nation") & self.groups["significant"]]
        return tuple(str(g) for g in sub.sort_values("effect", ascending=False, kind="mergesort")["group"])

    @property
    def driving_regions(self) -> list:
        """The regions that drive the finding: significant ones by effect, else the most unusual before correction."""
        return list(self._driving_regions)

    @functools.cached_property
    def _driving_regions(self) -> tuple:
        regions = self._significant_regions
        if regions or not self.fired:
            return regions[:5]
        sub = self.groups[(self.groups["level"] != "nation") & (self.groups["pvalue"] < self.alpha)
                          & (self.groups["effect"] > 0)]
        return tuple(str(g) for g in sub.sort_values("effect", ascending=False, kind="mergesort")["group"].head(5))

    @property
    def false_alarm(self) -> dict:
        return false_alarm(self.code)

    @property
    def family(self) -> str:
        from .words import family_words

        return family_words(int(self.groups["pvalue"].notna().sum()))

    def words(self, lang: str = "en") -> str:
        """The verdict in plain words (in ``lang``): what was checked, found, how unusual, what was ruled out."""
        from .words import verdict_words

        return verdict_words(self, lang)

    def as_dict(self) -> dict:
        nat = self.national
        return {
            "code": self.code, "title": self.check.title, "kind": self.check.kind, "party": self.party,
            "fired": self.fired, "scope": self.scope, "pvalue": _num(self.pvalue), "alpha": self.alpha,
            "family": self.family,
            "statistic": None if nat is None else _num(nat["statistic"]),
            "expected": None if nat is None else _num(nat["expected"]),
            "effect": {k: _num(v) for k, v in self.effect.items()}, "effect_units": self.check.effect_units,
            "direction": self.direction, "n_regions_significant": len(self.significant_regions),
            "significant_regions": self.significant_regions, "driving_regions": self.driving_regions,
            "false_alarm": self.false_alarm, "ruled_out": list(self.check.ruled_out),
            "not_ruled_out": list(self.check.not_ruled_out), "note": self.note, "words": self.words(),
        }


def _num(v):
    """JSON-safe number: None for NaN, plain float/int otherwise."""
    if v is None:
        return None
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, (int, np.integer)):
        return int(v)
    try:
        f = float(v)
    except (TypeError, ValueError):
        return v
    return None if math.isnan(f) else f


@dataclass
class Verdicts:
    """Every headline's decision on one election, the context measures and the station evidence.

    ``verdicts`` maps a headline code to its ``Verdict``; ``table`` has one
    row per headline x level x group (``TABLE_COLUMNS``); ``context`` one row
    per descriptive measure with its range on clean simulated elections;
    ``stations`` the station evidence (``forensics.verdicts.stations``) when
    computed.
    """

    verdicts: dict
    context: pd.DataFrame
    stations: pd.DataFrame | None = None
    stations_summary: dict = field(default_factory=dict)
    alpha: float = 0.01
    party: str | None = None
    n_stations: int = 0

    def merged(self, other: "Verdicts") -> "Verdicts":
        """These verdicts and ``other``'s (decided apart on the same election): headlines in the catalogue's
        order, the context and station evidence of whichever has them."""
        from .catalogue import CHECKS

        both = {**self.verdicts, **other.verdicts}
        pick = self if self.stations is not None or self.stations_summary else other
        return Verdicts(verdicts={code: both[code] for code in CHECKS if code in both},
                        context=self.context if len(self.context) else other.context, stations=pick.stations,
                        stations_summary=pick.stations_summary, alpha=self.alpha, party=self.party,
                        n_stations=self.n_stations)

    @property
    def headlines(self) -> list:
        """The verdicts that fired, fraud patterns first, in the catalogue's order."""
        return [v for v in self.verdicts.values() if v.fired]

    @property
    def table(self) -> pd.DataFrame:
        frames = []
        for v in self.verdicts.values():
            g = v.groups.copy()
            g.insert(0, "code", v.code)
            g["party"] = v.party or ""
            g["effect_units"] = v.check.effect_units
            frames.append(g)
        if not frames:
            return pd.DataFrame(columns=TABLE_COLUMNS)
        out = pd.concat(frames, ignore_index=True)
        for c in TABLE_COLUMNS:
            if c not in out:
                out[c] = np.nan if c not in ("note", "party") else ""
        return out[TABLE_COLUMNS]

    def sections(self, lang: str = "en") -> list:
        """The decisions in plain words (in ``lang``) as (kind, heading, [items]); kind is "fired", "quiet",
        "context" or "stations"."""
        from .context import context_words
        from .stations import stations_words

        _ = translations(lang).gettext
        fired = self.headlines
        quiet = [v for v in self.verdicts.values() if not v.fired]
        out = [("fired", _("Stands out:") if fired else _("No headline stands out."), [v.words(lang) for v in fired])]
        if quiet:
            out.append(("quiet", _("Checked, nothing stands out:"), [v.words(lang) for v in quiet]))
        if len(self.context):
            out.append(("context", _("Context (descriptive estimates beside their range on clean simulated "
                                     "elections; never headlines):"),
                        [context_words(row, lang) for row in self.context.to_dict("records")]))
        if "n_flagged" in self.stations_summary:
            out.append(("stations", "", [stations_words(self.stations_summary, lang)]))
        elif "error" in self.stations_summary:
            out.append(("stations", "", [_("Station evidence could not run: %(reason)s.") % {
                "reason": self.stations_summary["error"]}]))
        return out

    def paragraphs(self, lang: str = "en") -> list:
        """``sections()`` as paragraphs: one per verdict, one for the context, one for the station evidence."""
        out = []
        for kind, heading, items in self.sections(lang):
            if kind == "context":
                out.append(" ".join([heading, *items]))
            elif items:
                out += [f"{heading} {item}".strip() for item in items]
            else:
                out.append(heading)
        return out

    def summary(self, lang: str = "en") -> str:
        """The decisions in plain words (in ``lang``), headlines first, then context and station evidence."""
        _ = translations(lang).gettext
        lines = [_("Verdicts on %(n)s polling stations (alpha %(alpha)s, party: %(party)s)") % {
            "n": Formats(lang).number(self.n_stations), "alpha": f"{self.alpha:g}",
            "party": self.party or _("each test’s default")}]
        for _kind, heading, items in self.sections(lang):
            lines += ["", heading] if heading else [""]
            for item in items:
                lines += _wrap(f"- {item}" if heading else item)
        return "\n".join(lines)

    def to_dict(self) -> dict:
        """Everything as plain JSON-able data."""
        context = [{k: _num(v) if not isinstance(v, (str, list, dict)) else v for k, v in row.items()}
                   for row in self.context.to_dict(orient="records")]
        return {"alpha": self.alpha, "party": self.party, "n_stations": self.n_stations,
                "headlines": [v.code for v in self.headlines],
                "verdicts": {code: v.as_dict() for code, v in self.verdicts.items()},
                "context": context, "stations": self.stations_summary}

    def __repr__(self) -> str:  # pragma: no cover - convenience
        return f"<Verdicts: {len(self.headlines)} of {len(self.verdicts)} headlines fired>"


def _wrap(text: str) -> list:
    return textwrap.wrap(text, 100, subsequent_indent="  ") or [""]
