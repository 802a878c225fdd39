"""``forensics profile draft``: the guesses on every shared data set, and loading with the unedited draft."""
from __future__ import annotations

import pytest

import forensics
from forensics.cli import main
from forensics.ingest.draft import draft

from conftest import shared_file

RU_REG = "Число избирателей"
RU_VALID = "Число действительных избирательных бюллетеней"
RU_INVALID = "Число недействительных избирательных бюллетеней"

#: file -> {field: the header (or the headers that are equally right)}, the party columns
#: (None: every column the shipped profile makes a party), extra parties allowed
EXPECTED = {
    "ru_2004_president.csv.zip": ({"pec": "uik", "tec": "tik", "region": "region", "valid": RU_VALID,
                                   "invalid": RU_INVALID},
                                  ["Глазьев Сергей Юрьевич", "Малышкин Олег Александрович", "Миронов Сергей Михайлович",
                                   "Путин Владимир Владимирович", "Хакамада Ирина Муцуовна",
                                   "Харитонов Николай Михайлович"], {"Против всех"}),
    "ru_2007_duma.csv.zip": ({"pec": "uik", "valid": RU_VALID, "invalid": RU_INVALID}, None, set()),
    "ru_2008_president.csv.zip": ({"pec": "uik", "valid": RU_VALID, "invalid": RU_INVALID}, None, set()),
    "ru_2011_duma.csv.zip": ({"pec": "uik", "valid": RU_VALID, "invalid": RU_INVALID}, None, set()),
    "ru_2012_president.csv.zip": ({"pec": "uik", "valid": RU_VALID, "invalid": RU_INVALID}, None, set()),
    "ru_2016_duma.csv.zip": ({"pec": "uik", "valid": RU_VALID, "invalid": RU_INVALID}, None, set()),
    "ru_2018_president.csv.zip": ({"pec": "uik", "tec": "tik", "region": "region", "valid": RU_VALID,
                                   "invalid": RU_INVALID}, None, set()),
    "ru_2020_referendum.csv.zip": ({"pec": "uik", "invalid": "Число недействительных бюллетеней",
                                    "registered": "Число участников голосования, включенных в список участников "
                                                  "голосования на момент окончания голосования"}, ["ДА", "НЕТ"], set()),
    "pl_2015_pres_r2.csv.zip": ({"pec": ("station_id", "obwod_no"), "region": "voivodeship", "registered": "registered",
                                 "valid": "votes_valid", "invalid": ("ballots_invalid", "votes_invalid")},
                                ["Duda", "Komorowski"], set()),
    "de_2024_ep_wbz.csv.zip": ({"pec": ("station_id", "wahlbezirk"), "region": "land", "registered": "registered",
                                "valid": "valid", "invalid": "invalid"}, None, set()),
    "bg_2021_07_parl.csv.zip": ({"pec": "section_id", "registered": "registered_plus_onsite",
                                 "valid": "votes_valid_total", "invalid": "invalid_paper_ballots"}, None,
                                {"none_of_these"}),
    "by_2020_pres.csv.zip": ({"pec": "station_id", "registered": "registered", "invalid": "corrupted"}, None,
                             {"against"}),
    "ve_2024_actas.csv.zip": ({"pec": ("station_id", "mesa"), "registered": "registered", "valid": "valid",
                               "invalid": "null"}, None, set()),
    "albania_2013_polling_stations.csv": ({"pec": "Precincts", "tec": "Communes", "region": "Prefectures",
                                           "registered": "Registered"}, None, set()),
    "canada_2011_polls.csv.zip": ({"pec": "poll_number", "tec": "ed_number", "registered": "electors",
                                   "valid": "valid_votes", "invalid": "rejected_ballots"}, None, set()),
}


@pytest.fixture(scope="module")
def drafts():
    cache = {}

    def get(name):
        if name not in cache:
            cache[name] = draft(shared_file(name))
        return cache[name]
    return get


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_draft_finds_ids_counts_and_parties(name, drafts):
    fields, parties, extra = EXPECTED[name]
    text, guess = drafts(name)
    for f, header in fields.items():
        ok = header if isinstance(header, tuple) else (header,)
        assert guess.get(f) in ok, (f, guess.get(f))
    if name.startswith("ru_") or "registered" not in fields:
        assert guess["registered"].startswith(RU_REG) or guess["registered"] == fields.get("registered")
    if parties is None:  # the parties the shipped profile finds, by their source headers
        shipped = forensics.load(shared_file(name))
        mapping = shipped.meta["mapping"]
        parties = [mapping.get(p, p) for p in shipped.parties]
    assert set(parties) <= set(guess["parties"]) <= set(parties) | extra
    assert "# " in text and ("sure" in text or "likely" in text)  # it says how sure it is


def test_unedited_drafts_load_for_most(tmp_path, drafts):
    loaded = []
    for name in EXPECTED:
        path = tmp_path / f"{name.split('.')[0]}.toml"
        path.write_text(drafts(name)[0], encoding="utf-8")
        try:
            e = forensics.load(shared_file(name), profile=path)
        except forensics.DataError:
            continue
        assert len(e) > 0 and e.parties
        loaded.append(name)
    assert len(loaded) >= 13, sorted(set(EXPECTED) - set(loaded))


def test_cli_draft_writes_a_file_it_will_not_overwrite(tmp_path, capsys):
    src = shared_file("ve_2024_actas.csv.zip")
    out = tmp_path / "ve.toml"
    assert main(["profile", "draft", str(src), "--out", str(out), "--rows", "2000"]) == 0
    assert "Draft written" in capsys.readouterr().out
    assert 'valid = "valid"' in out.read_text(encoding="utf-8")
    assert main(["profile", "draft", str(src), "--out", str(out)]) == 2
    assert "exists" in capsys.readouterr().err
    assert main(["load", str(src), "--profile", str(out)]) == 0
    assert main(["profiles"]) == 0 and "ve_2024" in capsys.readouterr().out
