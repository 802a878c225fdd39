"""Statistical tests: each is registered by name and returns one ``TestResult``.

Every test takes an ``Election`` (or a tidy DataFrame in canonical column
names), column names and keyword parameters with one vocabulary (``party``,
``n_sim``, ``confidence_level``, ``rng``; see ``registry.VOCABULARY``), and
rejects a keyword it does not take.  ``forensics.stats.<test>`` is the
registered test; ``registry.TESTS`` (through ``registered_tests()`` and
``get_test(name)``) lists them.  Besides the tests: ``basic_battery``
(EFToolkit's battery, an ``EFToolkitResult``), ``digit_tests`` (every digit
test at one level, as a table) and ``TestResult``.  Modules are imported on
first use, so that ``import forensics`` stays quick.
"""
from __future__ import annotations

import importlib

from .result import TestResult

#: public names that are not registered tests: name -> "module:attribute"
_OTHERS = {
    "basic_battery": "eftoolkit:basic_battery",
    "EFToolkitResult": "eftoolkit:EFToolkitResult",
    "digit_tests": "digits:digit_tests",
    "register_test": "registry:register_test",
    "registered_tests": "registry:registered_tests",
    "get_test": "registry:get_test",
    "VOCABULARY": "registry:VOCABULARY",
}


def __getattr__(name):
    if name in _OTHERS:
        module, _, attr = _OTHERS[name].partition(":")
        value = getattr(importlib.import_module(f"{__name__}.{module}"), attr)
    else:
        from .registry import TESTS, registered_tests

        if name not in registered_tests():
            raise AttributeError(f"module 'forensics.stats' has no attribute '{name}'")
        value = TESTS[name]
    globals()[name] = value
    return value


def __dir__():
    from .registry import registered_tests

    return sorted({"TestResult", *_OTHERS, *registered_tests()})
