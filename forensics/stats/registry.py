"""The registry of statistical tests, and the contract every registered test keeps.

A test is a function ``test(data, **params) -> TestResult`` registered by
name with ``@register_test("name")``.  The decorator does the input handling
every test shares, so no test repeats it:

* ``data`` is an ``Election`` or a tidy DataFrame in canonical column names
  (turned into an Election by ``forensics.model.as_election``);
* ``rng`` (None, an int seed, a ``numpy.random.SeedSequence`` or a
  ``Generator``) becomes a Generator (``forensics.random.ensure_rng``);
* a keyword the test does not take is a ``TypeError`` that names the test,
  the keyword and the parameters it does take (never silently ignored);
* an old parameter name the README once documented still works for a while,
  with a ``DeprecationWarning`` naming the new one.

Shared parameters have one name everywhere (``VOCABULARY``): ``party``,
``n_sim``, ``confidence_level``, ``rng``.  ``TESTS`` maps each name to its
test; ``get_test(name)`` and ``registered_tests()`` load every test module first.
"""
from __future__ import annotations

import functools
import importlib
import inspect
import warnings
from typing import Callable

from ..model import as_election
from ..random import ensure_rng

#: The shared parameters: one name, one meaning, in every test that takes them.
VOCABULARY = {
    "party": "the party column the test is about (None: the test's default, usually the leader; tests that "
             "pool counts take column names in ``columns``)",
    "n_sim": "the number of random replicates of the test's inference (Monte Carlo draws, bootstrap "
             "resamples, simulated elections)",
    "confidence_level": "the coverage of the interval ``ci`` (0.95)",
    "rng": "randomness: None, an int seed, a numpy.random.SeedSequence or a numpy.random.Generator",
}
#: Names the vocabulary replaced; no registered test takes them (except through a deprecation).
RETIRED = ("n_boot", "n_resamples", "resamples", "parties", "subject", "n_null", "conf", "level_ci")

#: Modules holding registered tests; imported when the registry is asked for all of them.
MODULES = ("fingerprints", "klimek", "excess", "spikes", "coarse", "shape", "digits")

#: test name -> registered test function
TESTS: dict[str, Callable] = {}


def translate_renamed(name: str, params: dict, renamed: dict) -> dict:
    """``params`` with deprecated names replaced (warning once per call), as ``renamed`` says.

    ``renamed`` maps an old name to the new one, or to (new name, function
    turning the old value into the new one).
    """
    out = dict(params)
    for old, target in renamed.items():
        if old not in out:
            continue
        new, convert = target if isinstance(target, tuple) else (target, None)
        if new in out:
            raise TypeError(f"{name}() got both {old!r} (deprecated) and {new!r}; pass {new!r} only")
        warnings.warn(f"{name}({old}=...) is deprecated; use {new}=... instead", DeprecationWarning, stacklevel=3)
        value = out.pop(old)
        out[new] = convert(value) if convert else value
    return out


def one_party(value):
    """A deprecated ``parties=[...]`` of one party as ``party=``; several are an error (one test, one party)."""
    if value is None or isinstance(value, str):
        return value
    values = list(value)
    if len(values) == 1:
        return values[0]
    raise TypeError("the test takes one party; call it once per party (the scan does)")


def check_parameters(name: str, accepted, params, renamed=()) -> None:
    """TypeError naming ``name`` and every keyword of ``params`` it does not take."""
    unknown = [k for k in params if k not in accepted and k not in renamed]
    if unknown:
        raise TypeError(f"{name}() does not take {', '.join(repr(k) for k in unknown)}; "
                        f"it takes: {', '.join(accepted)}")


#: the ``shared_work`` of the tests that import scipy.stats (a second in every process that does; the others
#: need none of it): a scan runs them in one process, so only that one pays the import
IMPORTS_SCIPY_STATS = "the import of scipy.stats"
#: shared work that is an import, and its cost on the scale of ``Check.cost``: a scan runs its bundle in the calling
#: process first, so the import stays there for the next scan, and counts the cost once in the bundle's
SHARED_IMPORTS = {IMPORTS_SCIPY_STATS: 11}


def register_test(name: str, *, renamed: dict | None = None):
    """Register ``func(election, **params) -> TestResult`` as the test ``name``, with the shared input handling.

    ``renamed`` keeps a deprecation path for old parameter names (see
    ``translate_renamed``).  The registered function carries ``test_name``,
    ``parameters`` (what it takes after the data) and ``renamed``.
    """
    renamed = dict(renamed or {})

    def decorate(func):
        signature = inspect.signature(func)
        accepted = tuple(list(signature.parameters)[1:])

        @functools.wraps(func)
        def test(data, *args, **params):
            params = translate_renamed(name, params, renamed)
            check_parameters(name, accepted, params)
            bound = signature.bind(as_election(data), *args, **params)
            if "rng" in signature.parameters:
                bound.arguments["rng"] = ensure_rng(bound.arguments.get("rng"))
            return func(*bound.args, **bound.kwargs)

        test.test_name, test.parameters, test.renamed = name, accepted, renamed
        TESTS[name] = test
        return test

    return decorate


def _load_all() -> None:
    for module in MODULES:
        importlib.import_module(f"{__package__}.{module}")


def registered_tests() -> tuple[str, ...]:
    """The names of every registered test, sorted."""
    _load_all()
    return tuple(sorted(TESTS))


def get_test(name: str) -> Callable:
    """The registered test ``name``; LookupError naming the known ones if there is none."""
    _load_all()
    try:
        return TESTS[name]
    except KeyError:
        raise LookupError(f"{name!r} is not available in this build (known tests: {', '.join(sorted(TESTS))})") from None
