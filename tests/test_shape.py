"""Shape tests: S-S / MOS regression, turnout-share correlation, data collapse, dip test."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from forensics.errors import DataError
from forensics.levels import by_level, results_table
from forensics.model import Election
from forensics.simulate import simulate
from forensics.stats._core.plane import histogram2d
from forensics.stats.dip import dip
from forensics.stats.shape import dip_test, turnout_regression, turnout_share_correlation, vote_rate_collapse


@pytest.fixture(scope="module")
def clean_runs():
    """A few clean elections shared by the calibration checks."""
    return [simulate(n_pec=800, rng=500 + s) for s in range(12)]


def test_regression_recovers_a_planted_slope():
    rng = np.random.default_rng(0)
    n = 4000
    reg = rng.integers(300, 3000, n)
    turnout = rng.uniform(0.3, 0.9, n)
    cast = np.round(reg * turnout).astype(int)
    # A gets 40% of every ballot and B the rest: slopes 0.4 and 0.6 whatever the turnout
    a = np.round(0.4 * cast).astype(int)
    table = pd.DataFrame({"region": rng.choice(["R1", "R2", "R3"], n), "tec": "T", "pec": np.arange(n).astype(str),
                          "registered": reg, "invalid": 0, "A": a, "B": cast - a})
    table["valid"] = table["A"] + table["B"]
    e = Election(table=table, parties=("A", "B"))
    res = {p: turnout_regression(e, party=p, min_registered=1, fixed_effects=None, cov="HC1") for p in e.parties}
    assert res["A"].statistic == pytest.approx(0.4, abs=0.002)
    assert res["B"].statistic == pytest.approx(0.6, abs=0.002)
    assert res["A"].ci[1] - res["A"].ci[0] < 0.01
    assert res["A"].expected == pytest.approx(0.4, abs=0.002)
    assert res["A"].pvalue > 0.001


def _every_party(e, **params):
    """The regression of every party, as the scan runs it (one result per party)."""
    return [turnout_regression(e, party=p, **params) for p in e.parties]


def test_bounds_never_flag_clean_elections(clean_runs):
    """Slope > 1 for the leader or < 0 for a rival: zero rejections at 0.05 over clean runs."""
    flags = 0
    for e in clean_runs:
        for r in _every_party(e):
            p = r.details["pvalue_above_one"] if r.details["is_leader"] else r.details["pvalue_negative"]
            flags += p <= 0.05
    # honest bound: the one-sided tests at 0.05 on slopes far inside [0, 1]; allow one chance flag
    # (the smallest of the 60 p-values is 0.35)
    assert flags <= 1


def test_stuffing_pushes_the_leader_slope_up_and_rivals_down():
    e = simulate(n_pec=1500, rng=7, fraud={"stuffing": {"fraction": 0.5, "intensity": 0.9, "alpha": 1.0}})
    res = _every_party(e)
    leader = next(r for r in res if r.details["is_leader"])
    # Over 12 elections (seeds 7-18) the leader's slope is 1.32 on average with sd 0.055 (here 1.34):
    # 1 is 5.8 sd below; p above one at most 1e-5.  The rivals' slopes add up to -0.33 (sd 0.055, at
    # most -0.19).  (With stuffing at 30% and intensity 0.6 the slope was 1.0-1.24 and the smallest
    # rival's slope crossed zero: too close to test one election.)
    assert leader.statistic > 1 and leader.details["pvalue_above_one"] < 0.05 and leader.details["slope_above_one"]
    assert leader.pvalue < 1e-6
    assert sum(r.statistic for r in res if not r.details["is_leader"]) < 0
    fe = turnout_regression(e, fixed_effects="region", cov="cluster")
    assert fe.statistic > 1 and fe.details["n_groups"] == e.table["region"].nunique()


@pytest.mark.slow
def test_default_inference_holds_its_level_and_finds_stuffing():
    """Within-TEC, TEC-clustered p-values: clean false-positive rate near 5%, power against stuffing.

    24 clean elections of 2,000 stations: the number of rejections at 0.05 must lie in the
    central 99.9% binomial range of a 5% test (0 to 6); the iid inference, kept by parameter,
    rejects far more often (benchmarks/results/spikes.md: about 80%).  With stuffing at 10% of
    stations both tests reject in most elections (benchmark: 5% stuffing -> about 80%).
    """
    runs = 24
    high = stats.binom.interval(0.999, runs, 0.05)[1]
    reg, cor, iid = 0, 0, 0
    for s in range(runs):
        e = simulate(n_pec=2000, rng=900 + s)
        reg += turnout_regression(e).pvalue <= 0.05
        cor += turnout_share_correlation(e).pvalue <= 0.05
        iid += turnout_share_correlation(e, fixed_effects=None, cov="HC1").pvalue <= 0.05
    assert reg <= high and cor <= high  # here 0 and 1
    assert iid > high  # stations treated as independent: the miscalibration the default removes (here 17)
    # with stuffing all 8 elections reject in both tests, with p at most 0.0032
    power = [simulate(n_pec=2000, rng=950 + s, fraud={"stuffing": {"fraction": 0.1}}) for s in range(8)]
    assert sum(turnout_regression(e).pvalue <= 0.05 for e in power) >= 6
    assert sum(turnout_share_correlation(e).pvalue <= 0.05 for e in power) >= 6


def test_design_keys_tecs_by_region_and_keeps_the_iid_option(clean_runs):
    e = clean_runs[0]
    n_tec = e.table.groupby(["region", "tec"]).ngroups
    assert n_tec > e.table["tec"].nunique()  # TEC names repeat across regions
    r = turnout_regression(e)
    used = e.table.loc[~e.table.index.isin(r.excluded_rows.index)]
    assert r.details["fixed_effects"] == "tec" and r.details["n_clusters"] == used.groupby(["region", "tec"]).ngroups
    c = turnout_share_correlation(e)
    assert c.ci is None and c.details["n_clusters"] == r.details["n_clusters"] and "same TEC" in c.explanation
    iid = turnout_share_correlation(e, fixed_effects=None, cov="HC1")
    assert iid.statistic == c.statistic and iid.ci[0] < iid.statistic < iid.ci[1]
    assert stats.pearsonr(*_turnout_and_share(used, e)).pvalue == pytest.approx(iid.pvalue)
    old = turnout_regression(e, party=e.leader, fixed_effects=None, cov="HC1")
    assert old.statistic == pytest.approx(r.statistic) and old.details["cov"] == "HC1"
    assert old.pvalue == pytest.approx(2 * stats.norm.sf(abs((old.statistic - old.expected) / old.details["se"])))
    with pytest.raises(DataError, match="cluster"):
        turnout_regression(e, cluster="district")


def _turnout_and_share(used, e):
    cast = used["valid"] + used["invalid"]
    return cast / used["registered"], used[e.leader] / used["valid"]


def test_correlation_and_collapse_separate_clean_from_stuffed(clean_runs):
    """Five elections with and without extreme stuffing (the clean draws are shared).

    Each measure varies a lot between elections of 800 stations (their regional make-up), so
    the test pairs each election with its stuffed twin and takes medians over the five: a
    median crosses a bound only when three of the five do.  Per election, over 30 elections
    (seeds 500-529): correlation gain 0.40 (sd 0.11, smallest 0.17); skewness shift -0.38 (sd
    0.21, largest +0.01); clean kurtosis 2.94 (sd 0.31, 2.10 to 3.68); clean |skewness| at most
    0.51.  With normal tails the medians fail with probability below 1e-3 each.
    """
    gains, shifts, kurtosis, skewness = [], [], [], []
    for s, clean in enumerate(clean_runs[:5]):
        stuffed = simulate(n_pec=800, rng=500 + s, fraud={"stuffing": {"fraction": 0.15, "model": "extreme"}})
        gains.append(turnout_share_correlation(stuffed).statistic - turnout_share_correlation(clean).statistic)
        c = vote_rate_collapse(clean, n_sim=300, rng=1)
        shifts.append(vote_rate_collapse(stuffed, n_sim=300, rng=1).details["skewness"] - c.details["skewness"])
        kurtosis.append(c.statistic)
        skewness.append(abs(c.details["skewness"]))
    assert np.median(gains) > 0.15
    # extreme stuffing for the leader gives a long tail of low log-odds: the skewness falls
    assert np.median(shifts) < 0
    assert 2.3 < np.median(kurtosis) < 3.7 and np.median(skewness) < 0.5
    c = vote_rate_collapse(clean_runs[0], n_sim=300, rng=1)
    assert c.ci[0] < c.statistic < c.ci[1]
    assert vote_rate_collapse(clean_runs[0], n_sim=300, rng=1).ci == c.ci


def test_dip_r_compatibility():
    # METHODS 9 checks (R diptest)
    assert dip(np.arange(1, 11))[0] == pytest.approx(0.05)
    d, p = dip([0, 0, 0, 1, 1, 1, 10, 10, 10, 11, 11, 11])
    assert d == pytest.approx(0.225) and p < 1e-3
    d, p = dip(np.random.default_rng(0).standard_normal(1000))
    assert d == pytest.approx(0.0076225, abs=1e-6) and p == pytest.approx(0.989, abs=0.002)


def test_dip_calibration_and_power(clean_runs):
    pvals = [dip_test(e, rng=1).pvalue for e in clean_runs]
    low, high = stats.binom.interval(0.999, len(clean_runs), 0.05)
    assert np.sum(np.array(pvals) <= 0.05) <= high
    stuffed = simulate(n_pec=800, rng=3, fraud={"stuffing": {"fraction": 0.12, "model": "extreme"}})
    res = dip_test(stuffed, rng=1)
    assert res.pvalue < 0.01 and res.details["effect_percent"] > 1
    share = dip_test(stuffed, party=stuffed.leader, rng=1)
    assert share.party == stuffed.leader and 0 <= share.statistic <= 0.25


def test_by_level_and_exclusions(clean_runs):
    e = clean_runs[0]
    results = by_level(e, turnout_regression, "region", party=e.leader)
    table = results_table(results, "region")
    assert len(table) == e.table["region"].nunique()
    one_tec = e.subset(e.table["tec"].eq(e.table["tec"].iloc[0]) & e.table["region"].eq(e.table["region"].iloc[0]))
    lone = turnout_share_correlation(one_tec)
    assert lone.details["n_clusters"] == 1 and np.isnan(lone.pvalue)  # one TEC: no clustered error, no p-value
    r = vote_rate_collapse(e, n_sim=50, rng=0)
    small = int((e.table["registered"] < 100).sum())
    assert r.excluded.get("fewer than 100 voters on the list", 0) == small
    assert r.n_used + r.n_excluded == len(e.table)


def test_russia_shows_the_smear_and_canada_does_not(ru2018, ru2011, canada):
    ru18 = turnout_regression(ru2018)
    assert ru18.statistic > 1 and ru18.details["pvalue_above_one"] < 1e-6 and ru18.pvalue < 1e-6
    ru = {r.party: r for r in _every_party(ru2011)}
    leader = ru[ru2011.leader]
    assert leader.statistic > 1.1 and leader.details["pvalue_above_one"] < 1e-6
    assert all(r.statistic < 0 for p, r in ru.items() if p != ru2011.leader)
    corr = turnout_share_correlation(ru2011)
    assert corr.statistic > 0.6 and corr.details["within_r"] > 0.3 and corr.pvalue < 1e-6
    assert vote_rate_collapse(ru2011, n_sim=200, rng=1).statistic > 5

    polls = canada.table
    keep = (polls["poll_type"].isin(["ordinary", "multi_residence", "mobile"]) & (polls["void_poll"] == 0)
            & (polls["registered"] > 0))
    ca = canada.subset(keep)
    cons = [turnout_regression(ca, party=p) for p in ("Conservative", "NDP-New Democratic Party", "Liberal")]
    assert all(0 < r.statistic < 1 for r in cons)
    assert all(r.details["pvalue_above_one"] > 0.5 and r.details["pvalue_negative"] > 0.5 for r in cons)
    assert abs(turnout_share_correlation(ca).statistic) < 0.2
    collapse = vote_rate_collapse(ca, n_sim=200, rng=1)
    assert 2.5 < collapse.statistic < 3.5
    assert dip_test(ca, rng=1).pvalue > 0.05 and dip_test(ru2011, rng=1).pvalue < 0.001


def test_missing_columns_raise_data_errors(clean_runs):
    e = clean_runs[0]
    with pytest.raises(DataError, match="no party column 'Nobody'.*Fix: pass one of"):
        turnout_share_correlation(e, party="Nobody")
    with pytest.raises(DataError, match="registered"):
        dip_test(e.with_table(e.table.drop(columns="registered")))
    with pytest.raises(DataError, match="fixed effects"):
        turnout_regression(e, fixed_effects="district")


def test_old_parameter_names_keep_working_with_a_warning(clean_runs):
    e = clean_runs[0]
    with pytest.warns(DeprecationWarning, match="subject"):
        assert dip_test(e, subject="turnout", rng=1).statistic == dip_test(e, rng=1).statistic
    with pytest.warns(DeprecationWarning, match="parties"):
        assert turnout_regression(e, parties=[e.leader]).statistic == turnout_regression(e).statistic
    with pytest.raises(TypeError, match="one party"), pytest.warns(DeprecationWarning):
        turnout_regression(e, parties=list(e.parties))


def test_a_party_without_votes_gives_no_warning(clean_runs):
    import warnings

    e = clean_runs[0]
    table = e.table.assign(Nobody=0)
    e = Election(table=table, parties=(*e.parties, "Nobody"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        r = turnout_regression(e, party="Nobody")
    assert r.statistic == 0 and np.isnan(r.details["r2"])


def _statsmodels_regression(e, party, fixed_effects, cov):
    """The regression's numbers fitted with statsmodels OLS (the reference for the closed form)."""
    import statsmodels.api as sm

    t = e.table
    cast = t["valid"] + t["invalid"]
    used = t[(t["registered"] >= 100) & (t["valid"] > 0) & (cast <= t["registered"])]
    cast = used["valid"] + used["invalid"]
    x, y, share = cast / used["registered"], used[party] / used["registered"], used[party] / cast
    tec = used["region"].astype(str) + " / " + used["tec"].astype(str)
    clusters = pd.factorize(tec)[0]
    kw = {"cov_type": "cluster", "cov_kwds": {"groups": clusters}} if cov == "cluster" else {"cov_type": "HC1"}
    pooled = sm.OLS(y.to_numpy(), sm.add_constant(x.to_numpy())).fit(**kw)
    out = {"slope": pooled.params[1], "se": pooled.bse[1], "intercept": pooled.params[0], "r2": pooled.rsquared}
    if fixed_effects is not None:
        fe = used[fixed_effects].astype(str) if fixed_effects != "tec" else tec

        def within(v):
            return (v - v.groupby(fe).transform("mean")).to_numpy()

        out["within_slope"] = sm.OLS(within(y), within(x)[:, None]).fit().params[0]
        c = pd.Series(within(x) * x.to_numpy(), index=used.index)
        g = sm.OLS(within(share), within(c)[:, None]).fit(**kw)
        se = g.bse[0]
        if cov == "HC1":
            se *= np.sqrt((len(y) - 1) / (len(y) - 1 - fe.nunique()))
        out["z"] = g.params[0] / se
    else:
        out["z"] = (out["slope"] - share.mean()) / out["se"]
    return out


@pytest.mark.parametrize("fixed_effects, cov", [("tec", "cluster"), ("region", "cluster"), ("tec", "HC1"),
                                                 (None, "cluster"), (None, "HC1")])
def test_closed_form_regression_equals_statsmodels(fixed_effects, cov):
    """The closed-form fits give statsmodels' OLS numbers (CR1 / HC1 covariance) to 1e-10."""
    e = simulate(n_pec=1500, n_regions=6, rng=3, fraud={"stuffing": {"fraction": 0.1}})
    for party in e.parties[:3]:
        r = turnout_regression(e, party=party, fixed_effects=fixed_effects, cov=cov)
        ref = _statsmodels_regression(e, party, fixed_effects, cov)
        for key, value in ref.items():
            got = r.statistic if key == "slope" else r.details[key]
            assert got == pytest.approx(value, rel=1e-10, abs=1e-12), (party, key)
    used = e.table.loc[~e.table.index.isin(r.excluded_rows.index)]
    cast = used["valid"] + used["invalid"]
    x, y = (cast / used["registered"]).to_numpy(), (used[party] / used["registered"]).to_numpy()
    pd.testing.assert_frame_equal(r.details["histogram"], histogram2d(np.clip(x, 0, 1), np.clip(y, 0, 1), np.ones(len(x)),
                                                                      0.005, names=("turnout", "votes")))


def test_grouped_regression_is_the_group_by_group_result():
    """``turnout_regression.grouped`` returns exactly what each group alone gives (every field)."""
    from forensics.levels import group_positions

    e = simulate(n_pec=3000, n_regions=8, rng=11, fraud={"stuffing": {"fraction": 0.1}})
    positions = group_positions(e, "region")
    for options in ({}, {"fixed_effects": None, "cov": "HC1"}, {"fixed_effects": "region", "cov": "HC1"}):
        for party in (None, e.parties[1]):
            grouped = turnout_regression.grouped(e, positions, {}, party=party, **options)
            assert list(grouped) == list(positions)
            for name, rows in positions.items():
                alone = turnout_regression(e.with_table(e.table.iloc[rows]), party=party, **options)
                got = grouped[name]
                assert (got.statistic, got.pvalue, got.ci, got.expected, got.party, got.n_used, got.excluded) == \
                       (alone.statistic, alone.pvalue, alone.ci, alone.expected, alone.party, alone.n_used, alone.excluded)
                assert got.explanation == alone.explanation and got.method == alone.method
                assert got.excluded_rows.equals(alone.excluded_rows)
                for key, value in alone.details.items():
                    if key == "histogram":
                        pd.testing.assert_frame_equal(got.details[key], value)
                    else:
                        assert got.details[key] == value or (value != value and got.details[key] != got.details[key]), key


@pytest.mark.parametrize("method", ["pearson", "spearman"])
def test_closed_form_correlation_equals_numpy_and_statsmodels(method):
    """r, the within-TEC r and the TEC-clustered slope are numpy's and statsmodels' numbers."""
    import statsmodels.api as sm

    e = simulate(n_pec=1500, n_regions=6, rng=5)
    c = turnout_share_correlation(e, method=method)
    t = e.table
    used = t.loc[~t.index.isin(c.excluded_rows.index)]
    x, y = _turnout_and_share(used, e)
    if method == "spearman":
        x, y = x.rank(), y.rank()
    tec = used["region"].astype(str) + " / " + used["tec"].astype(str)

    def within(v):
        return (v - v.groupby(tec).transform("mean")).to_numpy()

    fit = sm.OLS(within(y), within(x)[:, None]).fit(cov_type="cluster", cov_kwds={"groups": pd.factorize(tec)[0]})
    assert c.statistic == pytest.approx(np.corrcoef(x, y)[0, 1], rel=1e-12)
    assert c.details["within_r"] == pytest.approx(np.corrcoef(within(x), within(y))[0, 1], rel=1e-12)
    assert c.details["slope"] == pytest.approx(fit.params[0], rel=1e-10)
    assert c.details["se"] == pytest.approx(fit.bse[0], rel=1e-10)
    iid = turnout_share_correlation(e, method=method, fixed_effects=None, cov="HC1")
    assert iid.pvalue == pytest.approx(stats.pearsonr(x, y).pvalue, rel=1e-9)


def test_grouped_correlation_is_the_group_by_group_result():
    from forensics.levels import group_positions

    e = simulate(n_pec=3000, n_regions=8, rng=12)
    positions = group_positions(e, "region")
    for options in ({}, {"method": "spearman"}, {"fixed_effects": None, "cov": "HC1"}):
        grouped = turnout_share_correlation.grouped(e, positions, {}, **options)
        for name, rows in positions.items():
            alone = turnout_share_correlation(e.with_table(e.table.iloc[rows]), **options)
            got = grouped[name]
            assert (got.statistic, got.pvalue, got.ci, got.party, got.n_used, got.excluded, got.explanation) == \
                   (alone.statistic, alone.pvalue, alone.ci, alone.party, alone.n_used, alone.excluded, alone.explanation)
            assert got.details == alone.details


def test_collapse_replicates_are_the_moments_of_each_resample():
    """The bootstrap's moments from power sums equal skewness and kurtosis of the resampled stations."""
    from forensics.stats._core.bootstrap import multiplicities
    from forensics.stats._core.moments import skew_kurtosis, skew_kurtosis_from_sums

    z = np.random.default_rng(4).standard_normal(3000) ** 3
    z = (z - z.mean()) / z.std()
    counts = multiplicities(np.random.default_rng(5), z.size, 20)
    z2 = z * z
    from_sums = np.stack(skew_kurtosis_from_sums(counts @ np.column_stack([np.ones(z.size), z, z2, z2 * z, z2 * z2])))
    direct = np.stack([skew_kurtosis(np.repeat(z, c.astype(int))) for c in counts], axis=1)
    np.testing.assert_allclose(from_sums, direct, rtol=1e-9)


def test_collapse_interval_agrees_with_scipy_bootstrap():
    """The percentile interval matches scipy.stats.bootstrap's (other draws) within Monte Carlo error."""
    from forensics.stats._core.moments import skew_kurtosis

    e = simulate(n_pec=2000, rng=21)
    r = vote_rate_collapse(e, n_sim=2000, rng=3)
    ref = stats.bootstrap((r.details["z"],), skew_kurtosis, n_resamples=2000, method="percentile", vectorized=True,
                          rng=np.random.default_rng(4)).confidence_interval
    width = ref.high[1] - ref.low[1]
    # each end point of 2,000 replicates moves by well under a tenth of the interval's width between seeds
    assert abs(r.ci[0] - ref.low[1]) < 0.1 * width and abs(r.ci[1] - ref.high[1]) < 0.1 * width
    skew_width = ref.high[0] - ref.low[0]
    assert abs(r.details["skewness_ci"][0] - ref.low[0]) < 0.1 * skew_width


def test_binned_power_sums_have_the_bootstraps_mean_and_covariance():
    """Drawn per bin, the replicate power sums keep the exact bootstrap's mean n*E[y] and covariance n*Cov(y)."""
    from forensics.stats._core.bootstrap import resample_power_sums

    rng = np.random.default_rng(8)
    z = np.r_[rng.standard_normal(9600), 3 + 2 * rng.standard_normal(400)]  # a stuffed tail
    z = (z - z.mean()) / z.std()
    y = np.column_stack([z ** k for k in range(1, 5)])
    n, reps = z.size, 4000
    sums, share = resample_power_sums(z, reps, np.random.default_rng(9))
    assert (sums[:, 0] == n).all() and 0 < share < 1e-3
    sd = np.sqrt(n * y.var(axis=0))
    # the mean of 4,000 replicates lies within 4.5 of its standard errors; each variance within 4.5 of the
    # standard error of a variance (sqrt(2 / reps), the sums being close to normal, doubled for z^4's tail)
    assert np.all(np.abs(sums[:, 1:].mean(axis=0) - n * y.mean(axis=0)) < 4.5 * sd / np.sqrt(reps))
    assert np.all(np.abs(sums[:, 1:].var(axis=0) / sd ** 2 - 1) < 4.5 * 2 * np.sqrt(2 / reps))
    corr = np.corrcoef(sums[:, 1:].T)
    assert np.all(np.abs(corr - np.corrcoef(y.T)) < 4.5 / np.sqrt(reps))


def test_binned_collapse_interval_agrees_with_the_station_bootstrap():
    """The interval from per-bin draws matches the one from resampled stations (other draws) within Monte Carlo
    error, on a clean and on a stuffed election."""
    from forensics.stats._core.bootstrap import percentile_interval, resample_sums
    from forensics.stats._core.moments import skew_kurtosis_from_sums

    for fraud in (None, {"stuffing": {"fraction": 0.1}}):
        r = vote_rate_collapse(simulate(n_pec=5000, rng=31, fraud=fraud), n_sim=2000, rng=3)
        z = r.details["z"]
        z2 = z * z
        skew, kurt = skew_kurtosis_from_sums(resample_sums(np.column_stack([np.ones(z.size), z, z2, z2 * z, z2 * z2]),
                                                           2000, np.random.default_rng(4)))
        for (low, high), (ref_low, ref_high) in ((r.ci, percentile_interval(kurt)),
                                                 (r.details["skewness_ci"], percentile_interval(skew))):
            # each end point of 2,000 replicates moves by well under a tenth of the interval's width between seeds
            assert abs(low - ref_low) < 0.1 * (ref_high - ref_low) and abs(high - ref_high) < 0.1 * (ref_high - ref_low)


def test_grouped_dip_is_the_group_by_group_result():
    """``dip_test.grouped`` with each group's stream gives what each group alone gives with that stream."""
    from forensics.levels import group_positions

    e = simulate(n_pec=2000, n_regions=6, rng=13)
    positions = group_positions(e, "region")
    for party in (None, e.leader):
        grouped = dip_test.grouped(e, positions, {g: np.random.default_rng([7, k]) for k, g in enumerate(positions)},
                                   party=party)
        for k, (name, rows) in enumerate(positions.items()):
            alone = dip_test(e.with_table(e.table.iloc[rows]), party=party, rng=np.random.default_rng([7, k]))
            got = grouped[name]
            assert (got.statistic, got.pvalue, got.party, got.n_used, got.excluded, got.explanation, got.details) == \
                   (alone.statistic, alone.pvalue, alone.party, alone.n_used, alone.excluded, alone.explanation,
                    alone.details)


def test_tec_cells_are_region_and_tec_pairs():
    """A TEC's cell is its (region, TEC) pair: the partition of the text key "region / TEC", without building it."""
    from forensics.stats.shape import _key

    e = simulate(n_pec=3000, n_regions=6, rng=41)
    t = e.table
    assert t.groupby("tec")["region"].nunique().max() > 1  # TEC names repeat across regions
    rows = np.random.default_rng(2).permutation(len(t))[:2000]
    text = (t["region"].astype(str) + " / " + t["tec"].astype(str)).to_numpy()[rows]
    got = _key(e, rows, "tec")
    assert got.min() >= 0
    # the same partition of the stations: numbered by first appearance, the codes are the same
    np.testing.assert_array_equal(pd.factorize(got)[0], pd.factorize(text)[0])


def test_stations_read_once_per_table_each_caller_gets_its_own_exclusions():
    from forensics.stats.shape import _stations

    e = simulate(n_pec=400, n_regions=2, rng=43)
    ex, frame = _stations(e, 100)
    ex.require(np.zeros(len(e.table), dtype=bool), "a caller's own rule")
    again, frame_again = _stations(e, 100)
    assert "a caller's own rule" not in again.counts and again.n_used == len(frame_again) == len(frame)
    t = e.table.copy()
    t.loc[t.index[:5], "registered"] = 10  # another table: read again
    fewer, _ = _stations(e.with_table(t), 100)
    assert fewer.n_used == again.n_used - sum(again.keep.iloc[:5])
