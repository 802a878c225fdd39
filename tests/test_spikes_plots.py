"""Figures of the spike and shape tests draw what the results hold."""
from __future__ import annotations

import io

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from forensics.plots.spikes import coarse_density, integer_excess, integer_histograms, regression_hexbin
from forensics.simulate import simulate
from forensics.stats.coarse import coarse_shares
from forensics.stats.shape import turnout_regression
from forensics.stats.spikes import integer_percentages


def _png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=40)
    return buf.getvalue()


def test_integer_figures_show_observed_and_null():
    e = simulate(n_pec=800, rng=4, fraud={"rounding": {"fraction": 0.05}})
    res = integer_percentages(e, n_sim=100, rng=1)
    fig = integer_histograms(res, low=40)
    top, bottom = fig.axes
    # one expected marker per whole percentage in the window, with its band
    assert len(top.lines[0].get_xdata()) == 61
    assert _png(fig).startswith(b"\x89PNG")
    bars = integer_excess(res, top=10)
    heights = sorted(np.ptp(path.vertices[:, 1]) * np.sign(path.vertices[:, 1].sum())
                     for c in bars.axes[0].collections for path in c.get_paths())
    # the bars are the table's excesses for the ten most excessive percentages
    ints = res.details["integers"]
    chosen = (ints["turnout_excess"] + ints["result_excess"]).nlargest(10).index
    expected = sorted(np.concatenate([ints.loc[chosen, "turnout_excess"], ints.loc[chosen, "result_excess"]]))
    np.testing.assert_allclose(heights, expected)


def test_coarse_and_regression_figures():
    e = simulate(n_pec=500, rng=5)
    res = coarse_shares(e, n_sim=30, rng=1)
    fig = coarse_density(res)
    ax = fig.axes[0]
    assert len(ax.patches) == len(res.details["flagged"])  # one shaded span per flagged share
    assert "F =" in ax.get_title(loc="left")
    regs = [turnout_regression(e, party=p) for p in e.parties]
    fig = regression_hexbin(regs, parties=[e.leader])
    line = fig.axes[0].lines[0]
    slope = np.diff(line.get_ydata())[0] / np.diff(line.get_xdata())[0]
    assert np.isclose(slope, next(r for r in regs if r.party == e.leader).statistic)
    assert _png(fig).startswith(b"\x89PNG")
    assert plt.get_fignums() == []  # drawn on Figure objects, never through pyplot
