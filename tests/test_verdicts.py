"""The verdict layer: exact tails, neighbourhoods, the split of extra ballots, each headline, station evidence.

False-alarm and power checks here are small versions of benchmarks/calibrate_verdicts.py
(which runs 200 clean elections): fixed seeds, and margins from the replicate count.
"""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from forensics.simulate import SCENARIOS, simulate, simulate_preset, simulate_scenario
from forensics.stats.poisson_binomial import poisson_binomial_pmf, poisson_binomial_sf
from forensics.verdicts import CHECKS, HEADLINES, STATION_COLUMNS, station_evidence, verdicts
from forensics.verdicts.context import context_table
from forensics.verdicts.neighbourhoods import neighbourhoods
from forensics.verdicts.split import BENIGN_SPLIT, neighbourhood_split, split_frame, split_tests

SMALL = {"n_pec": 6000}
FRAUD_PATTERNS = [c for c in HEADLINES if CHECKS[c].kind == "fraud pattern"]


# -- exact tail of a count of unequal-probability events ------------------------------------------
def test_poisson_binomial_tail_is_exact_where_it_can_be_checked():
    rng = np.random.default_rng(1)
    p = rng.uniform(0.02, 0.3, 2500)  # above the exact threshold: the saddlepoint is used
    exact = np.cumsum(poisson_binomial_pmf(p)[::-1])[::-1]
    mean, sd = p.sum(), np.sqrt((p * (1 - p)).sum())
    for z in (-2, 0, 1, 3, 6, 12):
        k = int(np.ceil(mean + z * sd))
        assert poisson_binomial_sf(k, p) == pytest.approx(exact[k], rel=2e-3)
    # constant probabilities: the binomial
    assert poisson_binomial_sf(40, np.full(3000, 0.005)) == pytest.approx(stats.binom.sf(39, 3000, 0.005), rel=2e-3)
    # far tails stay positive and monotone, certain events count as given
    assert 0 < poisson_binomial_sf(int(mean + 40 * sd), p) < poisson_binomial_sf(int(mean + 30 * sd), p)
    assert poisson_binomial_sf(3, [1, 1, 1, 0.5]) == 1.0 and poisson_binomial_sf(5, [1, 1, 0.5]) == 0.0


# -- neighbourhoods --------------------------------------------------------------------------------
def test_neighbourhoods_follow_station_numbers_within_a_tec():
    t = pd.DataFrame({"region": ["A"] * 11 + ["B"] * 3, "tec": ["t"] * 14,
                      "pec": ["3", "1", "2", "10", "9", "8", "7", "6", "5", "4", "11", "УИК №2", "x", "1"]})
    hood = neighbourhoods(t, 4)
    runs = t.assign(h=hood).groupby("h")["pec"].apply(set).tolist()
    assert {"1", "2", "3", "4"} in runs and {"5", "6", "7", "8"} in runs and {"9", "10", "11"} in runs
    assert hood.iloc[11] == hood.iloc[12] == hood.iloc[13] != hood.iloc[0]  # region B: TEC names repeat
    # a short last run joins the one before it
    short = pd.DataFrame({"region": "A", "tec": "t", "pec": [str(i) for i in range(1, 10)]})
    assert neighbourhoods(short, 4).nunique() == 2


# -- the split of extra ballots inside neighbourhoods -----------------------------------------------
def test_split_is_proportional_without_fraud_and_near_zero_with_stuffing():
    clean = simulate(n_pec=6000, n_regions=6, rng=11)  # no demography: every party gains in proportion
    res = neighbourhood_split(clean)
    assert res.statistic == pytest.approx(1.0, abs=0.12)
    assert res.details["leader_slope"] + res.details["others_slope"] == pytest.approx(1.0)
    assert res.pvalue > 0.5
    stuffed = simulate(n_pec=6000, n_regions=6, rng=11, fraud={"stuffing": {"fraction": 0.5, "intensity": 0.6}})
    res = neighbourhood_split(stuffed)
    assert res.statistic < 0.3 and res.pvalue < 1e-6
    assert res.details["excess_votes"] > 0
    assert "neighbourhoods" in res.explanation


def test_split_per_region_equals_the_split_of_that_region():
    e = simulate_preset("clean-confounded", rng=5, **SMALL)
    frame, _, _ = split_frame(e)
    by_region = split_tests(frame, "region")
    name = sorted(by_region)[3]
    alone = split_tests(frame[frame["region"] == name])["all"]
    assert by_region[name]["kappa"] == pytest.approx(alone["kappa"])
    assert by_region[name]["se"] == pytest.approx(alone["se"])


# -- each headline on clean and manipulated simulations ---------------------------------------------
@pytest.fixture(scope="module")
def clean_runs():
    """Eight clean confounded elections (6,000 stations, 30 regions): every headline and the station evidence."""
    return [verdicts(simulate_preset("clean-confounded", rng=900 + s, **SMALL), context=(), rng=s) for s in range(8)]


def test_clean_confounded_elections_raise_no_fraud_pattern_headline(clean_runs):
    # the benchmark measures at most 1% per headline; with 8 runs, 2 or more fires of one headline
    # would have probability < 0.3% at that rate
    for code in HEADLINES:
        assert sum(v.verdicts[code].fired for v in clean_runs) <= 1, code
    assert all(not v.verdicts["arithmetic"].fired for v in clean_runs)  # simulated protocols add up


def test_clean_confounded_station_flags_stay_rare(clean_runs):
    for v in clean_runs:
        s = v.stations_summary
        assert s["share_flagged"] < 0.01
        assert s["flag_counts"]["ARITHMETIC"] == 0
        t = v.stations
        assert not t["integer_turnout"].any() or "INT" not in ";".join(t["flag_codes"])  # whole numbers flag nothing


def test_rounding_fires_the_integer_headline_and_names_the_regions():
    e = simulate_scenario("rounding", 0.5, rng=21, **SMALL)
    v = verdicts(e, context=(), stations=False, checks=("integer",))
    x = v.verdicts["integer"]
    assert x.fired and x.scope == "national"
    assert set(x.significant_regions) == {"Region 05", "Region 12", "Region 20"}
    # p-values pass the correction over 31 groups by far: no Monte Carlo floor
    assert x.pvalue < 0.01 / 31 / 1000
    assert x.effect["excess_stations"] > 100


def test_complete_stuffing_fires_the_cluster_headline():
    e = simulate_scenario("100% stuffing", 0.3, rng=22, **SMALL)
    x = verdicts(e, context=(), stations=False, checks=("turnout_100",)).verdicts["turnout_100"]
    assert x.fired and set(x.significant_regions) <= {"Region 05", "Region 09"} and x.significant_regions
    named = x.groups.set_index("group").loc[x.significant_regions]
    assert (named["effect"] > 2).all() and (named["statistic"] > 5 * named["expected"]).all()


def test_stuffing_with_stolen_votes_fires_the_stuffing_headline():
    regions = ["Region 05", "Region 09", "Region 12", "Region 20"]
    fraud = {"stuffing": {"fraction": 0.5, "intensity": 0.5, "alpha": 1.5, "regions": regions}}
    e = simulate_preset("clean-confounded", n_pec=8000, n_tec=400, rng=0, fraud=fraud)
    x = verdicts(e, context=(), stations=False, checks=("stuffing",)).verdicts["stuffing"]
    assert x.fired and x.significant_regions and set(x.significant_regions) <= set(regions)
    assert x.groups.set_index("group").loc[regions, "statistic"].max() < BENIGN_SPLIT


def test_digit_editing_fires_the_digits_headline():
    e = simulate_preset("clean-confounded", rng=23, fraud={"digits": {"fraction": 0.3, "regions": ["Region 11"]}},
                        **SMALL)
    x = verdicts(e, context=(), stations=False, checks=("digits",)).verdicts["digits"]
    assert x.fired and x.significant_regions == ["Region 11"]
    assert x.effect["digit"] in (0, 5, 7) or x.groups.set_index("group").loc["Region 11", "digit"] in (0, 5, 7)



def test_digits_verdict_regions_equal_the_test_on_each_region_alone():
    """All regions in one pass: each region's chi-square and p-value are the test's on that region alone."""
    from forensics.levels import groups
    from forensics.stats.digits import last_digit_test
    from forensics.verdicts.digits import N_SIM, digits_verdict

    e = simulate_preset("clean-confounded", rng=29, fraud={"digits": {"fraction": 0.3, "regions": ["Region 11"]}},
                        **SMALL)
    table = digits_verdict(e, rng=3).groups.set_index("group")
    regions = 0
    for name, sub in groups(e, "region"):
        alone = last_digit_test(sub, n_sim=N_SIM, rng=11)
        row = table.loc[name]
        if np.isfinite(row["statistic"]):
            regions += 1
            assert row["statistic"] == pytest.approx(alone.statistic, rel=1e-12)
            assert row["pvalue"] == pytest.approx(alone.pvalue, rel=1e-12)
    assert regions >= 10 and table.loc["Region 11", "pvalue"] < 1e-3

# -- the result object -------------------------------------------------------------------------------
def test_verdicts_object_table_words_and_json():
    e = simulate_scenario("rounding", 0.5, rng=24, **SMALL)
    v = verdicts(e, rng=1)
    t = v.table
    assert list(t.columns)[:4] == ["code", "level", "group", "party"]
    assert set(t["code"]) == set(HEADLINES)
    assert (t.groupby("code")["level"].first() == "nation").all()
    text = v.summary()
    assert "Whole-number percentages" in text and "Ruled out by the null" in text and "Not ruled out" in text
    assert "Descriptive, not a test" in text
    d = json.loads(json.dumps(v.to_dict()))
    assert d["headlines"] == [h.code for h in v.headlines] and "integer" in d["headlines"]
    w = d["verdicts"]["integer"]
    assert w["fired"] and w["scope"] == "national" and w["significant_regions"]
    assert w["effect"]["excess_stations"] > 0 and w["words"].startswith("Whole-number percentages")
    # no verdict calls a pattern proof, or "what ballot stuffing leaves"
    for code in HEADLINES:
        assert "what ballot stuffing leaves" not in v.verdicts[code].words()
        assert "not proof" in v.verdicts[code].words() or not v.verdicts[code].fired \
            or CHECKS[code].kind == "protocol"


def test_same_data_give_the_same_verdicts_whatever_the_seed():
    e = simulate_preset("clean-confounded", rng=25, **SMALL)
    a = verdicts(e, context=(), stations=False, rng=1).table
    b = verdicts(e, context=(), stations=False, rng=2).table
    pd.testing.assert_frame_equal(a, b)


def test_context_is_shown_with_its_clean_range():
    table = context_table({"excess_share": 0.5, "kurtosis": float("nan"), "kurtosis_error": "too few"})
    assert set(table["measure"]) == {"excess_share", "kurtosis"}
    assert "could not be computed (too few)" in table.set_index("measure").loc["kurtosis", "words"]
    assert table["words"].str.contains("Descriptive").all() or table["value"].isna().any()


# -- station evidence ----------------------------------------------------------------------------------
def test_station_evidence_flags_own_evidence_once():
    e = simulate_preset("clean-confounded", rng=26, n_pec=6000, fraud={
        "complete": {"kind": "stuffing", "model": "complete", "alpha": 1.0, "fraction": 0.02},
        "drawn": {"fraction": 0.003}})
    st, summary = station_evidence(e)
    assert list(st.columns) == STATION_COLUMNS and len(st) == len(e.table)
    t = e.table
    drawn = t["true_drawn"].to_numpy()
    assert st.loc[drawn, "flag_codes"].str.contains("ARITHMETIC").all()  # invented protocols do not add up
    cluster = st["flag_codes"].str.contains("CLUSTER_100")
    assert cluster.sum() > 50 and (t.loc[cluster.to_numpy(), "true_fraud"] != "").mean() > 0.95
    # one fact once: a 100% station is not flagged again for its leader excess
    assert not (cluster & st["flag_codes"].str.contains("LEADER_EXCESS")).any()
    # review order follows the evidence
    flagged = st[st["n_flags"] > 0].sort_values("review_order")
    assert flagged["evidence"].is_monotonic_decreasing
    assert flagged.iloc[0]["flag_codes"].startswith("ARITHMETIC")
    assert summary["n_flagged"] == len(flagged) and summary["expected"] < summary["n_flagged"]
    assert "expected without any manipulation" in summary["words"]


def test_a_headline_that_cannot_run_says_why():
    e = simulate(n_pec=400, rng=3)
    v = verdicts(e.with_table(e.table.drop(columns=["registered"])), context=())
    assert not v.verdicts["integer"].fired and v.verdicts["integer"].note.startswith("could not run")
    assert "registered" in v.verdicts["stuffing"].words()
    assert v.verdicts["digits"].national is not None  # digits need only the party counts
    assert "could not run" in v.stations_summary["words"] and "registered" in v.stations_summary["words"]
    # every station is still listed, not judged, with the reason
    assert len(v.stations) == 400 and (v.stations["n_flags"] == 0).all()
    assert v.stations["excluded"].str.startswith("station evidence could not run").all()


def test_station_warnings_join_each_station_codes_sorted_once():
    # several warnings per station, repeated and out of order: each station's distinct codes, sorted, joined by ";"
    from forensics.model import Election
    from forensics.verdicts.stations import _warnings

    table = pd.DataFrame({"region": ["A", "A", "B", "B"], "tec": ["1", "1", "2", "2"], "pec": ["1", "2", "3", "4"]})
    e = Election(table=table, parties=())
    findings = pd.DataFrame({
        "region": ["B", "A", "B", "B", "A", "B", "A"], "tec": ["2", "1", "2", "2", "1", "2", "1"],
        "pec": ["3", "1", "3", "3", "1", "4", None],
        "code": ["R19", "R13", "R02", "R19", "R19", "R02", "R01"],
        "severity": ["warning", "warning", "warning", "warning", "error", "warning", "warning"]})
    got = _warnings(e, findings, table.index)
    assert got.tolist() == ["R13", "", "R02;R19", "R02"]


# -- inside a scan: numbers the battery computed are taken from its results ---------------------------
def test_a_scans_verdicts_equal_the_verdicts_computed_alone():
    from forensics.random import seed_sequence
    from forensics.scan import scan
    from forensics.verdicts.context import DEFAULT_CONTEXT, FROM_BATTERY

    e = simulate_preset("clean-confounded", rng=27, n_pec=3000,
                        fraud={"digits": {"fraction": 0.3, "regions": ["Region 03"]}})
    s = scan(e, rng=5, progress=False, workers=1)
    alone = verdicts(e, rng=np.random.default_rng(seed_sequence(5, "verdicts")))
    assert list(s.verdicts.verdicts) == list(HEADLINES)
    pd.testing.assert_frame_equal(s.verdict_table, alone.table)  # the digits headline from the battery's tests
    pd.testing.assert_frame_equal(s.stations, alone.stations)
    assert s.verdicts.stations_summary == alone.stations_summary
    # the context measures come from the battery's national results: the same numbers where no draw enters,
    # the battery's own fit and jitter for Klimek's fit and the dip (so they match tests.csv)
    context, own = (v.set_index("measure")["value"] for v in (s.context, alone.context))
    assert list(context.index) == list(DEFAULT_CONTEXT)
    drawn = {"klimek_fraud", "turnout_dip"}
    pd.testing.assert_series_equal(context.drop(list(drawn)), own.drop(list(drawn)))
    nation = s.tests[s.tests["level"] == "nation"].set_index("test")
    assert context["klimek_fraud"] == pytest.approx(nation.loc["klimek_fit", "statistic"])
    assert context["turnout_dip"] == pytest.approx(100 * nation.loc["dip_test", "statistic"])
    assert set(FROM_BATTERY) == set(DEFAULT_CONTEXT)
