"""Digits of counts and percentages, and the digit statistics built on them.

Every digit test (``digits.py``) and EFToolkit's battery (``eftoolkit.py``)
extract digits here, so a digit means the same thing everywhere.
"""
from __future__ import annotations

import numpy as np

_POW10 = 10 ** np.arange(1, 19, dtype=np.int64)


def _digit_frame(values):
    """Integer view of whole counts, their mask, and the number of digits minus one."""
    x = np.asarray(values, dtype=float)
    ok = np.isfinite(x)
    v = np.where(ok, x, 0).astype(np.int64)
    return v, ok, np.searchsorted(_POW10, v, side="right")


def first_digit(values) -> np.ndarray:
    """First significant digit of each count (NaN for 0 and missing)."""
    v, ok, k = _digit_frame(values)
    d = (v // 10 ** k).astype(float)
    d[~ok | (v == 0)] = np.nan
    return d


def second_digit(values) -> np.ndarray:
    """Second significant digit of each count (NaN for counts below 10 and missing)."""
    v, ok, k = _digit_frame(values)
    d = ((v // 10 ** np.maximum(k - 1, 0)) % 10).astype(float)
    d[~ok | (v < 10)] = np.nan
    return d


def _remainder(x: np.ndarray, ok: np.ndarray, modulus: int) -> np.ndarray:
    """``x mod modulus`` where ``ok``, NaN elsewhere; whole counts by integer arithmetic (several times faster
    than the floating-point remainder, and the same numbers)."""
    out = np.full(x.shape, np.nan)
    v = x[ok]
    whole = v.astype(np.int64)
    out[ok] = whole % modulus if np.array_equal(whole, v) else np.mod(v, modulus)
    return out


def last_digit(values) -> np.ndarray:
    """Last digit of each count (NaN for missing); zero counts end in 0."""
    x = np.asarray(values, dtype=float)
    return _remainder(x, np.isfinite(x), 10)


def last_two_digits(values) -> np.ndarray:
    """Last two digits of each count as 0..99 (NaN for counts below 10 and missing)."""
    x = np.asarray(values, dtype=float)
    return _remainder(x, np.isfinite(x) & (x >= 10), 100)


def percent_ends_05(share) -> np.ndarray:
    """1.0 where round(100 * share) ends in 0 or 5, 0.0 otherwise, NaN where share is undefined.

    Rounds half to even as R does; 100 counts as ending in 0.  Shares are
    used as given (the battery caps them at 1 first).
    """
    p = np.asarray(share, dtype=float)
    r = np.round(p * 100)
    return np.where(np.isfinite(r), (np.mod(r, 5) == 0).astype(float), np.nan)


def digit_counts(digits) -> np.ndarray:
    """How many values have each digit 0..9 (NaN skipped); works along the last axis."""
    d = np.asarray(digits, dtype=float)
    ok = np.isfinite(d)
    if d.ndim == 1:  # one pass
        return np.bincount(d[ok & (d <= 9)].astype(np.int64), minlength=10)
    return np.stack([((d == k) & ok).sum(axis=-1) for k in range(10)], axis=-1)
