"""``write_report``: the self-contained HTML report plus the CSV/JSON tables and figure files.

The page is rendered from ``templates/report.html.j2`` with autoescaping on,
so every name that comes from the data (party, region, station) is shown as
text.  Figures are embedded as base64 PNG; scripts and styles are inline;
the page loads nothing from the network.
"""
from __future__ import annotations

import functools
import math
import os
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

from ..output import OutputFolder
from ..stats.result import TestResult
from ..templating import environment
from .figures import make_figures
from .methods import METHODS, REFERENCES, SECTIONS
from .tables import write_tables


@functools.cache
def _env():
    return environment("forensics.report")


def _records(frame: pd.DataFrame) -> list:
    return frame.astype(object).where(frame.notna(), None).to_dict("records")


def _verdict(row) -> str:
    """The words for a row's verdict, from what the scan decided (``significant``)."""
    if row["note"]:
        return row["note"]
    if row["pvalue"] is None or (isinstance(row["pvalue"], float) and math.isnan(row["pvalue"])):
        return "descriptive (no p-value)"
    return "stands out" if row["significant"] else "does not stand out"


def _cards(scan, area: str) -> list:
    """One card per test of an area: the national result(s) and the test's own explanation."""
    cards = []
    nation = scan.tests[scan.tests["level"] == "nation"]
    for check in scan.battery:
        if check.area != area:
            continue
        rows = nation[nation["test"] == check.name]
        res = scan.results.get((check.name, "nation"), {}).get("National")
        items = res if isinstance(res, (list, tuple)) else [res]
        explanations = [r.explanation for r in items if isinstance(r, TestResult) and r.explanation]
        levels = sorted(set(scan.tests.loc[scan.tests["test"] == check.name, "level"]))
        cards.append({
            "name": check.name, "title": check.title,
            "rows": [dict(r, verdict=_verdict(r)) for r in _records(rows)],
            "explanations": explanations,
            "levels": levels,
            "n_significant_groups": int(scan.tests[(scan.tests["test"] == check.name)
                                                   & (scan.tests["level"] != "nation")]["significant"].sum()),
        })
    return cards


def _region_table(scan) -> tuple[list, list]:
    """Rows = groups below the nation; per test the smallest corrected p-value and its effect."""
    sub = scan.tests[(scan.tests["level"] != "nation") & (scan.tests["note"] == "")]
    if sub.empty:
        return [], []
    sub = sub.sort_values(["pvalue_adj", "test", "party"], na_position="last", kind="mergesort")
    best = sub.drop_duplicates(["level", "group", "test"])
    tests = [c.name for c in scan.battery if c.name in set(best["test"])]
    rows = []
    for (level, group), g in best.groupby(["level", "group"], sort=True):
        cells = {r.test: {"p": r.pvalue_adj, "effect": r.effect, "sig": bool(r.significant)} for r in g.itertuples()}
        rows.append({"level": level, "group": group, "n_significant": int(g["significant"].sum()),
                     "cells": [cells.get(t) for t in tests]})
    return tests, rows


def _exclusion_counts(scan) -> list:
    ex = scan.excluded
    n_total = len(scan.stations)
    used = scan.tests[scan.tests["level"] == "nation"].drop_duplicates("test").set_index("test")["n_used"]
    rows = []
    for analysis, g in ex.groupby("analysis", sort=False):
        first = g[g["level"] == g["level"].iloc[0]]
        by_reason = first.groupby("reason", sort=False)["n"].sum()
        for reason, n in by_reason.items():
            rows.append({"analysis": analysis, "level": first["level"].iloc[0], "reason": reason, "n": int(n),
                         "n_used": used.get(analysis), "n_total": n_total})
    return rows


def write_report(scan, out_dir, title: str | None = None, max_rows: int = 2000, formats=("png", "svg"),
                 time: str | None = None, progress: bool = True, raw_csv: bool = False) -> Path:
    """Write report.html, the CSV/JSON tables and figures/ into ``out_dir``; return the HTML path.

    The folder is written completely or not at all
    (``forensics.output.OutputFolder``).  ``max_rows`` caps the long HTML
    tables (the CSV files always hold every row).  ``time`` overrides the
    report's timestamp (default: the scan's provenance time, or
    ``SOURCE_DATE_EPOCH`` when set).  ``raw_csv`` leaves formula-like cells
    of the CSV files as they are.  Figures that could not be drawn are shown
    as notes in the page and listed in ``report_notes(path)``.
    """
    if time is None and os.environ.get("SOURCE_DATE_EPOCH"):
        time = datetime.fromtimestamp(int(os.environ["SOURCE_DATE_EPOCH"]), timezone.utc).isoformat()
    provenance = dict(scan.provenance, time=time or scan.provenance.get("time"))

    stations = scan.stations
    flagged = stations[stations["n_flags"] > 0].sort_values("review_order", kind="mergesort")
    excluded_stations = stations[stations["excluded"] != ""]
    tests, region_rows = _region_table(scan)
    with OutputFolder(out_dir, raw_csv=raw_csv) as folder:
        paths = write_tables(scan, folder)
        figures = make_figures(scan, folder, formats=formats, progress=progress)
        by_section = {}
        for fig in figures:
            by_section.setdefault(fig["section"], []).append(fig)
        context = {
            "title": title or f"Election forensics report: {scan.election.profile}",
            "summary": scan.summary_paragraphs(),
            "headlines": scan.headlines,
            "alpha": scan.provenance["alpha"],
            "n_stations": len(stations),
            "n_flagged": len(flagged),
            "findings": _records(scan.findings.head(max_rows)),
            "n_findings": len(scan.findings),
            "findings_columns": list(scan.findings.columns),
            "numeric_findings": [c for c in scan.findings.columns
                                 if pd.api.types.is_numeric_dtype(scan.findings[c])],
            "reconcile_note": scan.notes.get("reconcile", ""),
            "rule_counts": scan.rule_counts(),
            "cards": {area: _cards(scan, area) for area in ("fingerprints", "spikes", "shape", "digits", "other")},
            "figures": by_section,
            "figure_errors": [f"{f['id']}: {f['error']}" for f in figures if f["error"]],
            "region_tests": tests,
            "region_rows": region_rows,
            "flagged": _records(flagged.head(max_rows)),
            "flag_meanings": scan.flag_meanings(),
            "excluded_counts": _exclusion_counts(scan),
            "excluded_stations": _records(excluded_stations.head(max_rows)),
            "n_excluded_stations": len(excluded_stations),
            "max_rows": max_rows,
            "methods": [dict(METHODS.get(c.name, {"text": c.title}), name=c.name, title=c.title,
                             levels=", ".join(c.levels), params=c.params) for c in scan.battery],
            "references": REFERENCES,
            "sections": SECTIONS,
            "provenance": provenance,
            "files": sorted(p.name for p in paths.values()),
        }
        folder.text("report.html", _env().get_template("report.html.j2").render(**context))
        if context["figure_errors"]:
            folder.text("figure_errors.txt", "\n".join(context["figure_errors"]) + "\n")
    return folder.target / "report.html"


def report_notes(path) -> list[str]:
    """The figures a written report could not draw (empty when all were drawn)."""
    notes = Path(path).with_name("figure_errors.txt")
    return notes.read_text(encoding="utf-8").splitlines() if notes.exists() else []
