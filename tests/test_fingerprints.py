"""Fingerprints, the cumulative vote curve and their figures: simulated truth and real elections."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from matplotlib.figure import Figure

import forensics
from forensics.model import Election
from forensics.stats._core.plane import bin_index, find_peak, station_values
from forensics.stats.fingerprints import cumulative_votes, fingerprint


@pytest.fixture(scope="module")
def clean():
    return forensics.simulate(n_pec=3000, rng=11)


@pytest.fixture(scope="module")
def extreme():
    fraud = {"stuffing": {"fraction": 0.06, "model": "extreme", "alpha": 1.5}}
    return forensics.simulate(n_pec=3000, fraud=fraud, rng=11)


def _table(**cols):
    n = len(next(iter(cols.values())))
    base = {"region": ["r"] * n, "tec": ["t"] * n, "pec": [str(i) for i in range(n)], "unpublished": [False] * n}
    return Election(pd.DataFrame({**base, **cols}), parties=("A", "B"))


def test_bins_put_exact_percentages_in_their_own_bin():
    assert list(bin_index([0.57, 0.5699, 0.0, 1.0, 0.29], 0.01)) == [57, 56, 0, 99, 29]
    assert list(bin_index([0.0571, 0.057], 0.001)) == [57, 57]


def test_exclusions_are_counted_and_listed():
    e = _table(registered=[100, 0, 100, 100, 100, 100], valid=[50, 10, 0, 120, np.nan, 60],
               invalid=[0, 0, 0, 0, 0, 0], A=[30, 5, 0, 60, 10, 30], B=[20, 5, 0, 60, 10, 30])
    e.table.loc[5, "unpublished"] = True
    kept, ex, party = station_values(e, turnout="cast", share="valid")
    assert list(kept.index) == [0]
    assert ex.counts == {"figures not published": 1, "figures missing": 1, "no voters on the list": 1,
                         "no ballots": 1, "turnout above 100%": 1}
    r = fingerprint(e, turnout="cast")
    assert r.n_used == 1 and r.n_excluded == 5
    assert dict(r.excluded_rows) == {1: "no voters on the list", 2: "no ballots", 3: "turnout above 100%",
                                     4: "figures missing", 5: "figures not published"}


def test_bad_input_names_the_column():
    e = _table(registered=[100], valid=[50], invalid=[0], A=[30], B=[20])
    with pytest.raises(forensics.DataError, match="'C'"):
        fingerprint(e, party="C")
    with pytest.raises(forensics.DataError, match="registered"):
        fingerprint(e.with_table(e.table.drop(columns="registered")))


def test_histograms_add_up_to_the_weights(clean):
    kept, _, _ = station_values(clean)
    for weights, total in [("stations", len(kept)), ("voters", kept["registered"].sum()),
                           ("ballots", kept["ballots"].sum()), ("leader_votes", kept["leader"].sum())]:
        d = fingerprint(clean, weights=weights).details
        assert d["histogram"]["weight"].sum() == pytest.approx(total)
        assert d["turnout_hist"]["weight"].sum() == pytest.approx(total)
        assert d["share_hist"]["weight"].sum() == pytest.approx(total)
    fine = fingerprint(clean, bin_width=0.001).details
    assert len(fine["turnout_hist"]) == 1000 and fine["histogram"]["turnout_bin"].max() < 1


def test_one_station_lands_in_the_right_cell():
    e = _table(registered=[1000], valid=[570], invalid=[0], A=[285], B=[285])
    h = fingerprint(e, turnout="cast").details["histogram"]
    assert h[["turnout_bin", "share_bin", "weight"]].values.tolist() == [[0.57, 0.5, 1.0]]


def test_corner_is_empty_when_clean_and_filled_by_extreme_stuffing(clean, extreme):
    # over 30 elections (seeds 11-40) the clean corner held at most 0.0003 of the stations and the
    # stuffed one differed from the stuffed share by at most 0.0013
    assert fingerprint(clean).statistic < 0.002
    stuffed = (extreme.table["true_stuffed"] > 0).mean()
    assert fingerprint(extreme).statistic == pytest.approx(stuffed, abs=0.015)


def test_cumulative_curve_plateaus_when_clean_and_boosts_with_stuffing(clean, extreme):
    c = cumulative_votes(clean)
    # the clean boost varies from election to election: mean 0.000, sd 0.014 over 40 clean
    # elections of 3,000 stations (seeds 11-50); 0.07 is 5 sd (here 0.0001)
    assert abs(c.statistic - c.expected) < 0.07
    curve = c.details["curve"]
    assert curve["leader_cumulative"].iloc[-1] == pytest.approx(1.0)
    assert curve["leader_cumulative"].is_monotonic_increasing
    s = cumulative_votes(extreme)
    # the same election stuffed: 0.124 more boost on average (sd 0.016, smallest 0.092 over the
    # 40); 0.05 is 4.5 sd below (here 0.121)
    assert (s.statistic - s.expected) - (c.statistic - c.expected) > 0.05


def test_peak_finder_finds_the_main_peak_not_a_small_bump():
    rng = np.random.default_rng(0)
    x = np.r_[rng.normal(0.55, 0.07, 20000), rng.uniform(0.95, 1.0, 1500), rng.normal(0.15, 0.02, 300)]
    x = np.clip(x, 0, 1)
    assert find_peak(x) == pytest.approx(0.55, abs=0.01)
    # Klimek's histogram-drop rule stops at the first drop, here the small bump: why KDE is the default.
    assert find_peak(x, method="klimek", start_bin=15) == pytest.approx(0.15, abs=0.01)
    # Without noise (normal quantiles) the rule finds the top: the lower edge of the bin before the drop.
    smooth = stats.norm.ppf(np.linspace(0.0005, 0.9995, 20000), 0.55, 0.07)
    assert find_peak(smooth, method="klimek", start_bin=15) == pytest.approx(0.545, abs=0.011)


def test_fingerprint_runs_per_region(clean):
    from forensics.levels import by_level

    results = by_level(clean, fingerprint, "region")
    assert len(results) == clean.table["region"].nunique()
    assert sum(r.n_used for r in results.values()) == fingerprint(clean).n_used


def test_figures_are_figures(clean, extreme):
    from forensics.levels import by_level
    from forensics.plots.fingerprints import (comet, cumulative_plot, excess_plot, histograms_plot, klimek_plot,
                                              regional_fingerprints)
    from forensics.stats.excess import excess_votes
    from forensics.stats.klimek import klimek_fit

    grid = {"f_i": [0, 0.5], "f_e": [0, 0.05], "alpha": [1.0]}
    regions = by_level(clean, fingerprint, "region", party=clean.leader)
    figures = [comet([fingerprint(clean), fingerprint(clean, weights="voters")]),
               cumulative_plot(cumulative_votes(extreme)), histograms_plot(fingerprint(clean, bin_width=0.001)),
               klimek_plot(klimek_fit(extreme, rng=1, grid=grid, iterations=1, n_sim_ci=0, n_sim=0)),
               regional_fingerprints(regions, max_panels=4), excess_plot(excess_votes(extreme, n_sim=0)),
               regional_fingerprints(regions, ncols=10, compact=True)]
    assert all(isinstance(f, Figure) for f in figures)
    assert [len([a for a in f.axes if a.get_visible()]) for f in figures][:6] == [4, 1, 2, 4, 4, 1]



def test_histograms_mark_every_whole_percent_below_the_axis(clean):
    """One mark per whole percent, 0% to 100%, in data x and just below the axis (where minor ticks would be)."""
    from forensics.plots.fingerprints import histograms_plot

    fig = histograms_plot(fingerprint(clean, bin_width=0.001))
    for ax in fig.axes:
        marks = [line for line in ax.lines if line.get_transform() == ax.get_xaxis_transform()]
        assert len(marks) == 1
        np.testing.assert_allclose(marks[0].get_xdata(), np.arange(101) / 100)
        assert set(marks[0].get_ydata()) == {0} and marks[0].get_marker() == 3  # a tick drawn downward
        assert ax.get_xlim()[0] < 0 and ax.get_xlim()[1] > 1  # the marks do not move the axis limits

# -- real elections -----------------------------------------------------------------------------

def test_russia_2011_smear_and_boost(ru2011):
    fp = fingerprint(ru2011)
    assert fp.statistic > 0.04  # Kobak et al.: thousands of stations near 100% / 100%
    c = cumulative_votes(ru2011)
    assert c.details["peak"] == pytest.approx(0.529, abs=0.01)  # Kobak's KDE turnout peak
    assert c.statistic - c.expected > 0.2


def test_canada_2011_has_no_smear(canada):
    fp = fingerprint(canada)
    assert fp.statistic < 0.001
    assert fp.excluded["no voters on the list"] > 6000  # advance polls have no electorate of their own
    c = cumulative_votes(canada)
    assert abs(c.statistic - c.expected) < 0.01


def test_auto_bins_are_finer_for_larger_elections_and_show_a_grid_of_whole_percentages():
    from forensics.stats.fingerprints import auto_bin_width

    assert [auto_bin_width(n) for n in (2_000, 20_000, 100_000)] == [0.01, 0.005, 0.0025]

    def grid_ratio(e):
        d = fingerprint(e, bin_width="auto").details
        assert d["bin_width"] == 0.0025
        h = d["turnout_hist"]
        on_whole = np.isclose((h["turnout_bin"] * 100) % 1, 0) | np.isclose((h["turnout_bin"] * 100) % 1, 1)
        return h.loc[on_whole, "weight"].mean() / h.loc[~on_whole, "weight"].mean()

    # the bins that start on a whole percentage hold clearly more stations than their quarter-point
    # neighbours when a third of the protocols were rounded, and about as many when none was
    assert grid_ratio(forensics.simulate(n_pec=60_000, n_regions=4, rng=5, fraud={"rounding": {"fraction": 0.3}})) > 1.5
    assert grid_ratio(forensics.simulate(n_pec=60_000, n_regions=4, rng=5)) < 1.2


def test_fingerprint_figure_speaks_the_report_language(clean):
    from forensics.plots.fingerprints import fingerprint_plot

    english = fingerprint_plot(fingerprint(clean), lang="en")
    russian = fingerprint_plot(fingerprint(clean), lang="ru")
    assert english.axes[0].get_xlabel() == "turnout" and russian.axes[0].get_xlabel() == "явка"
    assert "polling stations by turnout" in english.axes[0].get_title()
    assert "избирательных участков по явке" in russian.axes[0].get_title()
    assert "per cell of 1 x 1" in english.axes[1].get_ylabel() and "в клетке 1 × 1" in russian.axes[1].get_ylabel()
