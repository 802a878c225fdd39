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

Speed: a station's integer indicator under the null is a Bernoulli variable
whose probability is an exact sum of binomial probabilities (the mass
function over the few counts of a narrow bin, a regularised incomplete beta
per edge of a wide one).  Monte Carlo replicates then draw these indicators
from uniforms, which is the same null distribution as drawing W*, B* and
rounding them, but about twenty times faster; ``null="draws"`` does the
literal binomial draws for checking.  The probabilities do not depend on the
grouping: ``integer_percentages_by_group`` computes them once for every
group of a level, and the last ones computed are remembered by content.
"""
from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
from scipy import sparse, stats

from ..exclusions import Exclusions
from ..model import as_election
from ..random import ensure_rng
from ..multitest import adjust
from ._core.binomial import binom_cdf
from ._core.plane import party_column, require_registered
from .poisson_binomial import poisson_binomial_sf
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
    ``turnout`` = B/N and ``result`` = W/R.
    """
    e = as_election(election)
    require_registered(e)
    party = party_column(e, party)
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
        rows, ints, probs = _compute_bin_probabilities(total, p, tolerance, width_sd)
        # the smallest integer types that hold them: about 20 entries per station are kept
        triple = (rows.astype(np.int32 if len(total) < 2**31 else np.int64), ints.astype(np.int16), probs)
        for array in triple:
            array.flags.writeable = False
        while len(_RECENT) >= _RECENT_SIZE:
            _RECENT.pop(next(iter(_RECENT)))
        _RECENT[key] = triple
    return _RECENT[key]


def _compute_bin_probabilities(total, p, tolerance, width_sd):
    scale = _scale(tolerance)
    sd = 100 * np.sqrt(p * (1 - p) / total)
    first = np.clip(np.floor(100 * p - width_sd * sd - 1), 0, 100).astype(np.int64)
    last = np.clip(np.ceil(100 * p + width_sd * sd + 1), 0, 100).astype(np.int64)
    widths = last - first + 1
    rows, ints, probs = [], [], []
    for w in np.unique(widths):
        sel = np.flatnonzero(widths == w)
        k = first[sel, None] + np.arange(w)[None, :]
        n = np.broadcast_to(total[sel, None], k.shape)
        # x is in bin k  <=>  scale*|100x - kn| <= n  <=>  n(scale*k - 1) <= 100*scale*x <= n(scale*k + 1)
        lo = np.maximum(-((-n * (scale * k - 1)) // (100 * scale)), 0)
        hi = np.minimum((n * (scale * k + 1)) // (100 * scale), n)
        keep = hi >= lo
        q = np.broadcast_to(p[sel, None], k.shape)[keep]
        rows.append(np.broadcast_to(sel[:, None], k.shape)[keep])
        ints.append(k[keep])
        probs.append(_interval_probability(lo[keep], hi[keep], n[keep], q))
    return np.concatenate(rows), np.concatenate(ints), np.clip(np.concatenate(probs), 0.0, 1.0)


#: bins of at most this many counts are summed from the probability mass function, wider ones from the cdf
_FEW_COUNTS = 8


def _interval_probability(lo, hi, n, p):
    """P(lo <= Bin(n, p) <= hi), elementwise (lo <= hi).

    A bin a tenth of a percentage point wide holds only a few counts at a
    polling station's size; summing their binomial probabilities is exact
    and several times cheaper than two incomplete beta functions.
    """
    out = np.empty(len(lo))
    width = hi - lo + 1
    few = width <= _FEW_COUNTS
    wide = ~few
    out[wide] = binom_cdf(hi[wide], n[wide], p[wide]) - binom_cdf(lo[wide] - 1, n[wide], p[wide])
    cells = np.flatnonzero(few)
    counts = width[cells]
    owner = np.repeat(np.arange(len(cells)), counts)
    x = lo[cells][owner] + (np.arange(owner.size) - np.repeat(np.cumsum(counts) - counts, counts))
    mass = stats.binom.pmf(x, n[cells][owner], p[cells][owner])
    out[cells] = np.bincount(owner, weights=mass, minlength=len(cells))
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
def integer_percentages(election, party=None, n_sim: int = 1000, rng=None, tolerance: float = 0.05,
                        min_registered: int = 100, max_value: float = 0.99, breakdown: str | None = "region",
                        null: str = "exact", chunk: int = 2_000_000) -> TestResult:
    """Excess of polling stations whose turnout or leader's result is a whole percentage.

    ``statistic`` is the observed number of stations whose turnout (B/N) or
    result (W/R) lies within ``tolerance`` pp of an integer; ``expected`` the
    mean of that count under binomial resampling of each station's own
    figures; ``pvalue`` the Monte Carlo p-value (1 + #{sim >= obs})/(1 + n_sim)
    over ``n_sim`` replicates.  ``details``: ``excess`` and ``null_sd``;
    ``counts`` (one row per statistic either/result/turnout and weighting
    stations/voters/ballots/leader_votes: observed, expected, excess,
    null_sd, pvalue); ``integers`` (per whole percentage 0-100: observed and
    expected stations for turnout and result, z-scores, adjusted p-values);
    ``regions`` (the same split by the ``breakdown`` column); ``stations``
    (turnout and result of every used station, for figures); the party.
    """
    _check_options(null, n_sim)
    frame, ex = kobak_counts(election, party, min_registered, max_value)
    party = party_column(election, party)
    if len(frame) == 0:
        return _empty_result(party, ex)
    bins = station_bins(frame, tolerance)
    return _integer_result(election, frame, ex, party, bins, n_sim, rng, tolerance, breakdown, null, chunk)


def _check_options(null, n_sim):
    if null not in ("exact", "draws"):
        raise ValueError("null must be 'exact' or 'draws'")
    if n_sim < 1:
        raise ValueError("n_sim must be at least 1")


def integer_percentages_by_group(election, groups: dict, rngs: dict, party=None, n_sim: int = 1000,
                                 tolerance: float = 0.05, min_registered: int = 100, max_value: float = 0.99,
                                 breakdown: str | None = "region", null: str = "exact",
                                 chunk: int = 2_000_000) -> dict:
    """``integer_percentages`` of each group of rows at once: {group: TestResult}.

    ``groups`` maps a group's name to the positions of its rows in the
    table, ``rngs`` its name to its random stream.  Each station's null
    probabilities do not depend on the grouping, so they are computed once
    for the whole table (per party: each group's leader by default) and
    sliced; every group's result is the one ``integer_percentages`` gives
    on that group alone with the same stream.
    """
    _check_options(null, n_sim)
    e = as_election(election)
    table = e.table
    prepared, out = {}, {}
    names = {name: k for k, name in enumerate(groups)}
    membership = np.full(len(table), -1)
    for name, positions in groups.items():
        membership[np.asarray(positions)] = names[name]
    for name, positions in groups.items():
        positions = np.asarray(positions)
        sub = e.with_table(table.iloc[positions]) if party is None else None
        group_party = party_column(sub, None) if party is None else party
        if group_party not in prepared:
            frame, ex = kobak_counts(e, group_party, min_registered, max_value)
            used = np.flatnonzero(ex.keep.to_numpy())
            bins = station_bins(frame, tolerance)
            prepared[group_party] = (frame, ex, used, bins, {})
        frame, ex, used, bins, _ = prepared[group_party]
        in_group = membership[used] == names[name]
        group_ex = Exclusions(table.index[positions])
        group_ex.keep = ex.keep.iloc[positions]
        group_ex.reasons = ex.reasons.iloc[positions]
        group_frame = frame[in_group]
        if len(group_frame) == 0:
            out[name] = _empty_result(group_party, group_ex)
            continue
        group_bins = tuple(split[names[name]] for split in _split_bins(prepared[group_party], membership[used]))
        group_e = sub if sub is not None else e.with_table(table.iloc[positions])
        out[name] = _integer_result(group_e, group_frame, group_ex, group_party, group_bins, n_sim,
                                    ensure_rng(rngs.get(name)), tolerance, breakdown, null, chunk)
    return out


def _split_bins(prepared, code):
    """Both (station, integer, probability) triples split by group (``code`` of each used station), once.

    Returns, per triple, {group code: its triple} with stations renumbered
    within the group and entries in their original order, so every sum over
    them is the one a group computed on its own would give.
    """
    _, _, _, bins, cache = prepared
    if "split" not in cache:
        order = np.argsort(code, kind="stable")
        local = np.empty(len(code), dtype=np.int64)
        bounds = np.searchsorted(code[order], np.arange(code.max(initial=-1) + 2))
        for k in range(len(bounds) - 1):
            local[order[bounds[k]:bounds[k + 1]]] = np.arange(bounds[k + 1] - bounds[k])
        cache["split"] = []
        for rows, ints, probs in bins:
            entry = code[rows]
            by = np.argsort(entry, kind="stable")
            edges = np.searchsorted(entry[by], np.arange(code.max(initial=-1) + 2))
            cache["split"].append({k: (local[rows[by[edges[k]:edges[k + 1]]]], ints[by[edges[k]:edges[k + 1]]],
                                       probs[by[edges[k]:edges[k + 1]]]) for k in range(len(edges) - 1)})
    return cache["split"]


def _integer_result(e, frame, ex, party, bins, n_sim, rng, tolerance, breakdown, null, chunk) -> TestResult:
    """The test's result from the used stations and their (station, integer, probability) bins."""
    n = len(frame)
    bins_t, bins_r = bins
    obs_t, k_t = is_integer_percent(frame["B"], frame["N"], tolerance)
    obs_r, k_r = is_integer_percent(frame["W"], frame["R"], tolerance)
    observed = {"turnout": obs_t, "result": obs_r, "either": obs_t | obs_r}

    prob = np.column_stack([np.bincount(b[0], weights=b[2], minlength=n) for b in (bins_t, bins_r)]).clip(0, 1)
    p_null = {"turnout": prob[:, 0], "result": prob[:, 1], "either": 1 - (1 - prob[:, 0]) * (1 - prob[:, 1])}

    weights = np.column_stack([np.ones(n)] + [frame[c].to_numpy(float) for c in list(WEIGHTS.values())[1:]])
    groups = _groups(e, frame.index, breakdown)
    sims = _simulate(rng, prob, frame, tolerance, null, n_sim, weights, groups, chunk)

    counts = _counts_table(observed, p_null, weights, sims)
    main = counts.loc[("either", "stations")]
    details = {
        "party": party,
        "excess": float(main["excess"]),
        "null_sd": float(main["null_sd"]),
        # the count is a sum of independent indicators with known probabilities: its exact tail
        "z": float(main["excess"] / main["null_sd"]) if main["null_sd"] > 0 else 0.0,
        "pvalue_exact": poisson_binomial_sf(main["observed"], p_null["either"]),
        "null_quantiles": {q: float(np.quantile(sims["either"][:, 0], q)) for q in (0.025, 0.5, 0.975, 0.999)},
        "counts": counts.reset_index(),
        "integers": _integers_table(k_t[obs_t], k_r[obs_r], bins_t, bins_r),
        "n_sim": n_sim,
        "tolerance": tolerance,
        "null": null,
        "stations": frame[["turnout", "result"]],
    }
    if groups is not None:
        details["regions"] = _regions_table(groups, observed["either"], p_null["either"], sims["groups"])
    return TestResult.from_exclusions(
        "integer_percentages", ex, main["observed"], pvalue=float(main["pvalue"]), expected=float(main["expected"]),
        details=details, explanation=_explain(main, counts, details, n, party), party=party, alternative="greater",
        method=f"Monte Carlo ({n_sim} binomial re-counts of every station)",
    )


integer_percentages.grouped = integer_percentages_by_group


def _groups(e, index, breakdown):
    """(labels, codes) of the breakdown column for the used stations, or None."""
    if breakdown is None or breakdown not in e.table.columns:
        return None
    codes, labels = pd.factorize(e.table.loc[index, breakdown].astype(str), sort=True)
    return labels, codes


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


def _counts_table(observed, p_null, weights, sims):
    """Observed vs null for each statistic and weighting."""
    rows = []
    for s in STATISTICS:
        obs = observed[s].astype(float) @ weights
        mean = p_null[s] @ weights
        sd = np.sqrt((p_null[s] * (1 - p_null[s])) @ weights ** 2)
        pval = _mc_pvalue(sims[s], obs)
        for j, wname in enumerate(WEIGHTS):
            rows.append({"statistic": s, "weight": wname, "observed": obs[j], "expected": mean[j],
                         "excess": obs[j] - mean[j], "null_sd": sd[j], "mc_mean": sims[s][:, j].mean(),
                         "mc_sd": sims[s][:, j].std(ddof=1) if len(sims[s]) > 1 else np.nan,
                         "pvalue": pval[j]})
    return pd.DataFrame(rows).set_index(["statistic", "weight"])


def _integers_table(k_t, k_r, bins_t, bins_r):
    """Per whole percentage: observed vs expected stations for turnout and result."""
    table = pd.DataFrame({"percent": PERCENTS})
    for name, ks, (_, ints, probs) in (("turnout", k_t, bins_t), ("result", k_r, bins_r)):
        obs = np.bincount(ks, minlength=101)[:101].astype(float)
        mean = np.bincount(ints, weights=probs, minlength=101)[:101]
        var = np.bincount(ints, weights=probs * (1 - probs), minlength=101)[:101]
        with np.errstate(divide="ignore", invalid="ignore"):
            z = np.where(var > 0, (obs - mean) / np.sqrt(var), 0.0)
        # one-sided normal approximation with continuity correction
        pval = np.where(var > 0, stats.norm.sf((obs - 0.5 - mean) / np.sqrt(np.where(var > 0, var, 1))), 1.0)
        table[f"{name}_observed"] = obs
        table[f"{name}_expected"] = mean
        table[f"{name}_excess"] = obs - mean
        table[f"{name}_sd"] = np.sqrt(var)
        table[f"{name}_z"] = z
        table[f"{name}_pvalue_adj"] = adjust(pval)
    return table


def _regions_table(groups, observed, p_null, sims):
    """Observed vs null 'either' counts per group, with BH-adjusted Monte Carlo p-values."""
    labels, codes = groups
    obs = np.bincount(codes, weights=observed.astype(float), minlength=len(labels))
    mean = np.bincount(codes, weights=p_null, minlength=len(labels))
    sd = np.sqrt(np.bincount(codes, weights=p_null * (1 - p_null), minlength=len(labels)))
    pval = _mc_pvalue(sims, obs)
    table = pd.DataFrame({"group": np.asarray(labels), "n_used": np.bincount(codes, minlength=len(labels)),
                          "observed": obs, "expected": mean, "excess": obs - mean, "null_sd": sd,
                          "pvalue": pval, "pvalue_adj": adjust(pval)})
    return table.sort_values("excess", ascending=False, ignore_index=True)


def _empty_result(party, ex):
    return TestResult.from_exclusions(
        "integer_percentages", ex, party=party, details={"party": party},
        explanation="No polling station met the inclusion rules (ballots found, at least the minimum "
                    "number of voters on the list, turnout and result at most 99%), so the "
                    "integer-percentage test could not be run.",
    )


def _explain(main, counts, details, n, party) -> str:
    res = counts.loc[("result", "stations")]
    tur = counts.loc[("turnout", "stations")]
    z = main["excess"] / main["null_sd"] if main["null_sd"] > 0 else 0.0
    top = details["integers"].assign(ex=lambda t: t["turnout_excess"] + t["result_excess"])
    top = top.sort_values("ex", ascending=False).head(3)["percent"].tolist()
    verdict = (f"That is {z:.1f} standard deviations more than expected; honest counting would give a count "
               f"this high with probability about {main['pvalue']:.2g} (Monte Carlo)."
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
