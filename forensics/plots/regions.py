"""The regions as one ranked chart: each region's effect beside the range honest counting gives.

Drawn from a verdict's ``groups`` table (``forensics.verdicts``): one row
per region, ranked by ``effect``, the effect as a dot and, around zero, the
band that honest counting stays inside 95% of the time (1.96 times the
null standard deviation the verdict holds).  Regions that stand out after
the correction are drawn in red.  Full names, one row each, readable with
85 regions.
"""
from __future__ import annotations

import pandas as pd
from matplotlib.figure import Figure

from . import label

__all__ = ["ranked_regions"]

#: half-width of the band honest counting stays inside 95% of the time, in null standard deviations
BAND = 1.96


def ranked_regions(groups: pd.DataFrame, xlabel: str, title: str = "") -> Figure:
    """Regions ranked by ``effect`` with the 95% band of honest counting (``null_sd``) around zero."""
    rows = groups[(groups["level"] != "nation") & groups["effect"].notna()].sort_values(
        "effect", kind="mergesort")
    if rows.empty:
        raise LookupError("no region has a result")
    height = 1.2 + 0.19 * len(rows)
    fig = Figure(figsize=(9, height), layout="constrained")
    ax = fig.add_subplot()
    y = range(len(rows))
    band = BAND * rows["null_sd"].astype(float).to_numpy()
    ax.barh(list(y), 2 * band, left=-band, height=0.6, color="#dddddd", label="honest counting, 95% of the time")
    colours = ["#c0392b" if s else "#34495e" for s in rows["significant"].astype(bool)]
    ax.scatter(rows["effect"].astype(float), list(y), c=colours, s=18, zorder=3)
    ax.axvline(0, color="#888888", linewidth=0.8)
    ax.set_yticks(list(y), [label(g) for g in rows["group"]], fontsize=8)
    ax.set_ylim(-0.7, len(rows) - 0.3)
    ax.set_xlabel(xlabel)
    ax.grid(axis="x", color="#eeeeee")
    ax.legend(loc="lower right", fontsize=8, frameon=False)
    if title:
        ax.set_title(label(title), fontsize=10, loc="left")
    return fig
