"""``write_report``: the self-contained HTML report plus the CSV/JSON tables and figure files.

The page is rendered from ``templates/report.html.j2`` with autoescaping on,
so every name that comes from the data (party, region, station) is shown as
text.  Every word of the page comes from the message catalogs, in the
language asked for (``lang``), with numbers and dates written the locale's
way.  The first screen answers (``first_screen``): the election, one
sentence per verdict, the arithmetic, the key figure.  Figures are embedded
as base64 PNG, every flagged station as compact JSON paged by the page's
script; scripts and styles are inline; the page loads nothing from the
network.
"""
from __future__ import annotations

import functools
import math
import os
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd

from ..election_info import ElectionInfo
from ..i18n import N_, Formats, check_lang, translations
from ..output import OutputFolder
from ..reconcile import RULES
from ..stats.result import TestResult
from ..templating import environment
from .figures import draw_figures
from .first_screen import (CAVEAT, SHORT_TITLES, arithmetic_sentence, flagged_sentence, quiet_sentence,
                           verdict_sentences)
from .methods import METHODS, REFERENCES, SECTIONS
from .reasons import reason_words
from .stations import script_json, station_payload
from .tables import write_tables

_SEVERITY = {"error": N_("error"), "warning": N_("warning")}
_VERDICT_WORDS = {"descriptive": N_("descriptive (no p-value)"), "stands": N_("stands out"),
                  "quiet": N_("does not stand out")}


@functools.cache
def _env(lang: str):
    return environment("forensics.report", lang)


def _records(frame: pd.DataFrame) -> list:
    """The rows as dicts of plain Python values (numpy scalars unboxed), None where missing; built column by column."""
    columns = []
    for i in range(frame.shape[1]):
        col = frame.iloc[:, i]
        values = col.tolist()
        if col.dtype == object:
            values = [v.item() if isinstance(v, np.generic) else v for v in values]
        missing = col.isna().to_numpy()
        columns.append([None if m else v for v, m in zip(values, missing.tolist())] if missing.any() else values)
    names = list(frame.columns)
    return [dict(zip(names, row)) for row in zip(*columns)]


def _verdict(row) -> str:
    """The key of a row's verdict words (``_VERDICT_WORDS``), from what the scan decided (``significant``)."""
    if row["pvalue"] is None or (isinstance(row["pvalue"], float) and math.isnan(row["pvalue"])):
        return "descriptive"
    return "stands" if row["significant"] else "quiet"


def _cards(scan, areas) -> dict:
    """Per area, one card per test: the national result(s) and the test's own explanation."""
    tests = scan.tests
    nation = tests[tests["level"] == "nation"]
    rows_by_test: dict = {}
    for r in _records(nation):  # converted once, grouped here: a conversion per test costs more than the rows
        rows_by_test.setdefault(r["test"], []).append(dict(r, verdict=_verdict(r)))
    levels = {name: sorted(set(g)) for name, g in tests.groupby("test", sort=False)["level"]}
    below = tests[tests["level"] != "nation"].groupby("test", sort=False)["significant"].sum()
    cards = {area: [] for area in areas}
    for check in scan.battery:
        if check.area not in cards:
            continue
        res = scan.results.get((check.name, "nation"), {}).get("National")
        items = res if isinstance(res, (list, tuple)) else [res]
        cards[check.area].append({
            "name": check.name, "title": check.title,
            "rows": rows_by_test.get(check.name, []),
            "explanations": [r.explanation for r in items if isinstance(r, TestResult) and r.explanation],
            "levels": levels.get(check.name, []),
            "n_significant_groups": int(below.get(check.name, 0)),
        })
    return cards


def _region_table(scan) -> tuple[list, list]:
    """Rows = groups below the nation; per test the smallest corrected p-value and its effect."""
    sub = scan.tests[(scan.tests["level"] != "nation") & (scan.tests["note"] == "")]
    if sub.empty:
        return [], []
    sub = sub.sort_values(["pvalue_adj", "test", "party"], na_position="last", kind="mergesort")
    best = sub.drop_duplicates(["level", "group", "test"]).sort_values(["level", "group"], kind="mergesort")
    tests = [c.name for c in scan.battery if c.name in set(best["test"])]
    groups: dict = {}
    for r in best[["level", "group", "test", "pvalue_adj", "effect", "significant"]].itertuples(index=False):
        groups.setdefault((r.level, r.group), {})[r.test] = {"p": r.pvalue_adj, "effect": r.effect,
                                                             "sig": bool(r.significant)}
    rows = [{"level": level, "group": group, "n_significant": sum(c["sig"] for c in cells.values()),
             "cells": [cells.get(t) for t in tests]} for (level, group), cells in groups.items()]
    return tests, rows


def _exclusion_counts(scan) -> list:
    """Per analysis (in the order of ``scan.excluded``), the stations excluded at its first level, per reason."""
    ex = scan.excluded
    n_total = len(scan.stations)
    used = scan.tests[scan.tests["level"] == "nation"].drop_duplicates("test").set_index("test")["n_used"]
    analysis, analyses = pd.factorize(ex["analysis"])  # codes in order of first appearance; -1 where missing
    level, levels = pd.factorize(ex["level"])
    present = np.flatnonzero(analysis >= 0)
    firsts = present[np.unique(analysis[present], return_index=True)[1]]  # each analysis' first row
    first_level = np.full(len(analyses) + 1, -2)
    first_level[analysis[firsts]] = level[firsts]
    keep = (analysis >= 0) & (level == first_level[analysis])
    kept = pd.DataFrame({"analysis": analysis[keep], "reason": ex["reason"].to_numpy()[keep],
                         "n": ex["n"].to_numpy()[keep]})
    sums = kept.groupby(["analysis", "reason"], sort=False)["n"].sum().reset_index()
    sums = sums.sort_values("analysis", kind="mergesort")  # analyses in order, their reasons as first seen
    return [{"analysis": analyses[a], "level": levels[first_level[a]], "reason": reason, "n": int(n),
             "n_used": used.get(analyses[a]), "n_total": n_total}
            for a, reason, n in zip(sums["analysis"].tolist(), sums["reason"].tolist(), sums["n"].tolist())]


def _findings(scan, t, max_rows: int) -> tuple[list, list]:
    """The rule counts and the first ``max_rows`` findings, each rule and severity said in the page's language."""
    titles = {r.code: r.title for r in RULES}

    @functools.cache
    def said(code, severity) -> dict:  # the same few codes on thousands of rows
        return {"title": t.gettext(titles[code]) if code in titles else code,
                "severity": t.gettext(_SEVERITY[severity]) if severity in _SEVERITY else str(severity)}

    counts = [dict(r, **said(r["code"], r["severity"])) for r in scan.rule_counts()]
    rows = [dict(r, **said(r.get("code"), r.get("severity"))) for r in _records(scan.findings.head(max_rows))]
    return counts, rows


def _verdict_rows(verdicts, t) -> list:
    """The verdicts for the methods section: title, code, corrected p-value, correction, clean-election false alarms."""
    rows = []
    for v in verdicts.verdicts.values():
        fa = v.false_alarm
        rows.append({"code": v.code, "title": t.gettext(SHORT_TITLES.get(v.code, v.check.title)), "fired": v.fired,
                     "pvalue": v.pvalue, "note": v.note, "n_tests": int(v.groups["pvalue"].notna().sum()),
                     "fa_fired": fa.get("fired"), "fa_runs": fa.get("runs")})
    return rows


def _ui_text(lang: str) -> str:
    """The words the page's script shows, as JSON safe inside a ``<script>`` element."""
    t = translations(lang)
    return script_json({"lang": lang, "sort": t.gettext("Click to sort"),
                        "range": t.gettext("Stations %(from)s–%(to)s of %(n)s"),
                        "none": t.gettext("No station matches.")})


def write_report(scan, out_dir, title: str | None = None, date=None, lang: str = "en", max_rows: int = 2000,
                 formats=("png",), time: str | None = None, progress: bool = True, raw_csv: bool = False,
                 workers: int | None = None) -> Path:
    """Write report.html, the CSV/JSON tables and figures/ into ``out_dir``; return the HTML path.

    ``title`` and ``date`` (YYYY-MM-DD) name the election on the first
    screen (default: the profile's ``meta["election"]``); ``lang`` ("en",
    "ru", "kk") is the page's language.  The folder is written completely or
    not at all (``forensics.output.OutputFolder``).  ``max_rows`` caps the
    long HTML tables of findings and excluded stations (the CSV files always
    hold every row; every flagged station is in the page).  ``verdicts``: the
    ``forensics.verdicts.Verdicts`` to state (default: the scan's).  ``time`` overrides the
    report's timestamp (default: the scan's provenance time, or
    ``SOURCE_DATE_EPOCH`` when set).  ``raw_csv`` leaves formula-like cells
    of the CSV files as they are.  Figures that could not be drawn are shown
    as notes in the page and listed in ``report_notes(path)``.  ``workers``:
    processes drawing the figures (default up to 2; 1 draws them here); the
    page and the files are the same whatever their number.
    """
    if time is None and os.environ.get("SOURCE_DATE_EPOCH"):
        time = datetime.fromtimestamp(int(os.environ["SOURCE_DATE_EPOCH"]), timezone.utc).isoformat()
    check_lang(lang)
    with draw_figures(scan, formats=formats, lang=lang, workers=workers) as pending:  # drawn while the rest is done
        return _write(scan, pending, out_dir, title, date, lang, max_rows, time, progress, raw_csv)


def _write(scan, pending, out_dir, title, date, lang, max_rows, time, progress, raw_csv) -> Path:
    """``write_report``'s files and page, the figures (``pending``) collected last."""
    provenance = dict(scan.provenance, time=time or scan.provenance.get("time"))
    info = ElectionInfo.of(scan.election, title, date)
    verdicts = scan.verdicts
    fmt, t = Formats(lang), translations(lang)

    stations = scan.stations
    n_flagged = int((stations["n_flags"] > 0).sum())
    excluded_stations = stations[stations["excluded"] != ""]
    tests, region_rows = _region_table(scan)
    rule_counts, findings = _findings(scan, t, max_rows)
    said = functools.cache(functools.partial(reason_words, lang=lang))  # a few reasons on thousands of stations
    with OutputFolder(out_dir, raw_csv=raw_csv) as folder:
        paths = write_tables(scan, folder)
        context = {
            "election": info.title,
            "date": fmt.date(info.date) if info.date else "",
            "profile": scan.election.profile,
            "sentences": verdict_sentences(verdicts, lang),
            "quiet": quiet_sentence(verdicts, lang),
            "caveat": t.gettext(CAVEAT),
            "arithmetic": arithmetic_sentence(verdicts, len(stations), lang),
            "flagged_sentence": flagged_sentence(n_flagged, len(stations), lang, verdicts.stations_summary.get("expected")),
            "verdict_rows": _verdict_rows(verdicts, t),
            "verdict_words": _VERDICT_WORDS,
            "alpha": scan.provenance["alpha"],
            "n_stations": len(stations),
            "n_flagged": n_flagged,
            "findings": findings,
            "n_findings": len(scan.findings),
            "reconcile_note": scan.notes.get("reconcile", ""),
            "rule_counts": rule_counts,
            "cards": _cards(scan, ("fingerprints", "spikes", "shape", "digits", "other")),
            "region_tests": tests,
            "region_rows": region_rows,
            "station_data": station_payload(stations, lang),
            "flag_meanings": scan.flag_meanings(lang),
            "excluded_counts": [dict(r, reason=said(r["reason"])) for r in _exclusion_counts(scan)],
            "excluded_stations": [dict(r, excluded=said(r["excluded"])) for r in
                                  _records(excluded_stations[["region", "tec", "pec", "excluded"]].head(max_rows))],
            "n_excluded_stations": len(excluded_stations),
            "max_rows": max_rows,
            "methods": [dict(METHODS.get(c.name, {}), text=t.gettext(METHODS[c.name]["text"]) if c.name in METHODS
                             else c.title, name=c.name, title=c.title, levels=", ".join(c.levels), params=c.params)
                        for c in scan.battery],
            "references": REFERENCES,
            "sections": [(sid, t.gettext(name)) for sid, name in SECTIONS],
            "section_names": {sid: t.gettext(name) for sid, name in SECTIONS},
            "page_title": " — ".join(x for x in (info.title, t.gettext("Election forensics report")) if x),
            "ui_text": _ui_text(lang),
            "provenance": provenance,
            "files": sorted(p.name for p in paths.values()),
        }
        template = _env(lang).get_template("report.html.j2")
        figures = pending.collect(folder, progress)
        by_section = {}
        for fig in figures:
            by_section.setdefault(fig["section"], []).append(fig)
        context.update(key_figure=next((f for f in figures if f["id"] == "fingerprint" and f["png"]), None),
                       figures=by_section, figure_errors=[f"{f['id']}: {f['error']}" for f in figures if f["error"]])
        folder.text("report.html", template.render(**context))
        if context["figure_errors"]:
            folder.text("figure_errors.txt", "\n".join(context["figure_errors"]) + "\n")
    return folder.target / "report.html"


def report_notes(path) -> list[str]:
    """The figures a written report could not draw (empty when all were drawn)."""
    notes = Path(path).with_name("figure_errors.txt")
    return notes.read_text(encoding="utf-8").splitlines() if notes.exists() else []
