"""How the scan runs its checks: grouped forms give the same results as group by group."""
from __future__ import annotations

import dataclasses
import functools
import time

import numpy as np
import pandas as pd
import pytest

import forensics
from forensics.report import write_tables
from forensics.levels import NATIONAL
from forensics.scan import Check, scan
from forensics.scan.result import EXCLUDED_COLUMNS
from forensics.scan.battery import DEFAULT_BATTERY
from forensics.stats.registry import get_test
from forensics.stats.result import TestResult


@pytest.fixture(scope="module")
def election():
    return forensics.simulate(n_pec=1500, n_regions=6, fraud={"rounding": {"fraction": 0.05}}, rng=5)


def _toy(election, party=None, kind="a", rng=None):
    """A share mean plus one random draw, so the stream each run gets shows in the result."""
    share = election.share(party).to_numpy()
    value = float(np.nanmean(share)) + (1.0 if kind == "b" else 0.0)
    return TestResult("toy", value, pvalue=float(rng.random()), n_used=len(share), party=party)


def _toy_grouped(election, groups, rngs, **call):
    calls.append(call)
    return {g: _toy(election.with_table(election.table.take(p)), rng=rngs[g], **call) for g, p in groups.items()}


def _toy_broken(election, groups, rngs, **call):
    calls.append(call)
    raise RuntimeError("the grouped form failed")


calls = []


def _with(grouped):
    def toy(election, party=None, kind="a", rng=None):
        return _toy(election, party, kind, rng)

    if grouped is not None:
        toy.grouped = grouped
    return toy


def _tables(election, checks, tmp_path, label, **params):
    s = scan(election, tests=checks, rng=9, progress=False, **params)
    return {name: p.read_bytes() for name, p in write_tables(s, tmp_path / label).items()}


@pytest.mark.parametrize("grouped", [_toy_grouped, _toy_broken])
def test_grouped_forms_of_per_party_and_variant_checks_match_group_by_group(election, tmp_path, grouped):
    def checks(func):
        return (Check("toy_party", "per party", "other", func=func, each_party=True, needs=("parties",)),
                Check("toy_variants", "variants", "other", func=func, needs=("parties",),
                      variants=({"kind": "a"}, {"kind": "b"})))

    calls.clear()
    with_grouped = _tables(election, checks(_with(grouped)), tmp_path, "grouped", workers=1)  # calls counted here
    # one grouped call per run below the nation: one per party, one per variant
    assert len(calls) == len(election.parties) + 2
    assert {c.get("party") for c in calls} >= set(election.parties)
    assert with_grouped == _tables(election, checks(_with(None)), tmp_path, "plain")
    assert with_grouped == _tables(election, checks(_with(grouped)), tmp_path, "grouped2", workers=2)
    tests = pd.read_csv(tmp_path / "grouped" / "tests.csv")
    regional = tests[(tests["test"] == "toy_party") & (tests["level"] == "region")]
    assert len(regional) == election.table["region"].nunique() * len(election.parties)
    assert regional["note"].isna().all()


GROUPED_CHECKS = [c for c in DEFAULT_BATTERY if getattr(c.resolve(), "grouped", None) is not None]


def test_the_battery_has_grouped_forms_where_groups_are_many():
    assert {c.name for c in GROUPED_CHECKS} >= {
        "integer_percentages", "turnout_regression", "turnout_share_correlation", "dip_test", "fingerprint",
        "last_digit_test", "second_digit_test", "digit_pairs_test"}


@pytest.mark.parametrize("check", GROUPED_CHECKS, ids=lambda c: c.name)
def test_grouped_forms_in_the_scan_match_group_by_group(election, tmp_path, check):
    """Whether the test takes random numbers or not, each battery check's grouped form gives the plain tables."""
    func = check.resolve()
    plain = functools.wraps(func)(lambda election, *args, **kwargs: func(election, *args, **kwargs))
    del plain.grouped  # copied by wraps with the function's attributes: this one is group by group
    params = {"n_sim": 100} if check.name == "integer_percentages" else {}
    grouped = _tables(election, (dataclasses.replace(check, params={**check.params, **params}),), tmp_path,
                      "grouped", workers=1)
    plain_tables = _tables(election, (dataclasses.replace(check, func=plain, params={**check.params, **params}),),
                           tmp_path, "plain", workers=1)
    assert grouped.keys() == plain_tables.keys()
    for name in grouped:  # the summary's provenance names the function called; every table is the same
        if name != "summary.json":
            assert grouped[name] == plain_tables[name], name


def test_workers_give_identical_outputs(election, tmp_path):
    fast = {"klimek_fit": {"n_sim_ci": 3, "n_sim": 3, "iterations": 2}, "integer_percentages": {"n_sim": 100},
            "coarse_shares": {"n_sim": 20}}
    one = _tables(election, None, tmp_path, "one", workers=1, **fast)
    two = _tables(election, None, tmp_path, "two", workers=2, **fast)
    assert one.keys() == two.keys() and {"tests.csv", "stations.csv", "verdicts.csv"} <= one.keys()
    for name in one:
        assert one[name] == two[name], name


def test_workers_must_be_positive(election):
    with pytest.raises(ValueError, match="workers"):
        scan(election, tests=("fingerprint",), workers=0, progress=False)


class _Stop(BaseException):
    """Not an Exception, so the scan does not report it as "could not run" but stops, wherever it was raised."""


def _stops_in_a_helper(election, rng=None):
    import os

    if os.getpid() != _PARENT:
        _HELPER_RAN.touch()
        raise _Stop("stopped in a worker")
    for _ in range(600):  # this process waits until a helper has taken a step (a minute at most)
        if _HELPER_RAN.exists():
            break
        time.sleep(0.1)
    return TestResult("toy", 0.0, n_used=len(election.table))


_PARENT = __import__("os").getpid()
_HELPER_RAN = None


def test_an_error_in_a_worker_process_stops_the_scan(election, tmp_path):
    # this process's steps wait until a helper process has run one; the helper's error comes back here
    # instead of leaving the scan waiting
    global _HELPER_RAN
    _HELPER_RAN = tmp_path / "helper_ran"
    checks = tuple(Check(f"stop{k}", "stops", "other", func=_stops_in_a_helper, levels=("nation",), needs=())
                   for k in range(4))
    with pytest.raises(_Stop, match="stopped in a worker"):
        scan(election, tests=checks, rng=1, progress=False, workers=2)


def test_bundles_start_costliest_first_and_keep_shared_work_together():
    from forensics.scan.run import _bundles, _Step, _Verdicts

    jobs = [_Step(c, get_test(c.name), None, level) for level in ("nation", "region")
            for c in DEFAULT_BATTERY if c.runs_at(level)]
    jobs.append(_Verdicts(None, 0.01, ("nation", "region"), 1))
    names = [[f"{jobs[i].check.name} @ {jobs[i].level}" if isinstance(jobs[i], _Step) else "verdicts" for i in b]
             for b in _bundles(jobs)]
    assert names[0] == ["coarse_shares @ nation"]
    # the steps that import scipy.stats (a second per process): one bundle, so only one process pays the import,
    # whose cost counts in the bundle's
    assert names[1] == ["klimek_fit @ nation", "turnout_share_correlation @ region",
                        "turnout_share_correlation @ nation"]
    # the integer steps and the verdicts read the same station probabilities: one bundle, one process
    assert names[2] == ["verdicts", "integer_percentages @ region", "integer_percentages @ nation"]
    digits = [b for b in names if any("digit" in n for n in b)]
    assert len(digits) == 1 and len(digits[0]) == 6
    assert sorted(n for b in names for n in b) == sorted(
        f"{j.check.name} @ {j.level}" if isinstance(j, _Step) else "verdicts" for j in jobs)


_STEP_IMPORTS = """
import sys
from forensics.levels import NATIONAL
from forensics.scan import DEFAULT_BATTERY, run
from forensics.simulate import simulate
from forensics.stats._core.shared import sharing
from forensics.stats.registry import registered_tests

registered_tests()
e = simulate(n_pec=600, n_regions=4, rng=5)
check = next(c for c in DEFAULT_BATTERY if c.name == sys.argv[1])
plan = run._plan([check], {"coarse_shares": {"n_sim": 5}} if check.name == "coarse_shares" else {})
by_level = {lv: run.LevelGroups(run._for_level(e, lv), lv) for lv in check.levels}
with sharing():
    for level in check.levels:
        run._Step(check, *plan[check.name], level)(e, by_level, 1)
    if check.name == "fingerprint":  # and the verdicts, the tables' corrections
        run._Verdicts(None, 0.01, ("nation", "region"), 1)(e, by_level, 1)
        run.adjust([0.01, 0.2, 0.03])
print("scipy.stats" in sys.modules, "statsmodels" in sys.modules)
"""


@pytest.mark.slow
def test_only_the_steps_that_declare_it_import_scipy_stats():
    """The scan forks its helpers without scipy.stats (a second to import in each process); a step that imports it
    declares so (``shared_work``), and those steps run in one bundle, so one process at most pays the import. Each
    step of the default battery runs here in a fresh interpreter (the verdicts with the first)."""
    import subprocess
    import sys

    from forensics.stats.registry import IMPORTS_SCIPY_STATS, get_test

    for check in DEFAULT_BATTERY:
        out = subprocess.run([sys.executable, "-c", _STEP_IMPORTS, check.name], capture_output=True, text=True,
                             check=True)
        declared = getattr(get_test(check.name), "shared_work", None) == IMPORTS_SCIPY_STATS
        imported, statsmodels = out.stdout.split()
        assert statsmodels == "False", check.name
        assert imported == "False" or declared, f"{check.name} imports scipy.stats without declaring it"


def _excluded_reference(election, results, stations):
    """The exclusions table built row by row from its definition (``excluded_table``'s docstring)."""
    from forensics.scan.run import _listed

    rows = [("station evidence", "nation", NATIONAL, "", s, reason, 1)
            for s, reason in zip(stations["station"], stations["excluded"]) if reason != ""]
    where = {label: k for k, label in enumerate(election.table.index)}
    for base, r in _listed(results):  # which results are listed is _listed's; their rows are built here
        listed = {}
        for label, reason in (r.excluded_rows.items() if r.excluded_rows is not None else []):
            if label in where:
                rows.append((*base, where[label], reason, 1))
                listed[reason] = listed.get(reason, 0) + 1
        rows += [(*base, -1, reason, int(count) - listed.get(reason, 0))
                 for reason, count in r.excluded.items() if int(count) > listed.get(reason, 0)]
    table = pd.DataFrame(rows, columns=["analysis", "level", "group", "party", "station", "reason", "n"])
    table = table.join(stations.set_index("station")[["region", "tec", "pec"]], on="station")
    return table[EXCLUDED_COLUMNS].astype({"station": np.int64, "n": np.int64})


def test_exclusions_table_is_its_row_by_row_definition(election):
    from forensics.scan.run import excluded_table

    s = scan(election, rng=3, progress=False, workers=1, klimek_fit={"n_sim_ci": 3, "n_sim": 3, "iterations": 2},
             coarse_shares={"n_sim": 20})
    results = dict(s.results)
    # a result that lists a station the table does not have, and counts more units of a reason than it lists
    odd = TestResult("toy", 1.0, n_used=10, excluded={"odd reason": 3, "other reason": 2},
                     excluded_rows=pd.Series(["odd reason", "odd reason"],
                                             index=[election.table.index[4], "not a station"]))
    results[("toy", "region")] = {"A": odd, "B": [odd, odd], "C": "could not run: test"}
    got = excluded_table(election, results, s.stations)
    expected = _excluded_reference(election, results, s.stations)
    assert len(got) > 1000 and set(got["reason"]) >= {"odd reason", "other reason"}
    pd.testing.assert_frame_equal(got, expected, check_exact=True)
    # groups A and B list it once each (B's two results share their exclusions)
    assert (got.loc[got["reason"] == "odd reason", "n"].tolist() == [1, 2, 1, 2]
            and got.loc[got["reason"] == "other reason", "n"].tolist() == [2, 2])
