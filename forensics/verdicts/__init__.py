"""Verdicts: calibrated decisions about an election, separate from the tests that feed them.

``verdicts(election)`` runs every headline check nationally and per region
and returns a ``Verdicts`` object (``table``, ``summary()``, ``to_dict()``):

=========== ================================================================
integer     whole-number turnouts or results beyond honest counting (exact tail)
stuffing    inside neighbourhoods, extra ballots that go to one party only
turnout_100 a cluster of regular-size stations at 100% turnout, near-unanimous
digits      last digits of the party counts against the smoothed null
arithmetic  protocols that break a control relation (a fact, not a test)
=========== ================================================================

Each is a ``Verdict``: the statistic, the null that accounts for the benign
explanations (``CHECKS``: what it rules out and what it does not), the
p-value corrected over the nation and the regions (Holm), the effect in
stations, votes or points, the false-alarm rate measured on clean simulated
elections (``benchmarks/calibrate_verdicts.py``), the regions that drive it
and its words.  Descriptive estimates (Shpilkin's excess, Klimek's fit,
2BL, kurtosis, the dip, the turnout-share correlation) are ``context``,
shown beside their range on clean simulated elections.  ``station_evidence``
flags polling stations on their own evidence, with the number expected
without manipulation.  Inside a scan the headlines and measures whose
numbers the battery computes too (``FROM_BATTERY``) are taken from its
results (``forensics.verdicts.reuse``), not computed twice.
"""
from __future__ import annotations

from ..errors import DataError
from ..model import as_election
from ..random import ensure_rng
from .arithmetic import arithmetic_verdict
from .catalogue import CHECKS
from .cluster import cluster_verdict
from .context import CONTEXT, DEFAULT_CONTEXT, context_table, context_values
from .digits import digits_verdict
from .family import decide
from .integer import integer_verdict
from .result import Check, Verdict, Verdicts
from .reuse import reusable
from .stations import FLAGS, STATION_COLUMNS, station_evidence, unjudged
from .stuffing import stuffing_verdict

__all__ = ["verdicts", "station_evidence", "Verdicts", "Verdict", "Check", "CHECKS", "CONTEXT", "FLAGS",
           "STATION_COLUMNS", "HEADLINES", "FROM_BATTERY", "reusable"]

#: the headline checks, in the order the summary gives them
HEADLINES = ("integer", "stuffing", "turnout_100", "digits", "arithmetic")
#: the headlines whose numbers the scan's battery computes too (``reuse``)
FROM_BATTERY = ("digits",)


def verdicts(election, party=None, alpha: float = 0.01, levels=("nation", "region"), findings=None,
             checks=HEADLINES, context=DEFAULT_CONTEXT, stations: bool = True, rng=None, reuse=None) -> Verdicts:
    """Every headline's decision, the context measures and the station evidence for one election.

    ``party``: the party whose results are examined (default: the leader
    nationally, used in every region too); ``alpha``: the level of the
    corrected p-values; ``levels``: "nation" and/or "region"; ``findings``:
    the reconciliation table when already computed (else computed here when
    the arithmetic check or the station evidence needs it); ``checks``: a
    subset of ``HEADLINES``; ``context``: context measures (names of
    ``CONTEXT``, empty for none); ``stations``: also compute the station
    evidence (when it cannot run, every station is listed as not judged,
    with the reason); ``rng``: seed or Generator for the few Monte Carlo steps (the
    headline p-values are exact and do not depend on it); ``reuse``: a scan's
    results computed with the verdicts' parameters (``reusable``), taken
    instead of computing the same numbers again.
    """
    e = as_election(election)
    rng = ensure_rng(rng)
    party = party or (e.leader if e.parties else None)
    unknown = set(checks) - set(HEADLINES)
    if unknown:
        raise ValueError(f"unknown checks {sorted(unknown)}; choose from {', '.join(HEADLINES)}")
    if findings is None and ("arithmetic" in checks or stations):
        from ..reconcile import reconcile

        findings = reconcile(e).table
    runners = {
        "integer": lambda: integer_verdict(e, party, alpha, levels),
        "stuffing": lambda: stuffing_verdict(e, party, alpha, levels),
        "turnout_100": lambda: cluster_verdict(e, party, alpha, levels),
        "digits": lambda: digits_verdict(e, alpha, levels, rng=rng, reuse=reuse),
        "arithmetic": lambda: arithmetic_verdict(e, findings, alpha, levels),
    }
    decided = {code: _run(code, runners[code], party, alpha) for code in HEADLINES if code in checks}
    table = context_table(context_values(e, party, context, rng, reuse)) if context and party else context_table({})
    evidence, summary = None, {}
    if stations:
        try:
            evidence, summary = station_evidence(e, findings, party)
        except (DataError, KeyError) as exc:
            reason = str(exc).strip("'\"")
            evidence, summary = unjudged(e, reason), {"error": reason,
                                                      "words": f"Station evidence could not run: {reason}."}
    return Verdicts(verdicts=decided, context=table, stations=evidence, stations_summary=summary, alpha=alpha,
                    party=party, n_stations=len(e))


def _run(code, runner, party, alpha) -> Verdict:
    """One headline, or a verdict that says why it could not run (missing columns, no parties): never lost."""
    try:
        return runner()
    except (DataError, KeyError, ValueError) as exc:
        return Verdict(check=CHECKS[code], party=party, alpha=alpha, groups=decide([], alpha),
                       note=f"could not run: {exc}")
