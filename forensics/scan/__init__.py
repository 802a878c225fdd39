"""The anomaly scan: reconciliation and the statistical battery at each level, with per-station flags.

One job per module: ``battery`` (the checks, as data), ``run`` (running them,
corrections, exclusions), ``flags`` (per-station flags and the review
order), ``verdicts`` (what the summary names, decided from the test table),
``provenance`` (what a scan records about itself), ``result`` (``Scan``).
``forensics.scan(...)`` calls ``scan``: this package is callable.
"""
from .._callable import make_callable
from .battery import DEFAULT_BATTERY, EFTOOLKIT, Check
from .flags import FLAGS, STATION_COLUMNS, station_flags
from .result import EXCLUDED_COLUMNS, TEST_COLUMNS, Scan
from .run import scan

__all__ = ["Check", "DEFAULT_BATTERY", "EFTOOLKIT", "EXCLUDED_COLUMNS", "FLAGS", "STATION_COLUMNS", "Scan",
           "TEST_COLUMNS", "scan", "station_flags"]


make_callable(__name__, "scan")
