"""Parallel vote tabulation and the observer effect: calibration on simulated elections.

The 500-run calibration per design is ``benchmarks/calibrate_audit.py``; here a
smaller run of the same code with binomial tolerances (99.9% band)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from forensics.audit import observer_copies, observer_effect, pvt, ratio_estimate, run_audit
from forensics.audit.simulate import pvt_coverage
from forensics.ingest import to_layout
from forensics.simulate import simulate


def band(runs, level=0.95):
    low, high = stats.binom.interval(0.999, runs, level)
    return low / runs, high / runs


def test_ratio_estimate_matches_textbook_srs():
    rng = np.random.default_rng(3)
    n, big_n = 40, 400
    x = rng.integers(200, 2000, n).astype(float)
    y = np.round(x * rng.uniform(0.4, 0.8, n))
    est, se, df = ratio_estimate(y[:, None], x[:, None], np.full(n, big_n / n), np.zeros(n), np.arange(n),
                                 np.full(n, n / big_n))
    r = y.sum() / x.sum()
    textbook = np.sqrt((1 - n / big_n) / n * np.var(y - r * x, ddof=1) / x.mean() ** 2)
    assert est[0] == pytest.approx(r) and se[0] == pytest.approx(textbook) and df == n - 1


@pytest.mark.slow
@pytest.mark.parametrize("design, runs, sample, n_tec", [("srs", 200, 0.1, None), ("stratified", 60, 0.1, None),
                                                         ("cluster", 60, 0.3, 40)])
def test_pvt_interval_covers_truth_at_nominal_rate(design, runs, sample, n_tec):
    cov = pvt_coverage(runs, design, sample=sample, n_pec=800, n_tec=n_tec, per_population=1, rng=1000 + runs)
    low, high = band(runs)  # srs 0.895-0.99; 60 runs 0.833-1.0.  Here 0.917 to 0.955
    for quantity, rows in (("turnout", cov["quantity"] == "turnout"), ("leader", cov["party"] == "Party A")):
        rate = cov.loc[rows, "inside"].mean()
        assert low <= rate <= high, f"{design} {quantity}: coverage {rate:.3f} outside [{low:.3f}, {high:.3f}]"


def test_pvt_flags_an_inflated_official_result():
    # With 30% of stations observed the official turnout is 9.4 standard errors above the estimate
    # on average over eight elections (sd 1.3, at least 7.1) and the leader's share 7.1 (sd 1.3):
    # the 1e-3 and 95% lines are 4.7 and 4 sd away.  (At 10% the leader's was 4.2, sd 0.7.)
    s = observer_copies(simulate(n_pec=2000, rng=5), sample=0.3, alterations={}, slips=0,
                        observer_effect=0.06, rng=6)
    res = pvt(s.official, s.observed, design="srs")
    t = res.table.set_index(res.table["party"].fillna("turnout"))
    assert not t.loc["turnout", "inside"] and t.loc["turnout", "pvalue"] < 1e-3
    assert t.loc["turnout", "official"] > t.loc["turnout", "ci_high"]
    assert not t.loc["Party A", "inside"]
    assert "OUTSIDE" in res.results[0].explanation and "not proof" in res.results[0].explanation


def test_convenience_sample_warning_and_bias():
    e = simulate(n_pec=8000, rng=8)
    biggest = e.table.nlargest(4000, "registered")         # observers went to the bigger, town stations
    res = pvt(e, biggest, design="convenience")
    # the true turnout lies 6.4 standard errors above the estimate on average over ten elections
    # (sd 1.3, at least 4.3; here 9.3): 1.96 is 3.5 sd away.  (With the 200 largest of 2,000
    # stations it was 0.6 to 2.5.)
    assert "not drawn at random" in res.warnings[0]
    assert "not drawn at random" in res.results[0].explanation
    # the election is clean, yet the convenience estimate misses the true turnout: the bias is not in the interval
    assert not res.table.loc[0, "inside"]
    regions = sorted(e.table["region"].unique())
    lopsided = e.table[e.table["region"].isin(regions[:2])].sample(100, random_state=3)
    assert any("spread over the strata (region)" in w for w in pvt(e, lopsided, design="srs").warnings)
    assert not any("spread over the strata" in w for w in pvt(e, e.table.sample(200, random_state=4)).warnings)


def test_stratified_warns_about_empty_regions():
    e = simulate(n_pec=600, rng=9)
    regions = sorted(e.table["region"].unique())
    part = e.table[e.table["region"].isin(regions[:3])].sample(60, random_state=1)
    res = pvt(e, part, design="stratified")
    assert any("have no observed station" in w for w in res.warnings)


def test_pvt_lists_exclusions():
    e = simulate(n_pec=400, rng=10)
    obs = e.table.sample(60, random_state=2).copy()
    obs.iloc[0, obs.columns.get_loc("pec")] = "no such station"
    obs.iloc[1, obs.columns.get_loc("valid")] = np.nan
    res = pvt(e, obs)
    assert res.n_sampled == 58
    assert set(res.excluded["reason"]) == {"station not in the official results", "line(s) left blank"}


def test_observer_effect_recovers_injected_effect():
    s = observer_copies(simulate(n_pec=3000, rng=11), sample=0.2, alterations={}, slips=0,
                        observer_effect=0.05, rng=12)
    t = s.official.table
    true_turnout = -(t["true_observer_ballots"] / t["registered"])[~t["observed"]].mean()
    turnout, share = observer_effect(s.official, t["observed"])
    # within 4 standard errors (half the 95% interval is 1.96 of them); here 0.95
    half_width = (turnout.ci[1] - turnout.ci[0]) / 2
    assert abs(turnout.statistic - true_turnout) < 2 * half_width
    assert turnout.pvalue < 1e-6 and share.statistic < 0 and share.pvalue < 1e-3
    assert share.party == "Party A" and turnout.details["n_observed"] == int(t["observed"].sum())
    # a table of observed stations works the same as a mask
    again = observer_effect(s.official, s.observed)
    assert again[0].statistic == pytest.approx(turnout.statistic)


@pytest.mark.slow
def test_observer_effect_false_positive_rate():
    rng = np.random.default_rng(13)
    runs, rejected = 60, 0
    for _ in range(runs):
        e = simulate(n_pec=600, rng=rng)
        mask = pd.Series(rng.random(len(e.table)) < 0.2, index=e.table.index)
        rejected += observer_effect(e, mask)[0].pvalue < 0.05
    assert rejected / runs <= band(runs, 0.05)[1]  # at most 10 of 60; here 3


# -- small samples ------------------------------------------------------------------------
def test_too_few_stations_is_not_informative():
    """7 stations: the estimate is shown, its interval is not trusted, and nothing is called inside it."""
    e = simulate(n_pec=600, rng=13)
    few = e.table.sample(7, random_state=1)
    table = e.table.assign(**{"Party E": 0})    # a party with votes at one station only: a wide interval
    table.loc[few.index[0], "Party E"] = table.loc[few.index[0], "valid"] // 5
    e = e.with_table(table)
    res = pvt(e, e.table.loc[few.index], design="srs")
    t = res.table
    assert not t["informative"].any() and t["inside"].isna().all()
    assert res.warnings[0].startswith("Only 7 stations were observed: at least 30")
    assert all("not informative" in r.explanation.lower() and "inside" not in r.explanation for r in res.results)
    # no negative lower bound: the raw interval of the small parties reaches below zero, the shown one does not
    df = res.results[0].details["df"]
    raw_low = t["estimate"] - stats.t.ppf(0.975, df) * t["se"]
    assert (raw_low < 0).any() and (t["ci_low"] >= 0).all() and (t["ci_high"] <= 1).all()
    ok = pvt(e, e.table.sample(60, random_state=2), design="srs").table
    assert ok["informative"].all() and ok["inside"].notna().all()


def test_thin_designs_are_not_informative():
    e = simulate(n_pec=2000, n_tec=100, rng=14)
    key = e.table["region"].astype(str) + "/" + e.table["tec"].astype(str)   # a TEC within its region
    few_clusters = pvt(e, e.table[key.isin(key.drop_duplicates().iloc[:4])], design="cluster")
    assert len(few_clusters.table) and not few_clusters.table["informative"].any()
    assert any("clusters were observed" in w for w in few_clusters.warnings)
    regions = sorted(e.table["region"].unique())
    one_each = pd.concat([e.table[e.table["region"] == regions[0]].head(1),
                          e.table[e.table["region"] != regions[0]].groupby("region").head(8)])
    thin = pvt(e, one_each, design="stratified")
    assert not thin.table["informative"].any()
    assert any("single observed station" in w and str(regions[0]) in w for w in thin.warnings)


def test_audit_summary_never_calls_a_small_sample_inside(tmp_path):
    e = simulate(n_pec=300, rng=15)
    table = e.table.drop(columns=[c for c in e.table if str(c).startswith("true_")])
    to_layout(table, "generic").to_csv(tmp_path / "official.csv", index=False)
    obs = table.sample(9, random_state=3).assign(transcriber="t1", photos="", taken_at="")
    to_layout(obs, "generic").to_csv(tmp_path / "observed.csv", index=False)
    for lang, words in (("en", "not informative"), ("ru", "неинформативна"), ("kk", "ақпараттық емес")):
        summary = run_audit(tmp_path / "official.csv", tmp_path / "observed.csv", tmp_path / lang,
                            profile="generic", design="srs", lang=lang)
        text = (tmp_path / lang / "summary.txt").read_text(encoding="utf-8")
        assert text.count(words) == 1 + len(e.parties)
        assert "inside the interval" not in text and "внутри интервала" not in text and "интервалдың ішінде" not in text
        assert all(r["inside"] is None for r in summary["pvt"])
