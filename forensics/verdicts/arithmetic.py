"""Verdict: protocols whose arithmetic does not add up (reconciliation errors).

This is a fact about the protocols, not a statistical test: a station either
breaks a control relation of its form or it does not, and clean simulated
protocols never do.  Each station is counted once however many rules it
breaks.  (The rules about the voter list apply only where a station has one:
reconciliation lists advance-poll and postal stations, with 0 voters on the
list, as not checked by them.)
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..model import ID_COLUMNS, as_election, combined_codes
from .catalogue import CHECKS
from .family import decide, national_row
from .result import Verdict

__all__ = ["arithmetic_verdict", "error_findings", "matched_stations"]


def _findings(election, findings):
    if findings is not None:
        return findings
    from ..reconcile import reconcile

    return reconcile(election).table


def error_findings(election, findings=None) -> pd.DataFrame:
    """The error-severity findings that name a station, with its row position (``station``)."""
    e = as_election(election)
    f = _findings(e, findings)
    if f is None or f.empty or "severity" not in f or "pec" not in f:
        return pd.DataFrame(columns=[*ID_COLUMNS, "code", "message", "station"])
    f = f[(f["severity"] == "error") & f["pec"].notna()]
    keys = [c for c in ID_COLUMNS if c in f.columns and c in e.table.columns]
    return matched_stations(e, f, keys).reset_index(drop=True)


def matched_stations(election, findings: pd.DataFrame, keys: list) -> pd.DataFrame:
    """``findings`` (ids as text) joined to every station with the same ids (``keys``, compared as text), with the
    station's row position (``station``).  The ids are coded as integers over both tables together, then joined."""
    table = election.table
    n = len(table)
    f = findings.assign(**{k: findings[k].astype(str) for k in keys})
    if f.empty:
        return f.assign(station=np.zeros(0, dtype=np.int64))
    code = combined_codes([pd.concat([table[k].astype(str), f[k]], ignore_index=True) for k in keys], n + len(f))
    ids = pd.DataFrame({"_id": code[:n], "station": np.arange(n)})
    return f.assign(_id=code[n:]).merge(ids, on="_id", how="inner").drop(columns="_id")


def arithmetic_verdict(election, findings=None, alpha: float = 0.01, levels=("nation", "region")) -> Verdict:
    """Stations with an arithmetic error, nationally and per region (p = 0 with any, 1 without: a fact)."""
    e = as_election(election)
    errors = error_findings(e, findings)
    per_station = errors.drop_duplicates("station")
    rows = []

    def row(k, n, **ids):
        k = int(k)
        return {**ids, "statistic": float(k), "expected": 0.0, "effect": float(k), "pvalue": 0.0 if k else 1.0,
                "n_used": int(n)}

    if "nation" in levels:
        rows.append(row(len(per_station), len(e.table), **national_row()))
    if "region" in levels and "region" in e.table.columns:
        sizes = e.table["region"].astype(str).value_counts()
        found = per_station["region"].value_counts() if "region" in per_station else pd.Series(dtype=int)
        for name in sorted(sizes.index):
            rows.append(row(found.get(name, 0), sizes[name], level="region", group=name))
    groups = decide(rows, alpha)
    by_code = errors.drop_duplicates(["station", "code"])["code"].value_counts()
    effect = {"stations": float(len(per_station)), **{f"rule {k}": float(v) for k, v in by_code.head(5).items()}}
    return Verdict(check=CHECKS["arithmetic"], party=None, alpha=alpha, groups=groups, effect=effect,
                   direction="", details={"errors": errors})
