"""Results of the scan's battery that the verdicts reuse instead of computing them again.

The digits headline and most context measures are numbers the battery
already computes (``last_digit_test``, ``excess_votes``, ``klimek_fit``, ...).  When the scan passes its results, a verdict takes
them as they are; a group the battery did not test (too small for it, or it
failed) is computed by the verdict itself.  A result is reused only when the
battery ran the test with the parameters the verdicts use (``reusable``).
"""
from __future__ import annotations

from ..stats.result import TestResult

__all__ = ["REUSED", "battery_result", "reusable"]

#: test -> the keywords that leave the reused numbers unchanged (anything else set: computed again);
#: ``party`` is matched result by result
REUSED = {
    "last_digit_test": ("n_sim", "rng", "exact_below", "confidence_level"),
    "second_digit_test": ("n_sim", "rng", "exact_below", "confidence_level"),
    "excess_votes": ("party", "n_sim", "rng", "confidence_level"),
    "klimek_fit": ("party", "rng", "n_sim", "n_sim_ci", "confidence_level"),
    "vote_rate_collapse": ("party", "n_sim", "rng", "confidence_level"),
    "dip_test": ("rng",),
    "turnout_share_correlation": ("party",),
    "turnout_regression": ("party",),
}


def reusable(results: dict, calls: dict) -> dict:
    """The part of a scan's ``results`` ({(test, level): {group: results}}) the verdicts may reuse.

    ``calls`` gives each (test, level)'s keywords; a test run with a keyword
    that changes the numbers the verdicts take is left out.
    """
    return {key: res for key, res in results.items()
            if key[0] in REUSED and not set(calls.get(key, {})) - set(REUSED[key[0]])}


def battery_result(results: dict | None, test: str, level: str, group: str, party=False) -> TestResult | None:
    """The battery's result of ``test`` for one group (of ``party`` when given; None: no party), else None."""
    found = (results or {}).get((test, level), {}).get(group)
    for r in found if isinstance(found, list) else [found]:
        if isinstance(r, TestResult) and (party is False or r.party == party):
            return r
    return None
