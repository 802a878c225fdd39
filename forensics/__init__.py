"""forensics: election results-integrity forensics on polling-station data.

The public API.  Every name but ``DataError`` and ``__version__`` is loaded
on first use, so that ``import forensics`` and the command line start
quickly (no pandas, numpy or statsmodels until they are needed).
``forensics.simulate``, ``forensics.reconcile`` and ``forensics.scan`` are
callable whether the function or its module was loaded first.
"""
from __future__ import annotations

import importlib

from ._version import __version__
from .errors import DataError

#: public name -> "module:attribute" (a module alone for sub-packages)
_LAZY = {
    "Election": "forensics.model:Election",
    "load": "forensics.ingest:load",
    "profiles": "forensics.ingest:available_profiles",
    "simulate": "forensics.simulate:simulate",
    "reconcile": "forensics.reconcile:reconcile",
    "scan": "forensics.scan:scan",
    "Scan": "forensics.scan:Scan",
    "scan_many": "forensics.many:scan_many",
    "Findings": "forensics.reconcile:Findings",
    "tabulate": "forensics.reconcile:tabulate",
    "compare_totals": "forensics.reconcile:compare_totals",
    "allocate_seats": "forensics.reconcile:allocate_seats",
    "write_report": "forensics.report:write_report",
    "audit": "forensics.audit",
    "stats": "forensics.stats",
    "TestResult": "forensics.stats.result:TestResult",
}

__all__ = ["DataError", "__version__", *_LAZY]


def __getattr__(name):
    if name not in _LAZY:
        raise AttributeError(f"module 'forensics' has no attribute '{name}'")
    module, _, attr = _LAZY[name].partition(":")
    value = importlib.import_module(module)
    if attr:
        value = getattr(value, attr)
    globals()[name] = value
    return value


def __dir__():
    return sorted(__all__)
