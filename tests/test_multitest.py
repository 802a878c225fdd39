"""Multiple-testing corrections: the numpy forms give statsmodels' numbers."""
from __future__ import annotations

import numpy as np
import pytest

from forensics.multitest import adjust, adjust_rows


@pytest.mark.parametrize("seed", range(20))
def test_rows_adjusted_at_once_equal_each_row_adjusted_alone(seed):
    rng = np.random.default_rng(seed)
    p = rng.random((6, int(rng.integers(1, 150)))) ** rng.integers(1, 8)
    p[:, :3] = p[:, :1]  # ties
    if seed % 2:
        p = np.round(p, 2)  # many ties
    if seed % 3 == 0:
        p[rng.random(p.shape) < 0.1] = np.nan  # missing ones stay missing and are not counted
        p[0] = np.nan
    got = adjust_rows(p)
    assert np.array_equal(got, np.array([_statsmodels(row) for row in p]), equal_nan=True)
    assert np.array_equal(got, np.array([adjust(row) for row in p]), equal_nan=True)
    assert np.all((got[~np.isnan(p)] >= p[~np.isnan(p)]) & (got[~np.isnan(p)] <= 1))


def _statsmodels(row, method="fdr_bh"):
    """statsmodels' corrected p-values of one family (missing ones stay missing and are not counted)."""
    from statsmodels.stats.multitest import multipletests

    out = np.full(row.shape, np.nan)
    ok = ~np.isnan(row)
    if ok.any():
        out[ok] = multipletests(row[ok], method=method)[1]
    return out


@pytest.mark.parametrize("seed", range(10))
def test_holm_and_other_methods_give_statsmodels_numbers(seed):
    rng = np.random.default_rng(100 + seed)
    p = rng.random(int(rng.integers(1, 200))) ** rng.integers(1, 6)
    p[rng.random(p.size) < 0.1] = np.nan
    for method in ("holm", "bonferroni", "fdr_by"):
        assert np.allclose(adjust(p, method), _statsmodels(p, method), rtol=1e-15, atol=0, equal_nan=True)
