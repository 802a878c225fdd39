"""Hartigan's dip statistic and p-value through the optional ``diptest`` package.

``diptest`` is GPL-2.0-or-later, so it is an optional dependency (the
``dip`` extra).  ``allow_zero=False`` makes the statistic match R's
``diptest::dip`` (dip(1..10) = 0.05).
"""
from __future__ import annotations

import numpy as np


class DipUnavailable(ImportError):
    """The optional ``diptest`` package is not installed."""


def dip(values) -> tuple[float, float]:
    """(dip statistic, table-interpolated p-value) of finite ``values``."""
    try:
        import diptest
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise DipUnavailable(
            "the dip test needs the optional 'diptest' package: pip install 'election-forensics[dip]'"
        ) from exc
    x = np.asarray(values, dtype=float)
    x = x[np.isfinite(x)]
    if x.size < 4:
        return float("nan"), float("nan")
    stat, pval = diptest.diptest(x, allow_zero=False)
    return float(stat), float(pval)
