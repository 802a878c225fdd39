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


@pytest.mark.parametrize("seed", range(3))
def test_clean_simulations_give_little(seed):
    e = forensics.simulate(n_pec=3000, rng=seed)
    r = excess_votes(e, n_sim=0)
    # clipping negative bins at zero leaves a small positive floor: at most 2.5% of the leader's votes
    assert r.statistic < 0.025 * r.details["leader_votes"]
    assert r.details["share_clean"] == pytest.approx(r.details["share_official"], abs=0.01)


def test_extreme_stuffing_recovered_in_simulation():
    fraud = {"stuffing": {"fraction": 0.05, "model": "extreme"}}
    e = forensics.simulate(n_pec=4000, fraud=fraud, rng=3)
    truth = e.table["true_stuffed"].sum()
    r = excess_votes(e, rng=3, n_sim=50)
    assert 0.8 * truth <= r.statistic <= 1.6 * truth
    assert r.ci[0] > 0.5 * truth


def test_incremental_stuffing_is_underestimated_but_found():
    """Stuffed stations that stay near the turnout peak are missed: an honest lower-side estimate."""
    fraud = {"stuffing": {"fraction": 0.3, "intensity": 0.3}}
    e = forensics.simulate(n_pec=4000, fraud=fraud, rng=4)
    truth = e.table["true_stuffed"].sum()
    clean = excess_votes(forensics.simulate(n_pec=4000, rng=4), n_sim=0).statistic
    r = excess_votes(e, n_sim=0)
    assert 0.3 * truth <= r.statistic <= 1.3 * truth
    assert r.statistic > 2 * clean


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
