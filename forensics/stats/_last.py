"""The last result of a reading of a table, kept per thread while a scan shares its readings.

Several tests of a scan, at every level, read the same stations out of the
same table (the integer test's counts, the shape tests' turnout and
shares).  Inside ``_core.shared.sharing()`` (a scan, which never changes its
table) the last reading is kept per thread, keyed by the table itself (held
weakly: a new table is read again) and the reading's parameters; outside it
every call reads again, so a table edited in place between two calls is
never read stale.
"""
from __future__ import annotations

import threading
import weakref

from ._core import shared


class LastReading:
    """``get(table, key, read)``: ``read()``'s result, computed again only for another table or key, or
    outside a scan's ``sharing()``."""

    def __init__(self):
        self._local = threading.local()

    def get(self, table, key, read):
        if not shared.active():
            return read()
        last = getattr(self._local, "value", None)
        if last is None or last[0] != key or last[1]() is not table:
            last = (key, weakref.ref(table), read())
            self._local.value = last
        return last[2]
