"""Seat allocation for party-list elections.

Three methods, all with a legal threshold:

``hare``
    Largest remainder with the Hare quota: each admitted party gets the whole
    part of votes × seats / admitted votes; the seats left go to the largest
    remainders.  Computed in exact integer arithmetic.
``dhondt``
    Highest averages with divisors 1, 2, 3, ...
``sainte_lague``
    Highest averages with divisors 1, 3, 5, ...

Ties (equal remainders, or equal averages for the last seat) go to the party
listed first in ``votes``: pass the parties in the order of the ballot or of
registration, as Kazakh law gives a tied remainder to the list registered
earlier.  ``ties="raise"`` raises instead, for laws that draw lots.

The Kazakh rule (``runner_up_min=2``): when only one party passes the
threshold, the party with the next most votes is admitted to the allocation
too and gets at least ``runner_up_min`` seats, taken from the largest party.
"""
from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

METHODS = ("hare", "dhondt", "sainte_lague")


def _tie(ties: str, what: str, names) -> None:
    if ties == "raise":
        raise ValueError(f"tie for the last seat between {', '.join(map(str, names))} ({what}); "
                         "the law must break it (by lot or by list order)")


def _hare(v: np.ndarray, seats: int, ties: str, names) -> np.ndarray:
    total = int(v.sum())
    scaled = [int(x) * seats for x in v]  # Python ints: exact for any size
    base = np.array([s // total for s in scaled], dtype=np.int64)
    rem = np.array([s % total for s in scaled], dtype=object)
    left = seats - int(base.sum())
    order = sorted(range(len(v)), key=lambda i: (-rem[i], i))
    if 0 < left < len(v) and rem[order[left - 1]] == rem[order[left]]:
        _tie(ties, "equal remainders", (names[order[left - 1]], names[order[left]]))
    base[order[:left]] += 1
    return base


def _divisors(v: np.ndarray, seats: int, step: int, ties: str, names) -> np.ndarray:
    divisors = 1 + step * np.arange(seats)
    q = v[:, None].astype(float) / divisors[None, :]
    party = np.repeat(np.arange(len(v)), seats)
    flat = q.ravel()
    order = np.lexsort((party, -flat))  # highest average first, then list order
    if seats < flat.size and flat[order[seats - 1]] == flat[order[seats]] and \
            party[order[seats - 1]] != party[order[seats]]:
        _tie(ties, "equal averages", (names[party[order[seats - 1]]], names[party[order[seats]]]))
    return np.bincount(party[order[:seats]], minlength=len(v)).astype(np.int64)


def allocate_seats(votes, seats: int, threshold: float = 0.0, method: str = "hare",
                   runner_up_min: int | None = None, total: float | None = None,
                   ties: str = "order") -> dict:
    """Seats per party: {party: seats} for every party given, in the order given.

    ``votes``: a dict or Series party -> votes.  ``threshold``: the share of
    ``total`` (default: the sum of ``votes``; Kazakhstan counts all ballots
    cast) a party needs, at least, to take part.  ``method``: "hare",
    "dhondt" or "sainte_lague".  ``runner_up_min``: the Kazakh rule (see the
    module docstring).  ``ties``: "order" (the party listed first wins) or
    "raise".
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}, not {method!r}")
    if ties not in ("order", "raise"):
        raise ValueError("ties must be 'order' or 'raise'")
    s = pd.Series(dict(votes) if isinstance(votes, Mapping) else votes, dtype="float64")
    if s.isna().any() or (s < 0).any() or (s != s.round()).any():
        raise ValueError("votes must be whole, non-negative numbers")
    if int(seats) != seats or seats < 0:
        raise ValueError("seats must be a non-negative whole number")
    seats = int(seats)
    v = s.to_numpy().astype(np.int64)
    denom = float(v.sum() if total is None else total)
    admitted = (v >= threshold * denom) & (v > 0)
    runner = None
    if runner_up_min and admitted.sum() == 1 and len(v) > 1:
        by_votes = sorted(range(len(v)), key=lambda i: (-v[i], i))
        runner = by_votes[1]
        if v[runner] > 0:
            admitted[runner] = True
    out = np.zeros(len(v), dtype=np.int64)
    if admitted.any() and seats:
        idx = np.flatnonzero(admitted)
        sub = v[idx]
        names = list(s.index[idx])
        got = _hare(sub, seats, ties, names) if method == "hare" else _divisors(
            sub, seats, 1 if method == "dhondt" else 2, ties, names)
        out[idx] = got
        if runner is not None and admitted[runner] and out[runner] < runner_up_min:
            need = min(runner_up_min, seats) - out[runner]
            out[runner] += need
            out[int(np.argmax(np.where(np.arange(len(v)) == runner, -1, out)))] -= need
    return {k: int(n) for k, n in zip(s.index, out)}


def election_seats(election) -> dict | None:
    """Seats from an election's national party totals and its profile's seat rule, if it has one.

    Uses ``meta["seats"]``, ``meta["threshold"]``, ``meta["seat_method"]``,
    ``meta["runner_up_min"]`` (the Kazakh rule; the ``kz_cec`` profile sets it) and ``meta["threshold_base"]`` ("valid", the default,
    or "cast": all ballots cast, as the Kazakh law words it).  None when the
    profile has no seats.
    """
    meta = election.meta
    if not meta.get("seats") or not election.parties:
        return None
    pub = election.published
    votes = election.table.loc[pub, list(election.parties)].sum()
    total = float(election.ballots("cast")[pub].sum()) if meta.get("threshold_base") == "cast" else None
    runner = meta.get("runner_up_min")
    return allocate_seats(votes, int(meta["seats"]), float(meta.get("threshold", 0.0)),
                          meta.get("seat_method", "hare"), runner_up_min=runner, total=total)
