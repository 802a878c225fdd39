"""Figures of election fingerprints: the "comet", Klimek fits, cumulative curve, margins.

Each function takes TestResults from ``forensics.stats`` (one, or one per
weighting or group) and returns a matplotlib Figure drawn from what they
hold; nothing is computed from the data.
"""
from __future__ import annotations

import textwrap

import numpy as np
import pandas as pd
from matplotlib import rcParams
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure
from matplotlib.ticker import MultipleLocator, PercentFormatter

from ..i18n import N_, Formats, translations
from ..stats.result import TestResult
from . import label
from .artists import stairs, tick_marks
from .layout import LINE, count_margin, margins, rect
from .layout import title as fixed_title

__all__ = ["fingerprint_plot", "comet", "klimek_plot", "cumulative_plot", "histograms_plot", "excess_plot",
           "regional_fingerprints"]


#: what a fingerprint counts, by its ``weights``
COUNTED = {"stations": N_("polling stations"), "voters": N_("voters on the list"), "ballots": N_("ballots"),
           "leader_votes": N_("votes for the leader")}


def _grid(histogram: pd.DataFrame, bin_width: float) -> np.ndarray:
    """Tidy (turnout_bin, share_bin, weight) -> square array [share, turnout], NaN where empty."""
    n = int(round(1 / bin_width))
    grid = np.full((n, n), np.nan)
    t = np.rint(histogram["turnout_bin"].to_numpy() / bin_width).astype(int)
    s = np.rint(histogram["share_bin"].to_numpy() / bin_width).astype(int)
    grid[s, t] = histogram["weight"].to_numpy()
    return grid


def _percent_axes(ax, x=True, y=True, step=0.1):
    """Percent labels every ``step``."""
    for axis, on in ((ax.xaxis, x), (ax.yaxis, y)):
        if on:
            axis.set_major_formatter(PercentFormatter(1.0, decimals=0))
            axis.set_major_locator(MultipleLocator(step))


def _whole_percent_marks(ax, length: float = 3.0):
    """A short tick below the x axis at every whole percent, drawn as one line of markers (``tick_marks``)."""
    tick_marks(ax, np.arange(101) / 100, length, rcParams["xtick.minor.width"])


def _draw_fingerprint(ax, histogram, bin_width, title, vmax=None, step=0.1, lang: str = "en"):
    grid = _grid(histogram, bin_width)
    finite = grid[np.isfinite(grid) & (grid > 0)]
    norm = LogNorm(vmin=max(finite.min(), 1e-9), vmax=vmax or finite.max()) if finite.size else None
    image = ax.imshow(grid, origin="lower", extent=(0, 1, 0, 1), cmap="viridis", norm=norm,
                      interpolation="nearest", aspect="equal")
    ax.set_facecolor("white")
    t = translations(lang)
    ax.set_xlabel(t.gettext("turnout"))
    ax.set_ylabel(t.gettext("leader's share"))
    fixed_title(ax, title, fontsize=10)
    _percent_axes(ax, step=step)
    return image


def fingerprint_plot(result: TestResult, ax=None, title: str | None = None, lang: str = "en") -> Figure:
    """One fingerprint (result of ``stats.fingerprint``) as a log-coloured 2-D histogram.

    Drawn large (a whole-percent cell is several pixels wide at 100 dpi), with
    the full title wrapped above the plot and a colorbar that says what a
    colour counts and in which cells; its words in ``lang``.  On its own
    figure the plot, title and colorbar sit at places fixed in inches.
    """
    d = result.details
    t, f = translations(lang), Formats(lang)
    counted = t.gettext(COUNTED[d["weights"]])
    title = title or t.gettext("%(party)s: %(n)s polling stations by turnout and the leader's share (counted: "
                               "%(counted)s)") % {"party": label(result.party), "n": f.number(result.n_used),
                                                  "counted": counted}
    lines = textwrap.wrap(title, 70)
    if ax is None:
        fig = Figure(figsize=(7.2, 6.6))
        side, left, bottom = _square(fig, left=0.8, right=0.45 + 0.2 + 0.75, top=0.2 + 10 * LINE * len(lines),
                                     bottom=0.6)
        ax = fig.add_axes(rect(fig, left, bottom, side, side))
        colorbar = {"cax": fig.add_axes(rect(fig, left + side + 0.45, bottom + 0.075 * side, 0.2, 0.85 * side))}
    else:
        fig, colorbar = ax.figure, {"ax": ax, "shrink": 0.85}
    image = _draw_fingerprint(ax, d["histogram"], d["bin_width"], "\n".join(lines), lang=lang)
    points = f.decimal(100 * d["bin_width"])
    fig.colorbar(image, **colorbar, label=t.gettext("%(counted)s per cell of %(points)s x %(points)s "
                                                    "percentage points") % {"counted": counted, "points": points})
    return fig


def _square(fig, left: float, right: float, top: float, bottom: float, panels: int = 1, gap: float = 0.0):
    """The side of ``panels`` square plots in a row between the margins (inches), and the lower left corner
    of the first, the row centred in the room left over."""
    width, height = fig.get_size_inches()
    side = min((width - left - right - (panels - 1) * gap) / panels, height - top - bottom)
    spare_w = width - left - right - (panels - 1) * gap - panels * side
    spare_h = height - top - bottom - side
    return side, left + spare_w / 2, bottom + spare_h / 2


def comet(results) -> Figure:
    """Fingerprints side by side, e.g. unweighted and weighted by voters (Klimek's and Kobak's "comet").

    ``results``: ``fingerprint`` results of one election with different
    ``weights`` (``[fingerprint(e), fingerprint(e, weights="voters")]``).
    """
    results = list(results)
    fig = Figure(figsize=(5.2 * len(results), 4.5), layout="constrained")
    for ax, r in zip(fig.subplots(1, len(results), squeeze=False)[0], results):
        fingerprint_plot(r, ax=ax, title=f"weighted by {r.details['weights'].replace('_', ' ')}")
    return fig


def klimek_plot(result: TestResult) -> Figure:
    """Observed, fitted and fair-model fingerprints of a ``stats.klimek_fit`` result, side by side."""
    d = result.details
    panels = [("observed", d["observed"]),
              (f"fitted: f_i={d['f_i']:.2f}, f_e={d['f_e']:.3f}, alpha={d['alpha']:.2g}", d["fitted"]),
              ("fair model (no fraud)", d["fair_fingerprint"])]
    vmax = max(p["weight"].max() for _, p in panels)
    fig = Figure(figsize=(15, 4.6))
    gap = 1.0
    side, left, bottom = _square(fig, left=0.8, right=0.45 + 0.2 + 0.75, top=0.3 + 22 * LINE, bottom=0.55,
                                 panels=3, gap=gap)
    axes = [fig.add_axes(rect(fig, left + i * (side + gap), bottom, side, side)) for i in range(3)]
    for ax, (title, hist) in zip(axes, panels):
        image = _draw_fingerprint(ax, hist, 0.01, title, vmax=vmax)
    fig.colorbar(image, cax=fig.add_axes(rect(fig, left + 3 * side + 2 * gap + 0.45, bottom, 0.2, side)),
                 label="stations")
    fig.suptitle(f"Klimek model, {label(result.party)}: turnout = valid / registered, share = leader / valid")
    return fig


def cumulative_plot(result: TestResult) -> Figure:
    """Cumulative leader and other-party votes over turnout (``stats.cumulative_votes``)."""
    d = result.details
    curve = d["curve"]
    x = curve["turnout_bin"] + d["bin_width"]  # the curve counts stations up to each bin's upper edge
    fig = Figure(figsize=(6.5, 4.5))
    ax = fig.add_subplot()
    margins(fig, left=0.8, right=0.2, top=0.35, bottom=0.55)
    ax.plot(x, curve["leader_cumulative"], label=label(result.party), color="C3")
    ax.plot(x, curve["other_cumulative"], label="other parties", color="C0")
    ax.axvline(d["peak"], color="grey", lw=0.8, ls=":", label=f"turnout peak {d['peak']:.1%}")
    if d["cut"] > d["peak"]:
        ax.axvline(d["cut"], color="grey", lw=0.8, ls="--", label=f"cut at {d['cut']:.1%}")
    ax.set_xlabel("turnout")
    ax.set_ylabel("share of votes from stations up to this turnout")
    _percent_axes(ax, y=False)
    ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    fixed_title(ax, f"{d['leader_fraction_above']:.1%} of the leader's votes vs {d['other_fraction_above']:.1%} "
                f"of the others' come from turnout above {d['cut']:.0%}", fontsize=10)
    ax.legend()
    return fig


def histograms_plot(result: TestResult) -> Figure:
    """1-D histograms of turnout and share (``stats.fingerprint``) with a tick at every whole percent.

    Use a fine ``bin_width`` (0.001) to see spikes at integer percentages.
    """
    d = result.details
    fig = Figure(figsize=(11, 3.8))
    axes = fig.subplots(1, 2)
    widest = max(d[f"{name}_hist"]["weight"].max() for name in ("turnout", "share"))
    left = count_margin(widest)
    margins(fig, left=left, right=0.1, top=0.1, bottom=0.55, wspace=left + 0.05)
    for ax, name in zip(axes, ("turnout", "share")):
        hist = d[f"{name}_hist"]
        edges = np.r_[hist[f"{name}_bin"].to_numpy(), 1.0]
        stairs(ax, hist["weight"].to_numpy(), edges, fill=True, color="C0")
        _percent_axes(ax, y=False)
        _whole_percent_marks(ax)
        ax.set_xlabel("turnout" if name == "turnout" else f"{label(result.party)}'s share")
        ax.set_ylabel(d["weights"].replace("_", " "))
    return fig


def excess_plot(result: TestResult) -> Figure:
    """The leader's votes by turnout against Shpilkin's honest estimate (``stats.excess_votes``)."""
    d = result.details
    grid = pd.DataFrame({"turnout_bin": np.round(np.arange(int(round(1 / d["bin_width"]))) * d["bin_width"], 10)})
    full = grid.merge(d["bins"], on="turnout_bin", how="left").fillna(0)
    edges = np.r_[full["turnout_bin"].to_numpy(), 1.0]
    fig = Figure(figsize=(7.5, 4.5))
    ax = fig.add_subplot()
    margins(fig, left=0.75, right=0.15, top=0.35, bottom=0.55)
    stairs(ax, full["others"].to_numpy(), edges, color="C0", label="other parties")
    stairs(ax, full["leader"].to_numpy(), edges, color="C3", label=f"{label(result.party)} (official)")
    stairs(ax, full["honest_leader"].to_numpy(), edges, color="C3", ls="--",
              label=f"{label(result.party)} at the clean ratio {d['ratio']:.2f}")
    ax.axvline(d["peak"], color="grey", lw=0.8, ls=":", label=f"turnout peak {d['peak']:.1%}")
    ax.set_xlabel("turnout")
    ax.set_ylabel("votes per turnout bin")
    _percent_axes(ax, y=False)
    fixed_title(ax, f"Anomalous votes: {result.statistic:,.0f}; share {d['share_official']:.1%} -> "
                f"{d['share_clean']:.1%}, turnout {d['turnout_official']:.1%} -> {d['turnout_clean']:.1%}",
                fontsize=10)
    ax.legend(fontsize=8)
    return fig


def regional_fingerprints(results: dict, max_panels: int = 12, ncols: int = 4, compact: bool = False) -> Figure:
    """Small multiples: the fingerprints of the ``max_panels`` groups with most stations used.

    ``results`` is {group: fingerprint TestResult} (e.g. the scan's
    ``results[("fingerprint", "region")]``, or ``by_level(e, fingerprint,
    "region", party=e.leader)`` for the national leader in every panel);
    other entries (notes) are skipped.  ``compact`` draws many small panels
    without axes (the report's overview).
    """
    panels = sorted(((r.n_used, str(g), r) for g, r in results.items()
                     if isinstance(r, TestResult) and "histogram" in r.details), key=lambda p: (-p[0], p[1]))
    panels = panels[:max_panels]
    if not panels:
        raise LookupError("no regional fingerprint results to draw")
    nrows = int(np.ceil(len(panels) / ncols))
    size = (1.3, 1.45) if compact else (3.2, 3.0)
    fig = Figure(figsize=(size[0] * ncols, size[1] * nrows), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    for ax, (n, name, res) in zip(axes, panels):
        width = float(res.details.get("bin_width", 0.01))
        if compact:
            ax.imshow(np.log1p(np.nan_to_num(_grid(res.details["histogram"], width))), origin="lower",
                      extent=(0, 1, 0, 1), cmap="viridis", aspect="equal", interpolation="nearest")
            ax.set_title(label(name[:22]), fontsize=6)
            ax.set_xticks([])
            ax.set_yticks([])
        else:
            _draw_fingerprint(ax, res.details["histogram"], width, f"{label(name[:30])} ({n:,})", step=0.5)
            ax.set_xlabel("")
            ax.set_ylabel("")
    for ax in axes[len(panels):]:
        ax.set_visible(False)
    if compact:
        fig.suptitle("Regional fingerprints (x: turnout, y: leader share; largest regions first)", fontsize=9)
    else:
        fig.supxlabel("turnout")
        fig.supylabel("leader's share")
    return fig
