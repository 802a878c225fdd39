"""Digit tests: reference values, Monte Carlo machinery, calibration on clean and manipulated elections."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import forensics
from forensics import Election
from forensics.levels import by_level, results_table
from forensics.stats import digits as D


def _counts_election(values, unpublished=None):
    """An election whose single party column holds ``values``."""
    values = np.asarray(values)
    table = pd.DataFrame({"region": "r", "tec": "t", "pec": np.arange(len(values)).astype(str), "A": values,
                          "unpublished": False if unpublished is None else unpublished})
    return Election(table=table, parties=("A",))


def _band(n, p=0.05, level=0.999):
    """Largest number of rejections in n null runs that is still consistent with rate p."""
    return int(stats.binom.ppf(level, n, p))


# -- reference values (METHODS 6.1 and 5.2) ------------------------------------------------------
def test_benford_second_digit_reference_values():
    np.testing.assert_allclose(D.BENFORD_SECOND, [0.11968, 0.11389, 0.10882, 0.10433, 0.10031, 0.09668,
                                                  0.09337, 0.09035, 0.08757, 0.08500], atol=5e-6)
    assert D.SECOND_DIGIT_MEAN == pytest.approx(4.18739, abs=1e-5)
    var = D.BENFORD_SECOND @ np.arange(10) ** 2 - D.SECOND_DIGIT_MEAN ** 2
    assert var == pytest.approx(8.25378, abs=1e-5)
    assert D.BENFORD_FIRST.sum() == pytest.approx(1.0)


def test_iran_2009_spike_and_dip():
    # 116 counts, digit 7 in 17% (20) and 5 in 4% (5): "fewer than four in a hundred" clean elections
    p = D.spike_dip_pvalue(116, 20, 5)
    # the exact chance; 200,000 Monte Carlo draws gave 0.0345-0.0353 over three seeds
    assert p == pytest.approx(0.03494, abs=5e-5)


def _spike_dip_by_enumeration(n, spike, dip, cells=10):
    """The same chance from the multinomial's generating function, in exact fractions (small n only)."""
    from fractions import Fraction
    from math import factorial

    def box(lo, hi):
        poly = [Fraction(1)] + [Fraction(0)] * n
        for _ in range(cells):
            poly = [sum(poly[i - k] / factorial(k) for k in range(lo, min(hi, i) + 1)) for i in range(n + 1)]
        return poly[n] * factorial(n) / Fraction(cells) ** n

    return float(1 - box(0, spike - 1) - box(dip + 1, n) + box(dip + 1, spike - 1))


@pytest.mark.parametrize("n, spike, dip", [(25, 4, 1), (30, 5, 1), (40, 7, 2), (60, 9, 3), (60, 15, 0)])
def test_spike_dip_is_the_exact_multinomial_chance(n, spike, dip):
    assert D.spike_dip_pvalue(n, spike, dip) == pytest.approx(_spike_dip_by_enumeration(n, spike, dip), abs=1e-12)


@pytest.mark.parametrize("n, spike, dip", [(500, 62, 38), (20_000, 2_100, 1_900)])
def test_spike_dip_agrees_with_simulated_digits(n, spike, dip):
    draws = 100_000
    sims = np.random.default_rng(7).multinomial(n, np.full(10, 0.1), size=draws)
    simulated = ((sims.max(axis=1) >= spike) & (sims.min(axis=1) <= dip)).mean()
    exact = D.spike_dip_pvalue(n, spike, dip)
    assert abs(simulated - exact) < 5 * np.sqrt(exact * (1 - exact) / draws) + 1e-9


def test_iran_2009_non_adjacent_pairs():
    # 62% non-adjacent pairs (72 of 116) against 70% expected: p < 0.042
    pairs = [13] * 72 + [11] * 12 + [12] * 32  # non-adjacent, repeated, adjacent last-two digits
    e = _counts_election(np.array(pairs) + 1000)
    rep, adj, non = (D.digit_pairs_test(e, kind=k, null="uniform") for k in ("repeated", "adjacent", "non-adjacent"))
    assert non.statistic == pytest.approx(72 / 116) and non.expected == pytest.approx(0.70)
    assert 0.035 < non.pvalue < 0.042
    assert adj.expected == pytest.approx(0.20) and rep.expected == pytest.approx(0.10)
    linear = [D.digit_pairs_test(e, kind=k, null="uniform", wrap_adjacent=False) for k in D.DIGIT_PAIRS]
    assert linear[1].expected == pytest.approx(0.18) and linear[2].expected == pytest.approx(0.72)
    assert non.alternative == "less" and adj.alternative == "greater"


# -- machinery under an exactly true null ----------------------------------------------------------
@pytest.mark.slow
def test_chi_square_and_monte_carlo_are_calibrated_when_digits_are_uniform():
    rng = np.random.default_rng(5)
    runs = 150
    big = [D.last_digit_test(_counts_election(rng.integers(10, 5000, 300)), null="uniform", n_sim=1000,
                             rng=rng).pvalue for _ in range(runs)]
    small = [D.last_digit_test(_counts_election(rng.integers(10, 5000, 30)), null="uniform", n_sim=1000,
                               rng=rng) for _ in range(runs)]
    assert small[0].details["method"].startswith("Monte Carlo")
    for pvalues in (big, [r.pvalue for r in small]):
        rejections = int((np.array(pvalues) < 0.05).sum())
        # 1 to 17 of 150: P(0) = 0.95^150 = 0.0005, P(> 17) < 0.001; here 10 and 9
        assert 1 <= rejections <= _band(runs)


@pytest.mark.slow
def test_second_digit_test_is_calibrated_on_benford_counts():
    rng = np.random.default_rng(6)
    pvalues = [D.second_digit_test(_counts_election(np.floor(10 ** rng.uniform(1, 5, 400))), rng=rng).pvalue
               for _ in range(150)]
    assert 1 <= (np.array(pvalues) < 0.05).sum() <= _band(150)  # as above; here 8


def test_smoothed_null_follows_a_slope():
    # counts with a steep decreasing density: many more low last digits, no manipulation
    rng = np.random.default_rng(7)
    values = np.floor(rng.exponential(25, 20000)).astype(int)
    probs = D.smoothed_residues(values, 10)
    kept = values[values >= 10]
    observed = np.bincount(kept % 10, minlength=10) / kept.size
    assert observed[0] > 0.115 and observed[9] < 0.085  # the textbook uniform rule is wrong here
    np.testing.assert_allclose(probs, observed, atol=0.01)
    e = _counts_election(values)
    assert D.last_digit_test(e, null="uniform", rng=1).pvalue < 1e-6  # here 1e-48
    assert D.last_digit_test(e, rng=1).pvalue > 0.001  # calibrated null: fails one election in 1000; here 0.06


# -- clean and manipulated simulated elections ----------------------------------------------------
def _pvalues(elections, rng):
    rows = []
    for e in elections:
        rows.append({
            "last digit": D.last_digit_test(e, rng=rng).pvalue,
            "LastC": D.last_digit_mean(e, n_sim=2, rng=rng).pvalue,
            "C05s": D.zero_five_share(e, n_sim=2, rng=rng).pvalue,
            "P05s": D.percent_zero_five(e, n_sim=2, rng=rng).pvalue,
            **{r.name: r.pvalue for r in (D.digit_pairs_test(e, kind=k) for k in D.DIGIT_PAIRS)},
        })
    return pd.DataFrame(rows)


@pytest.mark.slow
def test_false_positive_rates_on_clean_simulations():
    rng = np.random.default_rng(11)
    runs = 60
    p = _pvalues((forensics.simulate(n_pec=1500, rng=rng) for _ in range(runs)), rng)
    rejections = (p < 0.05).sum()
    # at most 9 of 60 per test (one-sided 0.1% each); here 1 to 5
    assert (rejections <= _band(runs)).all(), rejections.to_dict()


def test_power_against_hand_written_digits():
    rng = np.random.default_rng(12)
    fraud = {"digits": {"fraction": 0.3, "favour": (0, 5, 7), "strength": 0.8}}
    p = _pvalues((forensics.simulate(n_pec=1500, fraud=fraud, rng=rng) for _ in range(10)), rng)
    # every p-value here is below 1e-129: 0.05 is no boundary for them
    assert ((p["last digit"] < 0.05).mean()) >= 0.9
    assert ((p["C05s"] < 0.05).mean()) >= 0.9


# -- results, exclusions, levels ------------------------------------------------------------------
def test_unpublished_counts_are_excluded_and_listed():
    values = np.arange(100, 400).astype(float)
    unpublished = np.zeros(300, bool)
    unpublished[[0, 1, 2]] = True
    values[unpublished] = np.nan
    r = D.last_digit_test(_counts_election(values, unpublished), rng=0)
    assert r.n_used == 297
    assert r.excluded == {"figures not published": 3}
    assert list(r.excluded_rows.index) == [0, 1, 2]
    small = D.last_digit_test(_counts_election([5, 50, 500, 5000] * 20), rng=0)
    assert small.excluded == {"count below 10": 20} and small.n_used == 60


def test_results_read_for_a_journalist_and_first_digit_caveat():
    e = forensics.simulate(n_pec=500, rng=3)
    for r in (D.last_digit_test(e, rng=1), D.zero_five_share(e, n_sim=50, rng=1),
              D.second_digit_mean(e, n_sim=50, rng=1), D.percent_zero_five(e, n_sim=50, rng=1)):
        assert "not proof" in r.explanation and r.n_used > 0
    assert "NOT follow Benford" in D.first_digit_test(e, rng=1).explanation
    reg = D.last_digit_test(e, columns=["registered", *e.parties], rng=1)
    assert "Caution" in reg.explanation


def test_per_region_through_by_level_with_correction():
    e = forensics.simulate(n_pec=800, n_regions=4, rng=4)
    table = results_table(by_level(e, D.last_digit_test, "region", rng=1), "region")
    assert len(table) == 4 and table.pvalue_adj.notna().all()
    assert (table.pvalue_adj >= table.pvalue - 1e-12).all()
    all_tests = D.digit_tests(e, "region", rng=1, n_sim=50)
    assert all_tests.test.nunique() == 10 and set(all_tests.group) == set(e.table.region)


def test_same_seed_same_result():
    e = forensics.simulate(n_pec=300, rng=5)
    a = D.last_digit_mean(e, n_sim=100, rng=9)
    b = D.last_digit_mean(e, n_sim=100, rng=9)
    assert a.ci == b.ci and a.statistic == b.statistic


def test_a_bad_count_names_the_spreadsheet_row():
    # position 20 of the table is spreadsheet row 22 (header = row 1), whatever subset a test reads
    values = np.arange(100, 140).astype(float)
    values[20] = 7.5
    e = _counts_election(values)
    with pytest.raises(forensics.DataError, match=r"row 22 \(station 20\)"):
        D.last_digit_test(e)
    with pytest.raises(forensics.DataError, match=r"row 22 \(station 20\)"):
        D.last_digit_test(e.subset(e.table.index >= 10))


def test_clopper_pearson_matches_statsmodels_exact_interval():
    """The digit table's interval is the exact (Beta) interval statsmodels gives, ends included (k = 0, k = n)."""
    from statsmodels.stats.proportion import proportion_confint

    from forensics.stats._core.binomial import clopper_pearson

    k = np.array([0, 1, 7, 50, 99, 100, 3, 0])
    n = np.array([100, 100, 100, 100, 100, 100, 5, 1])
    low, high = clopper_pearson(k, n, 0.9)
    ref_low, ref_high = proportion_confint(k, n, alpha=0.1, method="beta")
    np.testing.assert_allclose(low, np.nan_to_num(ref_low, nan=0.0), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(high, np.nan_to_num(ref_high, nan=1.0), rtol=1e-12, atol=1e-15)
    assert low[0] == 0.0 and high[5] == 1.0


def test_a_scan_reads_the_counts_once_and_results_do_not_change(monkeypatch):
    """Inside ``sharing()`` (as in a scan) the digit tests read the election and each group once, whatever the
    level or parameters, and give the results they give on their own."""
    from forensics.levels import group_positions
    from forensics.stats._core.shared import sharing

    e = forensics.simulate(n_pec=600, n_regions=4, rng=3)
    groups = group_positions(e, "region")

    def runs():
        out = [D.digit_pairs_test(e, kind=kind) for kind in D.DIGIT_PAIRS]
        out.append(D.last_digit_test(e, rng=np.random.default_rng(1)))
        for kind in D.DIGIT_PAIRS:
            out += D.digit_pairs_test.grouped(e, groups, {}, kind=kind).values()
        rngs = {g: np.random.default_rng(k) for k, g in enumerate(groups)}
        out += D.last_digit_test.grouped(e, groups, rngs).values()
        return [(r.statistic, r.pvalue, r.expected, r.n_used, r.excluded, r.explanation) for r in out]

    alone = runs()
    made = []
    read, take = D._Counts.__init__, D._Counts.take
    monkeypatch.setattr(D._Counts, "__init__", lambda self, *a: (made.append("read"), read(self, *a))[1])
    monkeypatch.setattr(D._Counts, "take", lambda self, p: (made.append("take"), take(self, p))[1])
    with sharing():
        assert runs() == alone
    assert made.count("read") == 1 and made.count("take") == len(groups)
    made.clear()
    assert runs() == alone  # outside a scan nothing is kept
    assert made.count("read") == 8  # each call reads the election again


def test_smoothed_nulls_of_many_groups_are_each_groups_own():
    """Smoothed side by side (rows of different lengths, blocks of any size), each group's null is exactly
    the one it gets alone."""
    rng = np.random.default_rng(7)
    groups = [rng.poisson(lam, size) for lam, size in ((40, 300), (400, 50), (3, 200), (1500, 80))] + [[], [np.nan]]
    for lowest, period in ((10, 10), (100, 100)):
        alone = [D.smoothed_residues(g, lowest, period) for g in groups]
        for cells in (1, 10_000, 1 << 20):
            D._SMOOTH_CELLS, saved = cells, D._SMOOTH_CELLS
            try:
                together = D.smoothed_residues_each(groups, lowest, period)
            finally:
                D._SMOOTH_CELLS = saved
            assert all(np.array_equal(a, b) for a, b in zip(alone, together))
