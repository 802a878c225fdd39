"""Context: descriptive estimates shown beside their range on clean simulated elections.

These numbers describe the election but are not calibrated decisions: on
clean elections with realistic demography they already move far from their
textbook "no fraud" values (Shpilkin's method calls a sizeable share of the
votes anomalous, the second-digit test rejects, the kurtosis and the dip
grow with regional mixtures, Klimek's fit finds "fraud" in heterogeneity).
Each is shown with the median and the 95th and 99th percentiles it reached
on the clean simulations of ``benchmarks/calibrate_verdicts.py``; a value
beyond them is worth a look, never a headline.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ..i18n import N_, translations
from ..levels import NATIONAL
from ..model import as_election
from ..random import ensure_rng
from .calibration import baseline
from .reuse import battery_result

__all__ = ["CONTEXT", "context_values", "context_table", "context_words"]

#: measure -> (title, how to read the number)
CONTEXT = {
    "excess_share": (N_("Shpilkin's excess"), N_("share of the leader's votes above the ratio at the turnout peak")),
    "klimek_fraud": (N_("Klimek's fitted fraud fraction"), N_("f_i + f_e of Klimek's model (incremental + extreme)")),
    "second_digit_mean": (N_("Mean second digit (2BL)"), N_("mean second digit of the party counts (Benford: 4.187)")),
    "kurtosis": (N_("Vote-rate kurtosis"), N_("kurtosis of the standardised log vote rate (normal: 3)")),
    "turnout_dip": (N_("Turnout dip"), N_("Hartigan's dip of turnout, % of stations")),
    "correlation": (N_("Turnout-share correlation"),
                    N_("correlation of the leader's share with turnout, all stations")),
    "leader_slope": (N_("Leader's turnout slope"), N_("extra leader votes per extra voter, all stations pooled")),
    "coarse_F": (N_("Coarse shares (Rozenas)"), N_("% of stations in excess spikes of the leader's share")),
}
#: measures computed by default (coarse shares cost about a minute per 100,000 stations)
DEFAULT_CONTEXT = ("excess_share", "klimek_fraud", "second_digit_mean", "kurtosis", "turnout_dip", "correlation",
                   "leader_slope")


#: measure -> (the battery test whose national result gives it, the party it must be of: "party" / None)
FROM_BATTERY = {
    "excess_share": ("excess_votes", "party"), "klimek_fraud": ("klimek_fit", "party"),
    "second_digit_mean": ("second_digit_test", False), "kurtosis": ("vote_rate_collapse", "party"),
    "turnout_dip": ("dip_test", None), "correlation": ("turnout_share_correlation", "party"),
    "leader_slope": ("turnout_regression", "party"),
}


def _value(name, r):
    """A measure from its test's result (the same number whichever call computed it)."""
    if name == "excess_share":
        return r.statistic / r.details["leader_votes"] if r.details.get("leader_votes") else math.nan
    if name == "second_digit_mean":
        return r.details["mean"] if "mean" in r.details else r.statistic
    if name == "turnout_dip":
        return r.details["effect_percent"]
    return r.statistic


def _one(name, e, party, rng, reuse=None):
    from ..stats import (coarse_shares, dip_test, excess_votes, klimek_fit, second_digit_mean,
                         turnout_regression, turnout_share_correlation, vote_rate_collapse)

    if name in FROM_BATTERY:
        test, of = FROM_BATTERY[name]
        r = battery_result(reuse, test, "nation", NATIONAL, party if of == "party" else of)
        if r is not None:
            return _value(name, r)
    if name == "excess_share":
        return _value(name, excess_votes(e, party, n_sim=0))
    if name == "klimek_fraud":
        return klimek_fit(e, party, rng=rng, n_sim_ci=0, n_sim=0).statistic
    if name == "second_digit_mean":
        return second_digit_mean(e, n_sim=1, rng=rng).statistic
    if name == "kurtosis":
        return vote_rate_collapse(e, party, n_sim=2, rng=rng).statistic
    if name == "turnout_dip":
        return _value(name, dip_test(e, rng=rng))
    if name == "correlation":
        return turnout_share_correlation(e, party).statistic
    if name == "leader_slope":
        return turnout_regression(e, party or e.leader).statistic
    if name == "coarse_F":
        return coarse_shares(e, party, n_sim=200, rng=rng).statistic
    raise KeyError(f"unknown context measure {name!r}; known: {', '.join(CONTEXT)}")


def context_values(election, party=None, measures=DEFAULT_CONTEXT, rng=None, reuse=None) -> dict:
    """{measure: value} for the election (NaN with the reason when a measure cannot run).

    ``reuse``: the scan's results (``forensics.verdicts.reuse``); a measure
    its battery computed nationally (``FROM_BATTERY``) is taken from there
    (for Klimek's fit and the dip, whose fit and jitter draw, the battery's
    draws: the value then matches the scan's test table).
    """
    e = as_election(election)
    rng = ensure_rng(rng)
    out = {}
    for name in measures:
        try:
            out[name] = float(_one(name, e, party, rng, reuse))
        except Exception as exc:  # noqa: BLE001 - context must not stop the verdicts; the reason is kept
            out[name] = math.nan
            out[f"{name}_error"] = f"{type(exc).__name__}: {exc}"
    return out


#: columns of the context table (context.csv)
CONTEXT_COLUMNS = ["measure", "title", "meaning", "value", "clean_median", "clean_q95", "clean_q99", "clean_runs",
                   "beyond_clean_range", "note", "words"]


def _g(x) -> str:
    return f"{x:.3g}"


def context_words(row: dict, lang: str = "en") -> str:
    """One context measure in plain words (in ``lang``), from its row of the context table."""
    _ = translations(lang).gettext
    title, meaning = CONTEXT[row["measure"]]
    title, meaning = _(title), _(meaning)
    value = row["value"]
    if not np.isfinite(value):
        return _("%(title)s: could not be computed (%(reason)s).") % {"title": title,
                                                                       "reason": row["note"] or _("too few stations")}
    if row["clean_runs"]:
        range_words = (_("- beyond the clean range, worth a look.") if row["beyond_clean_range"]
                       else _("- within the clean range."))
        return (_("%(title)s (%(meaning)s): %(value)s; on %(runs)s clean simulated elections median %(median)s, 95%% "
                  "below %(q95)s, 99%% below %(q99)s") % {
            "title": title, "meaning": meaning, "value": _g(value), "runs": int(row["clean_runs"]),
            "median": _g(row["clean_median"]), "q95": _g(row["clean_q95"]), "q99": _g(row["clean_q99"])}
            + " " + range_words + " " + _("Descriptive, not a test."))
    return (_("%(title)s (%(meaning)s): %(value)s (no clean baseline measured).") % {
        "title": title, "meaning": meaning, "value": _g(value)} + " " + _("Descriptive, not a test."))


def context_table(values: dict) -> pd.DataFrame:
    """One row per measure: value, its clean range (from the calibration record), a note and the words."""
    rows = []
    for name in CONTEXT:
        if name not in values:
            continue
        value, base = values[name], baseline(name)
        above = bool(base and np.isfinite(value) and value > base["q99"])
        row = {"measure": name, "title": CONTEXT[name][0], "meaning": CONTEXT[name][1], "value": value,
               "clean_median": base.get("median", math.nan), "clean_q95": base.get("q95", math.nan),
               "clean_q99": base.get("q99", math.nan), "clean_runs": base.get("runs", 0),
               "beyond_clean_range": above, "note": values.get(f"{name}_error", "")}
        rows.append({**row, "words": context_words(row)})
    return pd.DataFrame(rows, columns=CONTEXT_COLUMNS)
