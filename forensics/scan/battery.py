"""The scan's battery, as data: which test runs at which levels, with which parameters.

A ``Check`` names a registered test of ``forensics.stats`` (or any function
returning TestResults), the levels it runs at, its parameters, what the data
must have for it, and how many times it runs per group: once, once per
party (``each_party``) or once per parameter set (``variants``).  Adding a
test to the scan is adding a ``Check`` here; nothing else changes.
"""
from __future__ import annotations

import importlib
import inspect
from dataclasses import dataclass, field

from ..stats.registry import TESTS, get_test


@dataclass(frozen=True)
class Check:
    """One test of the battery: which function, at which levels, with which parameters.

    ``func`` is a registered test name, "module:attribute" or a callable
    (default: the registered test ``name``); ``needs`` lists table columns
    the test cannot do without ("parties" means at least one party column);
    groups with fewer than ``min_stations`` rows are reported as too small,
    not run; ``sub_params`` override ``params`` below the national level;
    ``each_party`` runs the test once per party column (``party=...``);
    ``variants`` runs it once per dict of parameters (e.g. each kind of
    digit pair).  Each run is one row of ``tests.csv``.  ``cost`` is a rough
    relative cost of the check at a level ("nation", or "region" for any
    level below; default 1), from the work the method does, not from
    timings: the scan starts the costliest steps first so its workers
    finish together; it changes no result.
    """

    name: str
    title: str
    area: str
    levels: tuple = ("nation", "region")
    params: dict = field(default_factory=dict)
    needs: tuple = ("registered", "parties")
    min_stations: int = 30
    func: object = None
    sub_params: dict = field(default_factory=dict)
    each_party: bool = False
    variants: tuple = ()
    cost: dict = field(default_factory=dict)

    def resolve(self):
        """The callable, or raise LookupError with a plain reason why it is not available."""
        if callable(self.func):
            return self.func
        target = self.func or self.name
        if ":" not in target:
            return get_test(target)
        module_name, _, attr = target.partition(":")
        module = importlib.import_module(module_name)
        try:
            return getattr(module, attr)
        except AttributeError:
            raise LookupError(f"{module.__name__}.{attr} is not available in this build") from None

    def runs_at(self, level: str) -> bool:
        """Checks declared for "region" also run at other sub-national levels (e.g. "tec")."""
        return level in self.levels or (level != "nation" and "region" in self.levels)

    def cost_at(self, level: str) -> float:
        """The relative cost of this check at ``level`` (``cost``; a level below the nation costs as "region")."""
        return float(self.cost.get(level, self.cost.get("region" if level != "nation" else "nation", 1.0)))

    def runs(self, election) -> list[dict]:
        """The parameter sets of one group's runs: one, one per party, or one per variant."""
        if self.each_party:
            return [{"party": p} for p in election.parties]
        return [dict(v) for v in self.variants] or [{}]

    def missing(self, election) -> list[str]:
        """What the data lacks for this check, in words (empty when it can run)."""
        missing = [n for n in self.needs if n != "parties" and n not in election.table.columns]
        if "parties" in self.needs and not election.parties:
            missing.append("party columns")
        return missing


def parameters(func) -> tuple[tuple | None, dict]:
    """(the keywords a test takes after the data, or None when it takes any; its deprecated names)."""
    if hasattr(func, "parameters"):
        return tuple(func.parameters), dict(getattr(func, "renamed", {}))
    params = list(inspect.signature(func).parameters.values())[1:]
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params):
        return None, {}
    return tuple(p.name for p in params), {}


#: The default battery.  Parameters are chosen so a full scan of ~100,000
#: stations at nation + region level, report included, stays within two minutes.
#: ``cost``: about the tenths of a CPU second a step takes on 100,000 simulated stations in 80 regions
#: (``benchmarks/results/speed.md``); 1 where less.
DEFAULT_BATTERY: tuple[Check, ...] = (
    # nationally bins as fine as the stations fill (a quarter point for a large election), so the report's
    # fingerprint shows a grid of whole percentages where there is one
    Check("fingerprint", "Election fingerprint (turnout vs leader share)", "fingerprints",
          params={"bin_width": "auto"}, sub_params={"bin_width": 0.01}, cost={"region": 2}),
    Check("klimek_fit", "Klimek fraud-model fit (incremental and extreme fraud)", "fingerprints",
          levels=("nation",), min_stations=200, cost={"nation": 25}),
    Check("excess_votes", "Shpilkin excess-vote estimate", "fingerprints", levels=("nation",), cost={"nation": 5}),
    Check("cumulative_votes", "Cumulative vote share by turnout", "fingerprints", levels=("nation",)),
    Check("integer_percentages", "Integer-percentage excess (Kobak et al.)", "spikes", params={},
          sub_params={"breakdown": None}, cost={"nation": 5, "region": 9}),
    Check("coarse_shares", "Coarse (round) vote shares (Rozenas)", "spikes", levels=("nation",),
          params={"n_sim": 200}, cost={"nation": 60}),
    Check("turnout_share_correlation", "Turnout-share correlation", "shape", cost={"region": 2}),
    Check("turnout_regression", "Regression of votes on turnout (Sobyanin-Sukhovolsky)", "shape", each_party=True,
          cost={"region": 4}),
    Check("vote_rate_collapse", "Vote-rate data collapse (kurtosis, skewness)", "shape", levels=("nation",),
          cost={"nation": 3}),
    Check("dip_test", "Hartigan's dip test (several peaks in turnout)", "shape"),
    Check("last_digit_test", "Last-digit test (Beber-Scacco)", "digits", needs=("parties",), cost={"region": 3}),
    Check("second_digit_test", "Second-digit Benford test (2BL)", "digits", needs=("parties",), cost={"region": 2}),
    Check("digit_pairs_test", "Adjacent and repeated digit pairs (Beber-Scacco)", "digits", needs=("parties",),
          variants=({"kind": "repeated"}, {"kind": "adjacent"}, {"kind": "non-adjacent"}),
          cost={"region": 4}),
)

#: EFToolkit's basic battery as a check (not in the default battery): ``scan(e, tests=[*DEFAULT_BATTERY, EFTOOLKIT])``.
EFTOOLKIT = Check("basic_battery", "EFToolkit's basic battery (Kalinin & Mebane)", "digits",
                  func="forensics.stats.eftoolkit:basic_battery", params={"n_sim": 1000},
                  cost={"nation": 20, "region": 40})


def battery(tests=None) -> tuple[Check, ...]:
    """The checks to run: ``DEFAULT_BATTERY``, or the named or given ones (unknown names become checks too)."""
    if tests is None:
        return DEFAULT_BATTERY
    known = {c.name: c for c in (*DEFAULT_BATTERY, EFTOOLKIT)}
    out = []
    for t in tests:
        if isinstance(t, Check):
            out.append(t)
        elif t in known:
            out.append(known[t])
        else:
            out.append(Check(str(t), str(t), "other"))
    return tuple(out)


def known_test(name: str) -> bool:
    """Is ``name`` a registered test or a check of the default battery (for per-test parameters)?"""
    return name in TESTS or name in {c.name for c in (*DEFAULT_BATTERY, EFTOOLKIT)}
