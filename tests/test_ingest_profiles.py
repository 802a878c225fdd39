"""The profile language: row rules, computed fields, row-number ids, keys, value maps, extends, metadata."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import forensics
from forensics.errors import DataError
from forensics.ingest import excluded_rows, load_profile, source_rows

CSV = """Province,District,Station,Voters,Blank,Red,Blue,Total,Kind
P1,D1,1,100,2,30,20,52,normal
P1,D1,2,90,1,25,,26,normal
P1,D2,1,80,0,40,30,70,normal
ABROAD,X,0,0,0,5,7,12,abroad
P2,D3,7,120,3,50,40,93,normal
"""


def write(tmp_path, profile: str, data: str = CSV, name="r.csv"):
    (tmp_path / "p.toml").write_text(profile, encoding="utf-8")
    (tmp_path / name).write_text(data, encoding="utf-8")
    return forensics.load(tmp_path / name, profile=tmp_path / "p.toml")


BASE = """
name = "test"
[fields]
region = "Province"
tec = "District"
pec = "Station"
registered = "Voters"
[parties]
columns = ["Red", "Blue"]
"""


def test_drop_and_mark_rules_are_counted_and_listed(tmp_path):
    e = write(tmp_path, BASE + """
[[rows]]
action = "drop"
column = "Province"
equals = "ABROAD"
reason = "votes from abroad counted per province"

[[rows]]
action = "mark"
when = [{ column = "registered", above = 95 }, { column = "Kind", in = ["normal"] }]
reason = "large station"
""")
    assert len(e) == 4 and "ABROAD" not in e.table["region"].tolist()
    gone = excluded_rows(e)
    assert gone.to_dict("records") == [{"source_row": 5, "action": "dropped",
                                        "reason": "votes from abroad counted per province"}]
    assert e.meta["excluded_counts"] == {"votes from abroad counted per province": 1}
    assert e.table["marked"].tolist() == ["large station", "", "", "large station"]
    assert e.meta["marked_counts"] == {"large station": 2}
    assert source_rows(e).tolist() == [2, 3, 4, 6]


def test_a_dropped_row_is_not_checked(tmp_path):
    bad = CSV.replace("ABROAD,X,0,0,0,5,7", "ABROAD,X,,n/a,0,5,7")
    e = write(tmp_path, BASE + '[[rows]]\ncolumn = "Province"\nequals = "ABROAD"\nreason = "abroad"\n', bad)
    assert len(e) == 4


@pytest.mark.parametrize("cond,rows", [
    ('column = "Kind"\nmatches = "^ab"', [5]),
    ('column = "Blue"\nempty = true', [3]),
    ('column = "Blue"\nnot_empty = true', [2, 4, 5, 6]),
    ('column = "Voters"\nbelow = 85', [4, 5]),
    ('column = "Station"\nnot_in = ["1", "2"]', [5, 6]),
    ('column = "source_row"\nequals = 6', [6]),
    ('column = "Station"\nequals = "7.0"', [6]),  # numbers compare as numbers
])
def test_conditions(tmp_path, cond, rows):
    e = write(tmp_path, BASE + f'[[rows]]\n{cond}\nreason = "r"\n')
    assert excluded_rows(e)["source_row"].tolist() == rows


def test_computed_fields_keep_missing_missing(tmp_path):
    e = write(tmp_path, BASE + """
[fields.valid]
sum = ["Red", "Blue"]
[fields.invalid]
difference = ["Total", "Red", "Blue"]
[fields.ballots_found]
sum = ["valid", "invalid", "Blank"]
""")
    t = e.table
    assert t["valid"].tolist()[:1] == [50] and np.isnan(t["valid"].iloc[1])  # Blue missing: no sum, never 25
    assert t["invalid"].tolist()[0] == 2 and np.isnan(t["invalid"].iloc[1])
    assert t["ballots_found"].iloc[0] == 54 and np.isnan(t["ballots_found"].iloc[1])
    assert e.meta["mapping"]["valid"] == "the sum of 'Red', 'Blue'"
    assert e.meta["labels"]["invalid"] == "the difference of 'Total', 'Red', 'Blue'"


def test_sum_of_parties(tmp_path):
    e = write(tmp_path, BASE + '[fields.valid]\nsum = "parties"\n')
    assert e.table["valid"].iloc[0] == 50


def test_ids_from_the_row_number_and_keys_without_tec(tmp_path):
    data = CSV.replace("P1,D1,2,", "P1,D1,1,")  # the station number repeats
    with pytest.raises(DataError, match="same polling station"):
        write(tmp_path, BASE, data)
    e = write(tmp_path, BASE.replace('pec = "Station"', "") + "[fields.pec]\nrow_number = true\n", data)
    assert e.table["pec"].tolist() == ["2", "3", "4", "5", "6"]
    e = write(tmp_path, 'key = ["region", "tec", "pec", "source_row"]\n' + BASE, data)
    assert e.meta["key"] == ["region", "tec", "pec", "source_row"] and e.table["source_row"].tolist()[:2] == [2, 3]
    e = write(tmp_path, 'key = ["region", "pec"]\n' + BASE.replace('tec = "District"\n', ""),
              CSV.replace("P1,D2,1,", "P1,D2,3,"))
    assert "tec" not in e.table and e.meta["key"] == ["region", "pec"]


def test_value_maps_inline_and_from_a_file(tmp_path):
    (tmp_path / "provinces.csv").write_text("code,name\nP1,First province\nP2,Second province\n", encoding="utf-8")
    e = write(tmp_path, """
name = "maps"
[fields]
pec = "Station"
registered = "Voters"
region = { column = "Province", values_file = "provinces.csv" }
tec = { column = "District", values = { D1 = "District one" } }
[parties]
columns = ["Red", "Blue"]
""")
    assert e.table["region"].tolist() == ["First province"] * 3 + ["ABROAD", "Second province"]
    assert e.table["tec"].tolist()[:3] == ["District one", "District one", "D2"]


def test_party_names_from_a_map(tmp_path):
    e = write(tmp_path, BASE.replace('columns = ["Red", "Blue"]', 'columns = ["Red", "Blue"]\n'
                                     'names = { Red = "Red Party", Blue = "Blue Alliance" }'))
    assert e.parties == ("Red Party", "Blue Alliance") and e.meta["mapping"]["Red Party"] == "Red"


def test_election_metadata_language_and_labels(tmp_path):
    e = write(tmp_path, 'language = "en"\n' + BASE + """
[election]
name = "General election"
date = 2024-05-01
[labels]
registered = "Electors on the register"
""")
    assert e.meta["election"] == {"name": "General election", "date": "2024-05-01"}
    assert e.meta["language"] == "en"
    assert e.meta["labels"] == {"region": "Province", "tec": "District", "pec": "Station",
                                "registered": "Electors on the register"}


def test_a_count_field_with_a_column_table_is_created(tmp_path):
    """[fields.registered] column = ... reads the column (it used to be announced and never created)."""
    e = write(tmp_path, BASE.replace('registered = "Voters"\n', "") + '[fields.registered]\ncolumn = "Voters"\n')
    assert e.table["registered"].tolist() == [100, 90, 80, 0, 120]
    with pytest.raises(DataError, match="applies to ids"):
        write(tmp_path, BASE.replace('registered = "Voters"\n', "")
              + '[fields.registered]\ncolumn = "Voters"\nprefix = 2\n')


def test_thousands_separator_declared(tmp_path):
    data = "region;tec;pec;registered;A\nR;T;1;1.413;1.000\nR;T;2;999;12\n"
    with pytest.raises(DataError, match="ambiguous"):
        write(tmp_path, 'name = "x"\n[parties]\nrest = true\n', data)
    e = write(tmp_path, 'name = "x"\n[read]\nthousands = "."\n[parties]\nrest = true\n', data)
    assert e.table["registered"].tolist() == [1413, 999] and e.table["A"].tolist() == [1000, 12]


def test_extends(tmp_path):
    (tmp_path / "base.toml").write_text(BASE + '[meta]\npercent_base = "cast"\n', encoding="utf-8")
    e = write(tmp_path, 'name = "child"\nextends = "base.toml"\n[fields]\ninvalid = "Blank"\n')
    assert e.profile == "child" and e.meta["percent_base"] == "cast" and "invalid" in e.fields
    assert load_profile("ru_cik_2011").words["registered"].matches("Число избирателей, внесенных в список")


def test_meaning_words_find_a_new_wording_and_refuse_ambiguity(tmp_path):
    words = BASE.replace('registered = "Voters"\n', "") + """
[fields.registered]
words = ["voters list", "electors register"]
without = ["added"]
"""
    e = write(tmp_path, words, CSV.replace("Voters", "Voters on the lists"))
    assert e.meta["mapping"]["registered"] == "Voters on the lists"
    with pytest.raises(DataError, match="all match the words for 'registered'"):
        write(tmp_path, words, CSV.replace("Voters", "Voters on the list").replace(",Kind", ",Electors register")
              .replace(",normal", ",1").replace(",abroad", ",1"))


@pytest.mark.parametrize("body,words", [
    ('nonsense = 1\n', "unknown key(s) nonsense"),
    ('[[rows]]\ncolumn = "Kind"\nequals = "x"\n', "give a reason"),
    ('[[rows]]\nreason = "r"\ncolumn = "Kind"\n', "one of equals"),
    ('[[rows]]\nreason = "r"\naction = "delete"\ncolumn = "Kind"\nequals = "x"\n', "'drop' or 'mark'"),
    ('[read]\nthousands = ".."\n', "one character"),
    ('[fields.pec]\nrow_number = true\nsum = ["a"]\n', "id: it cannot be a sum"),
    ('[fields.valid]\nrow_number = true\n', "only an id"),
    ('[labels]\nvoters = "x"\n', "unknown fields"),
])
def test_profile_mistakes_are_named(tmp_path, body, words):
    (tmp_path / "bad.toml").write_text('name = "bad"\n' + body, encoding="utf-8")
    with pytest.raises(DataError, match="bad profile") as info:
        load_profile(tmp_path / "bad.toml")
    assert words in str(info.value)


def test_rule_naming_a_missing_column(tmp_path):
    with pytest.raises(DataError, match="names the column 'Nope'"):
        write(tmp_path, BASE + '[[rows]]\ncolumn = "Nope"\nequals = "1"\nreason = "r"\n')


def test_shipped_profiles_carry_election_metadata():
    for name in ("pl_2015", "de_2024_ep", "bg_2021", "by_2020", "ve_2024", "ru_cik_2020"):
        prof = load_profile(name)
        assert prof.meta["election"]["date"][:4] in ("2015", "2020", "2021", "2024")
        assert prof.meta["language"] and prof.meta["country"]
    assert pd.Series(list(forensics.profiles())).is_unique


def test_russian_e_voting_pseudo_station_without_a_pec_number(tmp_path):
    header = ("region,tik,uik,Число избирателей, включенных в список избирателей,"
              "Число действительных избирательных бюллетеней,Иванов,Петров\n").replace(
        "Число избирателей, включенных в список избирателей", '"Число избирателей, включенных в список избирателей"')
    path = tmp_path / "ru.csv"
    path.write_text(header + "Москва,ТИК 1,1,1000,500,300,200\nМосква,ТИК по ДЭГ,,90000,60000,40000,20000\n",
                    encoding="utf-8")
    e = forensics.load(path)
    assert e.profile == "ru_cik_2018" and len(e) == 2
    assert e.table["pec"].tolist() == ["1", "row 3"]
    assert e.table["marked"].tolist() == ["", "remote electronic voting (no polling station number)"]
    assert e.totals()["Иванов"] == 40_300  # its votes count
