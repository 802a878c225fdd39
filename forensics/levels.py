"""Run any test nationally and per group through one code path.

``by_level`` applies a test function to the whole election (level
``"nation"``) or to each group of a column (``"region"``, ``"tec"`` or any
column name), and ``results_table`` turns the TestResults into one tidy table
with p-values corrected across groups by Benjamini-Hochberg
(``statsmodels.stats.multitest.multipletests``).
"""
from __future__ import annotations

from typing import Callable

import numpy as np
import pandas as pd
from statsmodels.stats.multitest import multipletests

from .model import Election
from .stats.result import TestResult

NATIONAL = "National"


def groups(election: Election, level: str):
    """Yield (group name, sub-election) for a level; 'nation' is one group."""
    if level in (None, "nation"):
        yield NATIONAL, election
        return
    if level not in election.table.columns:
        raise KeyError(f"level '{level}' is not a column of the table")
    keys = election.table[level]
    for name in sorted(keys.dropna().unique(), key=str):
        yield str(name), election.subset(keys == name)


def by_level(election: Election, test: Callable[..., TestResult | list], level: str = "nation",
             min_stations: int = 1, **params) -> dict:
    """Apply ``test(sub_election, **params)`` to each group of ``level``.

    Groups with fewer than ``min_stations`` rows are returned as the string
    "too few stations" instead of a result, so they are reported, not lost.
    """
    out = {}
    for name, sub in groups(election, level):
        if len(sub) < min_stations:
            out[name] = f"too few stations ({len(sub)} < {min_stations})"
            continue
        out[name] = test(sub, **params)
    return out


def adjust(pvalues, method: str = "fdr_bh") -> np.ndarray:
    """Multiple-testing adjustment that leaves missing p-values missing."""
    p = np.asarray(pvalues, dtype=float)
    adj = np.full_like(p, np.nan)
    ok = ~np.isnan(p)
    if ok.any():
        adj[ok] = multipletests(p[ok], method=method)[1]
    return adj


def results_table(results: dict, level: str = "nation", method: str = "fdr_bh") -> pd.DataFrame:
    """Tidy table of {group: TestResult | [TestResult] | str}, p-values adjusted per test.

    The family for the correction is one test (and party) across the
    groups of one level; the column ``family`` states it.
    """
    rows = []
    for group, res in results.items():
        items = res if isinstance(res, (list, tuple)) else [res]
        for r in items:
            if isinstance(r, TestResult):
                row = r.to_row()
                row["note"] = ""
            else:
                row = {"test": None, "party": None, "statistic": np.nan, "pvalue": np.nan, "note": str(r)}
            row.update(level=level or "nation", group=group)
            rows.append(row)
    table = pd.DataFrame(rows)
    if table.empty:
        return table
    table["pvalue"] = table["pvalue"].astype(float)
    table["pvalue_adj"] = np.nan
    table["family"] = ""
    for key, idx in table.groupby(["test", "party"], dropna=False).groups.items():
        table.loc[idx, "pvalue_adj"] = adjust(table.loc[idx, "pvalue"], method)
        table.loc[idx, "family"] = f"{key[0]}" + (f" / {key[1]}" if isinstance(key[1], str) else "") + f" across {level} groups"
    front = ["test", "level", "group", "party", "statistic", "pvalue", "pvalue_adj", "ci_low", "ci_high",
             "expected", "n_used", "n_excluded", "family", "note"]
    return table[[c for c in front if c in table.columns]]
