"""Integer-percentage spikes (Kobak, Shpilkin & Pshenichnikov 2016).

When protocol figures are written to hit a target ("turnout 70%", "result
65%") rather than counted, too many polling stations report a turnout or a
leader's result that is a whole percentage.  The test counts the stations
whose turnout or result lies within 0.05 pp of an integer and compares that
count with what honest counting of the same stations would give: each
station's leader votes and ballots are redrawn as W* ~ Bin(R, W/R) and
B* ~ Bin(N, B/N), which keeps every station's size, so the ordinary
coarseness of small stations (1/3 = 33.3%, 1/2 = 50%) is part of the null.

Definitions follow the paper: turnout = ballots issued / voters on the list
(B/N), result = leader votes / ballots found (valid + invalid, W/R); a
station is used if R > 0, N >= 100 and both percentages are <= 99%.

Null distribution: a station's integer indicator under the null is a
Bernoulli variable whose probability is an exact sum of binomial
probabilities (the mass function over the few counts of a narrow bin, a
regularised incomplete beta per edge of a wide one).  The stations are
independent, so every count the test reports (stations, or stations weighted
by voters, ballots or leader votes; nationally, per region, per whole
percentage) is a sum of independent weighted Bernoulli variables with known
probabilities.  Its expectation is their sum and its upper tail is computed
analytically (``forensics.stats.poisson_binomial``: exact for few stations,
the Lugannani-Rice saddlepoint otherwise), which reaches p-values far below
any Monte Carlo floor at no sampling cost.  ``n_sim > 0`` adds Monte Carlo
replicates of the same null (indicators drawn from uniforms; ``null="draws"``
redraws W* and B* literally) and reports their p-values instead.  The
probabilities do not depend on the grouping: ``integer_percentages_by_group``
computes them once for every group of a level, and the last ones computed are
remembered by content.
"""
from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
from scipy import sparse, special

from ..exclusions import Exclusions
from ..model import as_election
from ..random import ensure_rng
from ..multitest import adjust, adjust_rows
from ._core.binomial import binom_cdf
from ._core.plane import party_column, require_registered
from ._last import LastReading
from .poisson_binomial import grouped_sf
from .registry import register_test
from .result import TestResult

__all__ = ["integer_percentages", "integer_percentages_by_group", "kobak_counts", "is_integer_percent",
           "integer_probabilities"]

#: integers a percentage can sit on
PERCENTS = np.arange(101)
#: weightings of the integer counts: name -> column of ``kobak_counts``
WEIGHTS = {"stations": None, "voters": "N", "ballots": "B", "leader_votes": "W"}
#: the three counts: which percentages make a station "integer"
STATISTICS = ("either", "result", "turnout")
def kobak_counts(election, party=None, min_registered: int = 100, max_value: float = 0.99):
    """Per-station N, B, R, W under the paper's definitions, with the inclusion rules applied.

    Returns ``(frame, exclusions)``: ``frame`` holds the used stations with
    integer columns N (voters on the list), B (ballots issued), R (ballots
    found: valid + invalid), W (the party's votes) and the float columns
    ``turnout`` = B/N and ``result`` = W/R.  The last ones read are kept (per
    thread) for the same table and options: the national and regional
    steps of a scan and the integer verdict read the same; each caller gets
    its own copies.
    """
    e = as_election(election)
    require_registered(e)
    party = party_column(e, party)
    frame, ex = _LAST_COUNTS.get(e.table, (tuple(e.parties), party, min_registered, max_value),
                                 lambda: _read_counts(e, party, min_registered, max_value))
    return frame.copy(deep=False), ex.copy()


#: the last ``kobak_counts`` read
_LAST_COUNTS = LastReading()


def _read_counts(e, party, min_registered, max_value):
    raw = pd.DataFrame({
        "N": e.table["registered"], "B": e.ballots("issued"), "R": e.ballots("cast"), "W": e.table[party],
    }).astype(float)
    ex = Exclusions.for_election(e)
    ex.require(raw.notna().all(axis=1), "missing counts")
    ex.require((raw >= 0).all(axis=1), "negative counts")
    ex.require(raw["R"] > 0, "no ballots found (R = 0)")
    ex.require(raw["N"] >= min_registered, f"fewer than {min_registered} voters on the list")
    with np.errstate(divide="ignore", invalid="ignore"):
        turnout = raw["B"] / raw["N"]
        result = raw["W"] / raw["R"]
    ex.require(turnout <= max_value + 1e-12, f"turnout above {max_value:.0%}")
    ex.require(result <= max_value + 1e-12, f"result above {max_value:.0%}")
    frame = raw[ex.keep].astype(np.int64)
    frame["turnout"] = turnout[ex.keep]
    frame["result"] = result[ex.keep]
    return frame, ex


def is_integer_percent(count, total, tolerance: float = 0.05):
    """(integer?, nearest integer): is 100*count/total within ``tolerance`` pp of an integer?

    Exact integer arithmetic, so values on a bin edge are never decided by
    rounding error.
    """
    count = np.asarray(count, dtype=np.int64)
    total = np.asarray(total, dtype=np.int64)
    nearest = (200 * count + total) // (2 * total)
    scale = _scale(tolerance)
    return scale * np.abs(100 * count - nearest * total) <= total, nearest


def _scale(tolerance: float) -> int:
    """1/tolerance as an integer (tolerance 0.05 -> 20): the exact-arithmetic factor."""
    scale = round(1 / tolerance)
    if not np.isclose(scale * tolerance, 1):
        raise ValueError(f"tolerance must be 1/k for an integer k (0.05, 0.1, 0.025, ...), not {tolerance}")
    return scale


#: the last few (station, integer, probability) triples, keyed by their inputs' bytes: a scan, its regions and
#: its verdicts ask for the same stations' probabilities several times
_RECENT: dict = {}
_RECENT_SIZE = 2


def _bin_probabilities(total, p, tolerance: float, width_sd: float = 5.5):
    """Probability that Bin(total, p) lands in each integer bin.

    Returns a sparse triple (station index, integer, probability) over the
    integers within ``width_sd`` binomial standard deviations of the mean
    (the rest carry less than 1e-7 of the mass).  Stations are handled in
    groups of equal window width so the work stays a dense array, and only
    bins that contain a reachable count are evaluated.  The triple is
    read-only: the same inputs give the same (remembered) arrays.
    """
    total = np.ascontiguousarray(total, dtype=np.int64)
    p = np.ascontiguousarray(p, dtype=float)
    key = (hashlib.blake2b(total.tobytes() + p.tobytes(), digest_size=20).digest(), float(tolerance), width_sd)
    if key not in _RECENT:
        # the smallest integer types that hold them: about 20 entries per station are kept
        triple = _compute_bin_probabilities(total, p, tolerance, width_sd)
        for array in triple:
            array.flags.writeable = False
        while len(_RECENT) >= _RECENT_SIZE:
            _RECENT.pop(next(iter(_RECENT)))
        _RECENT[key] = triple
    return _RECENT[key]


#: stations per block of ``_compute_bin_probabilities`` (its temporaries are about 100 bytes per bin of a block)
_BLOCK_STATIONS = 1 << 14
#: bins of at most this many counts are summed from the probability mass function, wider ones from the cdf
_FEW_COUNTS = 8
#: largest station size whose log-factorials are tabulated; beyond it scipy's pmf is used
_TABLE_MAX = 1_000_000


def _compute_bin_probabilities(total, p, tolerance, width_sd):
    """The triple of ``_bin_probabilities``, station by station (bins in increasing order), computed in blocks of
    stations (memory bounded by the block, not the table) and kept in the smallest integer types as it grows."""
    scale = _scale(tolerance)
    sd = 100 * np.sqrt(p * (1 - p) / total)
    first = np.clip(np.floor(100 * p - width_sd * sd - 1), 0, 100).astype(np.int64)
    widths = np.clip(np.ceil(100 * p + width_sd * sd + 1), 0, 100).astype(np.int64) - first + 1
    top = int(total.max(initial=0))
    log_factorial = special.gammaln(np.arange(top + 1) + 1.0) if top <= _TABLE_MAX else None
    row_type = np.int32 if len(total) < 2**31 else np.int64
    rows, ints, probs = [np.empty(0, row_type)], [np.empty(0, np.int16)], [np.empty(0)]
    for start in range(0, len(total), _BLOCK_STATIONS):
        block = slice(start, start + _BLOCK_STATIONS)
        w = widths[block]
        owner = np.repeat(np.arange(w.size), w)
        k = np.repeat(first[block] - (np.cumsum(w) - w), w) + np.arange(owner.size)
        n = total[block].astype(float)[owner]
        # x is in bin k  <=>  scale*|100x - kn| <= n  <=>  n(scale*k - 1) <= 100*scale*x <= n(scale*k + 1); the
        # products are exact in floats (whole numbers, k's too) and a quotient is never within rounding of a whole
        # number it is not; in place, a block's few arrays are all the temporaries
        edge = k * float(scale)
        lo = np.subtract(edge, 1.0)
        lo *= n
        lo /= 100 * scale
        np.ceil(lo, out=lo)
        np.maximum(lo, 0, out=lo)
        hi = np.add(edge, 1.0, out=edge)
        hi *= n
        hi /= 100 * scale
        np.floor(hi, out=hi)
        np.minimum(hi, n, out=hi)
        keep = np.flatnonzero(hi >= lo)
        owner = owner[keep]
        rows.append((owner + start).astype(row_type))
        ints.append(k[keep].astype(np.int16))
        chances = _interval_probability(lo[keep], hi[keep], total[block], p[block], owner, log_factorial)
        probs.append(np.clip(chances, 0.0, 1.0, out=chances))
    return np.concatenate(rows), np.concatenate(ints), np.concatenate(probs)


def _interval_probability(lo, hi, total, p, owner, log_factorial):
    """P(lo <= Bin(n, p) <= hi) of each bin, the bin of station ``owner`` (size ``total``, probability ``p``).

    A bin a tenth of a percentage point wide holds only a few counts at a
    polling station's size: their binomial probabilities are summed, the
    first from a table of log-factorials and each next one from the ratio
    P(x + 1) / P(x) = (n - x) / (x + 1) * p / (1 - p).  Exact, and several
    times cheaper than two incomplete beta functions, which sum the wider bins.
    """
    n = total.astype(float)[owner]
    q = p[owner]
    out = np.empty(lo.size)
    width = hi - lo + 1
    wide = np.flatnonzero(width > _FEW_COUNTS)
    out[wide] = binom_cdf(hi[wide], n[wide], q[wide]) - binom_cdf(lo[wide] - 1, n[wide], q[wide])
    # all of them, as a slice (no copies), when no bin is wide
    few = np.flatnonzero(width <= _FEW_COUNTS) if wide.size else slice(None)
    lo, n, owner, width = lo[few], n[few], owner[few], width[few]
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        # log P(x) = [log n! + n log(1 - p)] - log x! - log (n - x)! + x log(p / (1 - p)); 0 log 0 = 0
        log_p, log_q = np.maximum(np.log(p), -1e300), np.maximum(np.log1p(-p), -1e300)
        log_odds = log_p - log_q
        if log_factorial is None:
            from scipy import stats  # here: scipy.stats costs a second to import

            mass = stats.binom.pmf(lo, n, q[few])
        else:
            x = lo.astype(np.int64)
            mass = np.exp((log_factorial[total] + total * log_q)[owner] - log_factorial[x] - log_factorial[total[owner] - x]
                          + lo * log_odds[owner])
        odds = np.exp(log_odds)
        summed = mass.copy()
        longer = np.arange(lo.size)
        for step in range(1, _FEW_COUNTS):
            longer = longer[width[longer] > step]
            if longer.size == 0:
                break
            x = lo[longer] + (step - 1)
            mass[longer] *= (n[longer] - x) / (x + 1) * odds[owner[longer]]
            summed[longer] += mass[longer]
    # p = 1 puts all the mass on n, in the bin whose top is n
    out[few] = np.where(p[owner] >= 1, hi[few] == n, summed) if np.any(p >= 1) else summed
    return out


def station_bins(frame: pd.DataFrame, tolerance: float = 0.05) -> tuple:
    """The (station, percent, probability) bins of each station's turnout and result (``kobak_counts`` frame)."""
    return (_bin_probabilities(frame["N"].to_numpy(), frame["turnout"].to_numpy(), tolerance),
            _bin_probabilities(frame["R"].to_numpy(), frame["result"].to_numpy(), tolerance))


def integer_probabilities(frame: pd.DataFrame, tolerance: float = 0.05) -> pd.DataFrame:
    """Each station's chance, under honest counting of its own figures, of a whole-number turnout or result.

    ``frame`` is the output of ``kobak_counts``.  Returns ``turnout``,
    ``result`` and ``either`` probabilities (the two are independent under the
    null: B* ~ Bin(N, B/N) and W* ~ Bin(R, W/R) are drawn separately).
    """
    n = len(frame)
    bins_t, bins_r = station_bins(frame, tolerance)
    p_t = np.bincount(bins_t[0], weights=bins_t[2], minlength=n).clip(0, 1)
    p_r = np.bincount(bins_r[0], weights=bins_r[2], minlength=n).clip(0, 1)
    return pd.DataFrame({"turnout": p_t, "result": p_r, "either": 1 - (1 - p_t) * (1 - p_r)}, index=frame.index)


def _draw_indicators(rng, prob, frame, tolerance, null, size):
    """(size x n) boolean integer indicators for turnout and result under the null."""
    if null == "exact":
        return rng.random((size, prob.shape[0])) < prob[:, 0], rng.random((size, prob.shape[0])) < prob[:, 1]
    b = rng.binomial(frame["N"].to_numpy(), frame["turnout"].to_numpy(), size=(size, len(frame)))
    w = rng.binomial(frame["R"].to_numpy(), frame["result"].to_numpy(), size=(size, len(frame)))
    return (is_integer_percent(b, frame["N"].to_numpy()[None, :], tolerance)[0],
            is_integer_percent(w, frame["R"].to_numpy()[None, :], tolerance)[0])


@register_test("integer_percentages")
def integer_percentages(election, party=None, n_sim: int = 0, rng=None, tolerance: float = 0.05,
                        min_registered: int = 100, max_value: float = 0.99, breakdown: str | None = "region",
                        null: str = "exact", chunk: int = 2_000_000) -> TestResult:
    """Excess of polling stations whose turnout or leader's result is a whole percentage.

    ``statistic`` is the observed number of stations whose turnout (B/N) or
    result (W/R) lies within ``tolerance`` pp of an integer; ``expected`` the
    mean of that count under binomial resampling of each station's own
    figures; ``pvalue`` its exact upper tail (Poisson-binomial) or, with
    ``n_sim > 0``, the Monte Carlo p-value (1 + #{sim >= obs})/(1 + n_sim).
    ``details``: ``excess`` and ``null_sd``; ``counts`` (one row per
    statistic either/result/turnout and weighting
    stations/voters/ballots/leader_votes: observed, expected, excess,
    null_sd, pvalue, pvalue_analytic, and with replicates pvalue_mc, mc_mean,
    mc_sd); ``integers`` (per whole percentage 0-100: observed and
    expected stations for turnout and result, z-scores, adjusted p-values);
    ``regions`` (the same split by the ``breakdown`` column); ``stations``
    (turnout and result of every used station, for figures); the party.
    """
    _check_options(null, n_sim)
    frame, ex = kobak_counts(election, party, min_registered, max_value)
    party = party_column(election, party)
    if len(frame) == 0:
        return _empty_result(party, ex)
    batch = _Batch(frame, station_bins(frame, tolerance), np.zeros(len(frame), dtype=np.int64), 1, tolerance,
                   _breakdown(election, frame.index, breakdown))
    return batch.result(0, ex, party, n_sim, rng, null, chunk)


def _check_options(null, n_sim):
    if null not in ("exact", "draws"):
        raise ValueError("null must be 'exact' or 'draws'")
    if n_sim < 0:
        raise ValueError("n_sim must be 0 (analytic p-values) or a number of Monte Carlo replicates")
    if null == "draws" and n_sim == 0:
        raise ValueError("null='draws' draws Monte Carlo replicates: give n_sim > 0")


def integer_percentages_by_group(election, groups: dict, rngs: dict, party=None, n_sim: int = 0,
                                 tolerance: float = 0.05, min_registered: int = 100, max_value: float = 0.99,
                                 breakdown: str | None = "region", null: str = "exact",
                                 chunk: int = 2_000_000) -> dict:
    """``integer_percentages`` of each group of rows at once: {group: TestResult}.

    ``groups`` maps a group's name to the positions of its rows in the
    table, ``rngs`` its name to its random stream.  Each station's null
    probabilities do not depend on the grouping, so they are computed once
    for the whole table (per party: each group's leader by default), and
    every table of every group comes from one pass over the stations; every
    group's result is the one ``integer_percentages`` gives on that group
    alone with the same stream.
    """
    _check_options(null, n_sim)
    e = as_election(election)
    table = e.table
    names = list(groups)
    membership = np.full(len(table), -1)
    for k, name in enumerate(names):
        membership[np.asarray(groups[name], dtype=np.int64)] = k
    leaders = _group_leaders(e, membership, len(names)) if party is None else [party] * len(names)
    out = {}
    for group_party in dict.fromkeys(leaders):
        frame, ex = kobak_counts(e, group_party, min_registered, max_value)
        used = np.flatnonzero(ex.keep.to_numpy())
        mine = np.array([leader == group_party for leader in leaders])
        code = np.where(mine[membership[used]] & (membership[used] >= 0), membership[used], -1)
        batch = _Batch(frame, station_bins(frame, tolerance), code, len(names), tolerance,
                       _breakdown(e, frame.index, breakdown))
        taken = np.flatnonzero(mine)
        excluded = ex.split([np.asarray(groups[names[k]], dtype=np.int64) for k in taken])
        for k, group_ex in zip(taken, excluded):
            if batch.size[k] == 0:
                out[names[k]] = _empty_result(group_party, group_ex)
                continue
            out[names[k]] = batch.result(k, group_ex, group_party, n_sim, ensure_rng(rngs.get(names[k])), null, chunk)
    return {name: out[name] for name in names}


def _group_leaders(e, membership, n_groups) -> list:
    """Each group's party with the most votes (the first such party on a tie), as ``Election.leader``."""
    totals = np.column_stack([
        np.bincount(membership[membership >= 0], weights=pd.to_numeric(e.table[p]).to_numpy(float, na_value=0)
                    [membership >= 0], minlength=n_groups) for p in e.parties])
    return [str(e.parties[j]) for j in totals.argmax(axis=1)]


class _Batch:
    """Every count, expectation and analytic tail of the test, for all groups of used stations in one pass.

    ``code`` gives each used station's group (-1: in none), ``breakdown``
    the (labels, codes) of the column each group's result is split by (or
    None).  Stations are taken in group order (stable, so a group keeps its
    table order) and every sum runs over a group's stations in that order: a
    group's numbers are the ones it gets on its own.
    """

    def __init__(self, frame, bins, code, n_groups, tolerance, breakdown):
        self.frame, self.tolerance, self.n_groups = frame, tolerance, n_groups
        n = len(frame)
        counts = {c: frame[c].to_numpy() for c in ("N", "B", "R", "W")}
        obs_t, k_t = is_integer_percent(counts["B"], counts["N"], tolerance)
        obs_r, k_r = is_integer_percent(counts["W"], counts["R"], tolerance)
        prob = np.column_stack([np.bincount(b[0], weights=b[2], minlength=n) for b in bins]).clip(0, 1)
        self.order = np.argsort(code, kind="stable")[np.sum(code < 0):]
        self.size = np.bincount(code[code >= 0], minlength=n_groups)
        self.starts = np.concatenate([[0], np.cumsum(self.size)])
        o, c = self.order, code[self.order]
        self.observed = {"turnout": obs_t[o], "result": obs_r[o], "either": (obs_t | obs_r)[o]}
        self.p_null = {"turnout": prob[o, 0], "result": prob[o, 1],
                       "either": 1 - (1 - prob[o, 0]) * (1 - prob[o, 1])}
        self.prob = prob[o]
        # every group's stations, counts and whole-percentage tables are slices of one (built on first use)
        self.shares = frame[["turnout", "result"]].take(o)
        self._tables = None
        self.weights = np.column_stack([np.ones(o.size)] + [counts[col][o].astype(float)
                                                            for col in list(WEIGHTS.values())[1:]])
        self._counts(c)
        self._integers(code, bins, k_t, obs_t, k_r, obs_r)
        self._breakdown(c, breakdown)

    def _counts(self, c):
        """(groups x statistics x weightings) observed, expected, sd and analytic upper tail."""
        g, w = self.n_groups, self.weights
        shape = (g, len(STATISTICS), w.shape[1])
        self.obs_sum, self.mean, self.sd = np.empty(shape), np.empty(shape), np.empty(shape)
        for i, s in enumerate(STATISTICS):
            p, hit = self.p_null[s], self.observed[s]
            for j in range(w.shape[1]):
                self.obs_sum[:, i, j] = np.bincount(c, weights=hit * w[:, j], minlength=g)
                self.mean[:, i, j] = np.bincount(c, weights=p * w[:, j], minlength=g)
                self.sd[:, i, j] = np.sqrt(np.bincount(c, weights=p * (1 - p) * w[:, j] ** 2, minlength=g))
        prob = np.concatenate([self.p_null[s] for s in STATISTICS])
        block = np.concatenate([c + g * i for i in range(len(STATISTICS))])
        self.tail = np.empty(shape)
        # stations: Poisson-binomial counts; voters, ballots, leader votes: integer-weighted Bernoulli sums
        self.tail[:, :, 0] = grouped_sf(self.obs_sum[:, :, 0].T.ravel(), prob, block, g * len(STATISTICS)
                                        ).reshape(len(STATISTICS), g).T
        # one weighting at a time: a group's tail is its own, and the events of one call are a third as many
        for j in range(1, w.shape[1]):
            self.tail[:, :, j] = grouped_sf(self.obs_sum[:, :, j].T.ravel(), prob, block, g * len(STATISTICS),
                                            weights=np.tile(w[:, j], len(STATISTICS))).reshape(len(STATISTICS), g).T

    def _integers(self, code, bins, k_t, obs_t, k_r, obs_r):
        """(groups x 2 x 101) observed and expected stations on each whole percentage, variance, upper tail.

        A whole percentage's count is Poisson-binomial with small
        probabilities.  Its tail is bounded by the Poisson tail of the same
        mean beyond the mean plus one (Hoeffding 1956; Anderson and Samuels
        1967), which is close because each station's chance of a given whole
        percentage is small: p-values valid (never too small) at no cost.
        """
        g = self.n_groups
        shape = (g, 2, 101)
        self.int_obs, self.int_mean, self.int_var = np.zeros(shape), np.zeros(shape), np.zeros(shape)
        for i, (hit, ks, (rows, ints, probs)) in enumerate(((obs_t, k_t, bins[0]), (obs_r, k_r, bins[1]))):
            sel = hit & (code >= 0)
            self.int_obs[:, i, :] = np.bincount(code[sel] * 101 + ks[sel], minlength=g * 101).reshape(g, 101)
            # the bins come station by station, so each (group, whole percentage) cell sums its stations in order;
            # stations in no group are summed in an extra one, left out
            cell = np.where(code < 0, g, code)[rows] * 101
            cell += ints
            size = (g + 1) * 101
            self.int_mean[:, i, :] = np.bincount(cell, weights=probs, minlength=size)[:g * 101].reshape(g, 101)
            variance = np.subtract(1.0, probs)
            variance *= probs
            self.int_var[:, i, :] = np.bincount(cell, weights=variance, minlength=size)[:g * 101].reshape(g, 101)
        with np.errstate(invalid="ignore"):  # the tail where nothing was observed is 1, not pdtrc(-1, mean)
            self.int_tail = np.where(self.int_obs > 0, special.pdtrc(self.int_obs - 1, self.int_mean), 1.0)

    def _breakdown(self, c, breakdown):
        """The 'either' counts of every (group, breakdown label) cell, their null sd and analytic tails at once.

        A cell's stations are summed in the group's order, so each group's
        table is the one it gets alone.
        """
        self.labels = None
        if breakdown is None:
            return
        # the labels as the tables' column type once, not once per table
        self.labels, label = pd.Series(breakdown[0]).array, breakdown[1][self.order]
        cell, self.cell = np.unique(c * len(self.labels) + label, return_inverse=True)
        self.cell_group, self.cell_label = cell // len(self.labels), cell % len(self.labels)
        hit, p = self.observed["either"].astype(float), self.p_null["either"]
        n_cells = cell.size
        self.cell_used = np.bincount(self.cell, minlength=n_cells)
        self.cell_obs = np.bincount(self.cell, weights=hit, minlength=n_cells)
        self.cell_mean = np.bincount(self.cell, weights=p, minlength=n_cells)
        self.cell_sd = np.sqrt(np.bincount(self.cell, weights=p * (1 - p), minlength=n_cells))
        self.cell_tail = grouped_sf(self.cell_obs, p, self.cell, n_cells)

    def _groups(self, k, part):
        """Group ``k``'s (labels, codes) of the breakdown column and the slice of its cells, or None."""
        if self.labels is None:
            return None, None
        cells = slice(*np.searchsorted(self.cell_group, [k, k + 1]))
        return (self.labels[self.cell_label[cells]], self.cell[part] - cells.start), cells

    def _slices(self, k):
        """Group ``k``'s analytic counts table, its first row (the main count) and its whole-percentage table."""
        if self._tables is None:
            self._tables = (_counts_table(self.obs_sum, self.mean, self.sd, self.tail),
                            _integers_table(self.int_obs, self.int_mean, self.int_var, self.int_tail))
        (counts, values), integers = self._tables
        rows = len(STATISTICS) * len(WEIGHTS)
        return (_block(counts, k, rows), {column: v[k * rows] for column, v in values.items()},
                _block(integers, k, PERCENTS.size))

    def result(self, k, ex, party, n_sim, rng, null, chunk) -> TestResult:
        """Group ``k``'s TestResult (Monte Carlo replicates drawn here when ``n_sim``)."""
        part = slice(self.starts[k], self.starts[k + 1])
        index = self.order[part]
        n = index.size
        groups, cells = self._groups(k, part)
        sims = None
        if n_sim:
            sims = _simulate(rng, self.prob[part], self.frame.iloc[index], self.tolerance, null, n_sim,
                             self.weights[part], groups, chunk)
        if sims is None:
            counts, main = self._slices(k)[:2]
        else:
            counts, values = _counts_table(*(a[k:k + 1] for a in (self.obs_sum, self.mean, self.sd, self.tail)), sims)
            main = {column: v[0] for column, v in values.items()}
        details = {
            "party": party,
            "excess": float(main["excess"]),
            "null_sd": float(main["null_sd"]),
            "z": float(main["excess"] / main["null_sd"]) if main["null_sd"] > 0 else 0.0,
            # the count is a sum of independent indicators with known probabilities: its analytic tail
            "pvalue_exact": float(main["pvalue_analytic"]),
            "counts": counts,
            "integers": self._slices(k)[2],
            "n_sim": n_sim,
            "tolerance": self.tolerance,
            "null": null,
            "stations": self.shares.iloc[part],
        }
        if sims is not None:
            details["null_quantiles"] = {q: float(np.quantile(sims["either"][:, 0], q))
                                         for q in (0.025, 0.5, 0.975, 0.999)}
        if groups is not None:
            pvalue = self.cell_tail[cells] if sims is None else _mc_pvalue(sims["groups"], self.cell_obs[cells])
            details["regions"] = _regions_table(groups[0], self.cell_used[cells], self.cell_obs[cells],
                                                self.cell_mean[cells], self.cell_sd[cells], pvalue)
        method = (f"Monte Carlo ({n_sim} binomial re-counts of every station)" if n_sim else
                  "analytic tail of a sum of independent station indicators (Poisson-binomial: exact when small, "
                  "saddlepoint otherwise)")
        return TestResult.from_exclusions(
            "integer_percentages", ex, main["observed"], pvalue=float(main["pvalue"]),
            expected=float(main["expected"]), details=details,
            explanation=_explain(main, self.obs_sum[k] - self.mean[k], self.int_obs[k] - self.int_mean[k], details, n,
                                 party),
            party=party, alternative="greater", method=method,
        )


integer_percentages.grouped = integer_percentages_by_group


#: what the nation and region steps of a scan and the integer verdict all read: the stations' null probabilities
#: (of the leader), computed once per process (``_bin_probabilities``), so a scan runs them in one process
integer_percentages.shared_work = "the integer test's station probabilities"


def _breakdown(e, index, breakdown):
    """(labels, codes) of the breakdown column for the used stations, or None."""
    if breakdown is None or breakdown not in e.table.columns:
        return None
    codes, labels = pd.factorize(e.table.loc[index, breakdown].astype(str), sort=True)
    return np.asarray(labels), codes


def _simulate(rng, prob, frame, tolerance, null, n_sim, weights, groups, chunk):
    """Null replicates of every weighted count, drawn in chunks of about ``chunk`` cells."""
    n = prob.shape[0]
    size = max(1, min(n_sim, chunk // n))
    out = {s: [] for s in STATISTICS}
    out["groups"] = []
    onehot = None
    weights_t = np.ascontiguousarray(weights.T)
    if groups is not None:
        onehot = sparse.csr_matrix((np.ones(n), (np.arange(n), groups[1])), shape=(n, len(groups[0])))
    done = 0
    while done < n_sim:
        m = min(size, n_sim - done)
        ind_t, ind_r = _draw_indicators(rng, prob, frame, tolerance, null, m)
        ind = {"turnout": ind_t, "result": ind_r, "either": ind_t | ind_r}
        for s in STATISTICS:  # weights first: the products are exact integers, so the order of the sums is free
            out[s].append((weights_t @ ind[s].T.astype(float)).T)
        if onehot is not None:
            out["groups"].append(np.asarray((onehot.T @ ind["either"].T.astype(float))).T)
        done += m
    return {k: (np.vstack(v) if v else None) for k, v in out.items()}


def _mc_pvalue(null, observed):
    """(1 + #{null >= observed}) / (1 + n_sim), columnwise."""
    return (1 + (null >= np.asarray(observed)[None, ...] - 1e-9).sum(axis=0)) / (1 + null.shape[0])


def _counts_table(obs, mean, sd, tail, sims=None) -> tuple:
    """Observed vs null for each statistic and weighting of every group ((groups x statistics x weightings) arrays).

    One row per group, statistic and weighting, statistic by statistic (so
    a group's first row is its main count: either percentage, stations);
    ``sims``, one group's replicates, adds the Monte Carlo columns and makes
    them the p-values.  Returns the table and its columns as arrays.
    """
    shape = obs.shape
    if sims is not None:
        mc = np.array([_mc_pvalue(sims[s], obs[0, i]) for i, s in enumerate(STATISTICS)])[None]
        mc_mean = np.array([sims[s].mean(axis=0) for s in STATISTICS])[None]
        mc_sd = np.array([sims[s].std(axis=0, ddof=1) if len(sims[s]) > 1 else np.full(shape[2], np.nan)
                          for s in STATISTICS])[None]
    else:
        mc = mc_mean = mc_sd = np.full(shape, np.nan)
    values = dict(zip(["observed", "expected", "excess", "null_sd", "mc_mean", "mc_sd", "pvalue", "pvalue_analytic",
                       "pvalue_mc"], (np.asarray(v, dtype=float).ravel() for v in
                                      (obs, mean, obs - mean, sd, mc_mean, mc_sd, tail if sims is None else mc, tail, mc))))
    names = (np.repeat(STATISTICS, len(WEIGHTS)), np.tile(list(WEIGHTS), len(STATISTICS)))
    table = pd.DataFrame({"statistic": pd.Series(np.tile(names[0], shape[0])).array,
                          "weight": pd.Series(np.tile(names[1], shape[0])).array} | values)
    return table, values


def _integers_table(obs, mean, var, tail):
    """Per group and whole percentage: observed vs expected stations for turnout and result ((groups x 2 x 101)
    arrays; each group's family of p-values adjusted on its own)."""
    columns = {}
    for i, name in enumerate(("turnout", "result")):
        sd = np.sqrt(var[:, i])
        with np.errstate(divide="ignore", invalid="ignore"):
            z = np.where(var[:, i] > 0, (obs[:, i] - mean[:, i]) / sd, 0.0)
        columns.update({f"{name}_observed": obs[:, i], f"{name}_expected": mean[:, i],
                        f"{name}_excess": obs[:, i] - mean[:, i], f"{name}_sd": sd, f"{name}_z": z,
                        f"{name}_pvalue_adj": adjust_rows(tail[:, i])})
    return pd.DataFrame({"percent": np.tile(PERCENTS, obs.shape[0])}
                        | {name: np.asarray(v, dtype=float).ravel() for name, v in columns.items()})


def _block(table, k, rows):
    """Rows ``k * rows`` to ``(k + 1) * rows`` of ``table`` as a table of their own (index from 0)."""
    part = table.iloc[k * rows:(k + 1) * rows]
    part.index = pd.RangeIndex(rows)
    return part


def _regions_table(labels, n_used, obs, mean, sd, pvalue):
    """Observed vs null 'either' counts per breakdown label, with BH-adjusted p-values, largest excess first."""
    table = pd.DataFrame({"group": labels, "n_used": n_used, "observed": obs, "expected": mean, "excess": obs - mean,
                          "null_sd": sd, "pvalue": pvalue, "pvalue_adj": adjust(pvalue)})
    return table.sort_values("excess", ascending=False, ignore_index=True)


def _empty_result(party, ex):
    return TestResult.from_exclusions(
        "integer_percentages", ex, party=party, details={"party": party},
        explanation="No polling station met the inclusion rules (ballots found, at least the minimum "
                    "number of voters on the list, turnout and result at most 99%), so the "
                    "integer-percentage test could not be run.",
    )


def _explain(main, excess, int_excess, details, n, party) -> str:
    res = {"excess": excess[STATISTICS.index("result"), 0]}
    tur = {"excess": excess[STATISTICS.index("turnout"), 0]}
    z = main["excess"] / main["null_sd"] if main["null_sd"] > 0 else 0.0
    top = PERCENTS[np.argsort(-int_excess.sum(axis=0), kind="stable")[:3]].tolist()
    how = "Monte Carlo" if details["n_sim"] else "exact tail"
    verdict = (f"That is {z:.1f} standard deviations more than expected; honest counting would give a count "
               f"this high with probability about {main['pvalue']:.2g} ({how})."
               if main["excess"] > 0 else
               "That is not more than honest counting of stations of these sizes would produce.")
    return (
        f"We checked how many of {n:,} polling stations report a turnout (ballots issued / voters on "
        f"the list) or a result for {party} (votes / ballots found) within {details['tolerance']:g} percentage "
        f"points of a whole percentage. {int(main['observed']):,} do, against {main['expected']:.0f} expected "
        f"if every station's figures came from honest counting of voters (an excess of {main['excess']:.0f}: "
        f"{res['excess']:.0f} from results, {tur['excess']:.0f} from turnout). {verdict} "
        f"The percentages that stand out most are {', '.join(f'{k}%' for k in top)}. Whole percentages are "
        "what a commission would write if it reported a target figure instead of a count; an excess is a reason "
        "to look at these stations, not proof of manipulation."
    )
