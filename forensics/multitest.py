"""Multiple-testing correction, in one place: Benjamini-Hochberg (or any statsmodels method).

Every corrected p-value of the package (the scan's families, the per-region
and per-percentage tables of the integer test, ``levels.results_table``)
comes from ``adjust``.  statsmodels is imported on first use only.
"""
from __future__ import annotations

import numpy as np

#: the correction used unless a caller chooses another (statsmodels' name)
DEFAULT_METHOD = "fdr_bh"


def adjust(pvalues, method: str = DEFAULT_METHOD) -> np.ndarray:
    """Corrected p-values (``statsmodels.stats.multitest.multipletests``); missing ones stay missing.

    Benjamini-Hochberg and Holm, the two the package uses, are computed here in numpy (``adjust_rows``,
    ``holm``): the same numbers, without importing statsmodels (and with it scipy.stats, a second) in a scan.
    """
    p = np.asarray(pvalues, dtype=float)
    adj = np.full_like(p, np.nan)
    ok = ~np.isnan(p)
    if ok.any() and method == "holm":
        adj[ok] = holm(p[ok])
    elif ok.any() and method == DEFAULT_METHOD:
        adj[ok] = adjust_rows(p[ok])
    elif ok.any():
        from statsmodels.stats.multitest import multipletests

        adj[ok] = multipletests(p[ok], method=method)[1]
    return adj


def holm(p) -> np.ndarray:
    """Holm's step-down adjusted p-values, in numpy: statsmodels' ``multipletests`` gives the same values
    but runs a full garbage collection on every call, about a second each on a large heap (the verdicts
    call it once per headline)."""
    p = np.clip(np.asarray(p, dtype=float), 0, 1)
    order = np.argsort(p, kind="mergesort")
    stepped = np.maximum.accumulate(p[order] * np.arange(p.size, 0, -1))
    out = np.empty_like(p)
    out[order] = np.minimum(stepped, 1.0)
    return out


def adjust_rows(pvalues) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values of each row of a 2-D array, each row its own family.

    The same numbers as ``adjust`` row by row (the same arithmetic: sorted
    p-values divided by rank / m, the running minimum from the largest,
    capped at 1; missing ones stay missing and are not counted in m), for
    many small families at once: one call instead of one statsmodels call
    per row.
    """
    p = np.atleast_2d(np.asarray(pvalues, dtype=float))
    missing = np.isnan(p)
    m = (~missing).sum(axis=1, keepdims=True).astype(float)
    order = np.argsort(np.where(missing, np.inf, p), axis=1, kind="mergesort")
    with np.errstate(invalid="ignore", divide="ignore"):
        ranked = np.take_along_axis(p, order, axis=1) / (np.arange(1, p.shape[1] + 1) / m)
    ranked[np.take_along_axis(missing, order, axis=1)] = np.inf
    stepped = np.minimum.accumulate(ranked[:, ::-1], axis=1)[:, ::-1]
    stepped[stepped > 1] = 1
    out = np.empty_like(p)
    np.put_along_axis(out, order, stepped, axis=1)
    out[missing] = np.nan
    return out.reshape(np.shape(pvalues))
