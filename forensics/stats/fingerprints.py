"""Election fingerprints: how polling stations spread over turnout and leader share.

Klimek et al. (PNAS 2012) showed that a clean election puts the stations in
one roughly round blob of the (turnout, leader share) plane, while ballot
stuffing drags a "comet tail" toward 100 % turnout and 100 % share.  This
module computes that 2-D histogram (with any bin width and weight), the 1-D
histograms of turnout and share, and the cumulative leader-vote curve over
turnout with its "boost" at high turnout.  The per-station values, bins and
peak finder it shares with the Klimek model and the excess-vote estimate are
in ``_core/plane.py``.
"""
from __future__ import annotations

import numpy as np

from ._core.plane import find_peak, histogram1d, histogram2d, station_values
from ..model import as_election
from .registry import register_test
from .result import TestResult

__all__ = ["fingerprint", "cumulative_votes"]

_WEIGHTS = ("stations", "voters", "ballots", "leader_votes")


def _weights(kept, weights: str) -> np.ndarray:
    if weights not in _WEIGHTS:
        raise ValueError(f"weights must be one of {', '.join(_WEIGHTS)}")
    column = {"stations": None, "voters": "registered", "ballots": "ballots", "leader_votes": "leader"}[weights]
    return np.ones(len(kept)) if column is None else kept[column].to_numpy(float)


def auto_bin_width(n_stations: int) -> float:
    """Bins as fine as the data can fill: a quarter point from 50,000 stations (a grid of whole percentages
    then shows as lines), half a point from 12,500, else one point (about as many stations per occupied cell
    at each size)."""
    return 0.0025 if n_stations >= 50_000 else 0.005 if n_stations >= 12_500 else 0.01


@register_test("fingerprint")
def fingerprint(election, party=None, bin_width: float | str = 0.01, weights: str = "stations",
                turnout: str = "issued", share: str = "valid", corner: float = 0.9) -> TestResult:
    """The 2-D histogram of stations over (turnout, leader share), and its 1-D margins.

    ``details``: ``histogram`` (tidy: ``turnout_bin``, ``share_bin``,
    ``weight``; non-empty cells, lower bin edges), ``turnout_hist`` and
    ``share_hist`` (every bin), ``bin_width``, ``weights``, ``turnout``,
    ``share``; ``bin_width="auto"`` chooses it from the number of stations
    (``auto_bin_width``).  The statistic is descriptive: the fraction of the weight in
    the corner where both turnout and share are at least ``corner`` (90 %),
    where Klimek's extreme fraud piles up; a clean election has almost none.
    """
    kept, ex, party = station_values(election, party, turnout=turnout, share=share)
    return _fingerprint(kept["turnout"].to_numpy(), kept["share"].to_numpy(), _weights(kept, weights), ex, party,
                        bin_width, weights, turnout, share, corner)


def _fingerprint(t, s, w, ex, party, bin_width, weights, turnout, share, corner) -> TestResult:
    """The fingerprint's result from the kept stations' turnout, share and weight."""
    if bin_width == "auto":
        bin_width = auto_bin_width(len(t))
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
        f"{party}'s share ({share} ballots as the base), in {bin_width:.3g}-wide bins, over {len(t):,} "
        f"stations. A clean election looks like one round cloud; ballot stuffing and rewritten protocols "
        f"drag a tail toward 100% turnout and 100% share. {in_corner:.2%} of the {unit} sit where both "
        f"turnout and share are {corner:.0%} or more; in clean elections this corner is nearly empty. "
        f"The picture is a reason to look closer, not proof: compact communities voting as one "
        f"(closed institutions, some ethnic regions) can also sit there."
    )
    return TestResult.from_exclusions("fingerprint", ex, in_corner, details=details, explanation=explanation,
                                      party=party, method="descriptive: share of the weight in the corner")


def _fingerprint_grouped(election, groups, rngs=None, party=None, bin_width: float | str = 0.01,
                         weights: str = "stations", turnout: str = "issued", share: str = "valid",
                         corner: float = 0.9) -> dict:
    """``fingerprint`` of every group in one call: stations read and filtered once, then sliced per group.

    ``groups`` maps a group to the 0-based positions of its rows (``forensics.levels.group_positions``);
    ``rngs`` is accepted for the common grouped interface (the fingerprint draws nothing).  Each result is the
    one ``fingerprint`` gives on the group alone.
    """
    election = as_election(election)
    read = {}  # party -> its stations, read once
    votes = None if party else _party_votes(election)  # read once, for each group's leader
    out = {}
    for group, positions in groups.items():
        name = party or str(election.parties[int(np.argmax(np.nansum(votes[positions], axis=0)))])
        if name not in read:
            kept, ex, _ = station_values(election, name, turnout=turnout, share=share)
            keep = ex.keep.to_numpy()
            read[name] = (kept["turnout"].to_numpy(), kept["share"].to_numpy(), _weights(kept, weights), ex, keep,
                          np.cumsum(keep) - 1)
        t, s, w, ex, keep, row = read[name]
        rows = row[positions][keep[positions]]
        out[group] = _fingerprint(t[rows], s[rows], w[rows], ex.take(positions), name, bin_width, weights,
                                  turnout, share, corner)
    return out


def _party_votes(election) -> np.ndarray:
    """Stations x parties votes (NaN where blank), from which a group's leader is the party with the most votes
    there, as ``Election.leader`` finds it."""
    if not election.parties:
        raise KeyError("the election has no party columns")
    return election.table[list(election.parties)].to_numpy(dtype=float, na_value=np.nan)


fingerprint.grouped = _fingerprint_grouped


@register_test("cumulative_votes")
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
    return TestResult.from_exclusions("cumulative_votes", ex, frac_leader, expected=frac_others, details=details,
                                      explanation=explanation, party=party,
                                      method="descriptive: leader's votes above the clean turnout")
