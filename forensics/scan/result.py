"""``Scan``: everything a scan found, immutable; the report and the CLI draw it and never recompute it."""
from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from ..i18n import Formats, say, translations
from ..model import Election
from ..verdicts import FLAGS, Verdicts

TEST_COLUMNS = ["test", "measure", "level", "group", "party", "statistic", "pvalue", "pvalue_adj", "ci_low", "ci_high",
                "expected", "effect", "n_used", "n_excluded", "family", "pvalue_adj_test", "family_test",
                "significant", "note"]
EXCLUDED_COLUMNS = ["analysis", "level", "group", "party", "station", "region", "tec", "pec", "reason", "n"]


def n_stations_named(findings: pd.DataFrame) -> int:
    """Distinct stations named by findings (their ``station`` positions; published totals name none)."""
    if "station" not in findings:
        return 0
    return int(findings.loc[findings["station"] >= 0, "station"].nunique())


@dataclass(frozen=True)
class Scan:
    """Everything a scan found; ``forensics.report.write_report`` draws it, never recomputes it.

    ``verdicts`` (``forensics.verdicts.Verdicts``: the calibrated headline
    decisions, the context measures and the station evidence; the summary
    speaks through them), ``tests`` (the researchers' detail: one row per
    test x level x group x party, ``TEST_COLUMNS``), ``findings``
    (reconciliation, with the ``station`` position), ``stations`` (one row
    per input station, ``forensics.verdicts.STATION_COLUMNS``), ``excluded``
    (``EXCLUDED_COLUMNS``), ``results`` ({(test, level): {group: TestResult |
    [TestResult] | note}}), ``provenance``, ``battery`` (the checks run),
    ``notes``.  ``timings`` (wall seconds per test and level, for the
    verdicts and for the reconciliation) and ``cpu_seconds`` (their CPU seconds, in the process that
    ran each step) are for benchmarks only and are written to no output
    file, so outputs stay byte-identical.
    """

    election: Election
    tests: pd.DataFrame
    findings: pd.DataFrame
    stations: pd.DataFrame
    excluded: pd.DataFrame
    results: dict
    provenance: dict
    battery: tuple
    verdicts: Verdicts
    notes: dict = field(default_factory=dict)
    timings: dict = field(default_factory=dict)
    cpu_seconds: dict = field(default_factory=dict)

    @property
    def headlines(self) -> list:
        """The headline verdicts that fired, as dicts (``Verdict.as_dict()``: code, title, words, scope, pvalue,
        effect, driving_regions, ...), in the catalogue's order."""
        return [v.as_dict() for v in self.verdicts.headlines]

    @property
    def verdict_table(self) -> pd.DataFrame:
        """One row per headline x level x group (``forensics.verdicts.TABLE_COLUMNS``): verdicts.csv."""
        return self.verdicts.table

    @property
    def context(self) -> pd.DataFrame:
        """The descriptive measures beside their range on clean simulated elections: context.csv."""
        return self.verdicts.context

    def flag_meanings(self, lang: str = "en") -> list:
        """Every flag code that can appear in ``stations.flag_codes``: what was checked (in ``lang``), stations
        flagged, and the number expected without manipulation."""
        summary = self.verdicts.stations_summary
        counts, expected = summary.get("flag_counts", {}), summary.get("expected_counts", {})
        return [{"code": code, "meaning": say(meaning, lang), "n_flagged": counts.get(code, 0),
                 "expected": expected.get(code)} for code, meaning in FLAGS.items()]

    def rule_counts(self) -> list:
        """Per reconciliation code and severity: findings, stations named, one example message."""
        f = self.findings
        if f.empty or "code" not in f:
            return []
        return [{"code": code, "severity": severity, "n_findings": len(g), "n_stations": n_stations_named(g),
                 "example": g["message"].iloc[0]}
                for (code, severity), g in f.groupby(["code", "severity"], sort=True, dropna=False)]

    def summary_paragraphs(self, lang: str = "en") -> list:
        """The one-page summary in ``lang``, paragraph by paragraph: the verdicts speak, the tests are detail."""
        tr, f = translations(lang), Formats(lang)
        _ = tr.gettext
        st, tests = self.stations, self.tests
        n_ex = int((st["excluded"] != "").sum())
        first = tr.ngettext(
            "We checked %(n)s polling station (%(excluded)s could not be analysed, each listed with its reason) with "
            "the protocol arithmetic rules and %(checks)s calibrated headline checks, at these levels: %(levels)s; "
            "the %(tests)s statistical tests behind them are listed in tests.csv for researchers.",
            "We checked %(n)s polling stations (%(excluded)s could not be analysed, each listed with its reason) with "
            "the protocol arithmetic rules and %(checks)s calibrated headline checks, at these levels: %(levels)s; "
            "the %(tests)s statistical tests behind them are listed in tests.csv for researchers.", len(st)) % {
            "n": f.number(len(st)), "excluded": f.number(n_ex), "checks": f.number(len(self.verdicts.verdicts)),
            "levels": ", ".join(self.provenance["levels"]), "tests": f.number(tests["test"].nunique())}
        if self.notes.get("levels"):
            first += " " + _("Note: the table has no region column, so the tests ran nationally only.")
        paras = [first]
        if self.notes.get("reconcile"):
            paras.append(_("Protocol arithmetic %(note)s.") % {"note": self.notes["reconcile"]})
        paras += self.verdicts.paragraphs(lang)
        cnr = tests[tests["note"].str.startswith("could not run", na=False)]
        if len(cnr):
            paras.append(_("Tests that could not run: %(tests)s.") % {"tests": "; ".join(sorted(
                {f"{r.test} ({r.note[15:]})" for r in cnr.drop_duplicates("test").itertuples()}))})
        paras.append(_("How sure: each headline's p-value is corrected over the nation and the regions (Holm) and "
                       "stands out below %(alpha)s; its false-alarm rate was measured on clean simulated elections "
                       "with realistic benign structure. A headline or a flag is a reason to look, not proof of "
                       "fraud: honest reasons (closed institutions, stations abroad, local habits) can produce some "
                       "of the same patterns, and each headline says which it rules out.") % {
            "alpha": f"{self.provenance['alpha']:g}"})
        return paras

    def summary(self, lang: str = "en") -> str:
        """The scan in plain words (in ``lang``): what was checked, what stands out, how sure."""
        return "\n\n".join(self.summary_paragraphs(lang))

    def summary_dict(self) -> dict:
        """Machine-readable summary (the content of summary.json, without the time)."""
        flagged = self.stations[self.stations["n_flags"] > 0]
        flag_counts = {}
        for codes in flagged["flag_codes"]:
            for code in codes.split(";"):
                flag_counts[code] = flag_counts.get(code, 0) + 1
        tests = self.tests
        could_not = tests[tests["note"].str.startswith("could not run", na=False)]
        decided = self.verdicts.to_dict()
        return {
            "n_stations": int(len(self.stations)),
            "n_stations_excluded": int((self.stations["excluded"] != "").sum()),
            "n_stations_flagged": int(len(flagged)),
            "flag_counts": dict(sorted(flag_counts.items())),
            "stations": decided["stations"],
            "n_findings": int(len(self.findings)),
            "findings_by_code": {str(k): int(v) for k, v in
                                 self.findings["code"].value_counts().sort_index().items()}
            if "code" in self.findings else {},
            "headlines": [decided["verdicts"][code] for code in decided["headlines"]],  # the dicts made once
            "verdicts": decided["verdicts"],
            "context": decided["context"],
            "n_tests_rows": int(len(tests)),
            "n_significant": int(tests["significant"].sum()),
            "tests_could_not_run": sorted({f"{r.test} ({r.level}): {r.note}" for r in could_not.itertuples()}),
            "summary": self.summary_paragraphs(),
            "notes": dict(self.notes),
            "provenance": {k: v for k, v in self.provenance.items() if k != "time"},
        }

    def __repr__(self) -> str:  # pragma: no cover - convenience
        return f"<Scan of {len(self.stations)} stations, {len(self.tests)} test rows>"
