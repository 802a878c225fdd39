"""Verdict: last digits of the party counts (Beber & Scacco, against the smoothed null)."""
from __future__ import annotations

import numpy as np

from ..levels import NATIONAL, group_positions
from ..i18n import Message
from ..model import as_election
from ..random import ensure_rng
from ..stats.digits import last_digit_test
from .catalogue import CHECKS
from .family import decide, national_row
from .result import Verdict
from .reuse import battery_result

__all__ = ["digits_verdict", "MIN_COUNTS"]

#: fewer counts than this in a region: reported, not tested
MIN_COUNTS = 200
#: Monte Carlo draws of the digit test's side statistic (the chi-square itself is analytic above 50 counts)
N_SIM = 1000


def _row(res, **ids) -> dict:
    if res.n_used < MIN_COUNTS or not np.isfinite(res.statistic):
        return {**ids, "n_used": res.n_used, "note": f"too few counts ({res.n_used} < {MIN_COUNTS})"}
    table = res.details["digits"]
    share, expected = table["share"].to_numpy(float), table["expected_share"].to_numpy(float)
    gap = 100 * (share - expected)
    top = int(np.nanargmax(gap))
    return {**ids, "statistic": res.statistic, "expected": 9.0, "pvalue": res.pvalue, "effect": float(gap[top]),
            "n_used": res.n_used, "n_excluded": res.n_excluded, "digit": int(table["digit"].iat[top]),
            "digit_share": float(share[top]), "digit_expected": float(expected[top])}


def digits_verdict(election, alpha: float = 0.01, levels=("nation", "region"), columns=None, rng=None,
                   reuse=None) -> Verdict:
    """Chi-square of last digits (counts of 10+) nationally and per region.

    ``groups``: statistic = chi-square (9 df), expected = 9, effect = the
    largest excess of one digit over its expected share (points), plus
    ``digit``, ``digit_share`` and ``digit_expected``.  ``reuse``: the
    scan's results (``forensics.verdicts.reuse``), whose ``last_digit_test``
    of a group is taken as it is (the chi-square and the digit table do not
    depend on the draws); the other groups are tested here.
    """
    whole = as_election(election)
    rng = ensure_rng(rng)
    reuse = reuse if columns is None else None
    keep = [c for c in ("region", "unpublished", *(whole.parties if columns is None else columns)) if c in whole.table]
    e = whole.with_table(whole.table[keep])  # the counts only: each region's subset is then cheap
    rows = []
    if "nation" in levels:
        res = battery_result(reuse, "last_digit_test", "nation", NATIONAL)
        if res is None:
            res = last_digit_test(e, columns=columns, n_sim=N_SIM, rng=rng)
        rows.append(_row(res, **national_row()))
    if "region" in levels and "region" in e.table.columns:
        # every region in one pass; each its own stream (only the side statistic draws: the chi-square of 50
        # counts or more, all a tested region has, is analytic)
        positions = group_positions(e, "region")
        streams = dict(zip(positions, rng.spawn(len(positions))))
        results = {name: battery_result(reuse, "last_digit_test", "region", name) for name in positions}
        missing = {name: p for name, p in positions.items() if results[name] is None}
        if missing:
            # in a scan, the whole election's counts as the battery read them (shared, not read again): the same
            # counts, as only the party and publication columns are read
            results.update(last_digit_test.grouped(whole if reuse is not None else e, missing,
                                                   {name: streams[name] for name in missing}, columns=columns,
                                                   n_sim=N_SIM))
        rows += [_row(results[name], level="region", group=name) for name in positions]
    groups = decide(rows, alpha)
    extra = [c for c in ("digit", "digit_share", "digit_expected") if c in rows[0]] if rows else []
    if extra:
        import pandas as pd

        groups = groups.merge(pd.DataFrame(rows)[["group", *extra]], on="group", how="left")
    effect, direction = {}, ""
    nat = groups[groups["level"] == "nation"]
    if len(nat) and "digit" in nat and np.isfinite(nat.iloc[0]["statistic"]):
        r = nat.iloc[0]
        effect = {"excess_points": r["effect"], "digit": r["digit"], "share": r["digit_share"],
                  "expected_share": r["digit_expected"]}
        direction = Message("digit %(digit)s is the most over-represented last digit", digit=int(r["digit"]))
    return Verdict(check=CHECKS["digits"], party=None, alpha=alpha, groups=groups, effect=effect,
                   direction=direction)
