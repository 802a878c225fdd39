"""``Scan``: everything a scan found, immutable; the report and the CLI draw it and never recompute it."""
from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from ..model import Election
from .flags import FLAGS, RULE_TIER
from .verdicts import headline_paragraph, nothing_paragraph

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

    ``tests`` (one row per test x level x group x party, ``TEST_COLUMNS``),
    ``findings`` (reconciliation, with the ``station`` position),
    ``stations`` (one row per input station, ``flags.STATION_COLUMNS``),
    ``excluded`` (``EXCLUDED_COLUMNS``), ``results`` ({(test, level):
    {group: TestResult | [TestResult] | note}}), ``provenance``, ``battery``
    (the checks run), ``headlines`` (``verdicts.headlines``), ``notes``.
    ``timings`` (seconds per test and level) is for benchmarks only and is
    written to no output file, so outputs stay byte-identical.
    """

    election: Election
    tests: pd.DataFrame
    findings: pd.DataFrame
    stations: pd.DataFrame
    excluded: pd.DataFrame
    results: dict
    provenance: dict
    battery: tuple
    headlines: list
    notes: dict = field(default_factory=dict)
    timings: dict = field(default_factory=dict)

    def flag_meanings(self) -> list:
        """Every flag code that can appear in ``stations.flag_codes``: code, review tier, what was checked."""
        z = self.provenance.get("flag_z", 3.5)
        rows = [{"code": c, "tier": tier, "meaning": text.format(z=z)} for c, (tier, text) in FLAGS.items()]
        f = self.findings
        if not f.empty and "code" in f:
            first = f.drop_duplicates("code").sort_values("code")
            rows += [{"code": r.code, "tier": RULE_TIER.get(str(r.severity), 3),
                      "meaning": f"protocol arithmetic ({r.severity}): {r.message}"} for r in first.itertuples()]
        return sorted(rows, key=lambda r: (r["tier"], r["code"]))

    def rule_counts(self) -> list:
        """Per reconciliation code and severity: findings, stations named, one example message."""
        f = self.findings
        if f.empty or "code" not in f:
            return []
        return [{"code": code, "severity": severity, "n_findings": len(g), "n_stations": n_stations_named(g),
                 "example": g["message"].iloc[0]}
                for (code, severity), g in f.groupby(["code", "severity"], sort=True, dropna=False)]

    def summary_paragraphs(self) -> list:
        """The one-page summary, paragraph by paragraph, in plain words."""
        st, t, f = self.stations, self.tests, self.findings
        n_ex = int((st["excluded"] != "").sum())
        paras = [f"We checked {len(st):,} polling stations ({n_ex:,} could not be analysed, each listed with its "
                 f"reason) with the protocol arithmetic rules and {t['test'].nunique()} statistical tests, "
                 f"at these levels: {', '.join(self.provenance['levels'])}."]
        if self.notes.get("levels"):
            paras[0] += f" Note: {self.notes['levels']}."
        if self.notes.get("reconcile"):
            paras.append(f"Protocol arithmetic {self.notes['reconcile']}.")
        elif "code" in f and len(f):
            errors = int((f.get("severity", pd.Series(dtype=str)) == "error").sum())
            paras.append(f"Protocol arithmetic: {len(f):,} findings ({errors:,} errors) at "
                         f"{n_stations_named(f):,} stations; most common: "
                         + ", ".join(f"{k} ({v:,})" for k, v in f["code"].value_counts().head(3).items()) + ".")
        else:
            paras.append("Protocol arithmetic: no station breaks the control relations that could be checked.")
        if self.headlines:
            paras += [headline_paragraph(h) for h in self.headlines]
        else:
            paras.append(nothing_paragraph(self.provenance["alpha"]))
        flagged = int((st["n_flags"] > 0).sum())
        tier1 = int((st["review_tier"] == 1).sum())
        paras.append(f"{flagged:,} stations carry at least one flag ({tier1:,} with an arithmetic error); "
                     "they are listed in review order, each flag with its reason.")
        cnr = t[t["note"].str.startswith("could not run", na=False)]
        if len(cnr):
            paras.append("Could not run: " + "; ".join(sorted({f"{r.test} ({r.note[15:]})" for r in
                                                               cnr.drop_duplicates("test").itertuples()})) + ".")
        paras.append(f"How sure: p-values are corrected for the number of tests and groups (Benjamini-Hochberg); "
                     f"'stands out' means a corrected p-value below {self.provenance['alpha']}. "
                     "A statistical anomaly is a reason to look, not proof of fraud: honest reasons "
                     "(small stations, hospitals, military units, local habits) can produce the same patterns.")
        return paras

    def summary(self) -> str:
        """The scan in plain words: what was checked, what stands out, how sure."""
        return "\n\n".join(self.summary_paragraphs())

    def summary_dict(self) -> dict:
        """Machine-readable summary (the content of summary.json, without the time)."""
        flagged = self.stations[self.stations["n_flags"] > 0]
        flag_counts = {}
        for codes in flagged["flag_codes"]:
            for code in codes.split(";"):
                flag_counts[code] = flag_counts.get(code, 0) + 1
        tests = self.tests
        could_not = tests[tests["note"].str.startswith("could not run", na=False)]
        return {
            "n_stations": int(len(self.stations)),
            "n_stations_excluded": int((self.stations["excluded"] != "").sum()),
            "n_stations_flagged": int(len(flagged)),
            "flag_counts": dict(sorted(flag_counts.items())),
            "n_findings": int(len(self.findings)),
            "findings_by_code": {str(k): int(v) for k, v in
                                 self.findings["code"].value_counts().sort_index().items()}
            if "code" in self.findings else {},
            "n_tests_rows": int(len(tests)),
            "n_significant": int(tests["significant"].sum()),
            "tests_could_not_run": sorted({f"{r.test} ({r.level}): {r.note}" for r in could_not.itertuples()}),
            "headlines": self.headlines,
            "summary": self.summary_paragraphs(),
            "notes": dict(self.notes),
            "provenance": {k: v for k, v in self.provenance.items() if k != "time"},
        }

    def __repr__(self) -> str:  # pragma: no cover - convenience
        return f"<Scan of {len(self.stations)} stations, {len(self.tests)} test rows>"
