"""The simulator: clean elections satisfy every identity; injected fraud matches its truth."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import stats

from forensics.model import Election
from forensics.simulate import KINDS, PROTOCOL, TRUTH_COLUMNS, simulate


def identities(e: Election) -> pd.DataFrame:
    """One boolean column per protocol identity: True where it holds."""
    t = e.table
    issued = t[["ballots_issued_early", "ballots_issued_inside", "ballots_issued_outside"]].sum(axis=1)
    found = t["ballots_found_mobile"] + t["ballots_found_stationary"]
    counts = t[[*PROTOCOL, *e.parties]]
    return pd.DataFrame({
        "signatures": t["signatures"] == issued,
        "found_cast": found == t["valid"] + t["invalid"],
        "found_issued": found == issued,
        "valid_parties": t["valid"] == t[list(e.parties)].sum(axis=1),
        "balance": t["ballots_received"] == issued + t["ballots_cancelled"] + t["ballots_spoiled"]
        + t["ballots_lost"] - t["ballots_unaccounted"],
        "issued_registered": issued <= t["registered"],
        "added_registered": t["registered_added"] <= t["registered"],
        "non_negative": (counts >= 0).all(axis=1),
    })


def broken(e: Election) -> set:
    """Names of the identities that fail somewhere."""
    ok = identities(e)
    return {c for c in ok.columns if not ok[c].all()}


def binomial_ok(k, n, p, z=4.5) -> bool:
    return abs(k - n * p) <= z * np.sqrt(n * p * (1 - p)) + 1


# -- clean elections -------------------------------------------------------------------
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1), n_pec=st.integers(20, 3000), n_regions=st.integers(1, 12),
       parties=st.integers(2, 8), turnout=st.floats(0.2, 0.9))
def test_clean_simulations_satisfy_every_identity(seed, n_pec, n_regions, parties, turnout):
    e = simulate(n_pec=n_pec, n_regions=min(n_regions, n_pec), parties=parties, turnout=turnout, rng=seed)
    assert broken(e) == set()
    t = e.table
    assert len(t) == n_pec and t["region"].nunique() == min(n_regions, n_pec)
    assert not t[["region", "tec", "pec"]].duplicated().any()
    assert (t["ballots_lost"] == 0).all() and (t["ballots_unaccounted"] == 0).all()
    assert (t["true_fraud"] == "").all() and (t[list(TRUTH_COLUMNS[1:])] == 0).all().all()
    for col in (*PROTOCOL, *e.parties):
        assert t[col].dtype == np.int64


def test_clean_shape_is_realistic():
    e = simulate(n_pec=20_000, n_regions=15, rng=7)
    t = e.table
    reg = t["registered"]
    assert reg.min() < 50 and 2500 < reg.max() <= 3200  # tiny special stations and big urban ones
    assert 700 < reg.median() < 1700
    assert abs(e.turnout("issued").pipe(lambda s: (s * reg).sum() / reg.sum()) - 0.62) < 0.01
    tec_sizes = t.groupby(["region", "tec"]).size()
    assert 30 < tec_sizes.mean() < 60
    shares = t[list(e.parties)].sum() / t["valid"].sum()
    assert shares.idxmax() == e.parties[0]
    invalid = t["invalid"].sum() / (t["valid"] + t["invalid"]).sum()
    assert 0.01 < invalid < 0.02
    region_turnout = t.groupby("region").apply(lambda g: g["signatures"].sum() / g["registered"].sum())
    assert region_turnout.std() > 0.03  # regions differ
    # received ballots come in packs and exceed what was issued
    assert (t["ballots_received"] % 50 == 0).all() and (t["ballots_received"] >= t["signatures"]).all()


def test_clean_counts_have_no_heaping():
    """Last digits of clean counts are uniform: the counts come from count distributions."""
    e = simulate(n_pec=20_000, n_regions=15, rng=11)
    t = e.table
    # (counts just above 100 of small parties fall steeply, which tilts their last digit: a real
    # property of counts, so party counts are taken from 300 up)
    for values, low in ((t["registered"], 100), (t["signatures"], 100), (t[list(e.parties)].to_numpy().ravel(), 300)):
        values = np.asarray(values)
        last = values[values >= low] % 10
        observed = np.bincount(last, minlength=10)
        assert stats.chisquare(observed).pvalue > 1e-4
    # whole-percentage turnout no more often than a 0.1-pp window allows (about 10%)
    big = t["registered"] >= 100
    pct = 100 * t.loc[big, "signatures"] / t.loc[big, "registered"]
    share_integer = (np.abs(pct - pct.round()) <= 0.05).mean()
    assert share_integer < 0.13


def test_meta_truth_holds_clean_totals():
    clean = simulate(n_pec=800, rng=5)
    dirty = simulate(n_pec=800, rng=5, fraud={"stuffing": {"fraction": 0.3}, "drawn": {"fraction": 0.05}})
    assert dirty.meta["truth"] == clean.meta["truth"]
    assert clean.meta["truth"]["registered"] == clean.table["registered"].sum()
    assert clean.meta["truth"][clean.parties[0]] == clean.table[clean.parties[0]].sum()
    assert dirty.meta["simulation"]["fraud"]["drawn"] == {"fraction": 0.05}


# -- reproducibility -------------------------------------------------------------------
def test_same_seed_same_table_different_seed_different():
    fraud = {k: {"fraction": 0.1} for k in KINDS}
    a = simulate(n_pec=600, fraud=fraud, rng=42)
    b = simulate(n_pec=600, fraud=fraud, rng=np.random.default_rng(42))
    pd.testing.assert_frame_equal(a.table, b.table)
    c = simulate(n_pec=600, fraud=fraud, rng=43)
    assert not a.table.equals(c.table)


def test_no_global_random_state():
    np.random.seed(123)
    before = np.random.get_state()[1].copy()
    a = simulate(n_pec=300, fraud={"stuffing": {"fraction": 0.2}}, rng=1)
    assert (np.random.get_state()[1] == before).all()
    np.random.seed(999)
    b = simulate(n_pec=300, fraud={"stuffing": {"fraction": 0.2}}, rng=1)
    pd.testing.assert_frame_equal(a.table, b.table)


# -- fraud kinds -----------------------------------------------------------------------
N = 4000


def pair(kind, seed=3, **params):
    """The same election clean and with one kind of fraud."""
    params.setdefault("fraction", 0.25)
    clean = simulate(n_pec=N, rng=seed)
    dirty = simulate(n_pec=N, rng=seed, fraud={kind: params})
    return clean.table, dirty.table, dirty


def test_fraction_of_affected_stations_matches_parameter():
    for kind, fraction in zip(KINDS, (0.05, 0.1, 0.2, 0.3, 0.15, 0.02)):
        _, t, _ = pair(kind, fraction=fraction)
        marked = (t["true_fraud"] == kind).sum()
        assert binomial_ok(marked, N, fraction), (kind, marked)


def test_fraud_restricted_to_regions():
    regions = ["Region 02", "Region 05"]
    _, t, _ = pair("stuffing", fraction=0.4, regions=regions)
    hit = t["true_fraud"] != ""
    assert set(t.loc[hit, "region"]) <= set(regions)
    inside = t["region"].isin(regions)
    assert binomial_ok(hit.sum(), inside.sum(), 0.4)
    with pytest.raises(ValueError, match="not in the election"):
        simulate(n_pec=100, rng=1, fraud={"stuffing": {"fraction": 0.1, "regions": ["Atlantis"]}})


def test_stuffing_with_signatures_keeps_every_identity():
    c, t, e = pair("stuffing", intensity=0.3)
    assert broken(e) == set()
    leader = e.parties[0]
    assert (t[leader] - c[leader]).sum() == t["true_stuffed"].sum() > 0
    assert ((t["signatures"] - c["signatures"]) == t["true_stuffed"]).all()
    assert ((c["ballots_cancelled"] - t["ballots_cancelled"]) == t["true_stuffed"]).all()
    assert (t["registered"] == c["registered"]).all()
    assert ((t["true_stuffed"] > 0) <= (t["true_fraud"] == "stuffing")).all()
    others = list(e.parties[1:])
    assert (t[others] == c[others]).all().all()


def test_stuffing_without_signatures_leaves_more_ballots_found_than_issued():
    c, t, e = pair("stuffing", signatures=False)
    assert broken(e) == {"found_issued"}
    found = t["ballots_found_mobile"] + t["ballots_found_stationary"]
    assert ((found - t["signatures"]) == t["true_stuffed"]).all()
    assert (t["signatures"] == c["signatures"]).all()
    assert (t["true_stuffed"] > 0).sum() > 0.9 * (t["true_fraud"] != "").sum()


def test_extreme_stuffing_drives_turnout_to_nearly_100():
    _, t, e = pair("stuffing", model="extreme")
    hit = t["true_fraud"] == "stuffing"
    turnout = e.turnout("issued")
    assert turnout[hit].median() > 0.9 and turnout[~hit].median() < 0.75


def test_stuffing_with_stolen_votes_klimek_alpha():
    c, t, e = pair("stuffing", alpha=1.5)
    assert broken(e) == set()
    leader = e.parties[0]
    assert (t[leader] - c[leader] == t["true_stuffed"] + t["true_moved"]).all()
    assert t["true_moved"].sum() > 0


def test_transfer_moves_votes_without_changing_totals():
    c, t, e = pair("transfer", intensity=0.2)
    assert broken(e) == set()
    leader, others = e.parties[0], list(e.parties[1:])
    assert (t[list(e.parties)].sum(axis=1) == c[list(e.parties)].sum(axis=1)).all()
    assert ((t[leader] - c[leader]) == t["true_moved"]).all()
    assert ((c[others].sum(axis=1) - t[others].sum(axis=1)) == t["true_moved"]).all()
    hit = t["true_fraud"] == "transfer"
    share = t.loc[hit, "true_moved"].sum() / c.loc[hit, others].to_numpy().sum()
    assert abs(share - 0.2) < 0.02


def test_carousel_adds_enrolled_voters_for_the_leader():
    c, t, e = pair("carousel", intensity=0.05)
    assert broken(e) == set()
    k = t["true_carousel"]
    leader = e.parties[0]
    for col in ("registered", "registered_added", "signatures", leader, "valid"):
        assert ((t[col] - c[col]) == k).all(), col
    hit = t["true_fraud"] == "carousel"
    assert abs(k[hit].sum() / c.loc[hit, "registered"].sum() - 0.05) < 0.005


def test_rounding_makes_whole_percentages_and_keeps_identities():
    c, t, e = pair("rounding", fraction=0.3)
    assert broken(e) == set()
    leader = e.parties[0]
    assert ((t[leader] - c[leader]) == t["true_stuffed"] + t["true_moved"]).all()
    turnout = 100 * t["signatures"] / t["registered"]
    share = 100 * t[leader] / (t["valid"] + t["invalid"])
    whole = lambda p: np.abs(p - p.round()) <= 0.05  # noqa: E731
    r = t["true_rounded"]
    assert r.sum() > 0.8 * (t["true_fraud"] == "rounding").sum()
    assert (whole(turnout) | whole(share))[r].all()
    big = c["registered"] >= 100
    clean_turnout = 100 * c["signatures"] / c["registered"]
    assert whole(turnout)[big & r].mean() > 0.9 > 0.2 > whole(clean_turnout)[big & r].mean()
    assert (turnout >= clean_turnout - 1e-9).all()


def test_rounding_share_only_moves_votes():
    c, t, e = pair("rounding", what="share")
    assert broken(e) == set()
    assert (t["signatures"] == c["signatures"]).all() and t["true_stuffed"].sum() == 0
    leader = e.parties[0]
    share = 100 * t[leader] / (t["valid"] + t["invalid"])
    assert (np.abs(share - share.round()) <= 0.05)[t["true_rounded"]].all()


def test_digits_favour_chosen_last_digits_and_keep_sums():
    c, t, e = pair("digits", fraction=0.3, favour=(0, 5), strength=1.0)
    assert broken(e) == set()
    hit = t["true_digits"].to_numpy()
    votes = t.loc[hit, list(e.parties)].to_numpy()
    before = c.loc[hit, list(e.parties)].to_numpy()
    last = votes[before >= 10] % 10
    assert np.isin(last, (0, 5)).all()
    assert (np.abs(votes - before) <= 5).all()
    assert (t.loc[~hit, list(e.parties)] == c.loc[~hit, list(e.parties)]).all().all()
    found = t["ballots_found_mobile"] + t["ballots_found_stationary"]
    assert (found == c["ballots_found_mobile"] + c["ballots_found_stationary"]).all()


def test_drawn_protocols_break_arithmetic_exactly_there():
    c, t, e = pair("drawn", fraction=0.05)
    ok = identities(e)
    drawn = t["true_drawn"]
    assert drawn.sum() > 100
    assert (~ok.loc[drawn, "valid_parties"]).all() and (~ok.loc[drawn, "balance"]).all()
    assert ok.loc[~drawn].all().all()
    turnout = e.turnout("issued")
    assert turnout[drawn].min() >= 0.79 and (t.loc[drawn, e.parties[0]] % 10 == 0).all()


def test_combined_kinds_are_joined_in_truth():
    e = simulate(n_pec=3000, rng=9, fraud={"stuffing": 0.4, "transfer": 0.4,
                                           "extra": {"kind": "stuffing", "fraction": 0.1, "signatures": False}})
    labels = set(e.table["true_fraud"])
    assert {"stuffing+transfer", "stuffing", "transfer", ""} <= labels
    assert all(lab.count("stuffing") <= 1 for lab in labels)


@pytest.mark.parametrize("fraud, message", [
    ({"bribery": 0.1}, "unknown fraud kind"),
    ({"stuffing": {"fraction": 1.5}}, "between 0 and 1"),
    ({"stuffing": {"fraction": 0.1, "strength": 2}}, "unknown parameters"),
    ({"stuffing": {"fraction": 0.1, "model": "wild"}}, "incremental"),
    ({"transfer": {"fraction": 0.1, "intensity": 1.0}}, "intensity"),
    ({"rounding": {"fraction": 0.1, "what": "seats"}}, "rounding"),
])
def test_bad_fraud_specs_are_refused(fraud, message):
    with pytest.raises(ValueError, match=message):
        simulate(n_pec=200, rng=1, fraud=fraud)


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError):
        simulate(n_pec=5, n_regions=10)
    with pytest.raises(ValueError):
        simulate(parties=3, shares=[0.5, 0.5])
    with pytest.raises(TypeError, match="unknown options"):
        simulate(n_pec=100, colour="red")


def test_unpublished_stations_have_empty_counts():
    e = simulate(n_pec=2000, rng=4, unpublished=0.05, fraud={"stuffing": 0.2})
    t = e.table
    hidden = t["unpublished"]
    assert binomial_ok(hidden.sum(), 2000, 0.05)
    counts = t[[*PROTOCOL, *e.parties]]
    assert counts[hidden].isna().all().all() and counts[~hidden].notna().all().all()
    assert (counts[~hidden] % 1 == 0).all().all()
    shown = simulate(n_pec=2000, rng=4, fraud={"stuffing": 0.2})  # the same draws, nothing hidden
    pd.testing.assert_frame_equal(t[list(TRUTH_COLUMNS)], shown.table[list(TRUTH_COLUMNS)])
    assert (t.loc[~hidden, "registered"] == shown.table.loc[~hidden, "registered"]).all()
    assert e.totals()["registered"] == shown.table.loc[~hidden, "registered"].sum()


def test_leader_gain_equals_truth_with_every_kind_combined():
    fraud = {k: {"fraction": 0.2} for k in KINDS}
    fraud["stuffing"]["alpha"] = 2.0
    clean = simulate(n_pec=3000, n_regions=12, rng=1).table
    dirty = simulate(n_pec=3000, n_regions=12, rng=1, fraud=fraud)
    t = dirty.table
    leader = dirty.parties[0]
    plain = ~(t["true_drawn"] | t["true_digits"])
    gain = (t[leader] - clean[leader])[plain]
    assert (gain == (t["true_stuffed"] + t["true_moved"] + t["true_carousel"])[plain]).all()
    assert broken(dirty.subset(plain)) == set()
    assert {"valid_parties", "balance"} <= broken(dirty)  # the drawn protocols
