"""The last result of a reading of a table, kept per thread.

Several tests of a scan, at every level, read the same stations out of the
same table (the integer test's counts, the shape tests' turnout and
shares).  The last reading is kept per thread, keyed by the table itself
(held weakly: a new table is read again) and the reading's parameters.
"""
from __future__ import annotations

import threading
import weakref


class LastReading:
    """``get(table, key, read)``: ``read()``'s result, computed again only for another table or key."""

    def __init__(self):
        self._local = threading.local()

    def get(self, table, key, read):
        last = getattr(self._local, "value", None)
        if last is None or last[0] != key or last[1]() is not table:
            last = (key, weakref.ref(table), read())
            self._local.value = last
        return last[2]
