"""The machine-readable outputs: CSV tables and summary.json, byte-identical for the same input and seed.

Column names are stable (documented in the README).  The files go through
the one writer (``forensics.output``): 10 significant digits, rows in a
fixed order, JSON with sorted keys, formula-like cells neutralised.  The
scan's time is left out of these files (it is only in report.html), so two
runs with the same input and seed give identical files.
"""
from __future__ import annotations

from ..output import OutputFolder

#: file name -> Scan attribute
CSV_FILES = {"verdicts.csv": "verdict_table", "context.csv": "context", "tests.csv": "tests",
             "findings.csv": "findings", "stations.csv": "stations", "excluded.csv": "excluded"}


def write_tables(scan, out, raw_csv: bool = False) -> dict:
    """Write verdicts.csv, context.csv, tests.csv, findings.csv, stations.csv, excluded.csv and summary.json.

    Returns their paths.

    ``out`` is a folder path (written completely or not at all) or an open
    ``OutputFolder`` (as ``write_report`` passes it).
    """
    if not isinstance(out, OutputFolder):
        with OutputFolder(out, raw_csv=raw_csv) as folder:
            return write_tables(scan, folder)
    paths = {name: out.csv(name, getattr(scan, attr)) for name, attr in CSV_FILES.items()}
    paths["summary.json"] = out.json("summary.json", scan.summary_dict())
    return paths
