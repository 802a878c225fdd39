"""One correction for every headline: Holm over the nation and each region tested.

A headline asks "does this pattern stand out anywhere in the election?" and
"where?".  The nation's own test and each region's are one family; Holm's
step-down adjustment controls the chance of any false alarm among them, so
the smallest adjusted p-value is a valid test of "nowhere", and a region is
named only when its own adjusted p-value is below alpha.  Every headline's
p-value is exact or analytic, so it can pass a correction over 80 regions.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..levels import NATIONAL
from ..multitest import adjust

__all__ = ["GROUP_COLUMNS", "decide", "regions_of"]

GROUP_COLUMNS = ["level", "group", "statistic", "expected", "pvalue", "pvalue_adj", "significant", "effect",
                 "n_used", "n_excluded", "note"]


def regions_of(election, index) -> pd.Series | None:
    """Region label of the rows ``index`` (None when the table has no region column)."""
    table = election.table
    return table.loc[index, "region"].astype(str) if "region" in table.columns else None


def decide(rows: list, alpha: float) -> pd.DataFrame:
    """Groups table of a headline: Holm-adjusted p-values over all rows with a p-value, and significance."""
    table = pd.DataFrame(rows, columns=None if rows else GROUP_COLUMNS)
    for c in GROUP_COLUMNS:
        if c not in table:
            table[c] = "" if c == "note" else np.nan
    table["pvalue_adj"] = adjust(table["pvalue"].astype(float).to_numpy(), "holm")
    table["significant"] = table["pvalue_adj"] < alpha
    table["note"] = table["note"].fillna("").astype(str)
    order = (table["level"] != "nation").astype(int)
    table = table.assign(_o=order).sort_values(["_o", "group"], kind="mergesort").drop(columns="_o")
    return table[GROUP_COLUMNS].reset_index(drop=True)


def national_row(**values) -> dict:
    return {"level": "nation", "group": NATIONAL, **values}
