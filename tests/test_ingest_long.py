"""Long layouts: one row per station and party (or protocol line), widened by ``[long]`` to one row per station."""
from __future__ import annotations

import subprocess
import sys
import zipfile

import numpy as np
import pandas as pd
import pytest

import forensics
from forensics.errors import DataError
from forensics.ingest import excluded_rows
from forensics.ingest.draft import draft
from forensics.simulate import simulate

from conftest import shared_file

HEADERS = {"region": "Province", "tec": "District", "pec": "Polling station", "registered": "Registered voters",
           "valid": "Valid votes", "invalid": "Rejected ballots"}
PROFILE = """name = "long_test"
[fields]
region = "Province"
tec = "District"
pec = "Polling station"
registered = "Registered voters"
valid = "Valid votes"
invalid = "Rejected ballots"
[long]
option = "Party"
count = "Votes"
"""


def melt(table: pd.DataFrame, parties, option="Party", count="Votes") -> pd.DataFrame:
    """The wide table as a long one: each station's other columns repeated on its rows, one per party."""
    stations = table.drop(columns=list(parties))
    long = pd.concat([stations.assign(**{option: p, count: table[p]}) for p in parties])
    return long.sort_index(kind="stable").reset_index(drop=True)


@pytest.fixture(scope="module")
def sim():
    return simulate(n_pec=120, n_regions=3, rng=7)


@pytest.fixture()
def files(sim, tmp_path):
    wide = sim.table[[*HEADERS, *sim.parties]].rename(columns=HEADERS)
    long = melt(wide, sim.parties)
    (tmp_path / "long.toml").write_text(PROFILE, encoding="utf-8")
    long.to_csv(tmp_path / "long.csv", index=False)
    return tmp_path, long


def _lines(path):
    return path.read_text(encoding="utf-8").splitlines()


def _write(path, lines):
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_a_long_file_loads_as_the_same_stations_in_every_format(sim, files):
    folder, long = files
    e = forensics.load(folder / "long.csv", profile=folder / "long.toml")
    assert len(e) == len(sim.table) and e.parties == sim.parties
    for column in ("registered", "valid", "invalid", *sim.parties):
        assert e.table[column].tolist() == sim.table[column].tolist()
    assert e.meta["layout"] == "long" and e.meta["long_rows"] == len(long) == 5 * len(sim.table)
    assert e.meta["long_stations"] == len(sim.table)
    long.to_parquet(folder / "long.parquet", index=False)
    long.to_excel(folder / "long.xlsx", index=False)
    for other in ("long.parquet", "long.xlsx"):
        pd.testing.assert_frame_equal(forensics.load(folder / other, profile=folder / "long.toml").table, e.table)


def test_options_may_be_protocol_lines_and_columns_describing_them_are_ignored(tmp_path):
    rows = ["county,precinct,candidate,party,votes"]
    for precinct, (reg, a, b, w) in enumerate([(500, 120, 90, 3), (800, 200, 150, 0), (300, 60, 70, 1)], 1):
        rows += [f"Adams,{precinct},Registered Voters,,{reg}", f"Adams,{precinct},Smith,DEM,{a}",
                 f"Adams,{precinct},Jones,REP,{b}"] + ([f"Adams,{precinct},Write-in,,{w}"] if w else [])
    _write(tmp_path / "us.csv", rows)
    profile = """key = ["tec", "pec"]
[fields]
tec = "county"
pec = "precinct"
registered = "Registered Voters"
[long]
option = "candidate"
count = "votes"
ignore = ["party"]
"""
    (tmp_path / "us.toml").write_text(profile, encoding="utf-8")
    e = forensics.load(tmp_path / "us.csv", profile=tmp_path / "us.toml")
    assert e.parties == ("Smith", "Jones", "Write-in")
    assert e.table["registered"].tolist() == [500, 800, 300]
    assert e.table["Write-in"].isna().tolist() == [False, True, False]  # no row: not known, never 0
    (tmp_path / "us.toml").write_text(profile + 'absent = "zero"\n', encoding="utf-8")
    zero = forensics.load(tmp_path / "us.csv", profile=tmp_path / "us.toml")
    assert zero.table["Write-in"].tolist() == [3, 0, 1]


@pytest.mark.parametrize("change, row, column, words", [
    (lambda lines: lines.insert(3, lines[2]), 4, "Party", "a second row for"),
    (lambda lines: lines.__setitem__(2, lines[2].replace(",Party B,", ",,")), 3, "Party", "names no party"),
    (lambda lines: lines.__setitem__(3, lines[3].rsplit(",", 1)[0] + ",12a"), 4, "Votes", "not a number"),
    (lambda lines: lines.__setitem__(2, _cell(lines[2], 3, "9999")), 3, "Registered voters",
     "at row 2 of the same station"),
])
def test_a_problem_names_its_row_and_column_and_skip_sets_the_whole_station_aside(files, change, row, column, words):
    folder, _ = files
    lines = _lines(folder / "long.csv")
    change(lines)
    _write(folder / "bad.csv", lines)
    with pytest.raises(DataError) as info:
        forensics.load(folder / "bad.csv", profile=folder / "long.toml")
    assert (info.value.row, info.value.column) == (row, column) and words in str(info.value)
    e = forensics.load(folder / "bad.csv", profile=folder / "long.toml", on_bad_rows="skip")
    assert len(e) == 119  # the station of the bad row, every one of its rows listed
    listed = excluded_rows(e)
    assert row in listed["source_row"].tolist() and len(listed) >= 5
    assert listed["reason"].str.contains(words).all()
    out = subprocess.run([sys.executable, "-m", "forensics", "load", str(folder / "bad.csv"), "--profile",
                          str(folder / "long.toml")], capture_output=True, text=True)
    assert out.returncode == 2 and "Traceback" not in out.stderr and f"row {row}" in out.stderr


def _cell(line: str, i: int, value: str) -> str:
    cells = line.split(",")
    cells[i] = value
    return ",".join(cells)


def test_blank_lines_are_listed_and_an_option_named_like_a_column_is_refused(files):
    folder, _ = files
    lines = _lines(folder / "long.csv")
    _write(folder / "blank.csv", lines[:4] + [",,,,,,,"] + lines[4:])
    e = forensics.load(folder / "blank.csv", profile=folder / "long.toml")
    assert len(e) == 120 and e.meta["blank_rows"] == [5]
    clash = [line.replace(",Party A,", ",Valid votes,") for line in lines]
    _write(folder / "clash.csv", clash)
    with pytest.raises(DataError, match="has the name of a column"):
        forensics.load(folder / "clash.csv", profile=folder / "long.toml")
    _write(folder / "case.csv", lines[:2] + [lines[2].replace(",Party B,", ",party  b,")] + lines[3:])
    with pytest.raises(DataError, match="'party  b' and 'Party B' differ only by case"):
        forensics.load(folder / "case.csv", profile=folder / "long.toml")


def test_a_profile_with_a_bad_long_table_or_columns_the_file_lacks_is_refused(files):
    folder, _ = files
    for body, words in ((PROFILE.replace('count = "Votes"\n', ""), "needs option"),
                        ('key = ["source_row"]\n' + PROFILE, "cannot hold the source row"),
                        (PROFILE + 'absent = "none"\n', "absent must be")):
        (folder / "p.toml").write_text(body, encoding="utf-8")
        with pytest.raises(DataError, match=words):
            forensics.load(folder / "long.csv", profile=folder / "p.toml")
    (folder / "p.toml").write_text(PROFILE.replace('count = "Votes"', 'count = "Stimmen"'), encoding="utf-8")
    with pytest.raises(DataError, match="'Stimmen' is not in the file") as info:
        forensics.load(folder / "long.csv", profile=folder / "p.toml")
    assert info.value.column == "Stimmen"


def test_without_a_long_table_the_repeated_stations_point_to_it(files):
    folder, _ = files
    (folder / "wide.toml").write_text(PROFILE.split("[long]")[0], encoding="utf-8")
    with pytest.raises(DataError, match=r"looks long, one row per station and 'Party'"):
        forensics.load(folder / "long.csv", profile=folder / "wide.toml")


def test_the_draft_finds_a_long_layout_and_loads_unedited(sim, files):
    folder, _ = files
    text, guesses = draft(folder / "long.csv")
    assert '[long]' in text and 'option = "Party"' in text and 'count = "Votes"' in text
    assert guesses["parties"] == list(sim.parties) and guesses["registered"] == "Registered voters"
    (folder / "draft.toml").write_text(text, encoding="utf-8")
    e = forensics.load(folder / "long.csv", profile=folder / "draft.toml")
    assert e.table[list(sim.parties)].equals(sim.table[list(sim.parties)])
    wide = sim.table[[*HEADERS, *sim.parties]].rename(columns=HEADERS)
    wide.to_csv(folder / "wide.csv", index=False)
    assert "[long]" not in draft(folder / "wide.csv")[0]


def test_the_draft_reads_left_out_rows_as_zero_votes_only_where_the_file_writes_no_zero(sim, tmp_path):
    wide = sim.table[[*HEADERS, *sim.parties]].rename(columns=HEADERS)
    long = melt(wide, sim.parties)
    assert (long["Votes"] == 0).any()
    long.to_csv(tmp_path / "zeros.csv", index=False)  # every option's row, zeros written
    assert "absent" not in draft(tmp_path / "zeros.csv")[0].split("[fields]")[0]
    long[long["Votes"] > 0].to_csv(tmp_path / "no_zeros.csv", index=False)  # the rows with no votes left out
    text = draft(tmp_path / "no_zeros.csv")[0]
    assert 'absent = "zero"' in text
    (tmp_path / "no_zeros.toml").write_text(text, encoding="utf-8")
    e = forensics.load(tmp_path / "no_zeros.csv", profile=tmp_path / "no_zeros.toml")
    assert e.table[list(sim.parties)].equals(sim.table[list(sim.parties)])


def test_the_draft_takes_a_party_code_as_the_option_when_no_name_is_given(sim, tmp_path):
    wide = sim.table[[*HEADERS, *sim.parties]].rename(columns=HEADERS)
    codes = {p: str(10 + i) for i, p in enumerate(sim.parties)}
    long = melt(wide.rename(columns=codes), list(codes.values()), "party_no", "votes")
    long.insert(0, "row_id", range(1, len(long) + 1))  # a number on every row: not the option
    long.to_csv(tmp_path / "codes.csv", index=False)
    text, guesses = draft(tmp_path / "codes.csv")
    assert 'option = "party_no"' in text and 'count = "votes"' in text and 'ignore = ["row_id"]' in text
    (tmp_path / "codes.toml").write_text(text, encoding="utf-8")
    e = forensics.load(tmp_path / "codes.csv", profile=tmp_path / "codes.toml")
    assert e.parties == tuple(codes.values())
    assert e.table["10"].tolist() == sim.table[sim.parties[0]].tolist()


def _long_copy(path, folder, option, count):
    """The real wide file, each station's columns repeated on one row per party (as text, cells unchanged)."""
    e = forensics.load(path)
    with zipfile.ZipFile(path) as z:
        raw = pd.read_csv(z.open(z.namelist()[0]), dtype=str, keep_default_na=False)
    long = melt(raw, e.parties, option, count)
    target = folder / "long.csv"
    long.to_csv(target, index=False)
    return e, long, target


def test_a_real_election_published_long_loads_as_published_wide(tmp_path):
    e, long, target = _long_copy(shared_file("pl_2015_pres_r2.csv.zip"), tmp_path, "kandydat", "glosy")
    (tmp_path / "pl_long.toml").write_text('extends = "pl_2015"\n[long]\noption = "kandydat"\ncount = "glosy"\n',
                                           encoding="utf-8")
    got = forensics.load(target, profile=tmp_path / "pl_long.toml")
    assert got.meta["long_rows"] == len(long) == 2 * len(e.table)
    pd.testing.assert_frame_equal(got.table, e.table)
    assert got.totals()["Duda"] == 8_630_627 and np.isclose(got.turnout().mean(), e.turnout().mean())


@pytest.mark.slow
def test_russia_2018_published_long_loads_as_published_wide(tmp_path):
    e, long, target = _long_copy(shared_file("ru_2018_president.csv.zip"), tmp_path, "Кандидат", "Голоса")
    (tmp_path / "ru_long.toml").write_text('extends = "ru_cik_2018"\n[long]\noption = "Кандидат"\n'
                                           'count = "Голоса"\n', encoding="utf-8")
    got = forensics.load(target, profile=tmp_path / "ru_long.toml")
    assert got.meta["long_stations"] == 97_699 and got.meta["long_rows"] == len(long)
    pd.testing.assert_frame_equal(got.table, e.table)
