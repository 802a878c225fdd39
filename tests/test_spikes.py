"""Integer-percentage test (Kobak et al.): definitions, null, calibration, power and real data."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from forensics.levels import by_level, results_table
from forensics.model import Election
from forensics.simulate import simulate
from forensics.stats.spikes import _bin_probabilities, integer_percentages, is_integer_percent, kobak_counts


def test_integer_membership_is_exact_on_bin_edges():
    # 100 * count / total: 0.05 and 1.05 sit exactly on the edge (in), 0.15 and 1.1 are out
    ok, nearest = is_integer_percent([1, 3, 21, 22, 1000, 0, 667], [2000, 2000, 2000, 2000, 2000, 5, 1000])
    assert ok.tolist() == [True, False, True, False, True, True, False]
    assert nearest.tolist() == [0, 0, 1, 1, 50, 0, 67]
    with pytest.raises(ValueError):
        is_integer_percent([1], [3], tolerance=0.03)


@pytest.mark.parametrize("total,p", [(100, 0.62), (137, 0.05), (1999, 0.731), (3, 0.5), (450, 0.0), (800, 1.0)])
def test_bin_probabilities_match_brute_force(total, p):
    rows, ints, probs = _bin_probabilities(np.array([total]), np.array([p]), 0.05)
    x = np.arange(total + 1)
    ok, nearest = is_integer_percent(x, np.full_like(x, total))
    pmf = stats.binom.pmf(x, total, p)
    brute = np.bincount(nearest[ok], weights=pmf[ok], minlength=101)
    got = np.bincount(ints, weights=probs, minlength=101)
    # bins beyond 5.5 binomial sd are left out: they carry less than 1e-7 of the mass
    np.testing.assert_allclose(got, brute, atol=1e-7)


def test_bin_probabilities_in_blocks_equal_one_block(monkeypatch):
    # the blocks bound the memory; the triple (order, types, values) is that of a single pass over the stations
    from forensics.stats import spikes

    frame, _ = kobak_counts(simulate(n_pec=3000, n_regions=4, rng=5))
    total, p = frame["N"].to_numpy(), frame["turnout"].to_numpy()
    whole = spikes._compute_bin_probabilities(total, p, 0.05, 5.5)
    monkeypatch.setattr(spikes, "_BLOCK_STATIONS", 7)
    blocked = spikes._compute_bin_probabilities(total, p, 0.05, 5.5)
    assert [a.dtype for a in blocked] == [np.dtype(np.int32), np.dtype(np.int16), np.dtype(float)]
    for a, b in zip(whole, blocked):
        assert a.dtype == b.dtype and np.array_equal(a, b)


def _tiny_election():
    t = pd.DataFrame({
        "region": ["A", "A", "B", "B", "B", "B"], "tec": ["1", "1", "2", "2", "2", "2"],
        "pec": ["1", "2", "3", "4", "5", "6"],
        "registered": [1000, 50, 1000, 1000, 1000, np.nan],
        "ballots_issued": [600, 40, 995, 600, 0, np.nan],
        "invalid": [10, 0, 5, 2, 0, np.nan], "valid": [590, 40, 990, 598, 0, np.nan],
        "X": [300, 30, 500, 598, 0, np.nan], "Y": [290, 10, 490, 0, 0, np.nan],
        "unpublished": [False, False, False, False, False, True],
    })
    return Election(table=t, parties=("X", "Y"))


def test_inclusion_rules_and_exclusions_listed():
    frame, ex = kobak_counts(_tiny_election(), "X")
    assert list(frame.index) == [0]
    assert ex.counts == {"figures not published": 1, "no ballots found (R = 0)": 1,
                         "fewer than 100 voters on the list": 1, "turnout above 99%": 1, "result above 99%": 1}
    assert dict(ex.rows) == {5: "figures not published", 4: "no ballots found (R = 0)",
                             1: "fewer than 100 voters on the list", 2: "turnout above 99%", 3: "result above 99%"}
    # paper's definitions: turnout = issued / registered, result = leader / (valid + invalid)
    assert frame.loc[0, "turnout"] == pytest.approx(0.6)
    assert frame.loc[0, "result"] == pytest.approx(300 / 600)
    res = integer_percentages(_tiny_election(), party="X", n_sim=50, rng=0)
    assert res.n_used == 1 and res.n_excluded == 5 and res.excluded_rows.size == 5


def test_exact_null_agrees_with_literal_binomial_draws():
    e = simulate(n_pec=600, rng=11)
    fast = integer_percentages(e, n_sim=2000, rng=1, breakdown=None).details["counts"]
    fast = fast.set_index(["statistic", "weight"])
    slow = integer_percentages(e, n_sim=2000, rng=1, null="draws", breakdown=None).details["counts"]
    slow = slow.set_index(["statistic", "weight"])
    # both Monte Carlo means estimate the exact null mean; sd of a mean of 2000 draws = sd / 44.7,
    # so 4 of those (two-sided 6e-5 per row) and 10% on the sd (6 standard errors of an sd from
    # 2000 draws); here at most 1.8 of those and 1.1%
    tol = 4 * fast["null_sd"] / np.sqrt(2000)
    assert (abs(fast["mc_mean"] - fast["expected"]) <= tol).all()
    assert (abs(slow["mc_mean"] - fast["expected"]) <= tol).all()
    np.testing.assert_allclose(slow["mc_sd"], fast["null_sd"], rtol=0.1)


def test_same_seed_same_result_and_pvalue_definition():
    e = simulate(n_pec=500, rng=3)
    a = integer_percentages(e, n_sim=99, rng=7)
    b = integer_percentages(e, n_sim=99, rng=7)
    assert a.pvalue == b.pvalue
    pd.testing.assert_frame_equal(a.details["counts"], b.details["counts"])
    # (1 + #{sim >= obs}) / (1 + n_sim) can only take multiples of 1/100 here
    assert round(a.pvalue * 100, 9) == int(round(a.pvalue * 100))


def test_analytic_pvalues_agree_with_monte_carlo():
    """Every row's analytic tail against 4,000 Monte Carlo replicates of the same null."""
    n_sim = 4000
    for seed, fraud in ((21, None), (22, {"rounding": {"fraction": 0.02}})):
        e = simulate(n_pec=1500, rng=seed, fraud=fraud)
        analytic = integer_percentages(e, breakdown=None)
        mc = integer_percentages(e, n_sim=n_sim, rng=seed, breakdown=None)
        assert analytic.method.startswith("analytic") and mc.method.startswith("Monte Carlo")
        a = analytic.details["counts"].set_index(["statistic", "weight"])
        m = mc.details["counts"].set_index(["statistic", "weight"])
        pd.testing.assert_series_equal(a["pvalue"], m["pvalue_analytic"], check_names=False)
        assert a["pvalue_mc"].isna().all() and (m["pvalue"] == m["pvalue_mc"]).all()
        above_floor = m["pvalue_mc"] > 20 / (n_sim + 1)
        # the Monte Carlo p-value's sd, 4.5 of them (two-sided 7e-6 per row), plus its 1/(n+1) offset
        se = np.sqrt(m["pvalue_mc"] * (1 - m["pvalue_mc"]) / n_sim)
        gap = (a["pvalue"] - m["pvalue_mc"]).abs()
        assert (gap[above_floor] <= 4.5 * se[above_floor] + 1 / (n_sim + 1)).all(), gap[above_floor] / se[above_floor]
        # below the floor the analytic tail goes on where the replicates stop
        assert (a.loc[~above_floor, "pvalue"] < 40 / (n_sim + 1)).all()
    assert above_floor.sum() < len(above_floor)  # the rounded election reaches beyond the floor


@pytest.mark.slow
def test_analytic_pvalues_are_calibrated_on_clean_confounded_regions():
    """Rejections at 0.05 of every count, region by region, on clean elections with benign structure."""
    from forensics.levels import group_positions
    from forensics.simulate import simulate_preset

    pvals = []
    for seed in range(4):
        e = simulate_preset("clean-confounded", rng=300 + seed)
        positions = group_positions(e, "region")
        results = integer_percentages.grouped(e, positions, {g: None for g in positions}, breakdown=None)
        pvals += [r.details["counts"]["pvalue"].to_numpy() for r in results.values()]
    pvals = np.array(pvals)  # regions x 12 counts (3 statistics x 4 weightings)
    n = len(pvals)
    low, high = stats.binom.interval(0.999, n, 0.05)  # 120 regions: 0 to 15 rejections per count
    rejections = (pvals <= 0.05).sum(axis=0)
    assert ((rejections >= low) & (rejections <= high)).all(), rejections
    # and over all counts together the rate stays near 0.05 (rows are correlated: a wide band)
    assert 0.01 <= (pvals <= 0.05).mean() <= 0.10, (pvals <= 0.05).mean()


@pytest.mark.slow
def test_calibration_on_clean_simulations():
    """Rejection rate at 0.05 over 40 clean elections within the 99.9% binomial band."""
    n_runs, pvals, zs = 40, [], []
    for seed in range(n_runs):
        r = integer_percentages(simulate(n_pec=800, rng=100 + seed), n_sim=200, rng=seed, breakdown=None)
        pvals.append(r.pvalue)
        zs.append(r.details["excess"] / r.details["null_sd"])
    rejections = int(np.sum(np.array(pvals) <= 0.05))
    low, high = stats.binom.interval(0.999, n_runs, 0.05)  # 0 to 8 of 40; here 2
    assert low <= rejections <= high, rejections
    # the standardised excess is centred on 0 with unit spread: the mean within 4 standard errors
    # (here -0.14 against 0.63); the sd of 40 values has a standard error of 0.11, so 0.6-1.4 is
    # 3.5 of those (here 1.04)
    assert abs(np.mean(zs)) < 4 / np.sqrt(n_runs)
    assert 0.6 < np.std(zs) < 1.4


def test_power_on_rounding_and_not_on_stuffing_alone():
    rounded = simulate(n_pec=1500, rng=5, fraud={"rounding": {"fraction": 0.15}})
    res = integer_percentages(rounded, n_sim=300, rng=1)
    # 15% of stations rounded: an excess of 9.2 to 14.9 null sd over six elections (here 12.6;
    # at 5% it was 1.9 to 6.5, too close to 3).  The Monte Carlo p-value sits on its floor 1/301
    # here, so the standardised excess is what is checked.
    assert res.details["excess"] > 3 * res.details["null_sd"]
    # the per-integer table and the region split add up to the national counts
    ints = res.details["integers"]
    counts = res.details["counts"].set_index(["statistic", "weight"])
    assert ints["turnout_observed"].sum() == counts.loc[("turnout", "stations"), "observed"]
    assert ints["result_observed"].sum() == counts.loc[("result", "stations"), "observed"]
    assert res.details["regions"]["observed"].sum() == res.statistic
    # weighted variants: voters-weighted observed count is the sum of N over integer stations
    assert counts.loc[("either", "voters"), "observed"] > counts.loc[("either", "stations"), "observed"]
    assert "reason to look" in res.explanation


def test_runs_per_region_through_by_level():
    e = simulate(n_pec=600, n_regions=3, rng=2)
    results = by_level(e, integer_percentages, "region", n_sim=50, rng=0, party=e.leader)
    table = results_table(results, "region")
    assert len(table) == 3 and table["pvalue_adj"].notna().all()
    assert (table["party"] == e.leader).all()


@pytest.mark.parametrize("n_sim", [0, 60])
def test_all_groups_at_once_give_each_group_its_own_result(n_sim):
    # regions with different leaders, some unpublished rows and a group too small to use
    e = simulate(n_pec=900, n_regions=4, rng=5, unpublished=0.05)
    t = e.table.copy()
    region_b = t["region"] == t["region"].iloc[-1]
    t.loc[region_b, [e.parties[0], e.parties[1]]] = t.loc[region_b, [e.parties[1], e.parties[0]]].to_numpy()
    e = e.with_table(t)
    from forensics.levels import group_positions

    positions = group_positions(e, "region")
    rngs = {g: np.random.default_rng([7, k]) for k, g in enumerate(positions)}
    together = integer_percentages.grouped(e, positions, rngs, n_sim=n_sim, breakdown=None)
    assert len({r.party for r in together.values()}) == 2
    for k, (group, rows) in enumerate(positions.items()):
        alone = integer_percentages(e.with_table(e.table.iloc[rows]), n_sim=n_sim, breakdown=None,
                                    rng=np.random.default_rng([7, k]))
        got = together[group]
        assert (got.statistic, got.pvalue, got.expected, got.party) == (alone.statistic, alone.pvalue,
                                                                          alone.expected, alone.party)
        assert got.excluded == alone.excluded and got.excluded_rows.equals(alone.excluded_rows)
        pd.testing.assert_frame_equal(got.details["integers"], alone.details["integers"])
        pd.testing.assert_frame_equal(got.details["counts"], alone.details["counts"])


# -- real data: Kobak et al.'s Monte Carlo reference (METHODS 7.1; MC sd ~110-118) --------------

REFERENCE = {  # excess integer stations: either, result, turnout
    "ru2011": (1003.5, 767.1, 449.3),
    "ru2012": (1159.6, 734.6, 634.6),
    "ru2018": (1708.8, 859.0, 1296.2),
}


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(REFERENCE))
def test_russian_excess_matches_published_monte_carlo(name, request):
    e = request.getfixturevalue(name)
    res = integer_percentages(e, n_sim=1000, rng=2016)
    counts = res.details["counts"].set_index(["statistic", "weight"])
    for stat, ref in zip(("either", "result", "turnout"), REFERENCE[name]):
        row = counts.loc[(stat, "stations")]
        # our expected is exact; the reference is a 1000-draw MC mean (sd of that mean ~ 4)
        assert abs(row["excess"] - ref) < 3 * row["null_sd"] / np.sqrt(1000) + 5, (stat, row["excess"], ref)
        # 5.1 to 14.6 exact null sd: the Monte Carlo p-value sits on its floor 1/1001 for all
        # nine, so the standardised excess (no Monte Carlo in it) is what is checked
        assert row["excess"] > 4.5 * row["null_sd"], (stat, row["excess"] / row["null_sd"])
    assert 100 < res.details["null_sd"] < 130
    ints = res.details["integers"]
    standing_out = (ints["turnout_pvalue_adj"] < 0.05).sum() + (ints["result_pvalue_adj"] < 0.05).sum()
    assert standing_out >= 5


@pytest.mark.slow
def test_canada_shows_no_integer_spikes(canada):
    polls = canada.table
    keep = (polls["poll_type"].isin(["ordinary", "multi_residence", "mobile"]) & (polls["void_poll"] == 0)
            & (polls["registered"] > 0))
    res = integer_percentages(canada.subset(keep), n_sim=1000, rng=2011)
    z = res.details["excess"] / res.details["null_sd"]
    # Kobak et al. judge against the 99.9th percentile of the null: Canada stays below it (z = 1.91,
    # exact).  Its Monte Carlo p is 0.036, about 36 of the 1000 draws: p <= 0.01 would need 9 or
    # fewer (Poisson probability about 1e-7)
    assert z < 3.09 and res.pvalue > 0.01
    # at most one whole percentage stands out after Benjamini-Hochberg (51% for the result, z = 3.5;
    # adjusted 0.032, the next 0.26), against five or more in each Russian election
    ints = res.details["integers"]
    assert (ints["turnout_pvalue_adj"] < 0.05).sum() + (ints["result_pvalue_adj"] < 0.05).sum() <= 1


def test_the_nation_and_region_steps_in_one_process_compute_the_probabilities_once(monkeypatch):
    """Why a scan runs the integer steps in one process (``shared_work``): the national test computes every
    station's probabilities of the leader, the grouped test reads them again; a new process computes them anew."""
    import forensics.stats.spikes as S
    from forensics.levels import group_positions

    e = simulate(n_pec=900, n_regions=4, rng=31)
    S._RECENT.clear()
    calls = []
    compute = S._compute_bin_probabilities
    monkeypatch.setattr(S, "_compute_bin_probabilities", lambda *a: calls.append(1) or compute(*a))
    national = integer_percentages(e, rng=1)
    assert len(calls) == 2  # turnout and result of every station, once
    positions = group_positions(e, "region")
    regional = integer_percentages.grouped(e, positions, {g: np.random.default_rng(1) for g in positions},
                                           party=e.leader)
    assert len(calls) == 2
    assert national.statistic > 0 and len(regional) == len(positions)
    S._RECENT.clear()
    integer_percentages(e, rng=1)
    assert len(calls) == 4  # in another process (nothing remembered) they are computed again


def test_counts_read_once_per_table_each_caller_gets_its_own_copies():
    e = simulate(n_pec=400, n_regions=2, rng=47)
    frame, ex = kobak_counts(e)
    ex.require(np.zeros(len(e.table), dtype=bool), "a caller's own rule")
    frame["N"] = 0
    again, ex_again = kobak_counts(e)
    assert "a caller's own rule" not in ex_again.counts and (again["N"] >= 100).all()
    t = e.table.copy()
    t.loc[t.index[:5], "registered"] = 10  # another table: read again
    fewer, _ = kobak_counts(e.with_table(t))
    assert len(fewer) == len(again) - ex_again.keep.iloc[:5].sum()
