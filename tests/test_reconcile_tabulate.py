"""Tabulation up the hierarchy, published totals, national percentages."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forensics.errors import DataError
from forensics.model import Election
from forensics.reconcile import compare_totals, percentages, read_totals, reconcile, tabulate
from forensics.simulate import simulate

#: Kazakhstan, Majilis 10 January 2021, ODIHR final report Annex I (as published by the CEC)
KZ_2021 = {"Nur Otan": 5_148_074, "Ak Zhol": 792_828, "People's Party of Kazakhstan": 659_019,
           "Auyl": 383_023, "Adal": 258_618}
KZ_PERCENT = [71.09, 10.95, 9.10, 5.29, 3.57]


@pytest.fixture(scope="module")
def sim():
    e = simulate(n_pec=800, rng=21)
    t = e.table.copy()
    t["unpublished"] = False
    t.loc[t.index[:5], "unpublished"] = True
    return e.with_table(t)


def test_rollup_sums_published_stations_at_every_level(sim):
    tot = tabulate(sim)
    t = sim.table[~sim.table["unpublished"]]
    nation = tot[tot["level"] == "nation"].set_index("field")["value"]
    assert nation["registered"] == t["registered"].sum()
    assert nation["Party A"] == t["Party A"].sum()
    assert tot.loc[tot["level"] == "nation", "unpublished"].iloc[0] == 5
    region = tot[(tot["level"] == "region") & (tot["field"] == "valid")].set_index("region")["value"]
    assert region.sum() == t["valid"].sum()
    assert region.to_dict() == t.groupby("region")["valid"].sum().to_dict()
    tec = tot[(tot["level"] == "tec") & (tot["field"] == "valid")]
    assert len(tec) == sim.table[["region", "tec"]].drop_duplicates().shape[0]
    assert tec["value"].sum() == t["valid"].sum()


def test_round_trip_through_a_totals_file_and_a_changed_figure(sim, tmp_path):
    path = tmp_path / "totals.csv"
    tabulate(sim).to_csv(path, index=False)
    cmp = compare_totals(sim, path)
    assert (cmp["status"] == "match").all() and (cmp["difference"] == 0).all()
    # the region's published figure for the leader is 7 votes higher than its protocols add up to
    pub = read_totals(path)
    row = pub.index[(pub["level"] == "region") & (pub["field"] == "Party A")][2]
    pub.loc[row, "value"] += 7
    pub.to_csv(path, index=False)
    cmp = compare_totals(sim, path)
    bad = cmp[cmp["status"] == "differs"]
    assert len(bad) == 1 and bad["difference"].iloc[0] == 7 and bad["field"].iloc[0] == "Party A"
    f = reconcile(sim, published=path)
    r22 = f.table[f.table["code"] == "R22-PUBLISHED-TOTALS"]
    assert len(r22) == 1 and r22["severity"].iloc[0] == "error" and r22["difference"].iloc[0] == 7
    assert r22["message"].iloc[0].startswith("published Party A for region ")
    assert "is 7 more" in r22["message"].iloc[0]


def test_totals_file_problems_name_the_row_and_column(tmp_path):
    good = "level,region,tec,field,value\nnation,,,valid,10\n"
    p = tmp_path / "t.csv"
    p.write_text(good + "county,X,,valid,3\n", encoding="utf-8")
    with pytest.raises(DataError) as err:
        read_totals(p)
    assert err.value.row == 3 and err.value.column == "level"
    p.write_text(good + "tec,X,,valid,3\n", encoding="utf-8")
    with pytest.raises(DataError, match="tec is blank"):
        read_totals(p)
    p.write_text(good + "region,X,,valid,3.5\n", encoding="utf-8")
    with pytest.raises(DataError, match="whole number"):
        read_totals(p)
    p.write_text(good + "nation,,,valid,11\n", encoding="utf-8")
    with pytest.raises(DataError, match="twice"):
        read_totals(p)
    p.write_text("level,region,field,value\n", encoding="utf-8")
    with pytest.raises(DataError, match="tec"):
        read_totals(p)
    p.write_text(good + "region,Atlantis,,valid,1\nnation,,,spoiled_votes,1\n", encoding="utf-8")
    e = simulate(n_pec=50, rng=1)
    status = compare_totals(e, p).set_index("field")["status"]
    assert status["spoiled_votes"] == "field not in the protocols"
    assert (compare_totals(e, p)["status"] == "no such area").sum() == 1


def test_kazakhstan_2021_percentages_of_valid_votes():
    t = pd.DataFrame([{"region": "KZ", "tec": "", "pec": "nation", "registered": 11_919_241,
                       "invalid": 7_539_280 - sum(KZ_2021.values()), "valid": sum(KZ_2021.values()), **KZ_2021}])
    e = Election(table=t, parties=tuple(KZ_2021), meta={"percent_base": "valid"})
    pct = percentages(e)
    assert pct["percent"].tolist() == KZ_PERCENT
    assert pct.attrs["base"] == "valid"
    # of all ballots cast the figures would be lower: the CEC's base matters
    assert percentages(e, base="cast")["percent"].iloc[0] == pytest.approx(68.28, abs=0.005)


@pytest.mark.shared
def test_russia_2018_percentages_as_the_cec_reports_them(ru2018):
    pct = percentages(ru2018).set_index("party")["percent"]
    assert ru2018.meta["percent_base"] == "cast"
    assert pct["Путин Владимир Владимирович"] == 76.69
    assert pct["Грудинин Павел Николаевич"] == 11.77
    assert np.isclose(pct.sum(), 100 * ru2018.totals()["valid"] / ru2018.ballots_cast().sum(), atol=0.05)


@pytest.mark.shared
def test_russia_2018_rollup_round_trip(ru2018, tmp_path):
    tot = tabulate(ru2018)
    nation = tot[tot["level"] == "nation"].set_index("field")["value"]
    assert nation["Путин Владимир Владимирович"] == 56_430_712
    assert nation["registered"] == ru2018.table["registered"].sum()
    assert tot[tot["level"] == "region"]["region"].nunique() == ru2018.table["region"].nunique()
    path = tmp_path / "ru2018_totals.csv"
    tot.to_csv(path, index=False)
    assert (compare_totals(ru2018, path)["status"] == "match").all()
