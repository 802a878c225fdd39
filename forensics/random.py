"""One way to get a random generator: always a ``numpy.random.Generator``."""
from __future__ import annotations

import numpy as np


def ensure_rng(rng=None) -> np.random.Generator:
    """Return ``rng`` if it is a Generator, a seeded one for an int, a fresh one for None."""
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None or isinstance(rng, (int, np.integer)):
        return np.random.default_rng(rng)
    raise TypeError(f"rng must be a numpy.random.Generator, an int seed or None, not {type(rng).__name__}")
