"""Figures for integer percentages, coarse vote shares and turnout regressions.

Each function takes what the analysis returned (TestResults) and returns a
matplotlib Figure drawn from the results' details; no statistic is
computed here.
"""
from __future__ import annotations

import colorsys
import math

import numpy as np
import pandas as pd
from matplotlib import rcParams
from matplotlib.colors import to_rgb, to_rgba
from matplotlib.figure import Figure

from ..stats.result import TestResult

from . import label as text
from .artists import bars, fixed_ticks, stairs, tick_marks, vertical_lines
from .layout import count_margin, margins
from .layout import title as fixed_title

__all__ = ["integer_histograms", "integer_excess", "coarse_density", "regression_hexbin"]

NULL_COLOUR = "tab:orange"
#: bar colours keep seaborn's look (its bars are drawn at 75% saturation)
SATURATION = 0.75


def _desaturated(colour: str, saturation: float = SATURATION) -> tuple:
    h, lightness, s = colorsys.rgb_to_hls(*to_rgb(colour))
    return colorsys.hls_to_rgb(h, lightness, s * saturation)


def integer_histograms(result, low: float = 30.0, high: float = 100.0, width: float = 0.1):
    """Turnout and result histograms at ``width`` pp with whole-percent lines and the null 95% band.

    ``result`` is an ``integer_percentages`` TestResult.  Bars are the
    observed stations per bin; at each whole percentage the orange marker is
    the number expected under honest counting and its bar the 95% band.
    """
    stations = result.details["stations"]
    integers = result.details["integers"]
    edges = np.arange(low - width / 2, high + width, width)
    rows = integers[(integers["percent"] >= low) & (integers["percent"] <= high)]
    counts = {column: np.histogram(100 * stations[column].to_numpy(dtype=float), bins=edges)[0]
              for column in ("turnout", "result")}
    top = max([c.max(initial=0) for c in counts.values()]
              + [(rows[f"{c}_expected"] + 1.96 * rows[f"{c}_sd"]).max() for c in counts])
    fig = Figure(figsize=(11, 6.5))
    axes = fig.subplots(2, 1, sharex=True)
    margins(fig, left=count_margin(top), right=0.15, top=0.6, bottom=0.55, hspace=0.4)
    for ax, column, label in zip(axes, ("turnout", "result"), ("Turnout", f"Result of {text(result.party)}")):
        stairs(ax, counts[column], edges, fill=True, facecolor=to_rgba("tab:blue", 0.75), edgecolor="tab:blue",
                  linewidth=0.5, label="observed")
        ax.errorbar(rows["percent"], rows[f"{column}_expected"], yerr=1.96 * rows[f"{column}_sd"], fmt="o", ms=2.5,
                    color=NULL_COLOUR, elinewidth=1, label="expected at whole % (95% band)")
        vertical_lines(ax, rows["percent"][rows["percent"] % 5 == 0], colors="grey", linewidths=0.4, linestyles=":",
                       zorder=0)
        ax.set_ylabel("stations per 0.1 pp")
        fixed_title(ax, label, loc="left", fontsize=10)
    axes[0].legend(loc="upper left", fontsize=8)
    axes[1].set_xlabel("percent")
    fig.suptitle(f"Whole-percentage spikes: {int(result.statistic):,} integer stations, "
                 f"{result.expected:.0f} expected (p = {result.pvalue:.2g})", fontsize=11)
    return fig


def integer_excess(result, top: int | None = None):
    """Bar chart of observed minus expected stations at each whole percentage, for turnout and result."""
    table = result.details["integers"]
    tidy = pd.concat([
        pd.DataFrame({"percent": table["percent"], "excess": table[f"{c}_excess"], "what": c})
        for c in ("turnout", "result")
    ])
    if top is not None:
        keep = tidy.groupby("percent")["excess"].sum().nlargest(top).index
        tidy = tidy[tidy["percent"].isin(keep)]
    percents = np.sort(tidy["percent"].unique())
    fig = Figure(figsize=(12, 3.8))
    ax = fig.subplots()
    widest = tidy["excess"].abs().max()
    margins(fig, left=count_margin(widest) + (0.09 if (tidy["excess"] < 0).any() else 0), right=0.15, top=0.35,
            bottom=0.55)
    for offset, (what, colour) in zip((-0.2, 0.2), (("turnout", "tab:blue"), ("result", "tab:red"))):
        rows = tidy[tidy["what"] == what].set_index("percent")["excess"].reindex(percents)
        bars(ax, np.arange(len(percents)) + offset, rows.to_numpy(dtype=float), width=0.4,
             facecolors=[_desaturated(colour)], label=what)
    labelled = np.array([top is not None or int(p) % 5 == 0 for p in percents], dtype=bool)
    fixed_ticks(ax.xaxis, np.flatnonzero(labelled), [f"{p:g}" for p in percents[labelled]])
    tick_marks(ax, np.flatnonzero(~labelled), rcParams["xtick.major.size"], rcParams["xtick.major.width"])
    ax.set_xlim(-0.5, len(percents) - 0.5)
    ax.legend(title="what")
    ax.axhline(0, color="black", lw=0.6)
    ax.set_xlabel("whole percentage")
    ax.set_ylabel("stations above expected")
    fixed_title(ax, f"Excess stations at each whole percentage ({text(result.party)})", loc="left", fontsize=10)
    return fig


def coarse_density(result, window: tuple[float, float] = (0.0, 1.0)):
    """Observed share density, the resampled envelope and the flagged bins of a ``coarse_shares`` result."""
    d = result.details
    x = d["x"]
    sel = (x >= window[0]) & (x <= window[1])
    fig = Figure(figsize=(11, 4))
    ax = fig.subplots()
    margins(fig, left=0.75, right=0.15, top=0.35, bottom=0.55)
    ax.plot(x[sel], d["envelope"][sel], color=NULL_COLOUR, lw=0.8, label=f"max of {d['n_sim']} honest re-counts")
    ax.plot(x[sel], d["density"][sel], color="tab:blue", lw=0.6, label="observed")
    flagged = d["flagged"]
    flagged = flagged[(flagged["share"] >= window[0]) & (flagged["share"] <= window[1])]
    for share in flagged["share"]:
        ax.axvspan(share - 0.0005, share + 0.0005, color="tab:red", alpha=0.35, lw=0)
    ax.scatter(flagged["share"], np.interp(flagged["share"], x, d["density"]), color="tab:red", s=12,
               zorder=3, label="flagged share")
    ax.set_xlabel(f"share of the vote ({text(result.party)})")
    ax.set_ylabel("density")
    fixed_title(ax, f"Coarse vote shares: F = {result.statistic:.4f}% of stations (p = {result.pvalue:.2g})",
                loc="left", fontsize=10)
    ax.legend(fontsize=8)
    return fig


def regression_hexbin(results, parties=None, gridsize: int = 60):
    """Each party's votes / voters on the list against turnout (hexbins of the stations), with the fitted slope.

    ``results`` are ``turnout_regression`` results (one per party, as the
    scan runs it); each holds the 2-D histogram of its stations
    (``details["histogram"]``).  ``parties`` chooses which to draw
    (default: the two with the largest share).
    """
    results = [results] if isinstance(results, TestResult) else list(results)
    by_party = {r.party: r for r in results}
    if parties is None:
        parties = [r.party for r in sorted(results, key=lambda r: -r.details["overall_share"])[:2]]
    fig = Figure(figsize=(5.2 * len(parties), 4.4))
    axes = fig.subplots(1, len(parties), squeeze=False)
    margins(fig, left=0.65, right=0.15, top=0.35, bottom=0.55, wspace=0.75)
    for ax, party in zip(axes[0], parties):
        res = by_party[party]
        h = res.details["histogram"]
        # math.fsum: the exact sum of a hexagon's weights (np.sum's for whole counts), without converting each
        # of thousands of short lists to an array
        ax.hexbin(h["turnout_bin"] + 0.0025, h["votes_bin"] + 0.0025, C=h["weight"], reduce_C_function=math.fsum,
                  gridsize=gridsize, bins="log", cmap="viridis", mincnt=1, extent=(0, 1, 0, 1))
        grid = np.linspace(0, 1, 50)
        ax.plot(grid, res.details["intercept"] + res.statistic * grid, color="tab:red", lw=1.5,
                label=f"slope {res.statistic:.2f} (share {res.expected:.2f})")
        ax.plot(grid, grid, color="0.3", lw=0.8, ls="--", label="slope 1")
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        ax.set_xlabel("turnout")
        ax.set_ylabel("votes / voters on the list")
        fixed_title(ax, text(str(party)[:40]), loc="left", fontsize=10)
        ax.legend(fontsize=8, loc="upper left")
    return fig
