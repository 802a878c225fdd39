"""The anomaly scan on simulated elections with known fraud: one row per station, flags, exclusions, tests."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.multitest import multipletests

import forensics
from forensics.report import write_tables
from forensics.scan import DEFAULT_BATTERY, STATION_COLUMNS, TEST_COLUMNS, Check, scan

#: cheaper settings of the slow tests, so the whole area stays within its time budget
FAST = {"klimek_fit": {"n_sim_ci": 3, "n_sim": 3, "iterations": 2}}


@pytest.fixture(scope="module")
def fraud_election():
    fraud = {
        "stuffing": {"fraction": 0.04, "model": "extreme"},
        "rounding": {"fraction": 0.05},
        "drawn": {"fraction": 0.01},
    }
    return forensics.simulate(n_pec=2000, n_regions=5, fraud=fraud, unpublished=0.01, rng=11)


@pytest.fixture(scope="module")
def fraud_scan(fraud_election):
    return scan(fraud_election, rng=3, progress=False, **FAST)


def _truth(election, column):
    return election.table[column].to_numpy()


def test_one_row_per_input_station(fraud_election, fraud_scan):
    st = fraud_scan.stations
    t = fraud_election.table
    assert list(st.columns) == STATION_COLUMNS
    assert len(st) == len(t)
    assert (st["station"].to_numpy() == np.arange(len(t))).all()
    assert (st["pec"].to_numpy() == t["pec"].astype(str).to_numpy()).all()
    unpublished = t["unpublished"].to_numpy()
    assert unpublished.sum() > 0
    assert (st.loc[unpublished, "excluded"] == "figures not published").all()
    assert (st.loc[unpublished, "n_flags"] == 0).all()
    assert (st.loc[~unpublished, "excluded"] == "").all()


def test_flags_find_injected_fraud(fraud_election, fraud_scan):
    st = fraud_scan.stations
    fraud = _truth(fraud_election, "true_fraud")
    published = ~_truth(fraud_election, "unpublished")
    flagged = (st["n_flags"] > 0).to_numpy()
    codes = st["flag_codes"]

    stuffed = published & (fraud == "stuffing")
    drawn = published & pd.Series(fraud).str.contains("drawn").to_numpy()
    rounded = published & _truth(fraud_election, "true_rounded").astype(bool) & (fraud == "rounding")
    clean = published & (fraud == "")
    assert stuffed.sum() > 30 and drawn.sum() > 10 and rounded.sum() > 30
    # Over draws of this election (seeds 11-14) the shares were: stuffed stations flagged 0.24-0.30 (about 75
    # per draw, binomial sd 0.05), clean stations flagged 0, flagged stations that were manipulated 1.0.
    # Stations are flagged on their own evidence at 1 honest station in 1,000, so only the stuffed stations
    # far from their neighbourhood are; the group headlines are for the rest.
    assert flagged[stuffed].mean() > 0.08
    assert codes[stuffed & flagged].isin(["LEADER_EXCESS", "CLUSTER_100"]).all()
    # invented protocols break the arithmetic: every one is flagged ARITHMETIC with its rule code
    assert codes[drawn].str.contains("ARITHMETIC").all()
    assert st.loc[drawn, "flag_reasons"].str.contains("R0").all()
    # rounded percentages are columns that feed the group test, never flags
    assert (st.loc[rounded, "integer_turnout"] | st.loc[rounded, "integer_share"]).mean() > 0.9
    assert not codes.str.contains("INT").any()
    # clean stations are hardly ever flagged, and the flagged ones were manipulated
    assert flagged[clean].mean() < 0.005
    assert (~clean[flagged & published]).mean() > 0.9
    summary = fraud_scan.verdicts.stations_summary
    assert summary["n_flagged"] == flagged.sum() and summary["expected"] < summary["n_flagged"]


def test_review_order_follows_the_evidence(fraud_scan):
    st = fraud_scan.stations
    flagged = st[st["n_flags"] > 0].sort_values("review_order")
    assert list(flagged["review_order"]) == list(range(1, len(flagged) + 1))
    assert st.loc[st["n_flags"] == 0, "review_order"].isna().all()
    assert flagged["evidence"].is_monotonic_decreasing
    # every flag has its reason
    assert (flagged["flag_reasons"].str.count(r" \| ") == flagged["n_flags"] - 1).all()


def test_exclusions_are_accounted_for(fraud_election, fraud_scan):
    n = len(fraud_election.table)
    tests = fraud_scan.tests
    for name in ("fingerprint", "integer_percentages"):
        row = tests[(tests["test"] == name) & (tests["level"] == "nation")].iloc[0]
        assert row["n_used"] + row["n_excluded"] == n
        listed = fraud_scan.excluded[(fraud_scan.excluded["analysis"] == name)
                                     & (fraud_scan.excluded["level"] == "nation")]
        assert listed["n"].sum() == row["n_excluded"]
        assert set(listed["station"]) <= set(range(n))
    res = fraud_scan.results[("integer_percentages", "nation")]["National"]
    assert "fewer than 100 voters on the list" in res.excluded
    ex = fraud_scan.excluded
    assert (ex.loc[ex["analysis"] == "station evidence", "reason"] == "figures not published").all()


def test_excluded_rows_carry_each_station_reason(fraud_election, fraud_scan):
    # the listed stations of a result are its excluded rows, each with its own reason, in the rows' order
    res = fraud_scan.results[("integer_percentages", "nation")]["National"]
    ex = fraud_scan.excluded
    listed = ex[(ex["analysis"] == "integer_percentages") & (ex["level"] == "nation") & (ex["station"] >= 0)]
    rows = res.excluded_rows
    assert listed["station"].tolist() == fraud_election.table.index.get_indexer(rows.index).tolist()
    assert listed["reason"].tolist() == [str(r) for r in rows]
    assert (listed["n"] == 1).all() and len(set(listed["reason"])) > 1


def _boom(election, **_):
    raise ValueError("this test always fails")


def test_a_test_that_cannot_run_says_so(fraud_election):
    battery = (
        Check("no_such_test", "a test not in this build", "other"),
        Check("always_fails", "a test that fails", "other", func=_boom),
        Check("fingerprint", "needs a field the data lacks", "fingerprints", needs=("ballots_lost_in_the_mail",)),
        Check("fingerprint", "runs", "fingerprints", min_stations=1000),
    )
    s = scan(fraud_election, tests=battery, rng=1, progress=False)
    t = s.tests
    n_regions = fraud_election.table["region"].nunique()
    for name, reason in (("no_such_test", "not available"), ("always_fails", "this test always fails")):
        rows = t[t["test"] == name]
        assert len(rows) == 1 + n_regions  # nation + every region: nothing vanishes
        assert rows["note"].str.startswith("could not run").all()
        assert rows["note"].str.contains(reason).all()
    missing = t[t["note"].str.contains("ballots_lost_in_the_mail")]
    assert len(missing) == 1 + n_regions
    small = t[t["note"].str.startswith("too few stations")]
    assert len(small) == n_regions  # regions of ~400 stations are below min_stations=1000
    assert "no_such_test" in s.summary()


def test_pvalues_corrected_across_tests_and_groups(fraud_scan):
    t = fraud_scan.tests
    assert list(t.columns) == TEST_COLUMNS
    for level, rows in t.groupby("level"):
        ok = rows["pvalue"].notna()
        expected = multipletests(rows.loc[ok, "pvalue"], method="fdr_bh")[1]
        assert np.allclose(rows.loc[ok, "pvalue_adj"], expected)
        assert rows["family"].str.contains(f"at the {level} level").all()
    ok = t["pvalue"].notna()
    assert (t.loc[ok, "pvalue_adj"] >= t.loc[ok, "pvalue"] - 1e-15).all()


def test_fraud_stands_out_in_summary(fraud_scan):
    # the injected rounding (5% of stations) is 6.7 sd of excess whole-number percentages: the exact-tail
    # p-value is about 1e-10, far below alpha whatever the seed; the invented protocols break the arithmetic
    codes = [h["code"] for h in fraud_scan.headlines]
    assert codes == [v.code for v in fraud_scan.verdicts.headlines]
    assert "integer" in codes and "arithmetic" in codes
    integer = next(h for h in fraud_scan.headlines if h["code"] == "integer")
    assert integer["scope"] == "national" and integer["pvalue"] < 1e-6 and integer["driving_regions"]
    assert {"code", "title", "words", "scope", "pvalue", "effect", "driving_regions"} <= set(integer)
    text = fraud_scan.summary()
    assert integer["words"] in text and "Checked, nothing stands out" in text
    assert "not proof of fraud" in text
    assert fraud_scan.verdicts.stations_summary["words"] in text
    assert set(fraud_scan.verdict_table["code"]) == set(fraud_scan.verdicts.verdicts)


def test_every_default_test_appears(fraud_scan):
    assert set(fraud_scan.tests["test"]) == {c.name for c in DEFAULT_BATTERY}


def test_same_seed_gives_identical_tables(tmp_path, fraud_election):
    small = ("fingerprint", "integer_percentages", "last_digit_test")
    files = {}
    for label, seed in (("a", 7), ("b", 7), ("c", 8)):
        s = scan(fraud_election, tests=small, rng=seed, progress=False, integer_percentages={"n_sim": 200})
        files[label] = {name: p.read_bytes() for name, p in write_tables(s, tmp_path / label).items()}
    assert files["a"] == files["b"]
    assert files["a"]["tests.csv"] != files["c"]["tests.csv"]  # the Monte Carlo p-values follow the seed


def test_provenance_records_everything(fraud_scan):
    p = fraud_scan.provenance
    assert p["version"] == forensics.__version__
    assert p["seed"] == 3
    assert p["parameters"]["klimek_fit"] == FAST["klimek_fit"]
    assert {b["test"] for b in p["battery"]} == {c.name for c in DEFAULT_BATTERY}
    assert p["levels"] == ["nation", "region"]
    assert "time" in p and "time" not in fraud_scan.summary_dict()["provenance"]


@pytest.mark.parametrize("lang, stands_out, not_proof", [("ru", "Выделяется:", "не доказательство фальсификаций"),
                                                         ("kk", "Ерекшеленеді:", "бұрмалаудың дәлелі емес")])
def test_summary_speaks_russian_and_kazakh(fraud_scan, lang, stands_out, not_proof):
    text = fraud_scan.summary(lang)
    assert stands_out in text and not_proof in text
    # the verdict words, the context labels and the station evidence come from the catalogs, not English
    for english in ("Stands out:", "Whole-number percentages", "Descriptive, not a test", "expected without any",
                    "Ruled out by the null", "not proof of fraud"):
        assert english not in text
    meanings = fraud_scan.flag_meanings(lang)
    assert [m["code"] for m in meanings] == ["ARITHMETIC", "CLUSTER_100", "LEADER_EXCESS"]
    assert all(m["meaning"] != m2["meaning"] for m, m2 in zip(meanings, fraud_scan.flag_meanings("en")))


def test_group_positions_follow_the_labels_and_skip_missing_keys():
    from forensics.levels import group_labels, group_positions, groups

    e = forensics.simulate(n_pec=300, n_regions=4, rng=3)
    t = e.table.copy()
    t.loc[t.index[:5], "region"] = np.nan
    e = e.with_table(t)
    positions = group_positions(e, "region")
    assert list(positions) == group_labels(e, "region")
    for name, rows in positions.items():
        np.testing.assert_array_equal(rows, np.flatnonzero((t["region"] == name).to_numpy()))
    assert sum(len(r) for r in positions.values()) == len(t) - 5
    for (name, sub), (label, rows) in zip(groups(e, "region"), positions.items()):
        assert name == label and sub.table.index.equals(t.index[rows])
