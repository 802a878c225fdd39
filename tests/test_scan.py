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
    tier = st["review_tier"].fillna(9).to_numpy()
    flags = st["flag_codes"]

    stuffed = published & (fraud == "stuffing")
    drawn = published & pd.Series(fraud).str.contains("drawn").to_numpy()
    rounded = published & _truth(fraud_election, "true_rounded").astype(bool) & (fraud == "rounding")
    clean = published & (fraud == "")
    assert stuffed.sum() > 30 and drawn.sum() > 10 and rounded.sum() > 30
    # Over 20 draws of this election (seeds 11-30) the shares below were: stuffed in tier 1-2 0.98
    # (sd 0.04, at least 0.87), rounded with an INT_ flag 0.98 (sd 0.012, at least 0.96), clean in
    # tier 1-2 at most 0.003, injected among the first in review order at least 0.97: each bound
    # is 4.7 sd or more from the mean.

    # extreme stuffing: far out in the turnout-share plane or at/above the region's turnout
    assert (tier[stuffed] <= 2).mean() > 0.8
    # invented protocols break the arithmetic: every one is in tier 1 with a rule code
    assert (tier[drawn] == 1).all()
    assert flags[drawn].str.contains("R0").all()
    # rounded percentages are caught by the integer flags
    assert flags[rounded].str.contains("INT_").mean() > 0.9
    # clean stations rarely reach tier 1 or 2
    assert (tier[clean] <= 2).mean() < 0.03
    # and the review order puts the injected stations first
    order = st["review_order"]
    top = order.notna() & (order <= (stuffed | drawn).sum())
    assert (~clean[top.to_numpy()]).mean() > 0.8


def test_review_order_is_documented_sort(fraud_scan):
    st = fraud_scan.stations
    flagged = st[st["n_flags"] > 0].sort_values("review_order")
    assert list(flagged["review_order"]) == list(range(1, len(flagged) + 1))
    assert st.loc[st["n_flags"] == 0, "review_order"].isna().all()
    assert flagged["review_tier"].is_monotonic_increasing
    for _, group in flagged.groupby("review_tier"):
        assert group["n_flags"].is_monotonic_decreasing
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
    assert (ex.loc[ex["analysis"] == "station flags", "reason"] == "figures not published").all()


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
    # The integer test's excess is 6.7 null sd, so its Monte Carlo p is the floor 1/1001 whatever the
    # seed; Benjamini-Hochberg over the 15 national p-values makes it 0.0021 < 0.01 because the six
    # turnout-regression and correlation p-values (below 1e-6) rank before it.
    keys = {h["key"] for h in fraud_scan.headlines}
    assert "integer" in keys
    text = fraud_scan.summary()
    assert "integer-percentage excess" in text
    assert "not proof of fraud" in text


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
