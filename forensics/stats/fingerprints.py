"""Election fingerprints: how polling stations spread over turnout and leader share.

Klimek et al. (PNAS 2012) showed that a clean election puts the stations in
one roughly round blob of the (turnout, leader share) plane, while ballot
stuffing drags a "comet tail" toward 100 % turnout and 100 % share.  This
module computes that 2-D histogram (with any bin width and weight), the 1-D
histograms of turnout and share, and the cumulative leader-vote curve over
turnout with its "boost" at high turnout.  It also holds the per-station
values (``station_values``) and the peak finder (``find_peak``) that the
Klimek model (``klimek.py``) and the excess-vote estimate (``excess.py``)
share.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import DataError
from ..exclusions import Exclusions
from ..model import as_election
from .result import TestResult

__all__ = ["station_values", "find_peak", "bin_index", "bin_edges", "histogram1d", "histogram2d", "too_few",
           "fingerprint", "cumulative_votes"]

#: Numerators of turnout (and denominators of share) by name.
_COUNTS = {
    "issued": lambda e: e.ballots_issued(),
    "cast": lambda e: e.ballots_cast(),
    "found": lambda e: e.ballots_found(),
    "valid": lambda e: e.valid(),
}
_WEIGHTS = ("stations", "voters", "ballots", "leader_votes")
#: Guard against 0.57 / 0.01 = 56.99999 putting an exact percentage in the bin below.
_EPS = 1e-9


def _count(election, name: str) -> pd.Series:
    if name not in _COUNTS:
        raise ValueError(f"unknown count '{name}'; choose one of {', '.join(_COUNTS)}")
    return _COUNTS[name](election).astype(float)


def station_values(election, party=None, turnout: str = "issued", share: str = "valid",
                   min_registered: int = 1, require_leader_votes: bool = False):
    """Per-station registered voters, ballots, share base, leader votes, turnout and share.

    ``turnout`` names the numerator of turnout ('issued', 'cast', 'found' or
    'valid'), ``share`` the denominator of the leader's share.  Returns the
    frame of the stations kept (columns ``registered, ballots, base, leader,
    turnout, share``), the ``Exclusions`` that say why the others were left
    out, and the party used (the leader when ``party`` is None).
    """
    election = as_election(election)
    if "registered" not in election.table.columns:
        raise DataError("turnout needs the number of voters on the list, and the table has none",
                        column="registered", fix="map the electorate column to 'registered' in the profile")
    party = party or election.leader
    if party not in election.table.columns:
        raise DataError(f"no column for party '{party}'", column=party,
                        fix=f"choose one of: {', '.join(election.parties)}")
    frame = pd.DataFrame({
        "registered": election.table["registered"].astype(float),
        "ballots": _count(election, turnout),
        "base": _count(election, share),
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


def too_few(name: str, ex: Exclusions, party, needed: int) -> TestResult:
    """The result of a test that had too few usable stations: no number, and why."""
    return TestResult(name=name, statistic=float("nan"), n_used=ex.n_used, excluded=ex.counts,
                      excluded_rows=ex.rows, party=party,
                      explanation=f"Only {ex.n_used} stations were usable; this test needs at least {needed}, "
                                  f"so nothing was estimated.")


def bin_index(values, bin_width: float) -> np.ndarray:
    """Index of the bin [k*w, (k+1)*w) holding each value in [0, 1]; 1.0 joins the last bin."""
    n_bins = int(round(1 / bin_width))
    idx = np.floor(np.asarray(values, dtype=float) / bin_width + _EPS).astype(int)
    return np.clip(idx, 0, n_bins - 1)


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
    n_grid = int(round(1 / step)) + 1
    hist = np.bincount(np.clip(np.rint(x / step).astype(int), 0, n_grid - 1), weights=w, minlength=n_grid)
    n_eff = w.sum() ** 2 / (w ** 2).sum()
    mean = np.average(x, weights=w)
    sd = np.sqrt(np.average((x - mean) ** 2, weights=w))
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


def _weights(kept: pd.DataFrame, weights: str) -> np.ndarray:
    if weights not in _WEIGHTS:
        raise ValueError(f"weights must be one of {', '.join(_WEIGHTS)}")
    column = {"stations": None, "voters": "registered", "ballots": "ballots", "leader_votes": "leader"}[weights]
    return np.ones(len(kept)) if column is None else kept[column].to_numpy(float)


def bin_edges(index, bin_width: float) -> np.ndarray:
    """Lower bin edges, rounded so that bin 57 of width 0.01 reads 0.57."""
    return np.round(np.asarray(index) * bin_width, 10)


def histogram2d(turnout, share, weight, bin_width: float) -> pd.DataFrame:
    """Tidy 2-D histogram: the non-empty cells (lower bin edges) and their weight."""
    n_bins = int(round(1 / bin_width))
    cell = bin_index(turnout, bin_width) * n_bins + bin_index(share, bin_width)
    sums = np.bincount(cell, weights=weight, minlength=n_bins * n_bins)
    filled = np.flatnonzero(sums)
    return pd.DataFrame({"turnout_bin": bin_edges(filled // n_bins, bin_width),
                         "share_bin": bin_edges(filled % n_bins, bin_width),
                         "weight": sums[filled]})


def histogram1d(values, weight, bin_width: float, name: str) -> pd.DataFrame:
    """Tidy 1-D histogram over [0, 1] with every bin listed."""
    n_bins = int(round(1 / bin_width))
    sums = np.bincount(bin_index(values, bin_width), weights=weight, minlength=n_bins)
    return pd.DataFrame({f"{name}_bin": bin_edges(np.arange(n_bins), bin_width), "weight": sums})


def fingerprint(election, party=None, bin_width: float = 0.01, weights: str = "stations",
                turnout: str = "issued", share: str = "valid", corner: float = 0.9) -> TestResult:
    """The 2-D histogram of stations over (turnout, leader share), and its 1-D margins.

    ``details``: ``histogram`` (tidy: ``turnout_bin``, ``share_bin``,
    ``weight``; non-empty cells, lower bin edges), ``turnout_hist`` and
    ``share_hist`` (every bin), ``bin_width``, ``weights``, ``turnout``,
    ``share``.  The statistic is descriptive: the fraction of the weight in
    the corner where both turnout and share are at least ``corner`` (90 %),
    where Klimek's extreme fraud piles up; a clean election has almost none.
    """
    kept, ex, party = station_values(election, party, turnout=turnout, share=share)
    w = _weights(kept, weights)
    t, s = kept["turnout"].to_numpy(), kept["share"].to_numpy()
    total = w.sum()
    in_corner = float(w[(t >= corner) & (s >= corner)].sum() / total) if total > 0 else float("nan")
    details = {
        "histogram": histogram2d(t, s, w, bin_width),
        "turnout_hist": histogram1d(t, w, bin_width, "turnout"),
        "share_hist": histogram1d(s, w, bin_width, "share"),
        "bin_width": bin_width, "weights": weights, "turnout": turnout, "share": share, "corner": corner,
    }
    unit = {"stations": "polling stations", "voters": "registered voters", "ballots": "ballots",
            "leader_votes": "votes for the leader"}[weights]
    explanation = (
        f"The fingerprint counts {unit} by turnout ({turnout} ballots / voters on the list) and by "
        f"{party}'s share ({share} ballots as the base), in {bin_width:.3g}-wide bins, over {len(kept):,} "
        f"stations. A clean election looks like one round cloud; ballot stuffing and rewritten protocols "
        f"drag a tail toward 100% turnout and 100% share. {in_corner:.2%} of the {unit} sit where both "
        f"turnout and share are {corner:.0%} or more; in clean elections this corner is nearly empty. "
        f"The picture is a reason to look closer, not proof: compact communities voting as one "
        f"(closed institutions, some ethnic regions) can also sit there."
    )
    return TestResult(name="fingerprint", statistic=in_corner, pvalue=None, expected=None,
                      n_used=ex.n_used, excluded=ex.counts, excluded_rows=ex.rows, details=details,
                      explanation=explanation, party=party)


def cumulative_votes(election, party=None, bin_width: float = 0.01, turnout: str = "issued",
                     share: str = "valid", peak_method: str = "kde", spread: float = 1.0) -> TestResult:
    """The leader's cumulative votes over turnout (Klimek's Fig. 6) and the high-turnout boost.

    ``details["curve"]`` is tidy: ``turnout_bin`` (lower edge), the leader's
    and the other parties' votes in the bin and their cumulative fractions.
    In a clean election both curves flatten into a plateau at high turnout.
    The statistic is the fraction of the leader's votes cast at stations
    with turnout above the clean peak plus ``spread`` times the clean
    spread (measured on the low-turnout side of the peak, as Klimek does);
    ``expected`` is the same fraction for the other parties' votes, which
    equals it when the leader's share does not grow with turnout.  The
    default is one spread above the peak: the low side of a national
    turnout distribution is widened by low-turnout regions, so "peak + 2 sd"
    can land at 100 % and hide a boost (it did on simulated elections with
    5 % extreme stuffing), while the peak itself dilutes it.
    """
    kept, ex, party = station_values(election, party, turnout=turnout, share=share)
    t = kept["turnout"].to_numpy()
    leader = kept["leader"].to_numpy()
    others = (kept["base"] - kept["leader"]).to_numpy()
    peak = find_peak(t, method=peak_method)
    below = t < peak
    sigma = float(np.sqrt(np.mean((t[below] - peak) ** 2))) if below.any() else float("nan")
    cut = peak + spread * sigma
    high = t > cut
    frac_leader = float(leader[high].sum() / leader.sum()) if leader.sum() > 0 else float("nan")
    frac_others = float(others[high].sum() / others.sum()) if others.sum() > 0 else float("nan")
    curve = histogram1d(t, leader, bin_width, "turnout").rename(columns={"weight": "leader_votes"})
    curve["other_votes"] = histogram1d(t, others, bin_width, "turnout")["weight"]
    curve["leader_cumulative"] = curve["leader_votes"].cumsum() / max(leader.sum(), 1)
    curve["other_cumulative"] = curve["other_votes"].cumsum() / max(others.sum(), 1)
    details = {"curve": curve, "bin_width": bin_width, "peak": peak, "sigma": sigma, "cut": cut,
               "leader_fraction_above": frac_leader, "other_fraction_above": frac_others,
               "boost": frac_leader - frac_others}
    explanation = (
        f"The cumulative curve adds up {party}'s votes from the lowest-turnout stations to the highest. "
        f"Turnout peaks at {peak:.1%} with a spread of {sigma:.1%} on its low side, so turnout above "
        f"{cut:.1%} is unusually high. {frac_leader:.1%} of {party}'s votes came from those stations, "
        f"against {frac_others:.1%} of the other parties' votes. When turnout is honest both curves "
        f"flatten out at high turnout and the two fractions are close; a leader's curve that keeps "
        f"climbing (a 'boost') is the pattern of ballot stuffing, though communities that both vote "
        f"more and favour the leader can produce some of it too."
    )
    return TestResult(name="cumulative_votes", statistic=frac_leader, pvalue=None, expected=frac_others,
                      n_used=ex.n_used, excluded=ex.counts, excluded_rows=ex.rows, details=details,
                      explanation=explanation, party=party)
