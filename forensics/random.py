"""One way to get randomness: a ``numpy.random.Generator``, and streams keyed by name.

``ensure_rng`` turns what a user passes (None, an int seed, a
``SeedSequence``, a ``Generator``) into a Generator.  ``seed_sequence``
derives an independent stream from a seed and a list of names (a test, a
level, a group): the same seed and names always give the same stream,
whatever else runs before, beside or after it, so groups can be run in any
order, or in parallel, with identical results.
"""
from __future__ import annotations

import zlib

import numpy as np


def ensure_rng(rng=None) -> np.random.Generator:
    """A Generator: ``rng`` itself, a seeded one for an int or a SeedSequence, a fresh one for None."""
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None or isinstance(rng, (int, np.integer, np.random.SeedSequence)):
        return np.random.default_rng(rng)
    raise TypeError("rng must be a numpy.random.Generator, a numpy.random.SeedSequence, an int seed or None, "
                    f"not {type(rng).__name__}")


def name_key(name) -> int:
    """A stable 32-bit number for a name (CRC-32 of its UTF-8 text)."""
    return zlib.crc32(str(name).encode("utf-8"))


def seed_sequence(seed, *names) -> np.random.SeedSequence:
    """The stream of ``names`` under ``seed`` (an int or a SeedSequence).

    ``seed_sequence(7, "integer_percentages", "region", "Tatarstan")`` is
    ``SeedSequence([7, crc32("integer_percentages"), crc32("region"),
    crc32("Tatarstan")])``: it depends on the seed and the names only.
    Under a SeedSequence the names extend its spawn key instead.
    """
    keys = [name_key(n) for n in names]
    if isinstance(seed, np.random.SeedSequence):
        return np.random.SeedSequence(seed.entropy, spawn_key=(*seed.spawn_key, *keys))
    if isinstance(seed, (int, np.integer)):
        return np.random.SeedSequence([int(seed), *keys])
    raise TypeError(f"seed must be an int or a numpy.random.SeedSequence, not {type(seed).__name__}")


def base_seed(rng) -> tuple[int | np.random.SeedSequence, str]:
    """The seed a run records and derives its streams from, and how it was obtained.

    An int or a SeedSequence is used as given; a Generator gives one draw
    (so the same Generator state gives the same run); None draws fresh
    entropy, recorded so that the run can be repeated.
    """
    if isinstance(rng, (int, np.integer)):
        return int(rng), "seed given"
    if isinstance(rng, np.random.SeedSequence):
        return rng, "SeedSequence given"
    if rng is None:
        return int(np.random.SeedSequence().entropy % (2**63)), "no seed given: a fresh one was drawn and is recorded here"
    return int(ensure_rng(rng).integers(2**63)), "derived from the Generator given"
