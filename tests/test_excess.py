"""Shpilkin's excess-vote estimate: simulated truth, guards, regions, and the published Russia 2011 figures."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import forensics
from forensics.levels import by_level, results_table
from forensics.model import Election
from forensics.stats.excess import ASSUMPTIONS, excess_votes


def _stations(turnout, share, n=1000):
    """Stations of ``n`` voters with given turnout and leader share (two parties)."""
    turnout, share = np.asarray(turnout, float), np.asarray(share, float)
    ballots = np.rint(n * turnout)
    leader = np.rint(ballots * share)
    k = len(turnout)
    table = pd.DataFrame({"region": "r", "tec": "t", "pec": np.arange(k).astype(str), "unpublished": False,
                          "registered": n, "valid": ballots, "invalid": 0, "A": leader, "B": ballots - leader})
    return Election(table, ("A", "B"))


def test_exact_arithmetic_on_a_constructed_election():
    """Clean stations at 50% turnout with share 0.4; 100 stations pushed to 90% turnout by stuffing."""
    rng = np.random.default_rng(0)
    t = np.clip(rng.normal(0.5, 0.05, 3000), 0.3, 0.7)
    clean = _stations(t, np.full(3000, 0.4))
    assert excess_votes(clean, "A", n_sim=0).statistic < 0.002 * clean.table["A"].sum()
    # stuff: each of 100 stations at 500 ballots (200 leader) gets 400 extra leader ballots
    stuffed = pd.concat([clean.table, _stations(np.full(100, 0.9), np.full(100, 600 / 900)).table],
                        ignore_index=True)
    r = excess_votes(Election(stuffed, ("A", "B")), "A", n_sim=0)
    assert r.statistic == pytest.approx(100 * 400, rel=0.02)
    assert r.details["ratio"] == pytest.approx(0.4 / 0.6, rel=0.01)
    assert r.details["turnout_clean"] == pytest.approx(t.mean() * 3000 / 3100 + 0.5 * 100 / 3100, abs=0.002)
    assert r.details["assumptions"] == ASSUMPTIONS


def test_negative_contributions_are_reported_not_subtracted():
    rng = np.random.default_rng(1)
    t = np.clip(rng.normal(0.5, 0.05, 3000), 0.3, 0.7)
    # high-turnout stations vote *less* for the leader: negative anomaly only
    e = _stations(np.r_[t, np.full(200, 0.8)], np.r_[np.full(3000, 0.4), np.full(200, 0.2)])
    r = excess_votes(e, "A", n_sim=0)
    assert r.statistic < 1000
    assert r.details["negative"] < -20000
    assert r.details["net"] == pytest.approx(r.statistic + r.details["negative"])
    table = r.details["bins"]
    assert (table.loc[table["clean"], "anomalous"] == 0).all()


#: The estimate's spread comes from each simulated election's regional make-up, not from the
#: number of stations, so these checks take the median over nine elections: it crosses a bound
#: only when five of the nine do.  Per-election rates below were measured over 40-120 elections.
SEEDS = range(9)


@pytest.mark.slow
def test_clean_simulations_give_little():
    floors, shifts = [], []
    for seed in SEEDS:
        r = excess_votes(forensics.simulate(n_pec=3000, rng=seed), n_sim=0)
        floors.append(r.statistic / r.details["leader_votes"])
        shifts.append(abs(r.details["share_clean"] - r.details["share_official"]))
    # Clipping negative bins at zero leaves a positive floor: over 120 clean elections of 3,000
    # stations a median 0.9% of the leader's votes (one in ten above 5%, largest 8.1%), and the
    # share moves by a median 0.2 points (7% of elections above 1.5).  P(median of 9 > 5%) =
    # P(Binomial(9, 0.10) >= 5) = 0.0009; for the share 0.0001.  Here: 1.0% and 0.25 points.
    assert np.median(floors) < 0.05
    assert np.median(shifts) < 0.015


@pytest.mark.slow
def test_extreme_stuffing_recovered_in_simulation():
    fraud = {"stuffing": {"fraction": 0.05, "model": "extreme"}}
    ratios = []
    for seed in SEEDS:
        e = forensics.simulate(n_pec=4000, fraud=fraud, rng=seed)
        ratios.append(excess_votes(e, n_sim=0).statistic / e.table["true_stuffed"].sum())
    # Estimate / truth over 80 elections: 0.84 to 3.1, median 1.2, above 2.5 in 5% (the honest
    # smear of high-turnout regions is counted too); none below 0.8.  P(median of 9 > 2.5) =
    # P(Binomial(9, 0.05) >= 5) < 1e-4.  Here: median 1.13.
    assert 0.8 <= np.median(ratios) <= 2.5
    e = forensics.simulate(n_pec=4000, fraud=fraud, rng=3)
    r = excess_votes(e, rng=3, n_sim=50)
    # over 40 elections the interval's lower end was at least 0.73 times the truth (median 1.09; here 0.95)
    assert r.ci[0] > 0.5 * e.table["true_stuffed"].sum()


@pytest.mark.slow
def test_incremental_stuffing_is_underestimated_but_found():
    """Stuffed stations that stay near the turnout peak are missed: an honest lower-side estimate."""
    fraud = {"stuffing": {"fraction": 0.3, "intensity": 0.6}}
    ratios, over_clean = [], []
    for seed in SEEDS:
        e = forensics.simulate(n_pec=4000, fraud=fraud, rng=seed)
        r = excess_votes(e, n_sim=0).statistic
        clean = excess_votes(forensics.simulate(n_pec=4000, rng=seed), n_sim=0).statistic
        ratios.append(r / e.table["true_stuffed"].sum())
        over_clean.append(r / max(clean, 1.0))
    # Over 40 elections: estimate / truth 0.30 to 1.54, median 0.75, above 1.3 in 7.5%; the
    # estimate is below twice the same election's clean floor in 2.5%.  P(median of 9 outside
    # [0.3, 1.3]) < 0.001; P(median of 9 over-clean ratios < 2) < 1e-5.  Here: 0.86 and 13.5.
    # (At intensity 0.3 it is found in only 80% of elections: too weak to test one at a time.)
    assert 0.3 <= np.median(ratios) <= 1.3
    assert np.median(over_clean) > 2


def test_same_seed_same_interval():
    e = forensics.simulate(n_pec=1500, fraud={"stuffing": {"fraction": 0.1}}, rng=5)
    assert excess_votes(e, rng=7, n_sim=20).ci == excess_votes(e, rng=7, n_sim=20).ci


def test_per_region_through_by_level():
    e = forensics.simulate(n_pec=3000, fraud={"stuffing": {"fraction": 0.05, "model": "extreme"}}, rng=6)
    results = by_level(e, excess_votes, "region", n_sim=0)
    table = results_table(results, "region")
    assert len(table) == e.table["region"].nunique()
    assert table["statistic"].sum() > 0.5 * e.table["true_stuffed"].sum()


# -- real elections -----------------------------------------------------------------------------

def test_russia_2011_matches_shpilkin(ru2011):
    """Shpilkin: United Russia 49.3% -> 34.4%, turnout 60.1% -> 44.8%. We get about 34.2% and 46.4%."""
    r = excess_votes(ru2011, n_sim=0)
    d = r.details
    assert d["share_official"] == pytest.approx(0.493, abs=0.001)
    assert d["turnout_official"] == pytest.approx(0.602, abs=0.002)
    assert d["share_clean"] == pytest.approx(0.344, abs=0.02)
    assert d["turnout_clean"] == pytest.approx(0.448, abs=0.025)
    assert 13e6 <= r.statistic <= 17e6
    assert d["peak"] == pytest.approx(0.53, abs=0.02)


def test_canada_2011_small(canada):
    r = excess_votes(canada, n_sim=0)
    assert r.statistic < 0.03 * r.details["leader_votes"]


@pytest.mark.parametrize("peak_weights,peak_method", [("stations", "kde"), ("voters", "kde"), ("stations", "klimek")])
def test_bootstrap_replicates_are_the_estimates_of_resampled_stations(peak_weights, peak_method):
    """The replicates (from sums weighted by how often each station is drawn) are the estimates of the resampled
    station frames."""
    from forensics.simulate import simulate as simulate_election
    from forensics.stats._core.bootstrap import multiplicities, percentile_interval
    from forensics.stats._core.plane import station_values
    from forensics.stats.excess import COLUMNS, _bootstrap, _estimate

    e = simulate_election(n_pec=1500, rng=8, fraud={"stuffing": {"fraction": 0.2}})
    r = excess_votes(e, n_sim=20, rng=6, peak_weights=peak_weights, peak_method=peak_method)
    kept, _, _ = station_values(e, None, turnout="issued", share=e.percent_base)
    replicates, order = _bootstrap({c: kept[c].to_numpy() for c in COLUMNS}, 20, np.random.default_rng(6), 0.01,
                                   peak_weights, peak_method)
    rng = np.random.default_rng(6)
    boot = []
    for _ in range(20):
        # each station of the listing repeated as often as the resample draws it
        resampled = kept.iloc[order].iloc[np.repeat(np.arange(len(kept)), multiplicities(rng, len(kept), 1)[0].astype(int))]
        boot.append(_estimate({c: resampled[c].to_numpy() for c in COLUMNS}, 0.01, peak_weights,
                              peak_method)["positive"])
    # the same peaks and bins: equal up to the order of the additions in the bandwidth's moments
    np.testing.assert_allclose(replicates, boot, rtol=1e-12)
    assert r.ci == pytest.approx(percentile_interval(boot), rel=1e-12)
