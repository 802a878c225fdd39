"""The anomaly scan: reconciliation, the statistical battery at each level, and the verdicts.

One job per module: ``battery`` (the checks, as data), ``run`` (running them,
corrections, the verdicts and station evidence of ``forensics.verdicts``,
exclusions), ``provenance`` (what a scan records about itself), ``result`` (``Scan``).
Many elections at once: ``forensics.many.scan_many`` (above this layer: it also writes reports).
``forensics.scan(...)`` calls ``scan``: this package is callable.
"""
from .._callable import make_callable
from ..verdicts import FLAGS, STATION_COLUMNS
from .battery import DEFAULT_BATTERY, EFTOOLKIT, Check
from .result import EXCLUDED_COLUMNS, TEST_COLUMNS, Scan
from .run import scan

__all__ = ["Check", "DEFAULT_BATTERY", "EFTOOLKIT", "EXCLUDED_COLUMNS", "FLAGS", "STATION_COLUMNS", "Scan",
           "TEST_COLUMNS", "scan"]


make_callable(__name__, "scan")
