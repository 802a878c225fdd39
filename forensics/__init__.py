"""forensics: election results-integrity forensics on polling-station data.

The public API.  Names are loaded on first use so that ``import forensics``
and the command line start quickly.
"""
from __future__ import annotations

import importlib

__version__ = "0.1.0"

from .errors import DataError  # noqa: E402
from .model import Election  # noqa: E402

#: public name -> "module:attribute"
_LAZY = {
    "load": "forensics.ingest:load",
    "profiles": "forensics.ingest:available_profiles",
    "simulate": "forensics.simulate:simulate",
    "reconcile": "forensics.reconcile:reconcile",
    "Findings": "forensics.reconcile:Findings",
    "tabulate": "forensics.reconcile:tabulate",
    "allocate_seats": "forensics.reconcile:allocate_seats",
    "scan": "forensics.scan:scan",
    "Scan": "forensics.scan:Scan",
    "write_report": "forensics.report:write_report",
    "audit": "forensics.audit",
    "stats": "forensics.stats",
    "TestResult": "forensics.stats.result:TestResult",
}

__all__ = ["DataError", "Election", "__version__", *_LAZY]


def __getattr__(name):
    if name not in _LAZY:
        raise AttributeError(f"module 'forensics' has no attribute '{name}'")
    module, _, attr = _LAZY[name].partition(":")
    value = importlib.import_module(module)
    if attr:
        value = getattr(value, attr)
    globals()[name] = value
    return value
