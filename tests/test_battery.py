"""EFToolkit's battery and the shared core of the digit tests: digit extraction, bootstrap, intervals, flags, bad input."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from forensics import DataError, Election
from forensics.stats import eftoolkit as B
from forensics.stats._core import bootstrap as boot
from forensics.stats._core import digitize as D


def _election(n=400, seed=0, parties=("A", "B")):
    rng = np.random.default_rng(seed)
    reg = rng.integers(300, 2000, n)
    found = rng.binomial(reg, 0.6)
    a = rng.binomial(found, 0.55)
    table = pd.DataFrame({"region": rng.choice(["North", "South", "East"], n), "tec": "t",
                          "pec": np.arange(n).astype(str), "registered": reg, "ballots_found": found, parties[0]: a, parties[1]: found - a,
                          "unpublished": False})
    return Election(table=table, parties=tuple(parties))


def test_digit_extraction():
    x = np.array([0, 7, 10, 19, 100, 123, 4567, 100000, 999999999, np.nan])
    np.testing.assert_array_equal(D.last_digit(x)[:-1], [0, 7, 0, 9, 0, 3, 7, 0, 9])
    np.testing.assert_array_equal(D.second_digit(x)[2:-1], [0, 9, 0, 2, 5, 0, 9])
    assert np.isnan(D.second_digit(x)[[0, 1, 9]]).all()
    np.testing.assert_array_equal(D.first_digit(x)[1:-1], [7, 1, 1, 1, 1, 4, 1, 9])
    np.testing.assert_array_equal(D.last_two_digits(x)[2:-1], [10, 19, 0, 23, 67, 0, 99])


def test_percent_rounding_half_to_even_and_100():
    # 0.125 -> 12.5 -> 12 (even), 0.135 -> 13.5 -> 14, 1 -> 100 ends in 0, 0.05 -> 5
    np.testing.assert_array_equal(D.percent_ends_05([0.125, 1.0, 0.05, 0.31]), [0, 1, 1, 0])
    assert np.isnan(D.percent_ends_05([np.nan]))[0]


def test_basic_interval_matches_boots_order_statistic_interpolation():
    reps = np.arange(1.0, 1001.0)[:, None]
    low, high = boot.basic_interval(600.0, reps)
    # (R + 1) * 0.975 = 975.975: between order statistics 975 and 976 on the normal scale
    z = stats.norm.ppf
    q975 = 975 + (z(0.975) - z(975 / 1001)) / (z(976 / 1001) - z(975 / 1001))
    q025 = 25 + (z(0.025) - z(25 / 1001)) / (z(26 / 1001) - z(25 / 1001))
    assert low[0] == pytest.approx(1200 - q975) and high[0] == pytest.approx(1200 - q025)
    # non-finite replicates are dropped; constant replicates give no interval (as boot.ci)
    with_nan = np.concatenate([reps, [[np.nan], [np.inf]]])
    assert boot.basic_interval(600.0, with_nan)[0][0] == pytest.approx(low[0])
    assert np.isnan(boot.basic_interval(1.0, np.ones((100, 1)))[0][0])


def test_category_resampling_equals_station_resampling_in_distribution():
    rng = np.random.default_rng(1)
    digits = rng.integers(0, 10, 300).astype(float)
    digits[:20] = np.nan
    counts = np.append(D.digit_counts(digits), 20)
    resampled = boot.resample_categories(counts, 4000, rng)[..., :10]
    by_category = resampled @ np.arange(10.0) / resampled.sum(axis=-1)
    ok = np.isfinite(digits)
    sums = boot.resample_sums(np.column_stack([np.where(ok, digits, 0), ok]), 4000, rng)
    by_station = sums[:, 0] / sums[:, 1]
    # the means of two sets of 4000 replicates differ by noise of sd ~0.004 (0.01 was 2.6 of those):
    # allow 5; the sds by 1.6% (two sds of 4000 replicates): allow 5 of those, 8%
    se_mean = np.hypot(by_category.std(), by_station.std()) / np.sqrt(4000)
    assert by_category.mean() == pytest.approx(by_station.mean(), abs=5 * se_mean)
    assert by_category.std() == pytest.approx(by_station.std(), rel=5 * np.sqrt(2 / (2 * 4000)))


def test_resample_sums_float32_close_to_float64():
    x = np.random.default_rng(2).random((5000, 4))
    a = boot.resample_sums(x, 50, 3)
    b = boot.resample_sums(x, 50, 3, dtype=np.float32)
    np.testing.assert_allclose(a, b, rtol=1e-5)
    assert a[:, 0].mean() == pytest.approx(x[:, 0].sum(), rel=0.01)


def test_battery_columns_and_national_level():
    e = _election()
    t = B.basic_battery(e, n_sim=200, rng=1).table
    assert list(t.columns[:8]) == ["group", "subject", "test", "estimate", "ci_low", "ci_high", "n", "flagged"]
    assert set(t.group) == {"National"} and set(t.subject) == {"turnout", "A", "B"}
    assert (t.n == 400).all()
    # direct checks of a few definitions
    tab = e.table
    lastc = t.query("subject == 'A' and test == 'LastC'").estimate.iloc[0]
    assert lastc == pytest.approx((tab.A % 10).mean())
    share = (tab.A / tab.ballots_found).clip(upper=1)
    skew = t.query("subject == 'A' and test == 'Skew'").estimate.iloc[0]
    assert skew == pytest.approx(stats.skew(share))
    kurt = t.query("subject == 'A' and test == 'Kurt'").estimate.iloc[0]
    assert kurt == pytest.approx(stats.kurtosis(share, fisher=False))
    corr = t.query("subject == 'A' and test == 'Correlation'").estimate.iloc[0]
    assert corr == pytest.approx(np.corrcoef(tab.ballots_found / tab.registered, share)[0, 1])


def test_any_column_as_level_and_unpublished_listed():
    e = _election()
    table = e.table.copy()
    table.loc[[3, 4], "unpublished"] = True
    table.loc[[3, 4], ["registered", "ballots_found", "A", "B"]] = np.nan
    table.loc[7, "region"] = None
    result = B.basic_battery(e.with_table(table), level="region", n_sim=100, rng=1)
    t = result.table
    assert t.group.unique().tolist() == ["East", "North", "South"]
    assert t.groupby("group").n.first().sum() == 397
    assert result.excluded == {"no region": 1, "figures not published": 2}
    assert sorted(result.excluded_rows.index) == [3, 4, 7]
    assert "excluded (no region): 1" in result.summary()
    rows = result.results  # the same rows as TestResults, as the scan runs them
    assert len(rows) == len(t) and {r.party for r in rows} == set(t.subject)


def test_bad_counts_raise_data_error():
    e = _election()
    table = e.table.copy()
    table.loc[5, "A"] = -3
    with pytest.raises(DataError, match="column 'A'"):
        B.basic_battery(e.with_table(table), n_sim=10)
    with pytest.raises(DataError, match="registered"):
        B.basic_battery(e.with_table(e.table.drop(columns="registered")), n_sim=10)


def test_group_resampling_stays_within_each_group():
    codes = np.repeat([0, 1, 2], [5, 40, 300])
    onehot = (codes[:, None] == np.arange(3)).astype(float)
    sums = boot.resample_group_sums(onehot, codes, 3, 50, rng=4, max_cells=1000)  # several chunks
    np.testing.assert_array_equal(sums, np.broadcast_to(np.diag([5.0, 40, 300]), (50, 3, 3)))
    values = np.arange(len(codes), dtype=float)[:, None]
    means = boot.resample_group_sums(values, codes, 3, 4000, rng=5)[..., 0].mean(axis=0)
    expected = [values[codes == g].sum() for g in range(3)]
    # a resampled group sum has sd sqrt(n_g) * sd(values in g); its mean over 4000 replicates 1/63 of
    # that: allow 5 (rtol=0.01 was only 2 for the five-station group)
    se = [np.sqrt((codes == g).sum()) * values[codes == g].std() / np.sqrt(4000) for g in range(3)]
    np.testing.assert_array_less(np.abs(means - expected), 5 * np.array(se))


@pytest.mark.parametrize("n", [1, 7, 1200])
def test_multiplicities_do_not_depend_on_the_block_size(n):
    whole = boot.multiplicities(9, n, 101, cells=10 ** 9)
    np.testing.assert_array_equal(whole.sum(axis=1), n)  # each replicate draws n stations
    for cells in (1, 64, 5000):  # drawn block by block: the same random stream, the same draws
        np.testing.assert_array_equal(boot.multiplicities(9, n, 101, cells=cells), whole)
    assert not np.array_equal(boot.multiplicities(10, n, 101), whole) or n == 1


def test_all_groups_at_once_equals_each_group_on_its_own():
    e = _election(n=900, seed=3)
    fast = B.basic_battery(e, level="region", n_sim=2000, rng=7).table
    cols = ["subject", "test", "estimate", "n"]
    for name, sub in e.table.groupby("region"):
        alone = B.basic_battery(e.with_table(sub), n_sim=2000, rng=8).table
        here = fast[fast.group == name].reset_index(drop=True)
        pd.testing.assert_frame_equal(here[cols], alone[cols])
        np.testing.assert_array_equal(here.flagged[here.ci_low.isna()], alone.flagged[alone.ci_low.isna()])
        # the intervals come from other random draws: equal within bootstrap noise
        width = alone.ci_high - alone.ci_low
        ok = width.notna()
        assert ((here.ci_low - alone.ci_low).abs()[ok] <= 0.2 * width[ok]).all()
        assert ((here.ci_high - alone.ci_high).abs()[ok] <= 0.2 * width[ok]).all()


def test_digit_tests_shared_reading_equals_each_test_on_its_own():
    from forensics.levels import results_table
    from forensics.stats import digits as D

    e = _election(n=900, seed=4)
    fast = D.digit_tests(e, "region", n_sim=500, rng=1)
    for name, sub in e.table.groupby("region"):
        sub = e.with_table(sub)
        replicates = dict(n_sim=500, rng=2)
        alone = results_table({name: [D.last_digit_mean(sub, **replicates), D.zero_five_share(sub, **replicates),
                                      *(D.digit_pairs_test(sub, kind=k) for k in D.DIGIT_PAIRS),
                                      D.second_digit_mean(sub, **replicates), D.first_digit_test(sub),
                                      D.percent_zero_five(sub, **replicates)]})
        here = fast[fast.group == name].set_index("test").loc[alone.test]
        np.testing.assert_array_equal(here.statistic, alone.statistic)
        np.testing.assert_array_equal(here.n_used, alone.n_used)
        np.testing.assert_array_equal(here.n_excluded, alone.n_excluded)
        np.testing.assert_allclose(here.pvalue, alone.pvalue, rtol=1e-12)
        width = (alone.ci_high - alone.ci_low).to_numpy()
        ok = np.isfinite(width)
        assert ok.sum() == 4  # the four interval tests: the shared resamples give intervals as wide
        assert (np.abs(here.ci_low.to_numpy() - alone.ci_low.to_numpy())[ok] <= 0.25 * width[ok]).all()
        assert (np.abs(here.ci_high.to_numpy() - alone.ci_high.to_numpy())[ok] <= 0.25 * width[ok]).all()


def test_deprecated_names_still_work_with_a_warning():
    e = _election(n=200)
    with pytest.warns(DeprecationWarning) as caught:
        old = B.basic_battery(e, parties=["A"], n_boot=50, rng=3).table
    assert {str(w.message).split("(")[1].split("=")[0] for w in caught} == {"parties", "n_boot"}
    new = B.basic_battery(e, party=["A"], n_sim=50, rng=3).table
    pd.testing.assert_frame_equal(old, new)
    with pytest.raises(TypeError, match="n_bootstrap"):
        B.basic_battery(e, n_bootstrap=50)
