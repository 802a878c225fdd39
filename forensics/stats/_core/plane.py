"""The turnout x leader-share plane: per-station values, bins and the main peak.

The fingerprint, Klimek's model and Shpilkin's excess-vote estimate all
place stations on this plane; they share how stations are chosen
(``station_values``), binned and how the clean peak is found.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ...errors import DataError
from ...exclusions import Exclusions
from ...model import Election
from .frames import columns

#: Guard against 0.57 / 0.01 = 56.99999 putting an exact percentage in the bin below.
_EPS = 1e-9


def party_column(election: Election, party=None) -> str:
    """The party column to use (the leader by default); DataError if it is not in the table."""
    party = party or election.leader
    if party not in election.table.columns:
        raise DataError(f"there is no party column '{party}'", column=party,
                        fix=f"pass one of the election's parties: {', '.join(map(str, election.parties))}")
    return party


def require_registered(election: Election) -> None:
    """DataError unless the table has voters on the list, which every turnout divides by."""
    if "registered" not in election.table.columns:
        raise DataError("the table has no 'registered' column (voters on the list), which this test needs",
                        column="registered", fix="load the file with a profile that maps the voters-on-the-list line")


def station_values(election: Election, party=None, turnout: str = "issued", share: str = "valid",
                   min_registered: int = 1, require_leader_votes: bool = False):
    """Per-station registered voters, ballots, share base, leader votes, turnout and share.

    ``turnout`` names the numerator of turnout and ``share`` the base of the
    leader's share, both counts of ``Election.ballots`` ("issued", "cast",
    "found", "valid").  Returns the frame of the stations kept (columns
    ``registered, ballots, base, leader, turnout, share``), the
    ``Exclusions`` that say why the others were left out, and the party used
    (the leader when ``party`` is None).
    """
    require_registered(election)
    party = party_column(election, party)
    frame = pd.DataFrame({
        "registered": election.table["registered"].astype(float),
        "ballots": election.ballots(turnout).astype(float),
        "base": election.ballots(share).astype(float),
        "leader": election.table[party].astype(float),
    })
    ex = Exclusions.for_election(election)
    ex.require(frame.notna().all(axis=1), "figures missing")
    ex.require(frame["registered"] > 0, "no voters on the list")
    if min_registered > 1:
        ex.require(frame["registered"] >= min_registered, f"fewer than {min_registered} voters on the list")
    ex.require((frame["ballots"] > 0) & (frame["base"] > 0), "no ballots")
    ex.require(frame["ballots"] <= frame["registered"], "turnout above 100%")
    ex.require(frame["leader"] <= frame["base"], "leader votes exceed the share base")
    if require_leader_votes:
        ex.require(frame["leader"] > 0, "no votes for the leader")
    kept = frame[ex.keep].copy()
    kept["turnout"] = kept["ballots"] / kept["registered"]
    kept["share"] = kept["leader"] / kept["base"]
    return kept, ex, party


def bin_index(values, bin_width: float) -> np.ndarray:
    """Index of the bin [k*w, (k+1)*w) holding each value in [0, 1]; 1.0 joins the last bin."""
    n_bins = int(round(1 / bin_width))
    idx = np.floor(np.asarray(values, dtype=float) / bin_width + _EPS).astype(int)
    return np.clip(idx, 0, n_bins - 1)


def bin_edges(index, bin_width: float) -> np.ndarray:
    """Lower bin edges, rounded so that bin 57 of width 0.01 reads 0.57."""
    return np.round(np.asarray(index) * bin_width, 10)


def histogram2d(x, y, weight, bin_width: float, names=("turnout", "share")) -> pd.DataFrame:
    """Tidy 2-D histogram over [0, 1]^2: the non-empty cells (lower bin edges) and their weight."""
    n_bins = int(round(1 / bin_width))
    cell = bin_index(x, bin_width) * n_bins + bin_index(y, bin_width)
    sums = np.bincount(cell, weights=weight, minlength=n_bins * n_bins)
    filled = np.flatnonzero(sums)
    return _frame(np.column_stack([bin_edges(filled // n_bins, bin_width), bin_edges(filled % n_bins, bin_width),
                                   sums[filled]]), f"{names[0]}_bin", f"{names[1]}_bin", "weight")


def histogram1d(values, weight, bin_width: float, name: str) -> pd.DataFrame:
    """Tidy 1-D histogram over [0, 1] with every bin listed."""
    n_bins = int(round(1 / bin_width))
    sums = np.bincount(bin_index(values, bin_width), weights=weight, minlength=n_bins)
    return _frame(np.column_stack([bin_edges(np.arange(n_bins), bin_width), sums]), f"{name}_bin", "weight")


def _frame(block: np.ndarray, *names: str) -> pd.DataFrame:
    """A frame of float columns ``names`` from the 2-D ``block``: one block, no per-column checks (the
    histograms of a scan are made per group, and building a frame column by column costs more than them)."""
    return pd.DataFrame(block.astype(float, copy=False), columns=columns(names), copy=False)


def find_peak(values, weights=None, lower: float = 0.3, method: str = "kde", min_height: float = 0.25,
              step: float = 0.001, start_bin: int = 10) -> float:
    """The main peak of a distribution on [0, 1].

    ``method="kde"`` (Kobak's robust choice): a Gaussian kernel density on a
    ``step`` grid (Scott's bandwidth, binned and convolved so it costs O(n)),
    and the first local maximum above ``lower`` (30 %, as Kobak does, so a
    small low-turnout or low-share group is not taken for the main peak) that
    reaches ``min_height`` of the highest one above ``lower``.  ``method="klimek"``: the rule of Klimek's fitter,
    scanning a histogram upward from bin ``start_bin`` for the first
    bin-to-bin drop of more than ``thres`` stations and returning the lower
    edge of the bin before it (lowering ``thres`` by 0.5 until a drop is
    found).
    """
    x = np.asarray(values, dtype=float)
    w = np.ones_like(x) if weights is None else np.asarray(weights, dtype=float)
    if x.size == 0:
        return float("nan")
    if method == "klimek":
        return _klimek_peak(x, start_bin)
    if method != "kde":
        raise ValueError("method must be 'kde' or 'klimek'")
    hist = np.bincount(kde_grid_index(x, step), weights=w, minlength=int(round(1 / step)) + 1)
    n_eff = w.sum() ** 2 / (w ** 2).sum()
    mean = np.average(x, weights=w)
    sd = np.sqrt(np.average((x - mean) ** 2, weights=w))
    return kde_peak(hist, n_eff, sd, lower, min_height, step)


def kde_grid_index(values, step: float = 0.001) -> np.ndarray:
    """The point of ``find_peak``'s ``step`` grid on [0, 1] nearest to each value."""
    return np.clip(np.rint(np.asarray(values, dtype=float) / step).astype(int), 0, int(round(1 / step)))


def kde_peak(hist, n_eff: float, sd: float, lower: float = 0.3, min_height: float = 0.25,
             step: float = 0.001) -> float:
    """``find_peak(method="kde")`` from the values' (weighted) counts on the grid, effective number and sd.

    The peak depends on the values only through these, so a bootstrap can
    find each resample's peak from resampled sums.
    """
    n_grid = hist.size
    bandwidth = max(sd * n_eff ** (-1 / 5), 2 * step)
    half = int(np.ceil(4 * bandwidth / step))
    kernel = np.exp(-0.5 * (np.arange(-half, half + 1) * step / bandwidth) ** 2)
    density = np.convolve(hist, kernel)[half:half + n_grid]  # centred, whatever the kernel's width
    grid = np.arange(n_grid) * step
    interior = np.r_[False, (density[1:-1] > density[:-2]) & (density[1:-1] >= density[2:]), False]
    candidates = np.flatnonzero(interior & (grid > lower) & (density >= min_height * density[grid > lower].max()))
    if candidates.size == 0:
        above = np.flatnonzero(grid > lower)
        return float(grid[above[np.argmax(density[above])]])
    return float(grid[candidates[0]])


def _klimek_bins(n: int) -> float:
    """Klimek's bin width: 0.01 * 5 / thres, with thres lowered for small samples."""
    thres = 5.0
    while 0.8 * n <= 1 / (0.01 * 5 / thres) and thres > 0.5:
        thres -= 0.5
    return 0.01 * 5 / thres, thres


def _klimek_peak(x: np.ndarray, start_bin: int) -> float:
    h, thres = _klimek_bins(x.size)
    edges = np.arange(-h / 2, 1 + h, h)
    counts = np.histogram(x, bins=edges)[0]
    drops = counts[:-1] - counts[1:]
    while thres > 0:
        hit = np.flatnonzero(drops[start_bin:] > thres)
        if hit.size:
            return float(edges[start_bin + hit[0]])
        thres -= 0.5
    return float(edges[np.argmax(counts)])


def too_few_text(n_used: int, needed: int) -> str:
    """The explanation of a test that had too few usable stations."""
    return (f"Only {n_used} stations were usable; this test needs at least {needed}, "
            f"so nothing was estimated.")
