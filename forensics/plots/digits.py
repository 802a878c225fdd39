"""Figures for the digit tests: observed against expected digit shares, with intervals.

They draw what ``forensics.stats`` returned: a digit test's
``details["digits"]`` table, with each share's exact interval.
"""
from __future__ import annotations

import math

import pandas as pd
from matplotlib.figure import Figure

from ..stats.result import TestResult
from . import label
from .artists import fixed_ticks
from .layout import margins
from .layout import title as fixed_title

__all__ = ["digit_frame", "plot_digits", "plot_digit_grid"]


def digit_frame(results) -> pd.DataFrame:
    """Tidy frame of one digit TestResult or {group: TestResult}.

    Columns: group, test, digit, observed, n, share, ci_low, ci_high,
    expected_share.  Groups without a digit table (too few counts) are left out.
    """
    if isinstance(results, TestResult):
        results = {"National": results}
    frames = []
    for group, res in results.items():
        table = res.details.get("digits") if isinstance(res, TestResult) else None
        if table is None or table.empty:
            continue
        frames.append(table[["digit", "observed", "share", "ci_low", "ci_high", "expected_share"]].assign(
            group=str(group), test=res.name, n=int(table["observed"].sum())))
    cols = ["group", "test", "digit", "observed", "n", "share", "ci_low", "ci_high", "expected_share"]
    return pd.concat(frames, ignore_index=True)[cols] if frames else pd.DataFrame(columns=cols)


def _draw(ax, frame: pd.DataFrame, color="C0"):
    x = frame["digit"].to_numpy()
    ax.bar(x, frame["share"], color=color, alpha=0.7, label="observed")
    ax.errorbar(x, frame["share"], yerr=[frame["share"] - frame["ci_low"], frame["ci_high"] - frame["share"]],
                fmt="none", ecolor="black", elinewidth=1, capsize=2, label="exact interval")
    ax.plot(x, frame["expected_share"], "o--", color="C3", markersize=4, label="expected")
    fixed_ticks(ax.xaxis, x)
    ax.set_xlabel("digit")


def plot_digits(result, ax=None, title=None):
    """Bar chart of one digit test's observed digit shares, intervals and expected shares; returns the Figure."""
    frame = digit_frame(result)
    own = ax is None
    fig = Figure(figsize=(6, 3.5)) if own else ax.figure
    ax = ax or fig.add_subplot()
    if own:
        margins(fig, left=0.75, right=0.1, top=0.35, bottom=0.55)
    if frame.empty:
        ax.text(0.5, 0.5, "no counts to show", ha="center", va="center", transform=ax.transAxes)
        return fig
    _draw(ax, frame)
    ax.set_ylabel("share of counts")
    fixed_title(ax, label(title) if title else f"{frame['test'].iloc[0]} (n = {frame['n'].iloc[0]:,})")
    ax.legend(fontsize="small", frameon=False)
    return fig


def plot_digit_grid(results, col_wrap: int = 4, height: float = 2.2, aspect: float = 1.3):
    """Small multiples of ``plot_digits``, one panel per group ({group: TestResult}, e.g. from ``by_level``)."""
    frame = digit_frame(results)
    if frame.empty:
        fig = Figure(figsize=(4, 2))
        ax = fig.add_subplot()
        ax.text(0.5, 0.5, "no counts to show", ha="center", va="center")
        ax.set_axis_off()
        return fig
    groups = list(frame.groupby("group", sort=False))
    columns = min(col_wrap, len(groups))
    rows = math.ceil(len(groups) / columns)
    fig = Figure(figsize=(columns * height * aspect, rows * height), layout="constrained")
    axes = fig.subplots(rows, columns, squeeze=False, sharey=True)
    for ax in axes.flat[len(groups):]:
        ax.set_axis_off()
    for ax, (group, sub) in zip(axes.flat, groups):
        _draw(ax, sub)
        ax.set_title(f"{label(group)} (n = {sub['n'].iloc[0]:,})", fontsize="small")
        ax.set_xlabel("digit")
    for ax in axes[:, 0]:
        ax.set_ylabel("share")
    fig.suptitle(frame["test"].iloc[0])
    return fig
