"""Shpilkin's estimate of anomalous votes for the leader.

Assumptions, spelled out because the number means nothing without them:

1. Stations at or below the "clean" turnout peak T0 (the highest peak of
   the turnout distribution) are honest.
2. In an honest election the leader's votes relative to the other parties'
   votes do not depend on turnout, so the ratio measured at or below T0
   holds at every higher turnout.
3. The other parties' votes are not falsified.

Then in each turnout bin above T0 the leader's honest votes are the other
parties' votes times that ratio, and everything above it is anomalous.
Removing the anomalous votes (as if they were stuffed ballots) gives the
turnout and share "without the anomaly".  Bins where the leader got fewer
votes than the honest estimate give negative contributions; they are
reported, and the statistic counts only the positive ones.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ._core.bootstrap import multiplicities, percentile_interval
from ._core.plane import bin_edges, bin_index, find_peak, kde_grid_index, kde_peak, station_values, too_few_text
from ..random import ensure_rng
from .registry import register_test
from .result import TestResult

__all__ = ["ASSUMPTIONS", "excess_votes"]

#: Fewer usable stations than this give no estimate (a result saying so).
MIN_STATIONS = 30
#: What the estimate takes for granted; returned with every result.
ASSUMPTIONS = (
    "stations at or below the main turnout peak are honest",
    "in honest stations the leader's votes per vote for the other parties do not depend on turnout",
    "the other parties' votes are not falsified",
    "anomalous votes are added ballots, so removing them lowers turnout too",
)


#: The station values the estimate reads.
COLUMNS = ("turnout", "registered", "ballots", "base", "leader")
#: The counts summed per turnout bin, and those of them the estimate reads (the others are for the table).
SUMMED = ("registered", "ballots", "base", "leader")
ESTIMATED = ("base", "leader")


def _estimate(kept: dict, bin_width: float, peak_weights: str, peak_method: str, table: bool = True) -> dict:
    """The Shpilkin estimate on one set of stations, arrays of ``COLUMNS``.

    ``table=False`` leaves out the per-bin table (a bootstrap replicate needs only the numbers).
    """
    t = kept["turnout"]
    weights = None if peak_weights == "stations" else kept["registered"]
    peak = find_peak(t, weights=weights, method=peak_method, min_height=1.0)
    n_bins = int(round(1 / bin_width))
    b = bin_index(t, bin_width)
    sums = {c: np.bincount(b, weights=kept[c], minlength=n_bins) for c in SUMMED}
    out = _from_bins(peak, sums, bin_width)
    if not table:
        return out
    bins = pd.DataFrame({
        "turnout_bin": bin_edges(np.arange(n_bins), bin_width), "stations": np.bincount(b, minlength=n_bins),
        "registered": sums["registered"], "ballots": sums["ballots"], "leader": sums["leader"],
        "others": out.pop("others"), "honest_leader": out.pop("honest"), "anomalous": out.pop("contribution"),
        "clean": out.pop("clean"),
    })
    return out | {"table": bins[bins["stations"] > 0].reset_index(drop=True)}


def _from_bins(peak: float, sums: dict, bin_width: float) -> dict:
    """The estimate from the turnout peak and the per-bin sums of ``ESTIMATED``."""
    n_bins = int(round(1 / bin_width))
    others = sums["base"] - sums["leader"]
    peak_bin = int(bin_index([peak], bin_width)[0])
    clean = np.arange(n_bins) <= peak_bin
    ratio = sums["leader"][clean].sum() / others[clean].sum() if others[clean].sum() > 0 else np.nan
    honest = np.where(clean, sums["leader"], np.minimum(others * ratio, sums["base"]))
    contribution = np.where(clean, 0.0, sums["leader"] - honest)
    positive = float(contribution[contribution > 0].sum())
    negative = float(contribution[contribution < 0].sum())
    return {"peak": peak, "peak_bin": float(bin_edges(peak_bin, bin_width)), "ratio": float(ratio),
            "positive": positive, "negative": negative, "others": others, "honest": honest,
            "contribution": contribution, "clean": clean}


def _bootstrap(columns: dict, n_sim: int, rng, bin_width: float, peak_weights: str, peak_method: str) -> np.ndarray:
    """The estimate's positive part on ``n_sim`` bootstrap resamples of the stations, and their listing.

    A resample is how often each station is drawn (``multiplicities``, one
    resample at a time), assigned to the stations listed in turnout order
    (``order``, returned): the counts of a resample are exchangeable, so the
    order they are assigned in does not change the bootstrap.  With the
    ``kde`` peak the estimate reads the stations only through sums that the
    counts weight: the weights on each point of the peak's grid, the totals
    of the weights' squares and of the weighted turnout and its square (for
    the bandwidth), and each turnout bin's counts; in turnout order every
    grid point and bin is a contiguous run.  ``klimek`` peaks are found on
    the resampled stations themselves.
    """
    t = columns["turnout"]
    n, n_bins = t.size, int(round(1 / bin_width))
    w = np.ones(n) if peak_weights == "stations" else columns["registered"].astype(float)
    grid, bins = kde_grid_index(t), bin_index(t, bin_width)
    # grid points and bins both grow with turnout: in (grid point, bin) order each is a contiguous run
    order = np.lexsort((bins, grid))
    grid, bins, w, t = grid[order], bins[order], w[order], t[order]
    totals = np.vstack([w * w, w * t, w * t * t])
    summed = np.vstack([columns[c][order] for c in ESTIMATED])
    grid_runs, bin_runs = (np.flatnonzero(np.r_[True, v[1:] != v[:-1]]) for v in (grid, bins))
    n_grid = int(round(1 / 0.001)) + 1
    out = np.empty(n_sim)
    for r in range(n_sim):
        drawn = multiplicities(rng, n, 1)[0]
        if peak_method != "kde":
            rows = order[np.repeat(np.arange(n), drawn.astype(np.int64))]
            out[r] = _estimate({c: v[rows] for c, v in columns.items()}, bin_width, peak_weights, peak_method,
                               table=False)["positive"]
            continue
        total_w2, total_wt, total_wt2 = totals @ drawn
        hist = np.zeros(n_grid)
        hist[grid[grid_runs]] = np.add.reduceat(w * drawn, grid_runs)
        total_w = hist.sum()
        mean = total_wt / total_w
        peak = kde_peak(hist, total_w ** 2 / total_w2, np.sqrt(max(total_wt2 / total_w - mean * mean, 0.0)),
                        min_height=1.0)
        per_bin = np.zeros((len(ESTIMATED), n_bins))
        per_bin[:, bins[bin_runs]] = np.add.reduceat(summed * drawn, bin_runs, axis=1)
        out[r] = _from_bins(peak, dict(zip(ESTIMATED, per_bin)), bin_width)["positive"]
    return out, order


@register_test("excess_votes", renamed={"n_boot": "n_sim"})
def excess_votes(election, party=None, bin_width: float = 0.01, turnout: str = "issued", share=None,
                 peak_weights: str = "stations", peak_method: str = "kde", n_sim: int = 100,
                 confidence_level: float = 0.95, rng=None) -> TestResult:
    """Estimated anomalous votes for the leader (Shpilkin's method).

    ``turnout`` is the numerator of turnout ('issued' ballots by default,
    as the Russian CEC reports it); ``share`` the base of the leader's share
    (the election's ``meta["percent_base"]``, else valid votes).  The clean
    peak T0 is the main peak of the turnout distribution of stations
    (``peak_weights="voters"`` weights it by registered voters).  The leader
    / others ratio is pooled over all bins at or below T0.

    ``statistic``: anomalous leader votes, summing positive bin
    contributions only; ``expected`` 0.  ``ci``: percentile interval at
    ``confidence_level`` from ``n_sim`` bootstrap resamples of the stations
    (peak re-found each time; ``n_sim=0``: no interval).  ``details``: ``peak``, ``ratio``, ``negative`` (the sum of the
    negative contributions, which the statistic leaves out), ``net``,
    ``turnout_official``/``turnout_clean``, ``share_official``/``share_clean``,
    ``bins`` (per-bin table) and ``assumptions``.  Descriptive: no p-value.
    """
    share = share or election.percent_base
    kept, ex, party = station_values(election, party, turnout=turnout, share=share)
    if len(kept) < MIN_STATIONS:
        return TestResult.from_exclusions("excess_votes", ex, party=party,
                                          explanation=too_few_text(ex.n_used, MIN_STATIONS))
    columns = {c: kept[c].to_numpy() for c in COLUMNS}
    est = _estimate(columns, bin_width, peak_weights, peak_method)
    anomaly = est["positive"]
    reg, ballots, base, leader = (kept[c].sum() for c in ("registered", "ballots", "base", "leader"))
    details = {
        "peak": est["peak"], "peak_bin": est["peak_bin"], "ratio": est["ratio"],
        "negative": est["negative"], "net": anomaly + est["negative"],
        "turnout_official": ballots / reg, "turnout_clean": (ballots - anomaly) / reg,
        "share_official": leader / base, "share_clean": (leader - anomaly) / (base - anomaly),
        "leader_votes": leader, "bins": est["table"], "bin_width": bin_width,
        "turnout": turnout, "share": share, "assumptions": ASSUMPTIONS,
    }
    ci = None
    if n_sim:
        ci = percentile_interval(_bootstrap(columns, n_sim, ensure_rng(rng), bin_width, peak_weights, peak_method)[0],
                                 confidence_level)
    ci_text = f" ({confidence_level:.0%} bootstrap interval {ci[0]:,.0f} to {ci[1]:,.0f})" if ci else ""
    explanation = (
        f"Shpilkin's estimate: {anomaly:,.0f} of {party}'s {leader:,.0f} votes ({anomaly / leader:.1%}) look "
        f"anomalous{ci_text}. Turnout peaks at {est['peak']:.1%}; at or below it {party} got "
        f"{est['ratio']:.3g} votes per vote for the other parties. Assuming that honest stations at higher "
        f"turnout would show the same ratio, that the other parties' votes are genuine, and that the "
        f"low-turnout stations are clean, the leader's votes above that ratio are counted as anomalous. "
        f"Without them turnout would be {details['turnout_clean']:.1%} instead of "
        f"{details['turnout_official']:.1%} and {party}'s share {details['share_clean']:.1%} instead of "
        f"{details['share_official']:.1%}. Bins where the leader did worse than the ratio predicts sum to "
        f"{est['negative']:,.0f} votes and are not subtracted. Places that both vote more and favour the "
        f"leader (villages, some regions) break the assumption and inflate the number, while stuffing at "
        f"stations that stay near the peak is missed; it is an order of magnitude and a reason to look, "
        f"not proof. Estimates region by region (by_level) depend less on mixing different places."
    )
    return TestResult.from_exclusions("excess_votes", ex, anomaly, ci=ci, expected=0.0, details=details,
                                      explanation=explanation, party=party, confidence_level=confidence_level,
                                      method="Shpilkin's clean-ratio estimate; station-bootstrap percentile "
                                             "interval" if ci else "Shpilkin's clean-ratio estimate")
