"""Klimek et al.'s parametric fraud model (PNAS 2012), fitted by simulation.

Each polling station keeps its real number of registered voters N.  Its
fair turnout and leader share are drawn from normal distributions centred on
the peaks of the observed ones.  With probability ``f_i`` the station is
"incremental" fraud: a fraction x ~ |N(0, sigma_x)| of its non-voters is
stuffed for the leader and a fraction x**alpha of the other parties' votes
is moved to the leader; with probability ``f_e`` it is "extreme" fraud, the
same with x close to 1.  ``klimek_fit`` finds the (f_i, f_e, alpha) whose
simulated elections look most like the observed one, by grid search.

Speed: a simulated election is drawn as uniforms only (a scrambled Sobol
sequence, evenly spread over a station's five draws) and scored against any
fair part by quantile transforms; the fit, its null fits and the grid
points all share one (common random numbers), and every bootstrap replicate
draws a fresh one.  The stations are grouped by the uniform that decides
their fraud type, so every grid point's histogram is a sum of three prefix
sums (incremental, extreme, clean) instead of a new simulation.  It
simulates at most 2**14 stations (``SIMULATED_STATIONS``), whatever the
election's size, so a fit costs a few passes over them per value of alpha.
Only the main fit scores the whole grid (its objective is reported); the
bootstrap and null fits find the same minimum by branch and bound
(``_Objective.minimum``), scoring about a fifth of the grid.  The observed
stations are binned once (``_Sample``): a bootstrap replicate is how often
each station is drawn, a weight in the same bin counts and sums.
"""
from __future__ import annotations

import warnings
from functools import partial

import numpy as np
import pandas as pd
from scipy import special

from ..random import ensure_rng
from ._core.bootstrap import percentile_interval, resample_indices
from ._core.plane import _EPS as BIN_EPS
from ._core.plane import (bin_index, find_peak, histogram2d, kde_grid_index, kde_peak, station_values,
                          too_few_text)
from .registry import IMPORTS_SCIPY_STATS, register_test
from .result import TestResult

__all__ = ["QUIRKS", "DEFAULT_GRID", "fair_part", "klimek_simulate", "klimek_fit"]

#: Features of Klimek's original fitter that look like mistakes; off by default.
QUIRKS = ("sigma_v_sqrt2", "sigma_x_double_sqrt")
#: Fewer usable stations than this give no fit (a result saying so).
MIN_STATIONS = 50
#: Stations simulated per grid point when ``iterations`` is not given.
SIMULATED_STATIONS = 2 ** 14
#: Width of the share bins whose fullest one is the share mode (``fair_part``).
_MODE_WIDTH = 0.01
#: Points of ``find_peak``'s kernel-density grid on [0, 1] (step 0.001).
_KDE_POINTS = 1001
#: Consecutive cuts of f_i (and of f_i + f_e) in one box of the grid's branch and bound (``_Objective.minimum``).
_BOX = 8
#: Extreme fraud intensity is 1 - |N(0, 0.075)| (fixed in the model).
SIGMA_EXTREME = 0.075
DEFAULT_GRID = {
    "f_i": np.round(np.arange(0, 1.0001, 0.02), 4),
    "f_e": np.round(np.arange(0, 0.1001, 0.005), 4),
    "alpha": np.array([0.5, 1.0, 1.5, 2.0, 2.5, 3.0]),
}


def _quirks(quirks) -> set:
    chosen = set(QUIRKS) if quirks is True else set(quirks or ())
    unknown = chosen - set(QUIRKS)
    if unknown:
        raise ValueError(f"unknown quirks {sorted(unknown)}; known: {', '.join(QUIRKS)}")
    return chosen


def fair_part(turnout, share, peak: str = "kde", quirks=False) -> dict:
    """Fair-part parameters from station turnouts and leader shares (Klimek's SI, eqs. S1-S2).

    Peaks by ``find_peak`` (``peak="kde"``: Kobak's kernel-density peak;
    ``"klimek"``: the original histogram-drop rule).  The spreads are
    measured on the low side of the peaks, which fraud does not reach:
    sigma_a over stations below both peaks, sigma_v over stations below the
    share peak, sigma_x from the shares above the share mode.  ``quirks``
    restores the original fitter's sqrt(2) in sigma_v and double square
    root in sigma_x (see ``QUIRKS``).
    """
    return _Sample(turnout, share).fair(peak=peak, quirks=quirks)


class _Sample:
    """One data set's stations as the fit reads them: turnout, share and their bins, computed once.

    The fair part and the objective's histogram depend on the stations only
    through bin counts and (masked) sums, so a bootstrap replicate is a vector
    of multiplicities (how often each station is drawn) instead of a new copy
    of the stations, binned again.
    """

    def __init__(self, turnout, share):
        self.turnout, self.share = np.asarray(turnout, float), np.asarray(share, float)
        self.n = self.turnout.size
        self.turnout_grid, self.share_grid = kde_grid_index(self.turnout), kde_grid_index(self.share)
        self.share_bin = bin_index(self.share, _MODE_WIDTH)
        self._cells = {}

    def hist(self, binner: "_Binner", weights=None) -> np.ndarray:
        """The objective's histogram of the (resampled) stations."""
        key = (binner.objective, binner.width)
        if key not in self._cells:
            same = binner.objective == "share" and binner.width == _MODE_WIDTH
            self._cells[key] = self.share_bin if same else binner.cells_of(self.turnout, self.share)
        return np.bincount(self._cells[key], weights, minlength=binner.n_cells).astype(float)

    def _peak(self, values, grid_index, method: str, start_bin: int, weights) -> float:
        if method == "klimek":
            return find_peak(values if weights is None else np.repeat(values, weights.astype(np.int64)),
                             method="klimek", start_bin=start_bin)
        if method != "kde":
            raise ValueError("method must be 'kde' or 'klimek'")
        hist = np.bincount(grid_index, weights, minlength=_KDE_POINTS)
        mean = _mean(values, weights)
        deviation = values - mean
        deviation *= deviation
        return kde_peak(hist, _total(weights, self.n), np.sqrt(_mean(deviation, weights)))

    def fair(self, peak: str = "kde", quirks=False, weights=None) -> dict:
        """``fair_part`` of these stations, each counted ``weights`` times (once when None)."""
        a, v, w = self.turnout, self.share, weights
        q = _quirks(quirks)
        a_peak = self._peak(a, self.turnout_grid, peak, 15, w)
        v_peak = self._peak(v, self.share_grid, peak, 10, w)
        v_mode = float(np.argmax(np.bincount(self.share_bin, w, minlength=int(round(1 / _MODE_WIDTH))))
                       * _MODE_WIDTH)
        low_v = v < v_peak
        sigma_a = _rms(a, a_peak, low_v & (a < a_peak), w)
        sigma_v = _rms(v, v_peak, low_v, w, 2 if "sigma_v_sqrt2" in q else 1)
        spread_x = _rms(v, v_mode, v > v_mode, w)
        sigma_x = np.sqrt(spread_x) if "sigma_x_double_sqrt" in q else spread_x
        return {"turnout_peak": a_peak, "turnout_sd": float(sigma_a), "share_peak": v_peak,
                "share_sd": float(sigma_v), "share_mode": v_mode, "sigma_x": float(sigma_x)}


def _total(weights, n: int) -> float:
    """How many stations n stations counted ``weights`` times are."""
    return float(n) if weights is None else float(weights.sum())


def _mean(values, weights) -> float:
    """Mean of the values, each counted ``weights`` times (once when None)."""
    return values.mean() if weights is None else (values * weights).sum() / weights.sum()


def _rms(values, centre: float, mask, weights, factor: float = 1) -> float:
    """Root mean square deviation from ``centre`` of the (weighted) values where ``mask``; nan if none.
    (``np.compress`` gathers the same values as ``values[mask]``, several times faster.)"""
    if weights is not None:
        weights = np.compress(mask, weights)
        if not weights.any():
            return np.nan
    elif not mask.any():
        return np.nan
    deviation = np.compress(mask, values)
    deviation -= centre
    deviation *= deviation
    return np.sqrt(factor * _mean(deviation, weights))


def _truncnorm(loc, scale, low, high, size, rng):
    """Normal(loc, scale) truncated to [low, high], by inverting the CDF (fast for large n)."""
    return _truncnorm_at(rng.random(size), loc, scale, low, high)


def _truncnorm_at(u, loc, scale, low=0.0, high=1.0):
    """The Normal(loc, scale) truncated to [low, high] at quantiles ``u``."""
    scale = max(scale, 1e-6)
    p_lo, p_hi = special.ndtr((low - loc) / scale), special.ndtr((high - loc) / scale)
    x = np.multiply(u, p_hi - p_lo)
    x += p_lo
    special.ndtri(x, out=x)
    x *= scale
    x += loc
    return np.clip(x, low, high, out=x)


def _truncnorm_fast(loc, scale, size, rng):
    """Normal(loc, scale) truncated to [0, 1] by rejection (the same law as ``_truncnorm``, several
    times cheaper: no inverse CDF); by inversion when less than half the mass lies in [0, 1]."""
    scale = max(scale, 1e-6)
    if special.ndtr((1 - loc) / scale) - special.ndtr(-loc / scale) < 0.5:
        return _truncnorm(loc, scale, 0.0, 1.0, size, rng)
    out = rng.standard_normal(size)
    out *= scale
    out += loc
    bad = np.flatnonzero((out < 0) | (out > 1))
    while bad.size:
        out[bad] = loc + scale * rng.standard_normal(bad.size)
        bad = bad[(out[bad] < 0) | (out[bad] > 1)]
    return out


def _fair_votes(N: np.ndarray, fair: dict, rng):
    """Honest leader and other votes: turnout and share from normals truncated to [0, 1].

    The fair share is a normal truncated to [0, 1] (Kobak's version), not the
    original fitter's renormalised pair of normals, which redraws until both
    fall in range.
    """
    return _votes(N, _truncnorm(fair["turnout_peak"], fair["turnout_sd"], 0.0, 1.0, N.size, rng),
                  _truncnorm(fair["share_peak"], fair["share_sd"], 0.0, 1.0, N.size, rng))


def _votes(N, turnout, share):
    """Leader and other votes of stations of size N at the given turnout and leader share."""
    voters = N * turnout
    return np.rint(voters * share), np.rint(voters * (1 - share))


def _clean_election(N: np.ndarray, fair: dict, rng) -> "_Sample":
    """A clean election drawn from the fair part (the p-value's null), stations without leader votes left
    out as in the fit."""
    # _votes in place: a million stations' fresh arrays cost more than the arithmetic
    voters = _truncnorm_fast(fair["turnout_peak"], fair["turnout_sd"], N.size, rng)
    share = _truncnorm_fast(fair["share_peak"], fair["share_sd"], N.size, rng)
    voters *= N
    W = np.rint(voters * share)
    other = np.subtract(1, share, out=share)
    other *= voters
    V = np.rint(other, out=other)
    V += W
    ok = W > 0  # and V >= W > 0
    if not ok.all():
        N, W, V, voters = N[ok], W[ok], V[ok], voters[ok]
    return _Sample(np.divide(V, N, out=voters), np.divide(W, V, out=W))


def _draw(N: np.ndarray, fair: dict, rng) -> dict:
    """One simulated election's random numbers: fair votes, fraud uniforms and intensities."""
    n = N.size
    W, O = _fair_votes(N, fair, rng)
    return {"W": W, "O": O, "rest": np.maximum(N - W - O, 0), "N": N, "u": rng.random(n),
            "x_inc": _truncnorm(0.0, fair["sigma_x"], 0.0, 1.0, n, rng),
            "x_ext": 1 - _truncnorm(0.0, SIGMA_EXTREME, 0.0, 1.0, n, rng)}


def _apply(d: dict, x, alpha: float):
    """Leader and other votes after fraud of intensity x (x = 0: clean)."""
    stolen = np.rint(x ** alpha * d["O"])
    return d["W"] + np.floor(x * d["rest"]) + stolen, d["O"] - stolen


def _simulate(N: np.ndarray, fair: dict, f_i: float, f_e: float, alpha: float, rng):
    """Leader votes, valid votes and the incremental / extreme masks of one simulated election."""
    if f_i < 0 or f_e < 0 or f_i + f_e > 1:
        raise ValueError("need f_i, f_e >= 0 and f_i + f_e <= 1")
    d = _draw(N, fair, ensure_rng(rng))
    inc = d["u"] < f_i
    ext = ~inc & (d["u"] < f_i + f_e)
    x = np.where(inc, d["x_inc"], np.where(ext, d["x_ext"], 0.0))
    W, O = _apply(d, x, alpha)
    return W, W + O, inc, ext


def klimek_simulate(registered, fair: dict, f_i: float = 0.0, f_e: float = 0.0, alpha: float = 1.0,
                    rng=None) -> pd.DataFrame:
    """Simulate Klimek's model for stations of the given sizes.

    Returns a frame with ``registered``, ``leader``, ``valid`` (leader +
    others), ``turnout`` and ``share`` per station and ``kind`` ('clean',
    'incremental', 'extreme').
    """
    N = np.asarray(registered, float)
    W, V, inc, ext = _simulate(N, fair, f_i, f_e, alpha, rng)
    with np.errstate(divide="ignore", invalid="ignore"):
        return pd.DataFrame({"registered": N, "leader": W, "valid": V, "turnout": V / N,
                             "share": np.where(V > 0, W / V, np.nan),
                             "kind": np.select([inc, ext], ["incremental", "extreme"], "clean")})


class _Binner:
    """Histogram cells of the fitting objective: 1-D share or 2-D (turnout, share)."""

    def __init__(self, objective: str, bin_width: float, distance: str):
        if objective not in ("share", "fingerprint"):
            raise ValueError("objective must be 'share' or 'fingerprint'")
        if distance not in ("klimek", "chisq"):
            raise ValueError("distance must be 'klimek' or 'chisq'")
        self.objective, self.width, self.distance = objective, bin_width, distance
        self.n_bins = int(round(1 / bin_width))
        self.n_cells = self.n_bins ** 2 if objective == "fingerprint" else self.n_bins

    def cells(self, W, V, N) -> np.ndarray:
        """Cell of each station from its votes; stations without votes go to the overflow cell."""
        if self.objective == "share":
            return self.share_cells(W, V)
        ok = V > 0
        safe = np.where(ok, V, 1)
        return np.where(ok, self.cells_of(V / N, W / safe), self.n_cells)

    def share_cells(self, W, V, out=None, work=None) -> np.ndarray:
        """``bin_index(W / V)`` for shares in [0, 1] (W <= V), and the overflow cell where V = 0; V is the
        valid votes of every row of W, or of row 0, of the odd and of the even rows (3 rows).

        When 1 / bin_width is a whole number n, as floor(n W / V): for whole numbers of votes below
        2**26, n W / V is either a whole number (computed exactly) or at least 1 / V from one, so
        neither the division's rounding nor ``bin_index``'s guard can cross a bin edge.  ``out``
        (integers) and ``work`` (floats), of W's shape, take the result and the intermediate values.
        """
        whole = self.n_bins * self.width == 1
        parts = [(slice(None), V)] if V.shape == W.shape else [(0, V[0]), (slice(1, None, 2), V[1]),
                                                                (slice(2, None, 2), V[2])]
        with np.errstate(divide="ignore", invalid="ignore"):
            x = np.multiply(W, float(self.n_bins) if whole else 1.0, out=work)
            for rows, valid in parts:
                x[rows] /= valid
            if not whole:
                x /= self.width
                x += BIN_EPS
            np.floor(x, out=x)
            if out is None:
                out = x.astype(np.intp)
            else:
                out[...] = x
        np.minimum(out, self.n_bins - 1, out=out)
        for rows, valid in parts:
            empty = valid <= 0
            if empty.any():
                out[rows][..., empty] = self.n_cells
        return out

    def cells_of(self, turnout, share) -> np.ndarray:
        cell = bin_index(share, self.width)
        if self.objective == "fingerprint":
            cell = bin_index(turnout, self.width) * self.n_bins + cell
        return cell

    def score(self, sim: np.ndarray, obs: np.ndarray) -> np.ndarray:
        """Distance over the last axis: Klimek's D_K = sum(((S - O) / (O + 1))^2), or the
        symmetric chi-square sum((S - O)^2 / (S + O + 1)).  Overwrites ``sim`` (no temporary copies)."""
        diff = sim - obs
        if self.distance == "klimek":
            diff /= obs + 1
            diff *= diff
        else:
            sim += obs
            sim += 1
            diff *= diff
            diff /= sim
        return diff.sum(axis=-1)


def _block_range(table: np.ndarray):
    """Smallest and largest value over blocks of ``_BOX`` consecutive rows (the second last axis)."""
    *lead, rows, cols = table.shape
    full = rows // _BOX * _BOX
    blocks = table[..., :full, :].reshape(*lead, rows // _BOX, _BOX, cols)
    low, high = blocks.min(axis=-2), blocks.max(axis=-2)
    if full < rows:
        rest = table[..., full:, :]
        low = np.concatenate([low, rest.min(axis=-2, keepdims=True)], axis=-2)
        high = np.concatenate([high, rest.max(axis=-2, keepdims=True)], axis=-2)
    return low, high


def _grid_points(grid: dict) -> pd.DataFrame:
    fi, fe, al = (np.asarray(grid[k], float) for k in ("f_i", "f_e", "alpha"))
    pts = pd.DataFrame([(i, e, a) for a in al for i in fi for e in fe if i + e <= 1 + 1e-12],
                       columns=["f_i", "f_e", "alpha"])
    if pts.empty:
        raise ValueError("the grid has no point with f_i + f_e <= 1")
    return pts


def _simulated_sizes(N: np.ndarray, iterations: int | None):
    """Sizes of the stations simulated for each grid point, and how many real stations one stands for.

    ``iterations`` copies of the real sizes when given.  By default at most
    M = ``SIMULATED_STATIONS``: a large election's systematic sample (every
    (n / M)-th of the sorted sizes, so the sizes' distribution is kept to
    within 1/M in each quantile), a small one's sizes repeated up to four
    times, to about M / 2 stations.
    """
    n = N.size
    if iterations is None and n > SIMULATED_STATIONS:
        pick = ((np.arange(SIMULATED_STATIONS) + 0.5) * (n / SIMULATED_STATIONS)).astype(np.int64)
        return np.sort(N)[pick], n / SIMULATED_STATIONS
    k = iterations or int(np.clip(round(SIMULATED_STATIONS / 2 / n), 1, 4))
    return np.tile(N, k), 1 / k


class _Objective:
    """The fitting objective at every grid point, against a simulated election drawn by ``simulate``.

    The stations of a simulation are grouped into segments by the uniform
    that decides their fraud type, so every grid point's histogram is a sum
    of three prefix sums (incremental, extreme, clean) instead of a new
    simulation.  A simulation holds only uniforms, not votes: it can be
    scored against any fair part (common random numbers).
    """

    def __init__(self, N, points: pd.DataFrame, binner: _Binner, iterations: int | None):
        self.binner, self.points = binner, points
        self.values = points[["f_i", "f_e", "alpha"]].to_numpy(float)
        f_i, f_e, alpha = self.values.T
        self.cuts = np.unique(np.round(np.r_[0.0, 1.0, f_i, f_i + f_e], 10))
        self.i_lo = np.searchsorted(self.cuts, np.round(f_i, 10))
        self.i_hi = np.searchsorted(self.cuts, np.round(f_i + f_e, 10))
        self.alphas = np.unique(alpha)
        self.rows = [np.flatnonzero(alpha == a) for a in self.alphas]
        self.n_seg, self.size = self.cuts.size, binner.n_cells + 1
        self.sizes, self.weight = _simulated_sizes(N, iterations)
        self.boxes = [self._boxes(rows) for rows in self.rows]
        self._buffers = {}

    def _boxes(self, rows: np.ndarray):
        """``minimum``'s boxes of one alpha's grid points: each box's block of f_i cuts and of f_i + f_e
        cuts (``_BOX`` cuts a block), and the box of each point."""
        key = self.i_lo[rows] // _BOX * (self.n_seg + 1) + self.i_hi[rows] // _BOX
        boxes, box_of = np.unique(key, return_inverse=True)
        return boxes // (self.n_seg + 1), boxes % (self.n_seg + 1), box_of

    def simulate(self, rng) -> dict:
        """One simulated election's uniforms and segments.

        Quasi-random: a scrambled Sobol sequence in the five dimensions of a
        station's draws (turnout, share, fraud type, incremental and extreme
        intensity), assigned to the stations in random order.  With 2**m
        stations every margin holds one point in each 1/2**m of [0, 1) and
        the joint points are spread evenly (low discrepancy), so the
        simulated histograms carry far less noise than independent or
        marginally stratified draws of the same size.
        """
        n = self.sizes.size
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # n need not be a power of 2; the first n points stay spread
            from scipy.stats import qmc  # here: scipy.stats costs a second to import

            points = qmc.Sobol(5, scramble=True, seed=rng).random_base2(int(np.ceil(np.log2(n))))[:n]
        # each draw's uniforms contiguous: every fit reads them
        u_turnout, u_share, u, u_x, u_ext = np.take(points.T, rng.permutation(n), axis=1)
        x_ext = 1 - _truncnorm_at(u_ext, 0.0, SIGMA_EXTREME)
        segment = np.clip(np.searchsorted(self.cuts, u, side="right") - 1, 0, self.n_seg - 1)
        return {"u_turnout": u_turnout, "u_share": u_share, "u": u, "u_x": u_x, "x_ext": x_ext, "segment": segment,
                "ext_power": [x_ext ** a for a in self.alphas]}

    def draws(self, sim: dict, fair: dict) -> dict:
        """The simulated election's votes for one fair part (``_draw``'s dictionary)."""
        W, O = _votes(self.sizes, _truncnorm_at(sim["u_turnout"], fair["turnout_peak"], fair["turnout_sd"]),
                      _truncnorm_at(sim["u_share"], fair["share_peak"], fair["share_sd"]))
        return {"W": W, "O": O, "rest": np.maximum(self.sizes - W - O, 0), "N": self.sizes,
                "x_inc": _truncnorm_at(sim["u_x"], 0.0, fair["sigma_x"]), "x_ext": sim["x_ext"]}

    def _buffer(self, name: str, shape, dtype=float) -> np.ndarray:
        """A work array kept between calls: fresh arrays of a megabyte or more cost page faults on every call."""
        size = int(np.prod(shape))
        buffer = self._buffers.get(name)
        if buffer is None or buffer.size < size:
            buffer = self._buffers[name] = np.empty(size, dtype)
        return buffer[:size].reshape(shape)

    def _counts(self, segment, W, V) -> np.ndarray:
        """Per row of W (one simulated election each; V: the valid votes of row 0, of the odd and of the
        even rows), the stations of each histogram cell and segment of the fraud-type uniform
        (rows x cells x segments, the last cell the overflow of stations without votes); all rows in one count."""
        rows = W.shape[0]
        if self.binner.objective == "share":
            key = self.binner.share_cells(W, V, out=self._buffer("key", W.shape, np.intp),
                                          work=self._buffer("work", W.shape))
        else:
            key = self.binner.cells(W, np.r_[V[:1], np.tile(V[1:], (rows // 2, 1))], self.sizes)
        key += (np.arange(rows) * self.size)[:, None]
        key *= self.n_seg
        key += segment
        h = np.bincount(key.ravel(), minlength=rows * self.size * self.n_seg)
        return h.reshape(rows, self.size, self.n_seg)

    def _halves(self, sim: dict, fair: dict, obs: np.ndarray):
        """The observed histogram's active cells and, per alpha, the two halves of every grid point's
        histogram (cuts x cells): the point at (lo, hi) = (f_i, f_i + f_e) has ``below[k, lo] + above[k, hi]``.
        The halves are work arrays, overwritten by the next call."""
        d, n_alpha, n = self.draws(sim, fair), self.alphas.size, self.sizes.size
        # leader votes of the clean election, then of each alpha's incremental and extreme fraud, and the
        # valid votes of the three; _apply's votes, with the part that does not depend on alpha computed
        # once (exact in floats)
        W, V = self._buffer("W", (1 + 2 * n_alpha, n)), self._buffer("V", (3, n))
        W[0] = d["W"]
        np.add(d["W"], d["O"], out=V[0])
        added_inc, added_ext = d["W"] + np.floor(d["x_inc"] * d["rest"]), d["W"] + np.floor(d["x_ext"] * d["rest"])
        np.add(added_inc, d["O"], out=V[1])
        np.add(added_ext, d["O"], out=V[2])
        for k, (a, ext_power) in enumerate(zip(self.alphas, sim["ext_power"])):
            stolen = d["x_inc"] ** a
            stolen *= d["O"]
            np.add(added_inc, np.rint(stolen, out=stolen), out=W[1 + 2 * k])
            np.multiply(ext_power, d["O"], out=stolen)
            np.add(added_ext, np.rint(stolen, out=stolen), out=W[2 + 2 * k])
        h = self._counts(sim["segment"], W, V)
        # a cell empty in the data and in every simulated station scores 0 at every grid point: skip it
        active = np.flatnonzero(obs.astype(bool) | h[:, : self.binner.n_cells].any(axis=0).any(axis=1))
        h = np.take(h, active, axis=1, out=self._buffer("h", (h.shape[0], active.size, self.n_seg), h.dtype),
                    mode="clip")  # "raise" buffers the output
        # prefix[..., m] = histogram of the stations whose fraud-type uniform is below cuts[m]: one running
        # sum over all rows (in integers, exact) less each row's start (many short cumulative sums, or
        # casting inside cumsum, are several times slower)
        running = np.cumsum(h.ravel(), out=self._buffer("running", h.size, h.dtype)).reshape(h.shape)
        prefix = self._buffer("prefix", (h.shape[0], active.size, self.n_seg + 1))
        prefix[:, :, 0] = 0.0
        np.subtract(running, running[:, :, :1] - h[:, :, :1], out=prefix[:, :, 1:])
        clean, inc, ext = (part.transpose(0, 2, 1) for part in (prefix[:1], prefix[1::2], prefix[2::2]))
        # histogram = inc[lo] + ext[hi] - ext[lo] + clean[all] - clean[hi], gathered twice, not four times;
        # written cuts x cells, so a grid point's histogram is one row of each
        below, above = self._buffer("below", inc.shape), self._buffer("above", inc.shape)
        np.subtract(inc, ext, out=below)
        np.subtract(ext, clean, out=above)
        above += clean[:, -1:]
        below *= self.weight
        above *= self.weight
        return obs[active], below, above

    def _score(self, points, below, above, obs) -> np.ndarray:
        sim_hist = below[self.i_lo[points]]
        sim_hist += above[self.i_hi[points]]
        return self.binner.score(sim_hist, obs)

    def __call__(self, sim: dict, fair: dict, obs: np.ndarray) -> np.ndarray:
        """The objective at every grid point."""
        obs, below, above = self._halves(sim, fair, obs)
        score = np.empty(len(self.points))
        for rows, below, above in zip(self.rows, below, above):
            for chunk in np.array_split(rows, max(1, rows.size * obs.size // 2_000_000)):
                score[chunk] = self._score(chunk, below, above, obs)
        return score

    def minimum(self, sim: dict, fair: dict, obs: np.ndarray) -> np.ndarray:
        """The grid points where ``__call__`` is smallest, found by branch and bound (same points, same scores).

        The points are grouped in boxes of ``_BOX`` consecutive cuts for f_i and for f_i + f_e.  In a
        box every cell of the histogram lies between the sums of the halves' smallest and largest
        values over the box's cuts, and each cell's term of the distance is convex with its minimum
        at the observed count, so clamping the observed count into that range bounds the box's
        objective from below.  Boxes are scored exactly in the order of their bounds until the next
        bound exceeds the best score found (plus a margin for rounding): no box left out can hold a
        point as good.
        """
        obs, below, above = self._halves(sim, fair, obs)
        (below_min, below_max), (above_min, above_max) = _block_range(below), _block_range(above)
        bounds = [self.binner.score(np.clip(obs, below_min[k][box_lo] + above_min[k][box_hi],
                                            below_max[k][box_lo] + above_max[k][box_hi]), obs)
                  for k, (box_lo, box_hi, _) in enumerate(self.boxes)]
        # the box with the smallest bound first, then every other box whose bound does not exceed the best
        # score found (the best can only fall, so no box left out can hold a point as good)
        first = min(range(len(bounds)), key=lambda k: bounds[k].min())
        chosen = [np.zeros(b.size, bool) for b in bounds]
        chosen[first][np.argmin(bounds[first])] = True
        found, best = [], np.inf
        for step in ("first", "rest"):
            for k, (rows, (_, _, box_of)) in enumerate(zip(self.rows, self.boxes)):
                if chosen[k].any():
                    points = rows[chosen[k][box_of]]
                    score = self._score(points, below[k], above[k], obs)
                    found.append((points, score))
                    best = min(best, score.min())
            if step == "first":
                chosen = [(b <= best * (1 + 1e-9) + 1e-12) & ~done for b, done in zip(bounds, chosen)]
        return np.sort(np.concatenate([points[score == best] for points, score in found]))

    def fit(self, sample: "_Sample", sim: dict, peak: str, quirks, weights=None, full: bool = False):
        """Fair part, best grid point (ties averaged) and, when ``full``, the objective at every grid point,
        for one data set (its stations counted ``weights`` times)."""
        fair = sample.fair(peak=peak, quirks=quirks, weights=weights)
        obs = sample.hist(self.binner, weights)
        if full:
            score = self(sim, fair, obs)
            best = np.flatnonzero(score == score.min())
        else:
            score, best = None, self.minimum(sim, fair, obs)
        return fair, self.values[best].mean(axis=0), score


@register_test("klimek_fit", renamed={"n_boot": "n_sim_ci", "n_null": "n_sim"})
def klimek_fit(election, party=None, rng=None, grid: dict | None = None, iterations: int | None = None,
               n_sim_ci: int = 20, n_sim: int = 39, quirks=False, peak: str = "kde",
               objective: str = "share", distance: str = "chisq", bin_width: float = 0.01,
               min_registered: int = 100, confidence_level: float = 0.95) -> TestResult:
    """Fit Klimek's fraud model: fractions of incremental (f_i) and extreme (f_e) fraud, and alpha.

    Conventions are Klimek's: turnout = valid / registered, share = leader /
    valid; stations need N >= V > 0, W > 0 and N >= ``min_registered``
    (100, as Klimek did).  The fair part comes from ``fair_part`` (``peak``,
    ``quirks``); the grid search (f_i + f_e <= 1) scores every grid point
    against one simulated election with the real station sizes (repeated
    ``iterations`` times) and takes the argmin (ties averaged).
    ``iterations=None`` simulates at most ``SIMULATED_STATIONS`` (16,384)
    stations: a large election's systematic sample of its sorted sizes, each
    simulated station counting for n / 16,384 real ones, a small one's sizes
    repeated up to four times, to about 8,000 stations.  Its uniforms are a
    scrambled Sobol sequence (``_Objective.simulate``), so the simulated
    histograms carry little noise: on Russia 2011, 2012 and 2018 the
    seed-to-seed sd of f_i is 0.009, 0.009 and 0.067 (0.008, 0.010 and 0.14
    with 50,000 independently stratified stations).  On 56 elections drawn
    from the model with 100,000 stations the mean error of f_i is 0.099 and
    of f_e 0.0035 (0.093 and 0.0032 with 50,000 stratified stations): the
    error is the model's weak identification of f_i (the fit falls in one of
    two near-equal minima), not simulation noise
    (``benchmarks/results/klimek.md``).

    ``objective``: "share" scores the 1-D histogram of leader shares, as
    Klimek's fitter does; "fingerprint" the 2-D (turnout, share) histogram.
    ``distance``: "klimek" is his D_K = sum(((S - O) / (O + 1))^2);
    "chisq" the symmetric sum((S - O)^2 / (S + O + 1)).  Defaults ("share",
    "chisq"), from ``benchmarks/results/fingerprints.md`` section 1 (data
    drawn from the model): the chi-square recovered f_e as well as D_K (mean
    error 0.004 each) and f_i nearly as well (0.12 against 0.11), but D_K
    divides by O + 1 only, so nearly empty bins dominate, and on a simulated
    election with 5 % extreme stuffing it put f_e at 0.08-0.10 where the
    chi-square found 0.05.  The 2-D objective recovered f_e a little better
    (0.002) and f_i no better (0.12), at fifteen times the cost, which would
    rule out the bootstrap and the null fits.

    Interval (``ci``, ``*_ci``): ``n_sim_ci`` bootstrap replicates resample
    the stations, re-estimate the fair part and refit against a fresh
    simulation each (with the real station sizes), so the interval holds the
    simulation's noise as well as the data's; percentile interval at
    ``confidence_level``.  It shows the precision of the
    fit, not a test: f_i is weakly identified when the fraud intensity is
    small, so the interval can exclude 0 on clean data.  p-value: a
    parametric bootstrap of f_i = f_e = 0: ``n_sim`` clean elections
    simulated from the fitted fair part with the real station sizes, each
    fitted the same way against the observed fit's own simulation (given
    that simulation the fit is one fixed function of the data, and the data
    are exchangeable with the null elections under "no fraud", so p stays
    valid), and the observed (f_i, f_e) ranked among them by
    its smaller tail rank (``_null_pvalue``); with the default 39 the
    smallest possible p is 0.025 (0.05 when the null fits' largest f_i
    equals the observed one's rank).  It is calibrated on clean simulated
    elections (section 2 of the benchmark), but it tests against Klimek's
    clean model (one normal turnout, one normal share), so strongly
    heterogeneous honest elections can reject too.  ``n_sim=0`` skips it
    (pvalue None).

    ``details``: ``f_i``, ``f_e``, ``alpha`` with ``*_ci`` and ``*_sd``,
    ``fair`` (peaks and spreads), ``grid`` (tidy objective), ``replicates``
    (bootstrap fits), ``null`` (fits to clean simulations), ``observed``,
    ``fitted`` and ``fair_fingerprint`` (tidy 2-D histograms, 1-pp cells).
    """
    kept, ex, party = station_values(election, party, turnout="valid", share="valid",
                                     min_registered=min_registered, require_leader_votes=True)
    if len(kept) < MIN_STATIONS:
        return TestResult.from_exclusions("klimek_fit", ex, party=party,
                                          explanation=too_few_text(ex.n_used, MIN_STATIONS))
    N = kept["registered"].to_numpy()
    a, v = kept["turnout"].to_numpy(), kept["share"].to_numpy()
    points = _grid_points(grid or DEFAULT_GRID)
    binner = _Binner(objective, bin_width, distance)
    objective_at = _Objective(N, points, binner, iterations)
    fit = partial(objective_at.fit, peak=peak, quirks=quirks)
    sample = _Sample(a, v)

    simulation = objective_at.simulate(rng)
    fair, best, score = fit(sample, simulation, full=True)
    replicates = []
    for _ in range(n_sim_ci):
        # a resample of the stations, as how often each is drawn
        weights = np.bincount(resample_indices(rng, N.size), minlength=N.size).astype(float)
        replicates.append(fit(sample, objective_at.simulate(rng), weights=weights)[1])
    replicates = pd.DataFrame(np.reshape(replicates, (-1, 3)), columns=["f_i", "f_e", "alpha"])
    null = [fit(_clean_election(N, fair, rng), simulation)[1] for _ in range(n_sim)]
    null = pd.DataFrame(np.reshape(null, (-1, 3)), columns=["f_i", "f_e", "alpha"])
    best = pd.Series(best, index=["f_i", "f_e", "alpha"])
    total = float(best["f_i"] + best["f_e"])
    pvalue = _null_pvalue(best, null) if n_sim else None

    details = {name: float(best[name]) for name in ("f_i", "f_e", "alpha")}
    replicates["total"] = replicates["f_i"] + replicates["f_e"]
    for name in ("f_i", "f_e", "alpha", "total"):
        details[f"{name}_ci"] = percentile_interval(replicates[name], confidence_level) if n_sim_ci else None
        details[f"{name}_sd"] = float(replicates[name].std(ddof=1)) if n_sim_ci > 1 else None
    ci_total = details.pop("total_ci")
    fitted = _fingerprint_of(N, *_simulate(N, fair, best["f_i"], best["f_e"], best["alpha"], rng)[:2])
    clean = _fingerprint_of(N, *_simulate(N, fair, 0.0, 0.0, 1.0, rng)[:2])
    details.update(
        fair=fair, objective=objective, quirks=sorted(_quirks(quirks)), peak=peak, iterations=iterations,
        simulated_stations=objective_at.sizes.size,
        grid=points.assign(objective=score), replicates=replicates, null=null,
        observed=histogram2d(a, v, np.ones_like(a), 0.01),
        fitted=fitted, fair_fingerprint=clean,
    )
    ci_text = f" ({confidence_level:.0%} interval {ci_total[0]:.3f} to {ci_total[1]:.3f})" if ci_total else ""
    p_text = (f" Compared with fits to {n_sim} clean elections simulated from the same model, p = {pvalue:.3g}."
              if pvalue is not None else "")
    explanation = (
        f"Klimek's model asks which mix of honest and manipulated stations best reproduces the observed "
        f"spread of {party}'s share over {len(kept):,} stations. Best fit: {details['f_i']:.1%} of stations with "
        f"incremental fraud (some ballots stuffed and some votes moved to the leader), {details['f_e']:.1%} with "
        f"extreme fraud (nearly all non-voters and other votes turned into leader votes), alpha = "
        f"{details['alpha']:.2g}; together {total:.3f}{ci_text}.{p_text} The model assumes honest stations "
        f"share one normal turnout and one normal leader share, so strongly different regions can look like "
        f"fraud; a large fraction is a reason to look at where the tail comes from, not proof."
    )
    return TestResult.from_exclusions(
        "klimek_fit", ex, total, pvalue=pvalue, ci=ci_total, party=party, details=details, explanation=explanation,
        expected=float((null["f_i"] + null["f_e"]).mean()) if n_sim else 0.0, confidence_level=confidence_level,
        alternative="greater" if n_sim else None,
        method=f"grid fit; parametric bootstrap of no fraud ({n_sim} clean fits)" if n_sim else "grid fit")


klimek_fit.shared_work = IMPORTS_SCIPY_STATS  # the scrambled Sobol points of its simulations (scipy.stats.qmc)


def _null_pvalue(best: pd.Series, null: pd.DataFrame) -> float:
    """Monte Carlo p-value of "no fraud" from the fits to clean simulated elections.

    f_i and f_e are tested together by their smaller tail rank: for every
    fit (observed and null) the share of fits with f_i at least as large,
    and likewise for f_e; the statistic is the smaller of the two, and p is
    the share of fits whose statistic is at most the observed one.  Under
    "no fraud" all fits are exchangeable, so p is valid; unlike the sum
    f_i + f_e, extreme fraud is not drowned by the noisier f_i.
    """
    fits = np.vstack([best[["f_i", "f_e"]].to_numpy(float), null[["f_i", "f_e"]].to_numpy(float)])
    tails = (fits[None, :, :] >= fits[:, None, :] - 1e-12).mean(axis=1)
    rank = tails.min(axis=1)
    return float((rank <= rank[0] + 1e-12).mean())


def _fingerprint_of(N, W, V) -> pd.DataFrame:
    """Tidy 2-D histogram (1-pp cells) of simulated stations with votes."""
    ok = V > 0
    return histogram2d(V[ok] / N[ok], W[ok] / V[ok], np.ones(int(ok.sum())), 0.01)
