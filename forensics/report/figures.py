"""The report's figures: drawn from the scan's TestResults by the ``forensics.plots`` functions.

``FIGURES`` is data: which plotting function draws which test's national
result, in which report section, with which caption.  A plotting function
missing from this build, or one that fails, gives a visible "figure not
available" note instead of a figure.  The small multiples of regional
fingerprints are drawn here from the regional fingerprint results.
"""
from __future__ import annotations

import base64
import importlib
import io
import math
from dataclasses import dataclass
from pathlib import Path

import matplotlib
import numpy as np
from matplotlib.figure import Figure

from ..stats.result import TestResult


@dataclass(frozen=True)
class FigureSpec:
    """One figure: ``func`` ("module:attribute") called with the national result of ``test``.

    ``with_election``: the function takes the election first, then the result.
    """

    id: str
    section: str
    caption: str
    func: str
    test: str
    with_election: bool = False

    def draw(self, scan):
        func = _resolve(self.func)
        result = _national(scan, self.test)
        return func(scan.election, result) if self.with_election else func(result)


FIGURES: tuple[FigureSpec, ...] = (
    FigureSpec("fingerprint", "fingerprints", "The election fingerprint: polling stations by turnout and by the "
               "leader's share. A clean election is one round cloud.",
               "forensics.plots.fingerprints:fingerprint_plot", "fingerprint"),
    FigureSpec("histograms", "fingerprints", "Turnout and leader-share histograms (the margins of the "
               "fingerprint); a second hump at high turnout is the stuffing pattern.",
               "forensics.plots.fingerprints:histograms_plot", "fingerprint"),
    FigureSpec("cumulative", "fingerprints", "The leader's cumulative votes over turnout; an honest curve "
               "flattens at high turnout.", "forensics.plots.fingerprints:cumulative_plot", "cumulative_votes"),
    FigureSpec("klimek", "fingerprints", "Klimek's fraud model fitted to the fingerprint: observed and "
               "model-fitted distributions.", "forensics.plots.fingerprints:klimek_plot", "klimek_fit"),
    FigureSpec("excess", "fingerprints", "Shpilkin's estimate: the leader's votes by turnout against the "
               "votes expected at the clean turnout.", "forensics.plots.fingerprints:excess_plot", "excess_votes"),
    FigureSpec("integer_spikes", "fingerprints", "Turnout and leader-result histograms in 0.1-point bins: "
               "bars are the stations observed, orange marks the number expected at each whole percentage "
               "under honest counting.", "forensics.plots.spikes:integer_histograms", "integer_percentages"),
    FigureSpec("integer_excess", "fingerprints", "Stations above the expected number at each whole percentage.",
               "forensics.plots.spikes:integer_excess", "integer_percentages"),
    FigureSpec("coarse", "fingerprints", "Density of the leader's vote share against the envelope of honest "
               "re-counts; red marks shares that pile up on round fractions.",
               "forensics.plots.spikes:coarse_density", "coarse_shares"),
    FigureSpec("regression", "fingerprints", "Each party's votes (per voter on the list) against turnout, with "
               "the fitted slope.", "forensics.plots.spikes:regression_hexbin", "turnout_regression",
               with_election=True),
    FigureSpec("last_digit", "digits", "Last digits of the counts: observed shares (with intervals) against "
               "the 10% each expected of real counts.", "forensics.plots.digits:plot_digits", "last_digit_test"),
    FigureSpec("second_digit", "digits", "Second digits of the counts: observed against Benford's law.",
               "forensics.plots.digits:plot_digits", "second_digit_test"),
)


def _resolve(target: str):
    module_name, _, attr = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        raise LookupError(f"{module_name} is not in this build") from exc
    if not hasattr(module, attr):
        raise LookupError(f"{module_name}.{attr} is not in this build")
    return getattr(module, attr)


def _save(fig, out_dir: Path, name: str, formats) -> tuple[str, list]:
    """Write the figure in each format; return the base64 PNG for embedding and the file names."""
    files = []
    png = io.BytesIO()
    fig.savefig(png, format="png", dpi=100, metadata={"Software": None})
    for fmt in formats:
        path = out_dir / f"{name}.{fmt}"
        if fmt == "png":
            path.write_bytes(png.getvalue())
        else:
            with matplotlib.rc_context({"svg.hashsalt": "forensics"}):  # stable ids inside SVG files
                fig.savefig(path, format=fmt, metadata={"Date": None} if fmt == "svg" else None)
        files.append(path.name)
    return base64.b64encode(png.getvalue()).decode("ascii"), files


def _national(scan, test: str):
    res = scan.results.get((test, "nation"), {}).get("National")
    if res is None:
        raise LookupError(f"the scan did not run {test} nationally")
    if isinstance(res, str):
        raise LookupError(res)
    items = [r for r in (res if isinstance(res, (list, tuple)) else [res]) if isinstance(r, TestResult)]
    if not items:
        raise LookupError(f"{test} returned no result")
    return items if isinstance(res, (list, tuple)) else items[0]


def regional_fingerprints(results: dict, max_panels: int = 100, columns: int = 10):
    """Small multiples of the regional fingerprints (2-D histograms from each region's result)."""
    panels = [(g, r) for g, r in results.items() if isinstance(r, TestResult) and "histogram" in r.details]
    panels = sorted(panels, key=lambda gr: -gr[1].n_used)[:max_panels]
    if not panels:
        raise LookupError("no regional fingerprint results to draw")
    rows = math.ceil(len(panels) / columns)
    fig = Figure(figsize=(columns * 1.3, rows * 1.45))
    axes = fig.subplots(rows, columns, squeeze=False)
    for ax in axes.flat:
        ax.set_axis_off()
    for ax, (group, res) in zip(axes.flat, panels):
        h = res.details["histogram"]
        width = float(res.details.get("bin_width", 0.01))
        n = int(round(1 / width)) + 1
        grid = np.zeros((n, n))
        ti = np.clip(np.round(h["turnout_bin"].to_numpy() / width).astype(int), 0, n - 1)
        si = np.clip(np.round(h["share_bin"].to_numpy() / width).astype(int), 0, n - 1)
        np.add.at(grid, (si, ti), h["weight"].to_numpy(float))
        ax.imshow(np.log1p(grid), origin="lower", extent=(0, 1, 0, 1), cmap="viridis", aspect="equal",
                  interpolation="nearest")
        ax.set_title(str(group)[:22], fontsize=6)
        ax.set_axis_on()
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle("Regional fingerprints (x: turnout, y: leader share; largest regions first)", fontsize=9)
    fig.tight_layout()
    return fig


def make_figures(scan, out_dir, formats=("png", "svg"), progress: bool = True) -> list:
    """Draw every figure; return dicts (id, section, caption, png base64 or error, files)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    jobs = [(s.id, s.section, s.caption, lambda s=s: s.draw(scan)) for s in FIGURES]
    regional = {g: r for (name, level), res in scan.results.items() if name == "fingerprint" and level != "nation"
                for g, r in res.items()}
    jobs.append(("regional_fingerprints", "regions", "Fingerprints of the regions, side by side: a region whose "
                 "cloud has a tail towards the top right drives the national pattern.",
                 lambda: regional_fingerprints(regional)))
    figures = []
    if progress:  # tqdm only when asked: tqdm.auto warns in notebooks without ipywidgets
        from tqdm.auto import tqdm

        jobs = tqdm(jobs, desc="figures", leave=False)
    for fid, section, caption, draw in jobs:
        entry = {"id": fid, "section": section, "caption": caption, "png": None, "files": [], "error": ""}
        try:
            fig = draw()
            entry["png"], entry["files"] = _save(fig, out_dir, fid, formats)
        except Exception as exc:  # noqa: BLE001 - a missing figure is reported, never fatal
            entry["error"] = f"figure not available: {exc}"
        figures.append(entry)
    return figures
