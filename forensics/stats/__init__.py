"""Statistical tests.  Each returns a ``TestResult`` (see ``result.py``).

Every public function of the modules below is available as
``forensics.stats.<name>``; modules are imported on first use.
"""
from __future__ import annotations

import importlib

from .result import TestResult

_MODULES = ("fingerprints", "klimek", "excess", "spikes", "coarse", "shape", "digits", "battery", "dip")


def _public(module):
    return getattr(module, "__all__", [n for n in dir(module) if not n.startswith("_")])


def __getattr__(name):
    for mod_name in _MODULES:
        try:
            module = importlib.import_module(f"{__name__}.{mod_name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"{__name__}.{mod_name}":
                continue
            raise
        if name in _public(module):
            value = getattr(module, name)
            globals()[name] = value
            return value
    raise AttributeError(f"module 'forensics.stats' has no attribute '{name}'")


def __dir__():
    names = {"TestResult"}
    for mod_name in _MODULES:
        try:
            names.update(_public(importlib.import_module(f"{__name__}.{mod_name}")))
        except ModuleNotFoundError:
            pass
    return sorted(names)
