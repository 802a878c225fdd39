"""Station evidence: which polling stations to look at first, each on its own evidence.

A station is flagged only for something unlikely by chance at that station:

``ARITHMETIC``
    its protocol breaks a control relation of the form (an error of the
    reconciliation rules; rules about the voter list are not applied where
    there is no list).  Certain: the protocol cannot be right as written.
``CLUSTER_100``
    100% turnout (99.5% or more, not above 100%) with at least 95% of the
    ballots for the party, at a station of 100 or more voters (below that,
    or with more ballots than voters on the list, honest stations do it).
    The reconciliation warning about exactly 100% turnout is the same fact
    and is not counted again.
``LEADER_EXCESS``
    far more votes for the party, relative to the others' votes, than its
    neighbourhood (the runs of consecutive stations of ``neighbourhoods``)
    gives: the log ratio of party to other ballots minus the neighbourhood's
    (without the station), divided by its binomial standard error and the
    region's extra spread, beyond the point that honest stations pass once
    in 1,000 (``RATE``).  Heavy tails are allowed for: the threshold is
    widened by how far the region's lower tail (which stuffing and vote
    transfers do not reach) is from the normal one.  Not counted again at a
    CLUSTER_100 station.

Whole-number turnout or share (``integer_turnout``, ``integer_share``) are
columns that feed the group test: at about 1 station in 10 they happen by
chance, so they never flag a station.  ``evidence`` is the strength of the
strongest flag, -log10 of its chance under honest counting (300 for an
arithmetic error, which chance cannot produce); the review order follows it.
``expected`` in the summary is the number of stations flagged without any
manipulation: for ``LEADER_EXCESS`` the larger of its 1-in-1,000 rate and
the rate measured on clean simulated elections (where closed institutions
and stations abroad, which do vote unlike their neighbours, raise it), for
the cluster its measured rate, none for arithmetic
(``forensics.verdicts.calibration.flag_rate``).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import special

from ..exclusions import Exclusions
from ..i18n import N_, Formats, Message, translations
from ..model import ID_COLUMNS, as_election
from ..stats._core.binomial import binom_sf
from ..stats._core.plane import party_column
from ..stats.spikes import is_integer_percent
from .arithmetic import error_findings, matched_stations
from .calibration import flag_rate
from .catalogue import CLUSTER_SHARE, CLUSTER_TURNOUT, SMALL_STATION
from .cluster import cluster_stations
from .neighbourhoods import neighbourhoods

__all__ = ["FLAGS", "RATE", "REASONS", "STATION_COLUMNS", "station_evidence", "stations_words", "unjudged"]

#: the per-station false-flag rate of LEADER_EXCESS
RATE = 0.001
#: stations with fewer ballots cast are not judged for LEADER_EXCESS
MIN_BALLOTS = 20
#: cap of the evidence score (and the score of an arithmetic error)
CERTAIN = 300.0

FLAGS = {
    "ARITHMETIC": Message("the protocol breaks a control relation of its form"),
    "CLUSTER_100": Message("%(turnout)s-100%% turnout with at least %(share)s%% of the ballots for the party at a "
                           "station of %(voters)s+ voters", turnout=f"{100 * CLUSTER_TURNOUT:g}",
                           share=f"{100 * CLUSTER_SHARE:g}", voters=SMALL_STATION),
    "LEADER_EXCESS": Message("far more votes for the party, against the others' votes, than its neighbourhood gives "
                             "(beyond what honest stations reach once in %(once_in)s)", once_in=round(1 / RATE)),
}
#: the reason of each flag at one station (filled per station; the arithmetic reason lists the rules broken)
REASONS = {
    "ARITHMETIC": N_("arithmetic error: %(rules)s"),
    "CLUSTER_100": N_("100%% turnout with %(share)s%% for the party at %(voters)s voters on the list (a closed "
                      "institution such as a military unit can vote like this honestly; an ordinary station hardly "
                      "can)"),
    "LEADER_EXCESS": N_("the party's votes against the others' are %(z)s standard errors above its neighbourhood's "
                        "(flag point %(limit)s; stuffing or moved votes do this, and so does a closed institution or "
                        "a station abroad that votes unlike its neighbours)"),
}

STATION_COLUMNS = ["station", *ID_COLUMNS, "registered", "ballots_cast", "turnout", "leader_share",
                   "integer_turnout", "integer_share", "excluded", "flag_codes", "flag_reasons", "n_flags", "evidence",
                   "review_order", "warnings"]


def _leader_excess(e, party, table):
    """(z, threshold, p) per station of the LEADER_EXCESS check (arrays by row, NaN where not judged), and the
    exclusions."""
    cast = e.ballots_cast().astype(float)
    W = table[party].astype(float)
    O = cast - W
    ex = Exclusions.for_election(e)
    ex.require(cast.notna() & W.notna(), "missing counts")
    ex.require(cast >= MIN_BALLOTS, f"fewer than {MIN_BALLOTS} ballots cast")
    ex.require((W >= 0) & (O >= 0), "party votes exceed ballots cast")
    keep = ex.keep.to_numpy(bool)
    kept = np.flatnonzero(keep)
    hood = pd.factorize(neighbourhoods(table.loc[keep, [c for c in ("region", "tec", "pec") if c in table]]))[0]
    w, o = W.to_numpy(float)[keep], O.to_numpy(float)[keep]
    # whole numbers: the neighbourhood sums are exact in any order
    hw = np.bincount(hood, weights=w)[hood] - w
    ho = np.bincount(hood, weights=o)[hood] - o
    judged = (hw + ho) > 0
    ratio = np.log((w + 0.5) / (o + 0.5)) - np.log((hw + 0.5) / (ho + 0.5))
    var = 1 / (w + 0.5) + 1 / (o + 0.5) + 1 / (hw + 0.5) + 1 / (ho + 0.5)
    ratio, var, at = ratio[judged], var[judged], kept[judged]
    codes = pd.factorize(table["region"], use_na_sentinel=False)[0][at] if "region" in table else np.zeros(len(at),
                                                                                                          dtype=int)
    z, limit = np.full(len(table), np.nan), np.full(len(table), np.nan)
    q, q_low = -special.ndtri(RATE), -special.ndtri(0.01)  # the normal's upper quantiles
    order = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[order], np.arange(codes.max(initial=-1) + 2))
    for k in range(len(bounds) - 1):
        idx = order[bounds[k]:bounds[k + 1]]
        r, v = ratio[idx], var[idx]
        if len(r) < 30:
            continue
        centre = np.nanmedian(r)
        spread = (1.4826 * np.nanmedian(np.abs(r - centre))) ** 2
        tau2 = max(spread - np.nanmedian(v), 0.0)
        zi = (r - centre) / np.sqrt(v + tau2)
        low = np.nanquantile(zi, 0.01) if np.isfinite(zi).any() else np.nan
        widen = max(1.0, -low / q_low) if np.isfinite(low) else 1.0
        z[at[idx]], limit[at[idx]] = zi, q * widen
    return z, limit, special.ndtr(-(z / (limit / q))), ex


def station_evidence(election, findings=None, party=None) -> tuple[pd.DataFrame, dict]:
    """One row per input station (``STATION_COLUMNS``) and a summary with the expected number flagged.

    ``findings`` is the reconciliation table (computed when None).  The
    summary holds ``n_stations``, ``n_flagged``, ``share_flagged``,
    ``expected`` / ``share_expected`` (flagged without manipulation),
    ``flag_counts``, ``expected_counts``, ``judged`` (stations each flag could
    judge), ``rate`` and ``words``.
    """
    e = as_election(election)
    party = party_column(e, party)
    t = e.table
    n = len(t)
    ids = {c: (t[c].astype(str).array if c in t else np.full(n, "")) for c in ID_COLUMNS}
    out = pd.DataFrame({"station": np.arange(n), **ids}, index=t.index)
    corner, cluster_ex, frame, _ = cluster_stations(e, party)
    out["registered"] = frame["N"]
    out["ballots_cast"] = frame["cast"]
    out["turnout"] = frame["turnout"]
    out["leader_share"] = frame["share"]
    ok = (frame["N"] >= SMALL_STATION) & (frame["cast"] > 0) & (frame["issued"] <= 0.99 * frame["N"]) & e.published
    for col, count, total in (("integer_turnout", frame["issued"], frame["N"]), ("integer_share", frame["W"], frame["cast"])):
        sel = ok & (count <= 0.99 * total)
        hit, _ = is_integer_percent(count.where(sel, 0).astype(np.int64), total.where(sel, 1).astype(np.int64))
        out[col] = sel & hit

    ex = Exclusions.for_election(e)
    ex.require(frame["N"].fillna(0) > 0, "no voters on the list")
    ex.require(frame["cast"].fillna(0) > 0, "no ballots cast")
    out["excluded"] = ex.reasons.fillna("").astype(str)

    # one array per flag, by row position
    flags = {code: np.zeros(n, dtype=bool) for code in FLAGS}
    evidence = {code: np.zeros(n) for code in FLAGS}
    reasons = {code: np.full(n, "", dtype=object) for code in FLAGS}

    errors = error_findings(e, findings)
    if len(errors):
        text = (errors["code"].astype(str) + ": " + errors["message"].astype(str)).groupby(
            errors["station"].to_numpy()).agg("; ".join)
        at = text.index.to_numpy(np.int64)
        flags["ARITHMETIC"][at] = True
        evidence["ARITHMETIC"][at] = CERTAIN
        reasons["ARITHMETIC"][at] = [REASONS["ARITHMETIC"] % {"rules": x} for x in text]

    in_corner = corner.to_numpy(bool)
    at = np.flatnonzero(in_corner)
    flags["CLUSTER_100"] = in_corner
    honest = _cluster_chance(frame, in_corner)
    evidence["CLUSTER_100"][at] = np.minimum(CERTAIN, -np.log10(np.maximum(honest, 1e-300)))
    reasons["CLUSTER_100"][at] = [REASONS["CLUSTER_100"] % {"share": f"{100 * share:.1f}", "voters": int(v)}
                                  for share, v in zip(frame["share"].to_numpy()[at], frame["N"].to_numpy()[at])]

    z, limit, p, excess_ex = _leader_excess(e, party, t)
    hit = (z > limit) & ~in_corner  # NaN (not judged) compares False
    at = np.flatnonzero(hit)
    flags["LEADER_EXCESS"] = hit
    evidence["LEADER_EXCESS"][at] = np.minimum(CERTAIN, -np.log10(np.maximum(p[at], 1e-300)))
    reasons["LEADER_EXCESS"][at] = [REASONS["LEADER_EXCESS"] % {"z": f"{zi:.1f}", "limit": f"{li:.1f}"}
                                    for zi, li in zip(z[at], limit[at])]

    out["flag_codes"], out["flag_reasons"] = _joined(flags, reasons)
    n_flags = np.sum([flags[code] for code in FLAGS], axis=0).astype(int)
    out["n_flags"] = n_flags
    out["evidence"] = np.where(n_flags > 0, np.max([evidence[code] for code in FLAGS], axis=0), np.nan)
    flagged = np.flatnonzero(n_flags > 0)
    cast = out["ballots_cast"].fillna(-1).to_numpy()[flagged]
    order = flagged[np.lexsort((flagged, -cast, -n_flags[flagged], -out["evidence"].to_numpy()[flagged]))]
    review = np.full(n, -1, dtype=np.int64)
    review[order] = np.arange(1, len(order) + 1)
    out["review_order"] = pd.arrays.IntegerArray(np.maximum(review, 0), review < 0)
    out["warnings"] = _warnings(e, findings, t.index)
    judged = {"ARITHMETIC": int(n), "CLUSTER_100": int(cluster_ex.keep.sum()),
              "LEADER_EXCESS": int((~np.isnan(z)).sum())}
    summary = _summary(out, flags, judged)
    return out[STATION_COLUMNS].reset_index(drop=True), summary


def _joined(flags: dict, reasons: dict) -> tuple[np.ndarray, np.ndarray]:
    """Each station's flag codes joined by ";" and their reasons by " | " (one pass per flag, not per station)."""
    n = len(next(iter(flags.values())))
    codes = np.full(n, "", dtype=object)
    texts = np.full(n, "", dtype=object)
    for code in FLAGS:
        on, reason = flags[code], reasons[code]
        said = on & (reason != "")
        codes[on] = np.where(codes[on] == "", code, codes[on] + ";" + code)
        texts[said] = np.where(texts[said] == "", reason[said], texts[said] + " | " + reason[said])
    return codes, texts


def unjudged(election, reason: str) -> pd.DataFrame:
    """The station table when the evidence cannot be computed: ids, no flags, ``excluded`` says why for every row."""
    e = as_election(election)
    t = e.table
    n = len(t)
    out = pd.DataFrame({"station": np.arange(n),
                        **{c: (t[c].astype(str).to_numpy() if c in t else np.full(n, "")) for c in ID_COLUMNS}})
    for col in ("registered", "ballots_cast", "turnout", "leader_share", "evidence"):
        out[col] = np.nan
    out["integer_turnout"] = out["integer_share"] = False
    out["excluded"] = f"station evidence could not run: {reason}"
    out["flag_codes"] = out["flag_reasons"] = out["warnings"] = ""
    out["n_flags"] = 0
    out["review_order"] = pd.Series(pd.NA, index=out.index, dtype="Int64")
    return out[STATION_COLUMNS]


def _cluster_chance(frame, corner: np.ndarray) -> np.ndarray:
    """Chance that an honest station of this size reaches the corner: binomial tails at the median turnout and
    share (for the ``corner`` stations only)."""
    a = float(np.nanmedian(frame["turnout"][frame["turnout"] <= 1])) if frame["turnout"].notna().any() else 0.5
    s = float(np.nanmedian(frame["share"])) if frame["share"].notna().any() else 0.5
    N, cast = frame["N"].fillna(0).to_numpy()[corner], frame["cast"].fillna(0).to_numpy()[corner]
    p_turnout = binom_sf(np.ceil(CLUSTER_TURNOUT * N) - 1, N, min(a, 0.999))
    p_share = binom_sf(np.ceil(CLUSTER_SHARE * cast) - 1, cast, min(s, 0.999))
    return p_turnout * p_share


def _warnings(e, findings, index) -> pd.Series:
    """Reconciliation warnings per station (codes joined by ";"): shown, never flags."""
    out = pd.Series("", index=index)
    if findings is None or findings.empty or "severity" not in findings or "pec" not in findings:
        return out
    f = findings[(findings["severity"] == "warning") & findings["pec"].notna()]
    keys = [c for c in ID_COLUMNS if c in f.columns and c in e.table.columns]
    if f.empty or not keys:
        return out
    merged = matched_stations(e, f, keys)
    text = np.full(len(index), "", dtype=object)  # codes in sorted order, one vector step per distinct code
    pos, code = merged["station"].to_numpy(), merged["code"].astype(str).to_numpy()
    for name in sorted(set(code)):
        has = np.zeros(len(index), dtype=bool)
        has[pos[code == name]] = True
        text[has] = np.where(text[has] == "", name, text[has] + ";" + name)
    out[:] = text
    return out


def _summary(out, flags, judged) -> dict:
    n = len(out)
    flagged = int((out["n_flags"] > 0).sum())
    counts = {c: int(flags[c].sum()) for c in FLAGS}
    measured = flag_rate("LEADER_EXCESS")
    expected = {"ARITHMETIC": 0.0, "CLUSTER_100": judged["CLUSTER_100"] * (flag_rate("CLUSTER_100") or 0.0),
                "LEADER_EXCESS": judged["LEADER_EXCESS"] * max(RATE, measured or 0.0)}
    total_expected = float(sum(expected.values()))
    summary = {"n_stations": n, "n_flagged": flagged, "share_flagged": flagged / n if n else 0.0,
               "expected": total_expected, "share_expected": total_expected / n if n else 0.0,
               "flag_counts": counts, "expected_counts": expected, "judged": judged, "rate": RATE,
               "measured_rate": measured}
    return {**summary, "words": stations_words(summary)}


def stations_words(summary: dict, lang: str = "en") -> str:
    """The station evidence in plain words (in ``lang``): flagged against expected, and what a flag means."""
    tr, f = translations(lang), Formats(lang)
    _ = tr.gettext
    n, flagged = summary["n_stations"], summary["n_flagged"]
    words = tr.ngettext(
        "%(flagged)s of %(n)s station (%(share)s) is flagged on its own evidence, against about %(expected)s "
        "(%(share_expected)s) expected without any manipulation: %(counts)s.",
        "%(flagged)s of %(n)s stations (%(share)s) are flagged on their own evidence, against about %(expected)s "
        "(%(share_expected)s) expected without any manipulation: %(counts)s.", n) % {
        "flagged": f.number(flagged), "n": f.number(n), "share": f.percent(summary["share_flagged"]),
        "expected": f.number(summary["expected"]), "share_expected": f.percent(summary["share_expected"]),
        "counts": ", ".join(f"{c} {f.number(k)}" for c, k in summary["flag_counts"].items())}
    once_in = f.number(1 / summary["rate"])
    measured = summary.get("measured_rate")
    if measured is not None:
        words += " " + _("LEADER_EXCESS is set to flag 1 ordinary honest station in %(once_in)s; on clean simulated "
                         "elections it flagged %(measured)s in 1,000, most of them closed institutions and stations "
                         "abroad, which do vote unlike their neighbours.") % {
            "once_in": once_in, "measured": f.number(1000 * measured, 2)}
    else:
        words += " " + _("LEADER_EXCESS is set to flag 1 ordinary honest station in %(once_in)s.") % {
            "once_in": once_in}
    return words + " " + _("Arithmetic errors and the 100%% cluster do not occur on clean simulated protocols. "
                           "Whole-number percentages are listed per station but flag nothing (about 1 station in 10 "
                           "has one by chance). A flag is a reason to look at the protocol, not proof.") % {}
