"""A table's last reading is kept only while a scan shares its readings."""
import pandas as pd

from forensics.stats._core.shared import sharing
from forensics.stats._last import LastReading


def test_kept_inside_sharing_only():
    last, table, calls = LastReading(), pd.DataFrame({"a": [1, 2]}), []

    def read():
        calls.append(1)
        return table["a"].sum()

    assert last.get(table, "k", read) == 3 and last.get(table, "k", read) == 3
    assert len(calls) == 2  # outside a scan: read every time
    table.loc[0, "a"] = 10  # edited in place: the next reading sees it
    assert last.get(table, "k", read) == 12
    with sharing():
        assert last.get(table, "k", read) == 12 and last.get(table, "k", read) == 12
        assert len(calls) == 4  # inside: read once
        assert last.get(table, "other", read) == 12 and len(calls) == 5  # another key: read again
