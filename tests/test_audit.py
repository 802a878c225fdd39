"""Observer audit: classification of copy-vs-official differences, impact, double entry,
malformed transcriptions, evidence sheets — on simulated elections with known truth."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forensics.audit import (ALLEGED, compare, digit_slip, double_entry, impact, observer_copies,
                             read_transcriptions, recomputed, template, write_evidence)
from forensics.errors import DataError
from forensics.ingest import to_layout
from forensics.simulate import simulate

IDS = ["region", "tec", "pec"]


@pytest.fixture(scope="module")
def sim():
    election = simulate(n_pec=1500, rng=7)
    return observer_copies(election, sample=0.2, alterations={"moved": 0.08, "added": 0.08, "redrawn": 0.08},
                           slips=0.08, second_entry=True, rng=8)


@pytest.fixture(scope="module")
def comp(sim):
    return compare(sim.official, sim.observed)


def truth_vs_found(sim, comp):
    return comp.stations.merge(sim.truth, on=IDS, validate="one_to_one")


def test_every_altered_station_found_and_classified(sim, comp):
    m = truth_vs_found(sim, comp)
    assert len(m) == len(sim.observed)
    counts = m["true_class"].value_counts()
    assert all(counts[c] >= 20 for c in ("moved", "added", "redrawn", "slip"))
    wrong = m[m["classification"] != m["true_class"]]
    assert wrong.empty, wrong[["true_class", "classification", "detail"]]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_classification_over_seeds_and_designs(seed):
    design = ("srs", "stratified", "cluster")[seed - 1]
    s = observer_copies(simulate(n_pec=800, rng=seed), sample=0.3, design=design, rng=seed)
    m = truth_vs_found(s, compare(s.official, s.observed))
    assert (m["classification"] == m["true_class"]).all()


def test_slips_are_not_called_fraud(sim, comp):
    m = truth_vs_found(sim, comp)
    slips = m[m["true_class"] == "slip"]
    assert (slips["classification"] == "slip").all()
    assert not slips["classification"].isin(ALLEGED).any()
    assert slips["detail"].str.contains("digit").all()
    # a slip leaves the official side arithmetically sound; the copy usually is not
    assert (slips["rules_official"] == "").all()


def test_digit_slip():
    assert digit_slip(123, 132) == "swapped digits"
    assert digit_slip(123, 124) == "one digit"
    assert digit_slip(1234, 124) == "digit missing or extra"
    assert digit_slip(123, 321) is None
    assert digit_slip(150, 160) == "one digit"
    assert digit_slip(150, 165) is None


def test_differences_carry_provenance(sim, comp):
    d = comp.discrepant
    assert d["transcriber"].str.startswith("obs-").all()
    assert d["taken_at"].str.startswith("2021-01-10").all()
    assert d["photos"].str.endswith(".jpg").all()
    long = comp.differences
    assert (long["difference"] == long["official"] - long["observed"]).all()
    assert set(long["line"]) >= set(sim.official.parties)


def test_impact_and_recomputed_result(sim, comp):
    signed, official = sim.signed.table, sim.official.table
    parties = list(sim.official.parties)
    nat = impact(comp, "nation")
    expected = (official[parties] - signed[parties]).sum()
    assert (nat[parties].iloc[0] == expected).all()
    assert nat[parties[0]].iloc[0] > 0
    by_tec = impact(comp, "tec")
    assert (by_tec[parties].sum() == expected).all()
    assert (impact(comp, "region")[parties].sum() == expected).all()
    rec = recomputed(comp, sim.official).set_index("party")
    # every altered station was observed, so the recomputed result is the signed one
    assert (rec.loc[parties, "recomputed_votes"] == signed[parties].sum()).all()
    assert (rec.loc[parties, "official_votes"] == official[parties].sum()).all()
    assert rec.loc[parties[0], "change_points"] < 0


def test_other_and_removed_patterns():
    s = observer_copies(simulate(n_pec=300, rng=4), sample=0.2, alterations={}, slips=0, rng=4)
    obs = s.observed.copy()
    obs.loc[0, ["valid", "Party A"]] += 500           # copy adds to two lines: nothing adds up
    obs.loc[1, "registered"] += 37                       # one line, not a digit slip
    c = compare(s.official, obs).stations.set_index(IDS)
    key0, key1 = tuple(obs.loc[0, IDS]), tuple(obs.loc[1, IDS])
    assert c.loc[key0, "classification"] == "other"
    assert c.loc[key1, "classification"] in ("other", "redrawn")
    assert (c.drop([key0, key1])["classification"] == "identical").all()


def test_double_entry(sim):
    de = double_entry(sim.observed, sim.second)
    st = de.status.merge(sim.truth, on=IDS, how="left")
    assert (st["status"] == st["true_entry"]).all()
    disputed = de.disputes.merge(sim.truth, on=IDS)
    assert (disputed["true_class"] == "slip").all()
    assert de.counts["disputed"] == int((sim.truth["true_entry"] == "disputed").sum()) > 0
    assert de.counts["pending"] > 0
    # only agreed values go forward, and they equal the signed protocols
    agreed = de.agreed.merge(sim.signed.table, on=IDS, suffixes=("", "_signed"))
    for col in ("valid", "Party A", "ballots_cancelled"):
        assert (agreed[col] == agreed[f"{col}_signed"]).all()
    assert agreed["transcriber"].str.contains(";").all()


def test_double_entry_same_person_and_repeated_rows(sim):
    first = sim.observed.iloc[:5].copy()
    second = first.copy()
    second.loc[1, "transcriber"] = "someone else"
    second = pd.concat([second, second.iloc[[2]]], ignore_index=True)
    st = double_entry(first, second).status
    assert st.loc[1, "status"] == "agreed"
    assert st.loc[0, "status"] == "pending" and "same transcriber" in st.loc[0, "note"]
    assert st.loc[2, "status"] == "disputed" and "more than once" in st.loc[2, "note"]


# -- transcription files ---------------------------------------------------------------
def write_files(sim, tmp_path, observed=None):
    official = sim.official.table.drop(columns=[c for c in sim.official.table if str(c).startswith("true_")
                                                or c == "observed"])
    to_layout(official, "generic").to_csv(tmp_path / "official.csv", index=False)
    obs = sim.observed if observed is None else observed
    to_layout(obs, "generic").to_csv(tmp_path / "observed.csv", index=False)
    return tmp_path / "official.csv", tmp_path / "observed.csv"


def test_template_columns(sim):
    t = template("generic", official=sim.official)
    assert list(t.columns[:3]) == IDS
    assert list(t.columns[-3:]) == ["transcriber", "photos", "taken_at"]
    assert set(sim.official.parties) <= set(t.columns)
    kz = template("kz_cec", parties=["Nur Otan", "Ak Zhol"])
    assert "Число действительных избирательных бюллетеней" in kz.columns and "Nur Otan" in kz.columns
    assert list(template("kz_cec").columns).count("<party 1>") == 1


def test_read_transcriptions_roundtrip(sim, tmp_path):
    from forensics.ingest import load

    off_path, obs_path = write_files(sim, tmp_path)
    obs = read_transcriptions(obs_path, "generic")
    assert set(obs.parties) == set(sim.official.parties)
    assert obs.table["transcriber"].str.startswith("obs-").all()
    assert obs.table["source_row"].iloc[0] == 2
    c = compare(load(off_path, "generic"), obs)
    assert c.counts == compare(sim.official, sim.observed).counts


def test_malformed_transcriptions(sim, tmp_path):
    from forensics.ingest import load

    obs = sim.observed.copy()
    obs.loc[0, "pec"] = "99999"                        # unknown station
    obs.loc[1, "valid"] = np.nan                       # a line left blank
    off_path, obs_path = write_files(sim, tmp_path, obs)
    c = compare(load(off_path, "generic"), read_transcriptions(obs_path, "generic"))
    ex = c.excluded.set_index("source_row")
    assert ex.at[2, "reason"] == "station not in the official results"
    assert ex.at[3, "reason"] == "line(s) left blank" and ex.at[3, "blank_lines"] == "valid"
    assert len(c.stations) + len(c.excluded) == len(obs)

    text = to_layout(sim.observed, "generic").astype(object)
    text.loc[4, "Party B"] = "12O"                     # letter O for a zero
    text.to_csv(tmp_path / "text.csv", index=False)
    with pytest.raises(DataError) as err:
        read_transcriptions(tmp_path / "text.csv", "generic")
    assert err.value.row == 6 and err.value.column == "Party B"

    dup = pd.concat([sim.observed, sim.observed.iloc[[3]]], ignore_index=True)
    to_layout(dup, "generic").to_csv(tmp_path / "dup.csv", index=False)
    with pytest.raises(DataError, match="same polling station"):
        read_transcriptions(tmp_path / "dup.csv", "generic")

    with pytest.raises(DataError, match="lacks the protocol line"):
        compare(sim.official, sim.observed.drop(columns=["ballots_cancelled"]))
    bad = sim.observed.astype({"Party C": object})
    bad.loc[2, "Party C"] = "n/a"
    with pytest.raises(DataError, match="text where a number belongs"):
        compare(sim.official, bad)


# -- evidence sheets -------------------------------------------------------------------
def test_evidence_sheets(sim, tmp_path):
    official = sim.official.table.copy()
    obs = sim.observed.copy()
    first_discrepant = sim.truth.index[sim.truth["true_class"] == "moved"][0]
    hostile = '<script>alert("x")</script>'
    row = official.index[(official[IDS] == sim.truth.loc[first_discrepant, IDS].to_numpy()).all(axis=1)][0]
    official.loc[row, "region"] = hostile
    obs.loc[first_discrepant, "region"] = hostile
    obs.loc[first_discrepant, "transcriber"] = "<b>bold</b>"
    c = compare(sim.official.with_table(official), obs)
    paths = write_evidence(c, tmp_path / "ev", official_file="official.csv", official_sha="abc")
    assert len(paths) == len(c.discrepant) == int((sim.truth["true_class"] != "identical").sum())
    pages = {p.name: p.read_text(encoding="utf-8") for p in paths}
    index = (tmp_path / "ev" / "index.html").read_text(encoding="utf-8")
    everything = index + "".join(pages.values())
    assert '<script>alert' not in everything and "&lt;script&gt;" in everything
    assert all(page.count("<script>") == 1 for page in pages.values())  # the sheet's own fit-to-page script
    assert "<b>bold</b>" not in everything
    assert "http://" not in everything and "https://" not in everything and "src=" not in everything
    assert "@media print" in everything
    for name in pages:
        assert f'href="{name}"' in index
    slip_pages = [t for t in pages.values() if ">Possible transcription slip<" in t]
    assert slip_pages and all("Do not file this yet" in t and "<h1>To re-check:" in t for t in slip_pages)
    moved = next(t for t in pages.values() if ">Votes moved between parties<" in t)
    assert 'class="differs"' in moved and "We ask that the published figures" in moved
    assert "Identity document number" in moved


def test_classification_on_real_protocols(ru2018):
    """Real Russian 2018 protocols stand in for the signed copies: the patterns are still told apart."""
    s = observer_copies(ru2018, sample=0.01, rng=18)
    c = compare(s.official, s.observed)
    assert c.official.meta["ruleset"] == "ru_2018"
    m = truth_vs_found(s, c)
    assert len(m) == len(s.observed) > 900
    assert (m["classification"] == m["true_class"]).all()
    assert (m["true_class"] == "redrawn").sum() >= 30


def test_transcription_in_a_national_layout(tmp_path):
    """Provenance columns are never taken for parties, even where every other column is one."""
    from forensics.ingest import load_profile

    e = simulate(n_pec=200, rng=3)
    prof = load_profile("ru_cik_2018")
    table = e.table[IDS + [c for c in e.fields if c in prof.fields] + list(e.parties)].iloc[:20]
    obs = table.assign(transcriber=7, photos="a.jpg", taken_at="2018-03-18 21:00")
    layout = to_layout(obs, prof, e.parties)
    assert "Число действительных избирательных бюллетеней" in layout.columns
    layout.to_csv(tmp_path / "obs.csv", index=False)
    t = read_transcriptions(tmp_path / "obs.csv", "ru_cik_2018")
    assert t.parties == e.parties
    assert (t.table["transcriber"] == "7").all() and (t.table["photos"] == "a.jpg").all()
    assert (t.table["valid"].to_numpy() == table["valid"].to_numpy()).all()


def test_source_rows_survive_blank_lines(sim, tmp_path):
    layout = to_layout(sim.observed.iloc[:6], "generic")
    blank = pd.DataFrame([[None] * layout.shape[1]], columns=layout.columns)
    pd.concat([layout.iloc[:3], blank, layout.iloc[3:]]).to_csv(tmp_path / "gap.csv", index=False)
    t = read_transcriptions(tmp_path / "gap.csv", "generic")
    assert t.table["source_row"].tolist() == [2, 3, 4, 6, 7, 8]
