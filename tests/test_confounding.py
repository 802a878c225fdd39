"""Simulated benign structure (forensics.confounding): the clean-confounded preset and its knobs."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forensics.confounding import KIND_CODES, SPECIAL, latent_spec
from forensics.simulate import PRESETS, SCENARIOS, simulate, simulate_preset, simulate_scenario
from test_simulate import broken


@pytest.fixture(scope="module")
def confounded():
    return simulate_preset("clean-confounded", rng=3)


def test_off_by_default_leaves_the_textbook_simulation_alone():
    plain = simulate(n_pec=800, rng=5)
    explicit = simulate(n_pec=800, rng=5, latent=None, special=None, postal_share=0.0, size_tail=0.0,
                        regional_shares=None)
    pd.testing.assert_frame_equal(plain.table, explicit.table)
    assert "true_kind" not in plain.table


def test_preset_has_the_benign_structure(confounded):
    t = confounded.table
    assert len(t) == PRESETS["clean-confounded"]["n_pec"] and len(confounded.parties) == 16
    assert (t["true_fraud"] == "").all()
    kinds = t["true_kind"].value_counts()
    assert set(kinds.index) >= {"urban", "rural", "postal", "hospital", "military", "abroad", "ship"}
    # advance-poll stations: votes without a list
    postal = t[t["true_kind"] == "postal"]
    assert (postal["registered"] == 0).all() and (postal["valid"] > 0).all()
    # lists drawn up on the day: turnout at or just under 100%
    ships = t[t["true_kind"] == "ship"]
    assert ((ships["signatures"] / ships["registered"]) >= 0.9).mean() >= 0.9
    # a tail of very large stations
    assert (t["registered"] > 3000).sum() > 100
    # every protocol identity still holds except "issued <= registered" at stations without a list
    with_list = confounded.subset(t["registered"] > 0)
    assert broken(with_list) == set()


def test_latent_factor_makes_turnout_and_the_leader_move_together(confounded):
    t = confounded.table
    t = t[t["true_kind"].isin(["urban", "rural"]) & ~t["unpublished"] & (t["valid"] > 0) & (t["registered"] >= 100)]
    turnout = (t["valid"] + t["invalid"]) / t["registered"]
    share = t[confounded.leader] / t["valid"]
    r = np.corrcoef(turnout, share)[0, 1]
    assert 0.1 < r < 0.6  # like clean elections: positive, not the 0.75 of Russia 2011
    # a big-city region: votes differ far more than turnout, so the leader's votes rise faster than turnout
    city = t["region"].isin(["Region 01", "Region 02", "Region 03", "Region 04"])
    slopes = []
    for _, g in t[city].groupby("region"):
        a = (g["valid"] + g["invalid"]) / g["registered"]
        w = g[confounded.leader] / g["registered"]
        slopes.append(np.polyfit(a, w, 1)[0])
    assert max(slopes) > 0.8


def test_regional_party_system(confounded):
    t = confounded.table
    own = t[t["region"] == "Region 07"]
    rest = t[t["region"] != "Region 07"]
    regional = confounded.parties[5]
    assert own[regional].sum() / own["valid"].sum() > 0.25 > 0.05 > rest[regional].sum() / rest["valid"].sum()


def test_knobs_are_validated():
    with pytest.raises(ValueError, match="special station kinds"):
        simulate(n_pec=300, special={"monastery": 0.01}, rng=1)
    with pytest.raises(ValueError, match="latent-factor settings"):
        simulate(n_pec=300, latent={"strength": 2}, rng=1)
    with pytest.raises(ValueError, match="one per region"):
        simulate(n_pec=300, n_regions=3, latent={"region_scale": [1, 2]}, rng=1)
    with pytest.raises(ValueError, match="not in the election"):
        simulate(n_pec=300, regional_shares={"Atlantis": [1, 1, 1, 1, 1]}, rng=1)
    assert latent_spec(True, 4, 2)["shares"].shape == (4,)
    assert set(SPECIAL) < set(KIND_CODES)


def test_complete_stuffing_reports_full_turnout_and_keeps_the_truth():
    clean = simulate_preset("clean-confounded", rng=4)
    dirty = simulate_scenario("100% stuffing", 0.2, rng=4)
    t = dirty.table
    hit = t["true_fraud"] == "stuffing"
    assert hit.sum() > 20 and t.loc[~hit, "true_stuffed"].eq(0).all()
    assert ((t.loc[hit, "signatures"] == t.loc[hit, "registered"]) | (t.loc[hit, "registered"] == 0)).mean() > 0.9
    gained = t[dirty.leader] - clean.table[clean.leader]
    np.testing.assert_array_equal(gained[hit], (t["true_stuffed"] + t["true_moved"])[hit])
    assert set(SCENARIOS) >= {"stuffing", "extreme stuffing", "100% stuffing", "rounding", "transfer"}


def test_concentrated_in_some_tecs():
    e = simulate_scenario("stuffing in half the TECs", 1.0, rng=2)
    t = e.table[e.table["region"].isin(["Region 05", "Region 09", "Region 12", "Region 20"])]
    share = (t["true_fraud"] != "").groupby([t["region"], t["tec"]]).mean()
    assert ((share == 0) | (share > 0.95)).all() and 0.2 < (share > 0).mean() < 0.8
