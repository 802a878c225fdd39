"""forensics: election results-integrity forensics on polling-station data.

The public API.  Names are loaded on first use so that ``import forensics``
and the command line start quickly.
"""
from __future__ import annotations

import importlib

__version__ = "0.1.0"

from .errors import DataError  # noqa: E402
from .model import Election  # noqa: E402

# Functions that share their name with a submodule are bound here, eagerly: the
# import system sets ``forensics.<name>`` to the submodule only when it first loads
# it, so binding the function afterwards keeps ``forensics.simulate(...)``,
# ``forensics.reconcile(...)`` and ``forensics.scan(...)`` callable, while
# ``from forensics.simulate import X`` still reaches the module.
from .reconcile import reconcile  # noqa: E402
from .scan import Scan, scan  # noqa: E402
from .simulate import simulate  # noqa: E402

#: public name -> "module:attribute"
_LAZY = {
    "load": "forensics.ingest:load",
    "profiles": "forensics.ingest:available_profiles",
    "Findings": "forensics.reconcile:Findings",
    "tabulate": "forensics.reconcile:tabulate",
    "compare_totals": "forensics.reconcile:compare_totals",
    "allocate_seats": "forensics.reconcile:allocate_seats",
    "write_report": "forensics.report:write_report",
    "audit": "forensics.audit",
    "stats": "forensics.stats",
    "TestResult": "forensics.stats.result:TestResult",
}

__all__ = ["DataError", "Election", "__version__", "reconcile", "simulate", "scan", "Scan", *_LAZY]


def __getattr__(name):
    if name not in _LAZY:
        raise AttributeError(f"module 'forensics' has no attribute '{name}'")
    module, _, attr = _LAZY[name].partition(":")
    value = importlib.import_module(module)
    if attr:
        value = getattr(value, attr)
    globals()[name] = value
    return value
