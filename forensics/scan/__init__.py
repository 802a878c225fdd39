"""The anomaly scan: reconciliation, the statistical battery at each level, and the verdicts.

One job per module: ``battery`` (the checks, as data), ``run`` (running them,
corrections, the verdicts and station evidence of ``forensics.verdicts``,
exclusions), ``provenance`` (what a scan records about itself), ``result`` (``Scan``),
``many`` (``scan_many``: many elections, one task each, on Dask or in this process).
``forensics.scan(...)`` calls ``scan``: this package is callable.
"""
from .._callable import make_callable
from ..verdicts import FLAGS, STATION_COLUMNS
from .battery import DEFAULT_BATTERY, EFTOOLKIT, Check
from .many import SUMMARY_COLUMNS, ManyScans, scan_many
from .result import EXCLUDED_COLUMNS, TEST_COLUMNS, Scan
from .run import scan

__all__ = ["Check", "DEFAULT_BATTERY", "EFTOOLKIT", "EXCLUDED_COLUMNS", "FLAGS", "ManyScans", "STATION_COLUMNS",
           "SUMMARY_COLUMNS", "Scan", "TEST_COLUMNS", "scan", "scan_many"]


make_callable(__name__, "scan")
