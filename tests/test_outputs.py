"""Outputs: one writer, complete or absent folders, neutralised CSV cells, escaped figure labels, exclusions that add up."""
from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

import forensics
from forensics.errors import OutputError
from forensics.output import MARKER, OutputFolder, _formatted_floats, check_folder, csv_bytes, neutralise, write_csv
from forensics.report import write_report, write_tables
from forensics.scan import scan

FORMULAS = ["=HYPERLINK(\"http://x\",\"y\")", "@SUM(A1)", "+1+1", "-2+3", "\tx", "\rx"]


@pytest.fixture(scope="module")
def election():
    return forensics.simulate(n_pec=600, n_regions=3, fraud={"drawn": {"fraction": 0.02}}, unpublished=0.02, rng=8)


def test_formula_cells_and_headers_get_an_apostrophe():
    frame = pd.DataFrame({"=1+1": FORMULAS, "n": range(6), "text": ["-5", "+3.5", "1e5", "ok", "-", "=x"]})
    out = neutralise(frame)
    assert list(out.columns) == ["'=1+1", "n", "text"]
    assert out["'=1+1"].tolist() == ["'" + f for f in FORMULAS]
    assert out["text"].tolist() == ["-5", "+3.5", "1e5", "ok", "'-", "'=x"]  # plain numbers stay numbers
    assert out["n"].tolist() == list(range(6))


def test_write_csv_neutralises_unless_raw(tmp_path):
    frame = pd.DataFrame({"party": ["=cmd|' /C calc'!A0"], "votes": [-3]})
    write_csv(frame, tmp_path / "a.csv")
    write_csv(frame, tmp_path / "b.csv", raw_csv=True)
    assert (tmp_path / "a.csv").read_text(encoding="utf-8") == "party,votes\n'=cmd|' /C calc'!A0,-3\n"
    assert (tmp_path / "b.csv").read_text(encoding="utf-8") == "party,votes\n=cmd|' /C calc'!A0,-3\n"


def test_csv_cells_are_those_pandas_writes(election):
    """The column-wise CSV writer gives pandas' ``to_csv`` bytes: quoting, missing values, booleans, nullable
    integers, mixed objects, line breaks; dates and single columns go through pandas itself."""
    frame = pd.DataFrame({
        "name, with comma": ["a", 'say "hi"', "two\nlines", "cr\rx", None, "é", "", "x"],
        "n": np.arange(8, dtype=np.int64) - 3, "flag": [True, False] * 4,
        "maybe": pd.array([1, None, 3, None, 5, 6, 7, 8], dtype="Int64"),
        "mixed": [1, 2.5, "t", None, float("nan"), ("a", 1), "=1", "-2"],
        "share": [0.1, np.nan, 1 / 3, 1e-12, -2.0, np.inf, 7.0, 123456789012.5],
        "text": pd.array(["p", None, "q,r", "s", "t", "u", "v", "w"], dtype="str"),
        "whole": [0.0, -0.0, 9999999999.0, 1e10, -5.0, 3.0, np.nan, -1e15],
        "small": np.array([1, -2, 3, 4, 5, 6, 7, 8], dtype=np.float32) / 3,
    })
    when = pd.DataFrame({"day": pd.to_datetime(["2026-11-28", "2026-11-29"]), "n": [1, 2]})
    single = pd.DataFrame({"only": ["", "a", None]})
    for f in (frame, when, single, frame.iloc[:0], scan(election, rng=1, progress=False).stations):
        for raw in (False, True):
            data = _formatted_floats(f if raw else neutralise(f))
            assert csv_bytes(f, raw_csv=raw) == data.to_csv(index=False, lineterminator="\n").encode("utf-8")



def test_floats_and_text_written_in_bulk_are_those_pandas_writes():
    """Floats written from their rounded digits and arrow text neutralised and quoted in bulk give ``to_csv``'s
    bytes: ties in the eleventh digit, neighbours of powers of ten, exponents, signs, formulas, quotes, line
    breaks, missing values, text in several arrow chunks."""
    rng = np.random.default_rng(3)
    n = 20_000
    floats = np.concatenate([
        rng.random(n), 10 ** rng.uniform(-7, 12, n) * rng.choice([-1.0, 1.0], n),
        (rng.integers(0, 10**11, n) + 0.5) / 10**11,  # a 5 in the eleventh digit
        rng.integers(0, 2**20, n) / 2.0 ** rng.integers(1, 40, n),  # binary fractions: exact ties
        np.round(rng.random(n), 6), rng.integers(0, 3000, n) / rng.integers(1, 3000, n),
        [np.nextafter(10.0**k, side) for k in range(-6, 12) for side in (0.0, np.inf)],
        [0.0, -0.0, np.nan, np.inf, -np.inf, 0.5, 2.5, 0.12345678905, 5e-324, 9999999999.5, 0.99999999995]])
    words = np.array([*FORMULAS, "-5", "+3.5", "1e5", "ok", "-", "a,b", 'say "hi"', "two\nlines", "cr\rx", "", "é"],
                     dtype=object)
    text = rng.choice(words, len(floats))
    text[rng.random(len(floats)) < 0.05] = None
    frame = pd.DataFrame({"=share": floats, "text": pd.array(text, dtype="str"), "big": floats > 0.5})
    chunked = pd.concat([frame.iloc[:1000], frame.iloc[1000:]], ignore_index=True)
    for f in (frame, chunked):
        for raw in (False, True):
            data = _formatted_floats(f if raw else neutralise(f))
            assert csv_bytes(f, raw_csv=raw) == data.to_csv(index=False, lineterminator="\n").encode("utf-8")

def test_a_folder_is_complete_or_absent(tmp_path):
    target = tmp_path / "out"
    with OutputFolder(target) as out:
        out.text("a.txt", "first")
    assert (target / MARKER).exists() and (target / "a.txt").read_text() == "first"
    with pytest.raises(RuntimeError), OutputFolder(target) as out:
        out.text("a.txt", "second")
        out.text("b.txt", "second")
        raise RuntimeError("interrupted")
    assert (target / "a.txt").read_text() == "first" and not (target / "b.txt").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["out"]  # no temporary folder left behind
    with OutputFolder(target) as out:
        out.text("b.txt", "third")
    assert sorted(p.name for p in target.iterdir()) == [MARKER, "b.txt"]  # a run replaces the whole folder


def test_writability_is_checked_first(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(OutputError, match="is a file"):
        check_folder(tmp_path / "file")
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "thesis.docx").write_text("x")
    with pytest.raises(OutputError, match="did not write"):
        check_folder(mine)
    with pytest.raises(OutputError, match="does not exist"):
        check_folder(tmp_path / "no" / "such" / "folder")


def test_report_tables_neutralise_party_and_region_names(election, tmp_path):
    table = election.table.rename(columns={election.parties[1]: "=1+1"})
    table["region"] = table["region"].replace({"Region 01": "@SUM(1)"})
    e = replace(election, table=table, parties=(election.parties[0], "=1+1", *election.parties[2:]))
    s = scan(e, tests=["fingerprint", "last_digit_test", "turnout_regression"], rng=1, progress=False)
    write_tables(s, tmp_path / "safe")
    write_tables(s, tmp_path / "raw", raw_csv=True)
    tests = (tmp_path / "safe" / "tests.csv").read_text(encoding="utf-8")
    assert ",'=1+1," in tests and ",=1+1," not in tests
    assert "'@SUM(1)" in (tmp_path / "safe" / "stations.csv").read_text(encoding="utf-8")
    assert ",=1+1," in (tmp_path / "raw" / "tests.csv").read_text(encoding="utf-8")


def test_mathtext_in_names_is_drawn_as_text(election, tmp_path):
    evil = r"$\undefinedcommand{x}$"
    table = election.table.rename(columns={election.leader: evil})
    table["region"] = table["region"].replace({"Region 02": "$\\frac{a}$"})
    e = replace(election, table=table, parties=tuple(evil if p == election.leader else p for p in election.parties))
    s = scan(e, tests=["fingerprint", "cumulative_votes", "integer_percentages", "last_digit_test",
                       "turnout_regression"], rng=1, progress=False, n_sim=50)
    path = write_report(s, tmp_path / "r", progress=False, formats=("png",))
    from forensics.report.html import report_notes

    notes = report_notes(path)  # only the figures of tests this scan did not run are missing
    assert notes and all("did not run" in n for n in notes), notes
    assert len(list((tmp_path / "r" / "figures").glob("*.png"))) == 12 - len(notes)


def test_exclusions_add_up_per_result_and_stay_at_their_level(election):
    s = scan(election, tests=["fingerprint", "digit_pairs_test", "last_digit_test"], rng=1, progress=False)
    ex, tests = s.excluded, s.tests
    for (name, level, group), rows in tests.groupby(["test", "level", "group"]):
        listed = ex[(ex["analysis"] == name) & (ex["level"] == level) & (ex["group"] == group)]
        # the three digit-pair results share their exclusions: listed once, adding up to one n_excluded
        assert listed["n"].sum() == rows["n_excluded"].iloc[0], (name, level, group)
    unpublished = set(np.flatnonzero(election.table["unpublished"].to_numpy()))
    region_rows = ex[(ex["analysis"] == "fingerprint") & (ex["level"] == "region")]
    assert set(region_rows["station"]) == unpublished  # listed under the region level too, not only "nation"
    assert set(region_rows["group"]) <= set(election.table["region"])
    counted = ex[(ex["analysis"] == "last_digit_test") & (ex["station"] == -1)]
    assert set(counted["reason"]) <= {"count below 10", "count missing", "figures not published"}


def test_stations_csv_names_its_flag_column_flag_codes(election, tmp_path):
    s = scan(election, tests=["fingerprint"], rng=1, progress=False)
    write_tables(s, tmp_path / "t")
    stations = pd.read_csv(tmp_path / "t" / "stations.csv")
    assert "flag_codes" in stations and "flags" not in stations
    summary = json.loads((tmp_path / "t" / "summary.json").read_text(encoding="utf-8"))
    assert sum(summary["flag_counts"].values()) >= summary["n_stations_flagged"] > 0
    assert "section" not in " ".join(summary["summary"]).lower()  # the summary never names report sections


def test_one_jinja_environment_with_optional_translations():
    from forensics.templating import environment

    plain = environment("forensics.report")
    assert plain.autoescape and "num" in plain.filters and "jinja2.ext.InternationalizationExtension" not in str(
        plain.extensions)
    translated = environment("forensics.audit", lang="en")
    page = translated.from_string("{% trans %}Evidence for {{ name }}{% endtrans %} {{ 1234567 | num }}")
    assert page.render(name="<b>x</b>") == "Evidence for &lt;b&gt;x&lt;/b&gt; 1,234,567"
