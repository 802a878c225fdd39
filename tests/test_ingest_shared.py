"""Every data set in ../shared/data loads as published, with no profile argument.

Totals are those of ../shared/data/README.md (and the CEC's or the
authority's published figures it quotes); the Russian exports of 2004-2020
are recognised by the meaning of their protocol lines, whatever the wording.
"""
from __future__ import annotations

import pandas as pd
import pytest

import forensics
from forensics.ingest import excluded_rows, source_rows

from conftest import shared_file

#: file -> (profile chosen automatically, stations, {column: total over published stations})
EXPECTED = {
    "ru_2004_president.csv.zip": ("ru_cik_2011", 95_779, {"Путин Владимир Владимирович": 49_563_020,
                                                         "Против всех": 2_396_550}),
    "ru_2007_duma.csv.zip": ("ru_cik_2011", 96_193, {"registered": 109_148_196}),
    "ru_2008_president.csv.zip": ("ru_cik_2011", 96_612, {"Медведев Дмитрий Анатольевич": 52_530_712}),
    "ru_2011_duma.csv.zip": ("ru_cik_2011", 95_225, {"registered": 109_229_337, "valid": 64_615_252}),
    "ru_2012_president.csv.zip": ("ru_cik_2011", 95_415, {"registered": 109_860_331,
                                                         "Путин Владимир Владимирович": 45_602_075}),
    "ru_2016_duma.csv.zip": ("ru_cik_2011", 96_871, {"registered": 110_061_200}),
    "ru_2018_president.csv.zip": ("ru_cik_2018", 97_699, {"registered": 109_008_428,
                                                         "Путин Владимир Владимирович": 56_430_712}),
    "ru_2020_referendum.csv.zip": ("ru_cik_2020", 96_765, {"ДА": 57_071_119, "НЕТ": 15_347_937}),
    "pl_2015_pres_r2.csv.zip": ("pl_2015", 27_817, {"registered": 30_709_281, "Duda": 8_630_627,
                                                     "Komorowski": 8_112_311, "valid": 16_742_938}),
    "de_2024_ep_wbz.csv.zip": ("de_2024_ep", 91_753, {}),
    "bg_2021_07_parl.csv.zip": ("bg_2021", 13_005, {"ITN": 657_829, "GERB_SDS": 642_165, "BSP": 365_695}),
    "by_2020_pres.csv.zip": ("by_2020", 5_767, {}),
    "ve_2024_actas.csv.zip": ("ve_2024", 24_532, {"Gonzalez": 7_156_462, "Maduro": 3_241_461}),
    "albania_2013_polling_stations.csv": ("albania_2013", 5_508, {"C035": 714_118, "C050": 528_925}),
    "canada_2011_polls.csv.zip": ("canada_2011", 73_680, {"registered": 24_257_592, "valid": 14_723_980,
                                                         "Conservative": 5_835_270}),
}


@pytest.fixture(scope="module")
def loaded():
    cache = {}

    def get(name):
        if name not in cache:
            cache[name] = forensics.load(shared_file(name))
        return cache[name]
    return get


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_loads_as_published_without_a_profile(name, loaded):
    profile, n, totals = EXPECTED[name]
    e = loaded(name)
    assert e.profile == profile and e.meta["detected"]
    assert "chosen automatically" in e.meta["profile_note"]
    assert len(e) == n
    got = e.totals()
    for column, value in totals.items():
        assert got[column] == value, column
    assert e.meta["key"] and not e.table.duplicated(e.meta["key"]).any()
    assert e.meta["excluded_rows"] == []  # every row of the published file is in the table
    assert source_rows(e).iloc[-1] == n + 1 or name.startswith("by_")


@pytest.mark.parametrize("name", [n for n in EXPECTED if n.startswith("ru_") and "2020" not in n])
def test_russian_lines_are_matched_by_meaning(name, loaded):
    """The control relations of the CEC hold in the official files, so each line went to the right field."""
    e = loaded(name)
    t = e.table
    assert (t["valid"] == t[list(e.parties)].sum(axis=1)).mean() > 0.999
    assert ((t["ballots_found_mobile"] + t["ballots_found_stationary"]) == t["valid"] + t["invalid"]).mean() > 0.99
    balance = t["ballots_received"] == (e.ballots_issued() + t["ballots_cancelled"] + t["ballots_lost"]
                                        - t["ballots_unaccounted"])
    assert balance.mean() > 0.99
    if e.profile == "ru_cik_2011":
        assert {"absentee_received", "absentee_voted"} <= set(e.fields)
    assert not [c for c in e.parties if c.startswith("Число")]  # no protocol line became a party
    assert e.meta["language"] == "ru" and e.meta["labels"]["registered"].startswith("Число избирателей")


def test_russian_2020_short_protocol(loaded):
    e = loaded("ru_2020_referendum.csv.zip")
    assert e.parties == ("ДА", "НЕТ") and e.meta["election"]["date"] == "2020-07-01"
    assert (e.table["valid"] == e.table["ДА"] + e.table["НЕТ"]).all()
    assert {"ballots_issued", "ballots_found", "invalid", "registered"} <= set(e.fields)
    assert "name" in e.meta["unmapped"]


def test_oik_column_is_kept_not_a_party(loaded):
    for name in ("ru_2007_duma.csv.zip", "ru_2016_duma.csv.zip"):
        e = loaded(name)
        assert "oik" in e.meta["unmapped"] and "oik" not in e.parties


def test_poland_invalid_is_papers_plus_votes(loaded):
    e = loaded("pl_2015_pres_r2.csv.zip")
    t = e.table
    assert (t["valid"] + t["invalid"] == t["ballots_found"]).mean() > 0.99
    assert round(float((t["valid"] + t["invalid"]).sum() / t["registered"].sum()), 4) == 0.5534
    assert e.meta["election"] == {"name": "Presidential election, second round (Poland)", "date": "2015-05-24"}


def test_poland_postal_ballots_are_received_issued_and_in_the_box(loaded):
    """Postal ballots go into the box from their envelopes: counted as issued (and received), the box holds no more
    than was issued except at the commissions whose in-person figures say so, and the form's balance still holds."""
    e = loaded("pl_2015_pres_r2.csv.zip")
    raw = pd.read_csv(shared_file("pl_2015_pres_r2.csv.zip"))
    t = e.table
    assert (t["ballots_issued"] == raw["ballots_issued"] + raw["postal_envelopes_into_box"]).all()
    codes = forensics.reconcile(e).errors["code"].value_counts()
    in_person_over = int((raw["ballots_in_box"] - raw["postal_envelopes_into_box"] > raw["ballots_issued"]).sum())
    assert codes["R08-FOUND-LE-ISSUED"] <= in_person_over < 0.01 * len(e)
    unbalanced = int((raw["ballots_received"] != raw["ballots_unused"] + raw["ballots_issued"]).sum())
    assert codes["R02-BALLOT-BALANCE"] == unbalanced


def test_germany_postal_districts_have_no_electorate(loaded):
    e = loaded("de_2024_ep_wbz.csv.zip")
    t = e.table
    postal = t["is_postal"] == 1
    assert postal.sum() == 25_162 and t.loc[postal, "registered"].isna().all()
    assert (t.loc[postal, "marked"].str.startswith("postal district")).all()
    assert e.meta["marked_counts"]["district merged into another for counting (every count is 0)"] == 177
    # national turnout over all districts, postal ballots included: the official 64.74%
    assert round(float((t["valid"].sum() + t["invalid"].sum()) / t["registered"].sum()), 4) == 0.6474
    assert t.loc[t["region"] == "Bayern", "CSU"].sum() > 0 and t["region"].nunique() == 16


def test_belarus_official_protocols_beside_independent_counts(loaded):
    e = loaded("by_2020_pres.csv.zip")
    t, pub = e.table, e.published
    assert pub.sum() == 1_395
    assert (t.loc[~pub, "marked"] == "no official protocol published (only citizens' independent counts)").all()
    assert "voice_photo_tihanovkaja" in e.meta["unmapped"]
    cast = t.loc[pub, list(e.parties)].sum(axis=1) + t.loc[pub, ["against_all", "invalid"]].fillna(0).sum(axis=1)
    assert round(float(t.loc[pub, "lukashenko"].sum() / cast.sum()), 3) == 0.623
    assert e.meta["marked_counts"]["negative 'against all' count in the source (read as missing)"] == 3


def test_bulgaria_against_all_and_machine_counts(loaded):
    e = loaded("bg_2021_07_parl.csv.zip")
    t = e.table
    assert "against_all" in e.fields and "none_of_these" not in e.parties
    assert (t["valid"] == t[list(e.parties)].sum(axis=1)).mean() > 0.999
    assert "ITN_machinedata" in e.meta["unmapped"] and "votes_valid_total (2)" in e.meta["unmapped"]
    assert e.meta["key"] == ["pec"]


def test_venezuela_key_without_region(loaded):
    e = loaded("ve_2024_actas.csv.zip")
    assert e.meta["key"] == ["tec", "pec"]
    assert (e.table["valid"] == e.table[list(e.parties)].sum(axis=1)).all()


def test_skip_bad_rows_on_a_real_file(tmp_path):
    """One bad cell no longer refuses 95,000 rows: the row is set aside and listed."""
    import zipfile

    src = shared_file("ru_2011_duma.csv.zip")
    text = zipfile.ZipFile(src).read("2011.csv").decode("utf-8").split("\n")
    cells = text[100].split(",")
    cells[5] = "-3"
    text[100] = ",".join(cells)
    path = tmp_path / "2011_one_bad.csv"
    path.write_text("\n".join(text), encoding="utf-8")
    with pytest.raises(forensics.DataError) as info:
        forensics.load(path)
    assert info.value.row == 101
    e = forensics.load(path, on_bad_rows="skip")
    assert len(e) == 95_224
    assert excluded_rows(e)[["source_row", "action"]].values.tolist() == [[101, "skipped"]]
