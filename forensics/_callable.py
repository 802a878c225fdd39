"""Modules that share their name with their main function stay callable.

``forensics.simulate``, ``forensics.reconcile`` and ``forensics.scan`` are
functions of the package face and modules at the same time.  Once a module
is imported, the import system binds its name on the package to the module,
so the module itself is made callable: ``forensics.scan(election)`` works
whether the face loaded the function first or someone imported the module.
"""
from __future__ import annotations

import sys
import types


def make_callable(module_name: str, function: str) -> None:
    """Calling the module ``module_name`` calls its attribute ``function``."""

    class CallableModule(types.ModuleType):
        def __call__(self, *args, **kwargs):
            return getattr(self, function)(*args, **kwargs)

    sys.modules[module_name].__class__ = CallableModule
