"""Readings several tests of one scan share: made once while ``sharing()`` is on, forgotten when it ends.

A scan runs the same test at several levels and with several parameter
sets (the three digit-pair tests, nationally and per region) on one table;
each run would otherwise read and check the same columns again.  Inside
``sharing()`` (the scan enters it), ``shared(key, make)`` returns what
``make()`` gave the first time for ``key``; outside it, ``make()`` is called
every time, so a test used on its own keeps nothing.  A stored value must
depend on its key only (no random draws), so sharing changes no result.
"""
from __future__ import annotations

from contextlib import contextmanager

_STORE: dict | None = None


@contextmanager
def sharing():
    """Share readings until the block ends (nested blocks share the outer one's)."""
    global _STORE
    outer = _STORE
    _STORE = {} if outer is None else outer
    try:
        yield
    finally:
        _STORE = outer


def active() -> bool:
    """Whether readings are being shared (inside ``sharing()``)."""
    return _STORE is not None


def shared(key, make, keep=()):
    """``make()``, made once per ``key`` while ``sharing()`` is on.

    ``keep``: objects whose ``id`` is part of ``key``; they are held with
    the value so that no other object can take their ``id`` meanwhile.
    """
    if _STORE is None:
        return make()
    try:
        return _STORE[key][0]
    except KeyError:
        value = make()
        _STORE[key] = (value, keep)
        return value
