"""Ingest of the real data sets: counts, totals, profile choice, mapping and the CLI."""
from __future__ import annotations

import hashlib

import pandas as pd

import forensics
from forensics.cli import main
from forensics.ingest import available_profiles, detect_profile, load_profile
from forensics.model import FIELDS, ID_COLUMNS, UNPUBLISHED

UR = '6. Всероссийская политическая партия "ЕДИНАЯ РОССИЯ"'
PUTIN = "Путин Владимир Владимирович"


def check_canonical(e):
    """Invariants every loaded election satisfies."""
    t = e.table
    assert list(t.columns[:3]) == list(ID_COLUMNS)
    for c in ID_COLUMNS:
        assert pd.api.types.is_string_dtype(t[c]) and not t[c].isna().any()
    for c in [*e.fields, *e.parties]:
        assert t[c].dtype in ("int64", "float64")
    assert t[UNPUBLISHED].dtype == bool
    assert not t.duplicated(e.meta["key"]).any()
    assert isinstance(t.index, pd.RangeIndex)
    for key in ("ruleset", "mapping", "unmapped", "n_unpublished", "percent_base"):
        assert key in e.meta
    assert e.meta["n_unpublished"] == int(t[UNPUBLISHED].sum())
    path, sha = next(iter(e.sources.items()))
    with open(path, "rb") as fh:
        assert sha == hashlib.sha256(fh.read()).hexdigest()


def test_ru2018(ru2018):
    e = ru2018
    check_canonical(e)
    assert len(e) == 97_699
    assert e.profile == "ru_cik_2018" and e.meta["detected"]
    assert "ru_cik_2018" in e.meta["profile_note"] and "automatically" in e.meta["profile_note"]
    assert e.meta["ruleset"] == "ru_2018"
    totals = e.totals()
    assert totals["registered"] == 109_008_428
    assert totals[PUTIN] == 56_430_712
    assert totals["valid"] == 72_787_734
    assert len(e.parties) == 8 and e.leader == PUTIN
    assert e.meta["unmapped"] == ["url"]
    assert e.meta["mapping"]["tec"] == "tik" and e.meta["mapping"]["pec"] == "uik"
    assert set(e.fields) == {"registered", "ballots_received", "ballots_issued_early", "ballots_issued_inside",
                             "ballots_issued_outside", "ballots_cancelled", "ballots_found_mobile",
                             "ballots_found_stationary", "invalid", "valid", "ballots_lost", "ballots_unaccounted"}
    # the legal control relations hold in the official file, so the fields are mapped to the right lines
    t = e.table
    assert (t["valid"] == t[list(e.parties)].sum(axis=1)).all()
    balance = (t["ballots_received"] == e.ballots_issued() + t["ballots_cancelled"] + t["ballots_lost"]
               - t["ballots_unaccounted"])
    assert balance.mean() > 0.999


def test_ru2011(ru2011):
    e = ru2011
    check_canonical(e)
    assert len(e) == 95_225
    assert e.profile == "ru_cik_2011" and e.meta["ruleset"] == "ru_2011"
    totals = e.totals()
    assert totals["registered"] == 109_229_337
    assert totals["valid"] == 64_615_252
    assert totals[UR] == 32_371_737
    assert len(e.parties) == 7 and e.leader == UR
    assert {"absentee_received", "absentee_voted", "absentee_lost", "ballots_lost",
            "ballots_unaccounted"} <= set(e.fields)
    t = e.table
    # 2011 numbering: 2 = 3+4+5+6+17-18 and 11 = 12+14+16 hold in the official file
    assert ((t["ballots_received"] == e.ballots_issued() + t["ballots_cancelled"] + t["ballots_lost"]
             - t["ballots_unaccounted"]).mean()) > 0.999
    assert ((t["absentee_received"] == t["absentee_issued"] + t["absentee_cancelled"] + t["absentee_lost"])
            .mean()) > 0.99


def test_ru2012(ru2012):
    e = ru2012
    check_canonical(e)
    assert len(e) == 95_415
    assert e.profile == "ru_cik_2011"
    assert e.totals()["registered"] == 109_860_331
    assert e.totals()[PUTIN] == 45_602_075
    assert len(e.parties) == 5


def test_albania(albania):
    e = albania
    check_canonical(e)
    assert len(e) == 5_508
    assert e.profile == "albania_2013"
    assert len(e.parties) == 66 and e.parties[0] == "C007" and e.parties[-1] == "C072"
    assert e.totals()["C035"] == 714_118 and e.totals()["C050"] == 528_925
    assert e.meta["mapping"]["ballots_found"] == "Ballots"
    # precinct numbers repeat within a commune: the profile's key adds the row number
    assert e.meta["key"] == ["region", "tec", "pec", "row_id"]
    assert e.table.duplicated(["region", "tec", "pec"]).sum() == 60
    # two empty cells are kept as missing, counted, and the stations stay published
    assert e.meta["missing_cells"] == {"C011": 1, "C067": 1}
    assert e.meta["n_unpublished"] == 0
    # zero registered voters is a fact about the election, not a load error
    assert (e.table["registered"] == 0).sum() == 2


def test_canada(canada):
    e = canada
    check_canonical(e)
    assert len(e) == 73_680
    totals = e.totals()
    assert totals["registered"] == 24_257_592
    assert totals["valid"] == 14_723_980
    assert totals["Conservative"] == 5_835_270
    assert e.table["tec"].nunique() == 308
    assert e.table["region"].nunique() == 13
    assert (e.table.loc[e.table["tec"] == "35001", "region"] == "Ontario").all()
    assert e.meta["mapping"]["region"] == "derived from 'ed_number'"
    assert e.meta["mapping"]["Conservative"] == "votes_Conservative"
    assert {"poll_type", "void_poll", "total_ballots"} <= set(e.meta["unmapped"])
    assert e.table["void_poll"].dtype == "int64"  # kept columns keep their values


def test_canada_and_albania_autodetect(canada_path, albania_path):
    assert forensics.load(canada_path).profile == "canada_2011"
    assert forensics.load(albania_path).profile == "albania_2013"


def test_profiles_listed_and_parsed():
    shipped = available_profiles()
    assert {"ru_cik_2018", "ru_cik_2011", "kz_cec", "generic", "albania_2013", "canada_2011"} <= set(shipped)
    assert all(shipped.values())
    for name in shipped:
        prof = load_profile(name)
        assert prof.name == name
        assert prof.ruleset in ("ru_2018", "ru_2011", "kz", "generic")
        assert set(prof.fields) | set(prof.derived) <= set(FIELDS) | set(ID_COLUMNS)
    kz = load_profile("kz_cec")
    assert kz.meta["seats"] == 98 and kz.meta["threshold"] == 0.07 and kz.meta["seat_method"] == "hare"
    assert kz.ruleset == "kz"
    # Russian headers as the Kazakh CEC forms print them, with English aliases
    assert kz.header("registered").startswith("Число избирателей")
    assert "voters on the list" in kz.fields["registered"]
    assert {"registered_added", "signatures", "ballots_received", "ballots_cancelled", "ballots_spoiled",
            "ballots_found", "invalid", "against_all"} <= set(kz.fields)


def test_detection_prefers_the_layout_with_the_most_own_headers():
    ru18 = load_profile("ru_cik_2018")
    headers = ["region", "tik", "uik", *(ru18.header(f) for f in ru18.fields if f not in ID_COLUMNS), "Кандидат"]
    assert detect_profile(headers)[0].name == "ru_cik_2018"
    ru11 = load_profile("ru_cik_2011")
    headers11 = ["region", "tik", "uik", *(ru11.header(f) for f in ru11.fields if f not in ID_COLUMNS)]
    assert detect_profile(headers11)[0].name == "ru_cik_2011"
    assert detect_profile(["region", "tec", "pec", "registered", "valid", "A"])[0].name == "generic"


def test_user_profile_file(tmp_path):
    (tmp_path / "mine.toml").write_text(
        'name = "mine"\n[fields]\nregion = "Province"\ntec = "District"\npec = "Station"\n'
        'registered = "Voters"\n[parties]\ncolumns = ["Red", "Blue"]\n', encoding="utf-8")
    (tmp_path / "r.csv").write_text("Province,District,Station,Voters,Red,Blue,Note\n"
                                    "P,D,1,100,30,20,ok\nP,D,2,90,,,not counted\n", encoding="utf-8")
    e = forensics.load(tmp_path / "r.csv", profile=tmp_path / "mine.toml")
    assert e.profile == "mine" and e.parties == ("Red", "Blue")
    assert e.meta["unmapped"] == ["Note"] and e.meta["ruleset"] == "generic"
    assert e.table["registered"].tolist() == [100, 90]
    assert e.meta["missing_cells"] == {"Red": 1, "Blue": 1}  # a station with the register but no votes


def test_cli_load_summary(ru2018_path, capsys):
    assert main(["load", str(ru2018_path)]) == 0
    out = capsys.readouterr().out
    assert "97,699" in out and "109,008,428" in out
    assert "ru_cik_2018 (detected from the headers" in out
    assert "registered                 <- Число избирателей" in out
    assert "kept unmapped: url" in out
    assert "turnout     67.50%" in out
    # shares on the CEC's base (ballots cast), as the CEC published them
    assert "56,430,712   76.69% of ballots cast" in out


def test_cli_profiles(capsys):
    assert main(["profiles", "--fields", "kz_cec"]) == 0
    out = capsys.readouterr().out
    for name in ("ru_cik_2018", "ru_cik_2011", "kz_cec", "generic", "albania_2013", "canada_2011"):
        assert name in out
    assert "registered" in out and "Число избирателей" in out


def test_cli_error_is_one_paragraph(tmp_path, capsys):
    bad = tmp_path / "x.csv"
    bad.write_text("region,tec,pec,registered\nA,B,1,-3\n", encoding="utf-8")
    assert main(["load", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and "row 2" in err and "'registered'" in err and "Fix:" in err
    assert main(["load", str(bad), "--profile", "no_such"]) == 2
    assert "unknown profile 'no_such'" in capsys.readouterr().err
