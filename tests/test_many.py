"""scan_many / forensics scan-many: one task per election, identical outputs on any number of workers."""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

import forensics
from forensics.cli import main
from forensics.output import write_csv
from forensics.random import name_key, seed_sequence
from forensics.many import SUMMARY_COLUMNS, election_name, scan_many

from conftest import shared_file

#: a short battery: what is checked here is the distribution of the work, not the statistics
QUICK = {"tests": ("fingerprint", "last_digit_test", "dip_test"), "levels": ("nation", "region")}
RUSSIA = ("ru_2004_president.csv.zip", "ru_2007_duma.csv.zip", "ru_2008_president.csv.zip", "ru_2011_duma.csv.zip",
          "ru_2012_president.csv.zip", "ru_2016_duma.csv.zip", "ru_2018_president.csv.zip",
          "ru_2020_referendum.csv.zip")


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """Two small simulated elections (one with stuffing) and a file no profile reads."""
    folder = tmp_path_factory.mktemp("many")
    paths = []
    for i, (n, fraud) in enumerate(((300, None), (400, {"stuffing": {"fraction": 0.5, "intensity": 0.6}}))):
        election = forensics.simulate(n_pec=n, n_regions=3, fraud=fraud, rng=10 + i)
        paths.append(write_csv(election.table.reset_index(), folder / f"sim{i}.csv"))
    bad = folder / "bad.csv"
    bad.write_text("a,b\n1,2\n", encoding="utf-8")
    return paths, bad


def _files_of(folder: Path) -> dict:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_local_cluster_and_sequential_write_identical_bytes_in_any_order(files, tmp_path):
    paths, bad = files
    seq = scan_many([*paths, bad], out=tmp_path / "seq", executor="sequential", rng=5, progress=False, **QUICK)
    dask = scan_many([bad, *reversed(paths)], out=tmp_path / "dask", workers=2, rng=5, progress=False, **QUICK)
    a, b = _files_of(tmp_path / "seq"), _files_of(tmp_path / "dask")
    assert sorted(a) == sorted(b)
    assert {"sim0/tests.csv", "sim1/verdicts.csv", "sim1/stations.csv", "summary.csv", "summary.json"} <= set(a)
    assert not any(name.startswith("bad/") for name in a)  # a failed election has no folder, only its summary row
    assert [n for n in a if a[n] != b[n]] == []
    assert seq.summary.equals(dask.summary)
    assert set(seq.scans) == set(dask.scans) == {"sim0", "sim1"}


def test_each_election_draws_from_its_own_named_stream(files, tmp_path):
    paths, _ = files
    many = scan_many(paths, executor="sequential", rng=5, progress=False, **QUICK)
    alone = forensics.scan(forensics.load(paths[1]), rng=seed_sequence(5, "sim1"), progress=False, **QUICK)
    pd.testing.assert_frame_equal(many.scans["sim1"].tests, alone.tests)
    pd.testing.assert_frame_equal(many.scans["sim1"].stations, alone.stations)
    assert many.scans["sim1"].provenance["seed"] == {"entropy": [5, name_key("sim1")], "spawn_key": []}
    other = scan_many(paths[1:], executor="sequential", rng=6, progress=False, **QUICK)
    assert not other.scans["sim1"].tests["pvalue"].equals(alone.tests["pvalue"])  # Monte Carlo p-values move


def test_a_bad_file_is_reported_in_words_and_the_others_are_kept(files, tmp_path):
    paths, bad = files
    result = scan_many([bad, paths[0]], out=tmp_path / "out", executor="sequential", rng=1, progress=False, **QUICK)
    assert set(result.scans) == {"sim0"}
    assert str(bad) in result.errors["bad"] and "Fix:" in result.errors["bad"]
    summary = pd.read_csv(tmp_path / "out" / "summary.csv")
    assert list(summary.columns) == SUMMARY_COLUMNS
    failed = summary[summary["election"] == "bad"]
    assert len(failed) == 1 and failed["status"].iloc[0] == "failed" and failed["error"].iloc[0] == result.errors["bad"]
    ok = summary[summary["election"] == "sim0"]
    scan = result.scans["sim0"]
    assert ok["code"].tolist() == list(scan.verdicts.verdicts)  # one row per headline, in the catalogue's order
    assert (ok["n_stations"].astype(int) == len(scan.stations)).all()
    for code, verdict in scan.verdicts.verdicts.items():
        row = ok[ok["code"] == code].iloc[0]
        assert str(row["fired"]) == str(verdict.fired)
        assert row["n_regions_fired"] == len(verdict.significant_regions) and row["n_regions"] == 3
        assert row["pvalue_adj"] == pytest.approx(verdict.pvalue, rel=1e-9)
    doc = json.loads((tmp_path / "out" / "summary.json").read_text(encoding="utf-8"))
    assert doc["seed"] == 1 and [e["status"] for e in doc["elections"]] == ["failed", "scanned"]
    assert len(doc["rows"]) == len(summary)


def test_the_summary_says_which_headline_fired_where(files):
    paths, _ = files
    result = scan_many([paths[1]], executor="sequential", rng=2, progress=False, **QUICK)
    verdicts = result.scans["sim1"].verdicts.verdicts
    fired = result.summary.loc[result.summary["fired"] == True, "code"].tolist()  # noqa: E712
    assert fired == [code for code, v in verdicts.items() if v.fired]
    assert fired  # half the stations stuffed heavily: something stands out, and the summary must say so
    rows = result.summary.set_index("code")
    for code in fired:
        assert rows.loc[code, "scope"] == verdicts[code].scope
        assert rows.loc[code, "n_regions_fired"] == len(verdicts[code].significant_regions)


def test_names_must_be_unique_and_files_must_exist(files, tmp_path):
    paths, _ = files
    twin = tmp_path / "twin"
    twin.mkdir()
    copy = twin / paths[0].name
    copy.write_bytes(paths[0].read_bytes())
    with pytest.raises(forensics.DataError, match="two elections have the name 'sim0'"):
        scan_many([paths[0], copy], executor="sequential", progress=False)
    with pytest.raises(forensics.DataError, match="no such file"):
        scan_many([tmp_path / "missing.csv"], executor="sequential", progress=False)
    assert election_name("x/ru_2018_president.csv.zip", 0) == "ru_2018_president"
    renamed = scan_many({"first": paths[0], "second": copy}, executor="sequential", rng=1, progress=False, **QUICK)
    assert set(renamed.scans) == {"first", "second"}


def test_cli_reports_failures_in_the_summary_and_exits_0(files, tmp_path, capsys, monkeypatch):
    from forensics.scan import run

    real = run.scan
    monkeypatch.setattr(run, "scan", lambda election, **kw: real(election, tests=QUICK["tests"], **kw))
    paths, bad = files
    out = tmp_path / "out"
    assert main(["scan-many", str(paths[0]), str(bad), "--out", str(out), "--sequential", "--quiet"]) == 0
    captured = capsys.readouterr()
    assert "sim0: 300 stations" in captured.out and "bad: failed: file" in captured.out
    assert "1 of 2 elections could not be scanned" in captured.err
    assert (out / "sim0" / "tests.csv").is_file() and (out / "summary.csv").is_file()


@pytest.mark.parametrize("argv, words", [
    (["--workers", "0"], "at least one worker"),
    (["--levels", "nation"], "no such file"),
])
def test_cli_bad_arguments_exit_2_with_one_line(files, tmp_path, capsys, argv, words):
    paths, _ = files
    sources = [str(paths[0])] if argv[0] == "--workers" else [str(tmp_path / "missing.csv")]
    assert main(["scan-many", *sources, "--out", str(tmp_path / "out"), *argv]) == 2
    err = capsys.readouterr().err
    assert words in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


@pytest.mark.slow
@pytest.mark.shared
def test_the_russian_elections_on_two_workers_give_the_sequential_tables(tmp_path):
    paths = [shared_file(name) for name in RUSSIA]
    seq = scan_many(paths, out=tmp_path / "seq", executor="sequential", rng=2021, keep=False, progress=False)
    dask = scan_many(paths, out=tmp_path / "dask", workers=2, rng=2021, keep=False, progress=False)
    assert seq.errors == dask.errors == {}
    a, b = _files_of(tmp_path / "seq"), _files_of(tmp_path / "dask")
    assert sorted(a) == sorted(b)
    for name in [election_name(p, 0) for p in paths]:
        for table in ("tests.csv", "verdicts.csv", "stations.csv", "excluded.csv", "summary.json"):
            assert a[f"{name}/{table}"] == b[f"{name}/{table}"], (name, table)
    assert a["summary.csv"] == b["summary.csv"]


@pytest.mark.slow
def test_verdict_calibration_runs_on_dask_give_the_sequential_rows(monkeypatch):
    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parents[1] / "benchmarks"))
    import calibrate_verdicts as calibration

    runs = [(seed, False, False, False) for seed in (0, 1)]
    timing = ["seconds", "cpu_seconds"]
    sequential = pd.DataFrame(calibration.map_runs(calibration.clean_run, runs, 1)).drop(columns=timing)
    on_dask = pd.DataFrame(calibration.map_runs(calibration.clean_run, runs, 2)).drop(columns=timing)
    pd.testing.assert_frame_equal(sequential, on_dask)
    assert sequential["seed"].tolist() == [0, 1] and (sequential["stations"] > 0).all()


@pytest.mark.slow
@pytest.mark.parametrize("script, run", [
    ("calibrate_digits", lambda m, workers: m.calibrate(3, 400, 7, workers)),
    ("calibrate_spikes", lambda m, workers: m.calibration(3, 1, workers)),
    ("calibrate_fingerprints", lambda m, workers: m.calibration(2, 0, 300, workers)[0]),
])
def test_the_other_calibrations_on_dask_give_the_sequential_tables(monkeypatch, script, run):
    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parents[1] / "benchmarks"))
    module = __import__(script)
    sequential, on_dask = run(module, 1), run(module, 2)
    pd.testing.assert_frame_equal(sequential, on_dask)
    assert len(sequential) >= 2
