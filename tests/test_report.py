"""The report: files, sections, escaping, no remote resources, stable columns, byte-identical outputs."""
from __future__ import annotations

import json
import re
from dataclasses import replace

import pandas as pd
import pytest

import forensics
from forensics.cli import main
from forensics.report import write_report
from forensics.scan import EXCLUDED_COLUMNS, STATION_COLUMNS, TEST_COLUMNS, scan
from forensics.simulate import protocol_frame

EVIL = "<script>alert(1)</script>"
QUICK = ("fingerprint", "cumulative_votes", "integer_percentages", "last_digit_test", "no_such_test")
SECTIONS = ("summary", "arithmetic", "fingerprints", "digits", "regions", "stations", "excluded", "methods")


def _evil_election(seed=5):
    """A small simulated election whose leader is named like a script and one region like markup."""
    e = forensics.simulate(n_pec=800, n_regions=4, fraud={"drawn": {"fraction": 0.02}}, rng=seed)
    parties = (EVIL, *e.parties[1:])
    table = e.table.rename(columns={e.parties[0]: EVIL})
    table["region"] = table["region"].replace({"Region 01": "<b>Region & Co</b>"})
    return replace(e, table=table, parties=parties)


@pytest.fixture(scope="module")
def report_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    s = scan(_evil_election(), tests=QUICK, rng=1, progress=False, integer_percentages={"n_sim": 200})
    write_report(s, out, progress=False, time="2026-01-01T00:00:00+00:00")
    return out


def test_report_files_and_sections(report_dir):
    for name in ("report.html", "tests.csv", "findings.csv", "stations.csv", "excluded.csv", "summary.json"):
        assert (report_dir / name).stat().st_size > 0
    html = (report_dir / "report.html").read_text(encoding="utf-8")
    for section in SECTIONS:
        assert f'<section id="{section}">' in html
    assert html.count("data:image/png;base64,") >= 3
    assert (report_dir / "figures" / "fingerprint.png").exists()
    assert not (report_dir / "figures" / "fingerprint.svg").exists()  # PNG only unless formats asks for SVG
    assert "not proof of fraud" in html
    assert "could not run" in html  # the missing test is shown, not dropped
    assert "2026-01-01T00:00:00+00:00" in html


def test_names_from_the_data_are_escaped(report_dir):
    html = (report_dir / "report.html").read_text(encoding="utf-8")
    assert EVIL not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<b>Region" not in html and "&lt;b&gt;Region &amp; Co&lt;/b&gt;" in html
    assert html.count("<script>") == 1  # only the page's own sorting script


def test_no_remote_resources(report_dir):
    html = (report_dir / "report.html").read_text(encoding="utf-8")
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", html, re.I)
    assert not re.search(r"url\(\s*['\"]?(https?:)?//", html, re.I)
    assert not re.search(r"@import", html)


def test_stable_columns_and_json(report_dir):
    assert list(pd.read_csv(report_dir / "tests.csv").columns) == TEST_COLUMNS
    assert list(pd.read_csv(report_dir / "stations.csv").columns) == STATION_COLUMNS
    assert list(pd.read_csv(report_dir / "excluded.csv").columns) == EXCLUDED_COLUMNS
    findings = pd.read_csv(report_dir / "findings.csv")
    assert {"region", "tec", "pec", "code", "severity", "observed", "expected", "difference", "message"} <= set(findings)
    stations = pd.read_csv(report_dir / "stations.csv", dtype={"pec": str})
    assert len(stations) == 800
    summary = json.loads((report_dir / "summary.json").read_text(encoding="utf-8"))
    assert summary["n_stations"] == 800
    assert summary["provenance"]["seed"] == 1
    assert "time" not in summary["provenance"]
    assert any("no_such_test" in x for x in summary["tests_could_not_run"])


@pytest.mark.slow
def test_same_input_and_seed_give_byte_identical_files(tmp_path):
    e = _evil_election(seed=9)
    outs = []
    for label in ("a", "b"):
        s = scan(e, tests=QUICK, rng=4, progress=False, integer_percentages={"n_sim": 200})
        write_report(s, tmp_path / label, progress=False, formats=("png",))
        outs.append(tmp_path / label)
    for name in ("tests.csv", "findings.csv", "stations.csv", "excluded.csv", "summary.json"):
        assert (outs[0] / name).read_bytes() == (outs[1] / name).read_bytes(), name


def test_the_page_is_the_same_whatever_the_processes_drawing_the_figures(tmp_path):
    """Figures drawn here (workers=1) or in forked processes give the same page and the same figure files."""
    s = scan(_evil_election(seed=9), tests=QUICK, rng=4, progress=False, integer_percentages={"n_sim": 200})
    outs = []
    for workers in (1, 2):
        out = tmp_path / f"w{workers}"
        write_report(s, out, progress=False, formats=("png", "svg"), time="2026-01-01T00:00:00+00:00",
                     workers=workers)
        outs.append(out)
    one, two = ((o / "report.html").read_bytes() for o in outs)
    assert one == two
    assert one.count(b"data:image/png;base64,") >= 3
    names = sorted(p.name for p in (outs[0] / "figures").iterdir())
    assert names == sorted(p.name for p in (outs[1] / "figures").iterdir()) and "fingerprint.svg" in names
    for name in names:
        assert (outs[0] / "figures" / name).read_bytes() == (outs[1] / "figures" / name).read_bytes(), name


def test_a_drawing_process_that_dies_loses_no_figure(tmp_path, monkeypatch):
    """The figures of a drawing process that dies are drawn in the report's process: the same page."""
    import os

    from forensics.report import figures

    s = scan(_evil_election(seed=9), tests=QUICK, rng=4, progress=False, integer_percentages={"n_sim": 200})
    write_report(s, tmp_path / "here", progress=False, time="2026-01-01T00:00:00+00:00", workers=1)
    drawn = figures._drawn_in_worker

    def dies_on_the_fingerprint(index, lang, formats):
        if figures._jobs(figures._SCAN, lang)[index][0] == "fingerprint":
            os._exit(1)
        return drawn(index, lang, formats)

    monkeypatch.setattr(figures, "_drawn_in_worker", dies_on_the_fingerprint)
    write_report(s, tmp_path / "forked", progress=False, time="2026-01-01T00:00:00+00:00", workers=3)
    assert (tmp_path / "here" / "report.html").read_bytes() == (tmp_path / "forked" / "report.html").read_bytes()
    assert (tmp_path / "forked" / "figures" / "fingerprint.png").exists()


@pytest.mark.slow
def test_cli_scan_writes_the_report(tmp_path, capsys):
    e = forensics.simulate(n_pec=400, n_regions=2, rng=3)
    path = tmp_path / "results.csv"
    protocol_frame(e).to_csv(path, index=False)
    out = tmp_path / "out"
    assert main(["scan", str(path), "--out", str(out), "--seed", "5", "--levels", "nation", "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert "report.html" in printed
    assert "not proof of fraud" in printed  # --quiet hides the progress bars, not the summary
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["provenance"]["seed"] == 5
    assert summary["provenance"]["sources"] and len(next(iter(summary["provenance"]["sources"].values()))) == 64
    assert main(["scan", str(tmp_path / "missing.csv"), "--out", str(out), "--quiet"]) == 2


@pytest.mark.slow
@pytest.mark.shared
def test_russia_2018_end_to_end(ru2018, tmp_path):
    s = scan(ru2018, rng=2018, progress=False)
    path = write_report(s, tmp_path, progress=False)
    assert len(s.stations) == len(ru2018.table) == 97_699
    keys = {h["code"]: h for h in s.headlines}
    assert {"integer", "stuffing", "turnout_100"} <= set(keys)
    text = s.summary()
    # the regions that drive them are named, and are real regions of the file
    for key in ("integer", "stuffing"):
        regions = keys[key]["driving_regions"]
        assert keys[key]["scope"] == "national" and regions and set(regions) <= set(ru2018.table["region"])
        assert regions[0] in text
    nat = s.results[("integer_percentages", "nation")]["National"]
    assert nat.details["excess"] == pytest.approx(1708.8, abs=5)  # Kobak et al.'s Monte Carlo value
    assert len(pd.read_csv(tmp_path / "verdicts.csv")) == len(s.verdict_table)
    assert path.stat().st_size < 20_000_000


@pytest.mark.slow
@pytest.mark.shared
def test_canada_2011_end_to_end(canada, tmp_path):
    s = scan(canada, rng=2011, progress=False)
    write_report(s, tmp_path, progress=False)
    assert len(s.stations) == len(canada.table)
    assert not {"integer", "stuffing", "turnout_100", "digits"} & {h["code"] for h in s.headlines}
    assert s.verdicts.stations_summary["share_flagged"] <= 0.02
    assert "No headline stands out." in s.summary() or [h["code"] for h in s.headlines] == ["arithmetic"]


@pytest.mark.slow
@pytest.mark.filterwarnings("error")  # our own code raises no warning on the demo: every one would be an error
def test_demo_prints_where_the_report_is(tmp_path, capsys):
    out = tmp_path / "demo"
    assert main(["demo", "--out", str(out), "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert str((out / "report.html").resolve()) in printed
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["n_stations"] == 10_000
    # the demo's injected anomalies are found: rounding (integer, national), stuffing in some regions,
    # the extreme cluster at 100% turnout, digit editing, the invented protocols
    codes = {h["code"] for h in summary["headlines"]}
    assert {"integer", "stuffing", "turnout_100", "digits", "arithmetic"} <= codes
    assert summary["stations"]["n_flagged"] > 2 * summary["stations"]["expected"]


def test_exclusion_counts_per_analysis_at_its_first_level_in_order():
    from types import SimpleNamespace

    from forensics.report.html import _exclusion_counts

    excluded = pd.DataFrame({
        "analysis": ["a", "b", "a", "a", None, "b", "a", "c"],
        "level": ["nation", "region", "nation", "region", "nation", "region", "nation", "region"],
        "reason": ["r1", "r1", "r2", "r1", "r1", None, "r1", "r3"],
        "n": [1, 2, 3, 4, 5, 6, 7, 8]})
    tests = pd.DataFrame({"test": ["a", "b"], "level": ["nation", "nation"], "n_used": [90, 80]})
    fake = SimpleNamespace(excluded=excluded, stations=pd.DataFrame(index=range(100)), tests=tests)
    rows = [(r["analysis"], r["level"], r["reason"], r["n"], r["n_used"]) for r in _exclusion_counts(fake)]
    # "a" at its first level (nation) only, its reasons as first seen, before "b" although "b" comes between;
    # the row without an analysis and the one without a reason are left out, as a groupby leaves them
    assert rows == [("a", "nation", "r1", 8, 90), ("a", "nation", "r2", 3, 90), ("b", "region", "r1", 2, 80),
                    ("c", "region", "r3", 8, None)]
