"""Skewness and kurtosis, in one place: from power sums, so a bootstrap of sums can use them too."""
from __future__ import annotations

import numpy as np


def skew_kurtosis_from_sums(sums) -> tuple[np.ndarray, np.ndarray]:
    """Population skewness m3/m2^1.5 and (non-excess) kurtosis m4/m2^2 from sums over the last axis.

    ``sums`` (..., 5) holds the number of values and the sums of their
    deviations from any fixed centre to the powers 1..4.
    """
    s = np.moveaxis(np.asarray(sums, dtype=float), -1, 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        m, e2, e3, e4 = s[1] / s[0], s[2] / s[0], s[3] / s[0], s[4] / s[0]
        c2 = e2 - m ** 2
        c3 = e3 - 3 * m * e2 + 2 * m ** 3
        c4 = e4 - 4 * m * e3 + 6 * m ** 2 * e2 - 3 * m ** 4
        return c3 / c2 ** 1.5, c4 / c2 ** 2


def skew_kurtosis(sample, axis: int = -1) -> np.ndarray:
    """(skewness, non-excess kurtosis) of samples along ``axis``, stacked: as scipy.stats.skew / kurtosis."""
    x = np.asarray(sample, dtype=float)
    d = x - x.mean(axis=axis, keepdims=True)
    d2 = d * d  # products, not d ** 3 and d ** 4: the general power is eight times slower on a bootstrap's arrays
    s1 = d.sum(axis=axis)
    powers = [np.full(s1.shape, float(x.shape[axis])), s1, d2.sum(axis=axis), (d2 * d).sum(axis=axis),
              (d2 * d2).sum(axis=axis)]
    return np.stack(skew_kurtosis_from_sums(np.stack(powers, axis=-1)))
