"""Running the scan: reconciliation, every check at every level, corrections, verdicts and exclusions.

``scan(election)`` runs the protocol-arithmetic rules and every check of
the battery nationally and per region, corrects the p-values for multiple
testing (Benjamini-Hochberg, each family stated in a column), decides the
headlines with the calibrated verdict layer (``forensics.verdicts``), which
also gives one row per polling station with the evidence against it, and
lists every row an analysis left out.  A test that is missing from this build or fails on the
data appears as "could not run: <reason>", never vanishes; a parameter a
test does not take is an error before anything runs.

Randomness: each (test, level, group) draws from its own stream,
``forensics.random.seed_sequence(seed, test, level[, group])`` (the
national group's stream is keyed by test and level only), so a group's
result is the same whichever other tests and groups run, in any order.
The verdicts draw from their own stream, ``seed_sequence(seed, "verdicts")``.
So the steps (each check at each level, and the verdicts) run in worker
processes (``workers``) with outputs identical to a run in one process.
"""
from __future__ import annotations

import gc
import multiprocessing as mp
import multiprocessing.connection
import os
import pickle
import queue
import threading
import traceback
from dataclasses import dataclass
from time import perf_counter, process_time

import numpy as np
import pandas as pd

from ..errors import DataError
from ..levels import NATIONAL, group_positions, tidy_rows
from ..model import Election
from ..multitest import adjust
from ..random import base_seed, seed_sequence
from ..stats._core.shared import sharing
from ..stats.registry import SHARED_IMPORTS, check_parameters, registered_tests
from ..stats.result import TestResult
from ..verdicts import FROM_BATTERY, HEADLINES, reusable, verdicts
from ..verdicts.reuse import REUSED
from .battery import Check, battery, known_test, parameters
from .provenance import provenance
from .result import EXCLUDED_COLUMNS, TEST_COLUMNS, Scan

FINDING_COLUMNS = ["station", "region", "tec", "pec", "code", "severity", "observed", "expected", "difference",
                   "message"]


DEFAULT_LEVELS = ("nation", "region")


def scan(election: Election, levels=None, tests=None, rng=None, progress: bool = True,
         alpha: float = 0.01, party: str | None = None, time: str | None = None, workers: int | None = None,
         **params) -> Scan:
    """Run reconciliation and the battery at each level; return a ``Scan``.

    ``levels`` defaults to nation and region (region only when the table
    has that column, else a note says the regional tests were not run); a
    level given explicitly must be "nation" or a column.  ``tests`` is a sequence of ``Check`` (default ``DEFAULT_BATTERY``) or of
    test names.  ``rng`` (None, an int seed, a SeedSequence or a Generator)
    fixes all randomness; the seed is recorded in the provenance.
    ``alpha`` is the level for adjusted p-values called significant and for
    the verdicts' corrected p-values; ``party`` the party the verdicts and
    the station evidence examine (default: the national leader; it is also
    passed to every test of the battery that takes ``party``).  ``params[<test name>] =
    {...}`` sets one test's parameters; any other keyword goes to every test
    of the battery that takes it.  A keyword that its test (or, for a
    shared one, every test) does not take is a ``TypeError`` naming it.
    ``time`` (ISO text) overrides the timestamp recorded in the provenance.
    ``workers``: processes running the test x level steps and the verdicts
    side by side (default: the cores available to this process; 1 runs
    everything in this process).  Every step draws from its own stream, so
    the outputs are identical whatever the number of workers.
    """
    if progress:  # tqdm.auto only for a visible bar: in notebooks without ipywidgets it warns on import
        from tqdm.auto import tqdm
    else:
        from tqdm import tqdm

    workers = default_workers() if workers is None else int(workers)
    if workers < 1:
        raise ValueError(f"workers must be at least 1, not {workers}")
    checks = battery(tests)
    notes = {}
    if levels is None:
        levels = tuple(lv for lv in DEFAULT_LEVELS if lv == "nation" or lv in election.table.columns)
        if len(levels) < len(DEFAULT_LEVELS):
            notes["levels"] = "the table has no region column, so the tests ran nationally only"
    levels = tuple(levels)
    _check_levels(election, levels)
    seed, seed_note = base_seed(rng)
    if party is not None:
        params = {**params, "party": party}
    plan = _plan(checks, params)

    steps = [(c, lv) for lv in levels for c in checks if c.runs_at(lv)]
    bar = tqdm(total=len(steps) + 1, desc="scan", disable=not progress, unit="step", leave=False)
    by_level = {lv: LevelGroups(_for_level(election, lv), lv) for lv in levels}
    jobs = [_Step(check, *plan[check.name], level) for check, level in steps]
    jobs.append(_Verdicts(party, alpha, levels, seed))
    calls = {(c.name, lv): plan[c.name][1](lv) for c, lv in steps}
    # the verdicts whose numbers the battery computes: from its results, in this process, as soon as the steps
    # they take are done and this process has no step left to start (not after the slowest step)
    reused = [k for k, job in enumerate(jobs) if isinstance(job, _Step) and job.check.name in REUSED]

    def from_battery(done):
        results = {(jobs[k].check.name, jobs[k].level): done[k][0] for k in reused}
        return verdicts(election, party=party, alpha=alpha, levels=levels, checks=FROM_BATTERY, stations=False,
                        reuse=reusable(results, calls), rng=np.random.default_rng(seed_sequence(seed, "verdicts")))

    with sharing():  # the tests read the table once for all their levels and parameter sets
        done, (battery_verdicts, seconds) = _execute(jobs, election, by_level, seed, workers, bar,
                                                     then=(reused, from_battery))
    results, timings, cpu = {}, {}, {}
    for job, (out, spent) in zip(jobs, done):
        name = f"{job.check.name} @ {job.level}" if isinstance(job, _Step) else "verdicts"
        timings[name], cpu[name] = spent["wall"], spent["cpu"]
        if isinstance(job, _Step):
            results[(job.check.name, job.level)] = out
    own_verdicts, findings, reconcile_note, reconciliation = done[-1][0]
    notes.update(reconcile_note)
    decided = own_verdicts.merged(battery_verdicts)
    timings["verdicts"] += seconds["wall"] - reconciliation["wall"]  # the digits and context: the verdicts' time
    cpu["verdicts"] += seconds["cpu"] - reconciliation["cpu"]
    timings["reconciliation"], cpu["reconciliation"] = reconciliation["wall"], reconciliation["cpu"]
    test_table = _correct(_tests_table([(job.check.name, job.level, out) for job, (out, _) in
                                        zip(jobs[:-1], done[:-1])]), alpha)
    bar.close()

    return Scan(election=election, tests=test_table, findings=findings, stations=decided.stations,
                excluded=excluded_table(election, results, decided.stations), results=results,
                provenance=provenance(election, checks, levels, params, alpha, seed, seed_note, time),
                battery=checks, verdicts=decided, notes=notes, timings=timings, cpu_seconds=cpu)


@dataclass(frozen=True)
class _Step:
    """One check at one level: the unit of work the scan runs (and shares between processes)."""

    check: Check
    func: object
    kwargs: object
    level: str

    @property
    def cost(self) -> float:
        """On the scale of ``Check.cost``."""
        return self.check.cost_at(self.level)

    @property
    def shared_work(self):
        """The work this step shares with other steps (its test's ``shared_work``), or None."""
        return getattr(self.func, "shared_work", None)

    def __call__(self, election: Election, by_level: dict, seed):
        subs = by_level[self.level]
        return _run(self.check, self.func, subs.election, self.level, self.kwargs(self.level), seed, subs=subs)


@dataclass(frozen=True)
class _Verdicts:
    """The reconciliation, then the verdicts the battery does not compute and the station evidence (the others
    follow its results): (verdicts, findings with each station's position, the reconciliation's note).

    The reconciliation runs here, beside the steps, not before them: only the verdicts and the scan's findings
    table read it.
    """

    #: the verdicts' cost on the scale of ``Check.cost``
    cost = 15

    party: str | None
    alpha: float
    levels: tuple
    seed: object

    @property
    def shared_work(self):
        """The integer verdict reads the integer test's station probabilities."""
        from ..stats.spikes import integer_percentages
        return integer_percentages.shared_work

    def __call__(self, election: Election, by_level: dict, seed):
        (findings, raw, note), spent = _timed_call(_reconcile, election)
        own = tuple(code for code in HEADLINES if code not in FROM_BATTERY)
        decided = verdicts(election, party=self.party, alpha=self.alpha, levels=self.levels, findings=raw,
                           checks=own, context=(), rng=np.random.default_rng(seed_sequence(seed, "verdicts")))
        return decided, findings, note, spent


#: what the jobs run on: (jobs, election, by_level, seed), set before they start (the helpers inherit it)
_SHARED: tuple | None = None


def _timed(index: int):
    """Run job ``index`` of ``_SHARED``; (result, wall seconds, CPU seconds of this process)."""
    jobs, election, by_level, seed = _SHARED
    wall, cpu = perf_counter(), process_time()
    out = jobs[index](election, by_level, seed)
    return index, out, perf_counter() - wall, process_time() - cpu


def default_workers() -> int:
    """The cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _execute(jobs: list, election: Election, by_level: dict, seed, workers: int, bar, then=None) -> tuple:
    """([(result, {"wall": s, "cpu": s})] of every job, in the jobs' order, whatever ran where; (result,
    seconds) of ``then``).

    The jobs run in bundles, the costliest first (``_bundles``).  With more
    than one worker, ``workers - 1`` forked helpers (they inherit the
    election and the plan; only their results travel back) and this process
    take the next bundle in turn; each job has its own streams, so where and
    in which order it runs changes nothing in its result.  ``then`` = (job indexes,
    function of the outcomes): run in this process once those jobs are done
    and it has no job left to start, while the helpers finish theirs.
    """
    global _SHARED
    done = [None] * len(jobs)
    order = _bundles(jobs)
    _SHARED = (jobs, election, by_level, seed)
    outcomes, after, idle = None, None, False
    needs, function = then if then is not None else ((), None)
    try:
        if workers == 1 or len(jobs) < 2 or "fork" not in mp.get_all_start_methods():
            outcomes = (_timed(index) for bundle in order for index in bundle)
        else:
            _share_groups(jobs, by_level)
            # this process starts with the bundle that imports a module (it stays imported here for the next scan)
            own = next((b for b in order if jobs[b[0]].shared_work in SHARED_IMPORTS), [])
            outcomes = _Helpers(min(workers, len(order)) - 1, [b for b in order if b is not own], own).run()
        for item in outcomes:
            if item is _IDLE:
                idle = True
            else:
                index, out, wall, cpu = item
                done[index] = (out, {"wall": wall, "cpu": cpu})
                job = jobs[index]
                bar.set_postfix_str(f"{job.check.name} @ {job.level}" if isinstance(job, _Step) else "verdicts")
                bar.update(1)
            if idle and function is not None and after is None and all(done[k] is not None for k in needs):
                after = _timed_call(function, done)
    finally:
        if hasattr(outcomes, "close"):
            outcomes.close()  # stops the helpers at once after an error
        _SHARED = None
    if function is not None and after is None:
        after = _timed_call(function, done)
    return done, after


def _timed_call(function, *args) -> tuple:
    """(function(*args), {"wall": s, "cpu": s})."""
    wall, cpu = perf_counter(), process_time()
    out = function(*args)
    return out, {"wall": perf_counter() - wall, "cpu": process_time() - cpu}


#: what ``_Helpers.run`` yields once this process has no job left to start
_IDLE = object()


class _Helpers:
    """Forked processes that run jobs of ``_SHARED`` beside this one, each taking the next bundle of ``order``
    (this process runs the bundle ``own`` first, then takes the next ones too).

    ``run()`` yields (index, result, wall, CPU) of every job, this process's
    own as they finish and the helpers' as they arrive (each helper sends
    them through its own pipe), and ``_IDLE`` once this process has no job
    left to start; an error in a helper is raised here, and a
    helper that stops without sending its outcome is an error, not a wait.
    """

    def __init__(self, n: int, order: list, own: list = ()):
        self.order, self.own = order, own
        ctx = mp.get_context("fork")
        self.next = ctx.Value("q", 0)  # position in ``order`` of the next bundle to take
        pipes = [ctx.Pipe(duplex=False) for _ in range(n)]
        for _, w in pipes:
            _widen(w)
        self.readers = [r for r, _ in pipes]
        gc.freeze()  # the helpers' garbage collector leaves the inherited objects (and their pages) alone
        try:
            self.procs = [ctx.Process(target=self._work, args=(w,), daemon=True) for _, w in pipes]
            for proc in self.procs:
                proc.start()
        finally:
            gc.unfreeze()
        for _, w in pipes:
            w.close()  # the helpers hold the writing ends; a helper's end closes when it exits
        self.exited = False  # every helper has exited (their pipes are at their end)

    def _take(self):
        with self.next.get_lock():
            k = self.next.value
            self.next.value = k + 1
        return self.order[k] if k < len(self.order) else None

    def _work(self, pipe) -> None:
        """A helper: run bundles until none are left; send each job's outcome, or the error that stopped it."""
        while (bundle := self._take()) is not None:
            for index in bundle:
                try:
                    pipe.send((True, _timed(index)))
                except BaseException as exc:  # noqa: BLE001 - raised again in the parent
                    pipe.send((False, _portable(exc)))
                    return

    def run(self):
        """The outcomes."""
        inbox = queue.Queue()
        listener = threading.Thread(target=self._listen, args=(inbox,), daemon=True)
        listener.start()
        try:
            missing = sum(map(len, self.order)) + len(self.own)
            bundle = self.own
            while bundle is not None:
                for index in bundle:
                    yield _timed(index)
                    missing -= 1
                    for item in self._drain(inbox, block=False):
                        missing -= 1
                        yield item
                bundle = self._take()
            yield _IDLE
            for item in self._drain(inbox, block=False):
                missing -= 1
                yield item
            while missing:
                for item in self._drain(inbox, block=True):
                    missing -= 1
                    yield item
        finally:
            for proc in self.procs:
                if proc.is_alive():
                    proc.terminate()
                proc.join()
            listener.join()
            for reader in self.readers:
                reader.close()

    def _listen(self, inbox) -> None:
        """Receive what the helpers send, as it comes (so a helper never waits for this process to read),
        then None once every helper has exited."""
        open_ = list(self.readers)
        while open_:
            for reader in mp.connection.wait(open_):
                try:
                    inbox.put(reader.recv())
                except EOFError:
                    open_.remove(reader)
        inbox.put(None)

    def _drain(self, inbox, block: bool):
        """The helpers' outcomes received so far (``block``: wait for one)."""
        while True:
            try:
                got = inbox.get(block=block and not self.exited)
            except queue.Empty:
                if block:
                    break
                return
            if got is None:
                self.exited = True
                continue
            ok, item = got
            if not ok:
                raise item
            yield item
            if block:
                return
        codes = sorted({p.exitcode for p in self.procs if p.exitcode})
        raise RuntimeError("a scan worker process stopped before its step finished"
                           + (f" (exit code {', '.join(map(str, codes))})" if codes else "")
                           + "; run with workers=1 to see the error")


def _widen(pipe) -> None:
    """Give ``pipe`` the largest buffer Linux allows (1 MB by default, not 64 kB): a helper sends a large
    result in a few writes, each read by this process's listener thread when it gets the interpreter lock, so
    neither side waits long for the other."""
    try:
        import fcntl

        fcntl.fcntl(pipe.fileno(), fcntl.F_SETPIPE_SZ, _PIPE_BYTES)
    except (ImportError, AttributeError, OSError):  # not Linux, or the system's limit is lower: the default
        pass


#: the pipe buffer ``_widen`` asks for (Linux's default /proc/sys/fs/pipe-max-size)
_PIPE_BYTES = 1 << 20


def _portable(exc: BaseException) -> BaseException:
    """``exc`` if it survives pickling, else a RuntimeError carrying its text and traceback."""
    try:
        pickle.loads(pickle.dumps(exc))
        return exc
    except Exception:  # noqa: BLE001 - any failure to pickle
        text = "".join(traceback.format_exception(exc))
        return RuntimeError(f"{type(exc).__name__}: {exc}\n{text}")


def _share_groups(jobs: list, by_level: dict) -> None:
    """Before forking: build the sub-elections that group-by-group steps use, once, so the workers share them."""
    for job in jobs:
        if isinstance(job, _Step) and job.level != "nation" and getattr(job.func, "grouped", None) is None:
            subs = by_level[job.level]
            for group in subs.positions:
                subs.sub(group)


def _bundles(jobs: list) -> list:
    """Job indexes in bundles, the costliest bundle first (``cost``: fixed estimates, so the order is the same on
    any machine), so no worker is left with a long step at the end.  The jobs that share work
    (``shared_work``, e.g. the integer test's station probabilities) form one bundle, which one process runs,
    so the work is done once (an import's cost, ``SHARED_IMPORTS``, counted once in the bundle's); every other job
    is a bundle of its own."""
    bundles = {}
    for index in sorted(range(len(jobs)), key=lambda k: -jobs[k].cost):
        key = jobs[index].shared_work
        bundles.setdefault(index if key is None else key, []).append(index)

    def cost(bundle):
        return sum(jobs[k].cost for k in bundle) + SHARED_IMPORTS.get(jobs[bundle[0]].shared_work, 0)
    return sorted(bundles.values(), key=lambda bundle: -cost(bundle))


def _check_levels(election: Election, levels) -> None:
    unknown = [lv for lv in levels if lv != "nation" and lv not in election.table.columns]
    if unknown:
        ids = [c for c in election.table.columns if election.table[c].dtype == object][:12]
        raise DataError(f"the level(s) {', '.join(map(repr, unknown))} are not columns of the table",
                        fix=f"use nation or a column such as {', '.join(ids) or 'region'}")


def _plan(checks, params: dict) -> dict:
    """check name -> (callable or the reason it is unavailable, kwargs(level)); every keyword checked first."""
    registered_tests()  # load every test module, so that names resolve
    names = {c.name for c in checks}
    per_test = {k: v for k, v in params.items() if isinstance(v, dict) and known_test(k)}
    common = {k: v for k, v in params.items() if k not in per_test}
    for name in per_test:
        if name not in names:
            raise TypeError(f"scan() got {name}={{...}}, but {name} is not in this scan's battery")
    plan, takers = {}, {k: 0 for k in common}
    for check in checks:
        try:
            func = check.resolve()
        except Exception as exc:  # noqa: BLE001 - reported as "could not run" in the tables
            plan[check.name] = (exc, lambda level: {})
            continue
        accepted, renamed = parameters(func)
        own = {**check.params, **check.sub_params, **per_test.get(check.name, {}),
               **({"party": None} if check.each_party else {}), **{k: v for var in check.variants for k, v in var.items()}}
        if accepted is not None:
            check_parameters(check.name, accepted, own, renamed)
        shared = {k: v for k, v in common.items() if accepted is None or k in accepted or k in renamed}
        for k in shared:
            takers[k] += 1

        def kwargs(level, check=check, shared=shared):
            sub = check.sub_params if level != "nation" else {}
            return {**check.params, **sub, **shared, **per_test.get(check.name, {})}

        plan[check.name] = (func, kwargs)
    unused = [k for k, n in takers.items() if n == 0]
    if unused:
        raise TypeError(f"scan() got {', '.join(repr(k) for k in unused)}, which no test of the battery takes")
    return plan


def _for_level(election: Election, level: str) -> Election:
    """TEC names repeat across regions, so the "tec" level groups by "region / tec"."""
    t = election.table
    if level == "tec" and {"region", "tec"} <= set(t.columns):
        return election.with_table(t.assign(tec=t["region"].astype(str) + " / " + t["tec"].astype(str)))
    return election


def station_positions(election: Election, labels) -> np.ndarray:
    """0-based input positions of table index ``labels`` (-1 for a label that is not a station)."""
    pos = pd.Series(np.arange(len(election.table)), index=election.table.index)
    return pos.reindex(pd.Index(labels)).fillna(-1).astype(np.int64).to_numpy()


def _reconcile(election: Election) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """The findings with each station's position, the reconciliation's own table (for the verdicts) and,
    when it could not run, why (both tables empty)."""
    try:
        from ..reconcile import reconcile

        raw = reconcile(election).table
    except Exception as exc:  # noqa: BLE001 - reported in the summary and the report
        return (pd.DataFrame(columns=FINDING_COLUMNS), pd.DataFrame(columns=FINDING_COLUMNS),
                {"reconcile": f"could not run: {type(exc).__name__}: {exc}"})
    table = raw.reset_index()
    table["station"] = np.where(table["station"] >= 0, station_positions(election, table["station"]), -1)
    return table, raw, {}


def _stream(seed, check: Check, level: str, group: str, variant: dict, n_variants: int) -> np.random.Generator:
    """The stream of one run: keyed by test and level, plus the group below the nation, plus the variant."""
    names = [check.name, level] + ([group] if level != "nation" else [])
    if n_variants > 1:
        names.append(";".join(f"{k}={v}" for k, v in variant.items()))
    return np.random.default_rng(seed_sequence(seed, *names))


def _as_results(res, name: str):
    """TestResult(s) from what a test returned; a battery result gives its rows (``.results``)."""
    if hasattr(res, "results") and not isinstance(res, TestResult):
        res = res.results
    items = res if isinstance(res, (list, tuple)) else [res]
    if not all(isinstance(r, TestResult) for r in items):
        return f"could not run: {name} returned {type(res).__name__}, not TestResult"
    return res


def _run(check: Check, func, election: Election, level: str, kwargs: dict, seed, subs=None) -> dict:
    """{group: TestResult | [TestResult | note] | note} for one check at one level.

    Each run (one, one per party, one per variant) goes through the test's
    ``grouped`` form when it has one (below the nation), with the same
    per-group streams; a run whose grouped call fails goes group by group,
    so each group reports its own error.  ``subs`` (a ``LevelGroups``) shares
    the level's groups and sub-elections between checks.
    """
    subs = subs if subs is not None else LevelGroups(election, level)
    if isinstance(func, Exception):
        return {g: f"could not run: {func}" for g in subs.positions}
    missing = check.missing(election)
    if missing:
        return {g: f"could not run: the data has no {', '.join(missing)}" for g in subs.positions}
    accepted, _ = parameters(func)
    takes_rng = accepted is None or "rng" in accepted
    runs = check.runs(election)
    small = {g: f"too few stations ({len(p)} < {check.min_stations})" for g, p in subs.positions.items()
             if len(p) < check.min_stations}
    run_groups = {g: p for g, p in subs.positions.items() if g not in small}
    grouped = getattr(func, "grouped", None) if level != "nation" else None
    per_run = [_one_run(check, func, grouped, subs, run_groups, {**kwargs, **variant}, variant, len(runs), seed,
                        takes_rng) for variant in runs]
    out = {}
    for group in subs.positions:
        if group in small:
            out[group] = small[group]
            continue
        items = [results[group] for results in per_run]
        out[group] = items[0] if len(items) == 1 else [r for item in items
                                                       for r in (item if isinstance(item, list) else [item])]
    return out


def _one_run(check: Check, func, grouped, subs: "LevelGroups", run_groups: dict, call: dict, variant: dict,
             n_runs: int, seed, takes_rng: bool) -> dict:
    """{group: results or note} of one run (one parameter set) over the groups large enough to test."""
    streams = {g: _stream(seed, check, subs.level, g, variant, n_runs) for g in run_groups} if takes_rng else {}
    if grouped is not None:
        try:
            results = grouped(subs.election, run_groups, streams, **call)
            return {g: _as_results(results[g], check.name) for g in run_groups}
        except Exception:  # noqa: BLE001 - the group-by-group path below reports each group's error
            streams = {g: _stream(seed, check, subs.level, g, variant, n_runs)
                       for g in run_groups} if takes_rng else {}
    out = {}
    for group in run_groups:
        extra = {"rng": streams[group]} if takes_rng else {}
        try:
            out[group] = _as_results(func(subs.sub(group), **call, **extra), check.name)
        except Exception as exc:  # noqa: BLE001 - reported in the tables, not raised
            out[group] = f"could not run: {type(exc).__name__}: {exc}"
    return out


class LevelGroups:
    """The groups of one level: their row positions, and each group's sub-election built once and shared.

    Nationally the one group is the election itself (no copy).
    """

    def __init__(self, election: Election, level: str):
        self.election, self.level = election, level
        self.positions = group_positions(election, level)
        self._subs = {}

    def sub(self, group: str) -> Election:
        if self.level == "nation":
            return self.election
        if group not in self._subs:
            self._subs[group] = self.election.with_table(self.election.table.take(self.positions[group]))
        return self._subs[group]


def _tests_table(steps: list) -> pd.DataFrame:
    """Tidy rows of every (check name, level, results) step; ``test`` is the battery name, ``measure`` the
    result's own name.

    ``pvalue_adj_test`` corrects one measure (and party) across the groups of
    one check at one level, the family stated in ``family_test``.  The rows
    of all steps are joined first and the columns computed once.
    """
    table = tidy_rows([(level, res) for _, level, res in steps])
    sizes = [sum(len(r) if isinstance(r, (list, tuple)) else 1 for r in res.values()) for _, _, res in steps]
    if table.empty:
        return pd.DataFrame(columns=TEST_COLUMNS)
    check = np.repeat(np.array([name for name, _, _ in steps], dtype=object), sizes)
    level = np.repeat(np.array([lv for _, lv, _ in steps], dtype=object), sizes)
    measure = table["test"].to_numpy(dtype=object)
    measure = np.where(pd.isna(measure), check, measure)
    party = table["party"].to_numpy(dtype=object)
    party = np.where(pd.isna(party), "", party)
    families = pd.MultiIndex.from_arrays([check, level, measure, party.astype(str)])
    codes = pd.factorize(families)[0]
    adjusted = np.full(len(table), np.nan)
    pvalue = table["pvalue"].to_numpy(dtype=float)
    order = np.argsort(codes, kind="stable")
    bounds = np.flatnonzero(np.diff(codes[order])) + 1
    for rows in np.split(order, bounds):
        adjusted[rows] = adjust(pvalue[rows])
    table["measure"] = measure
    table["test"] = check
    table["party"] = party
    table["pvalue_adj_test"] = adjusted
    table["family_test"] = [f"{m}{' / ' + str(p) if str(p) != '' else ''} across the {lv} groups"
                            for m, p, lv in zip(measure, party, level)]
    return table


def _correct(table: pd.DataFrame, alpha: float) -> pd.DataFrame:
    """BH across every test, party and group of one level; the family is stated per row; the effect and verdict."""
    table = table.reindex(columns=list(dict.fromkeys([*table.columns, *TEST_COLUMNS])))
    table["note"] = table["note"].fillna("").astype(str)
    table["party"] = table["party"].astype(object).where(table["party"].notna(), "")
    table["pvalue"] = pd.to_numeric(table["pvalue"], errors="coerce")
    statistic, expected = (pd.to_numeric(table[c], errors="coerce") for c in ("statistic", "expected"))
    table["effect"] = statistic - expected.fillna(0)
    table["pvalue_adj"] = np.nan
    table["family"] = ""
    for level, idx in table.groupby("level", sort=False).groups.items():
        p = table.loc[idx, "pvalue"]
        table.loc[idx, "pvalue_adj"] = adjust(p)
        table.loc[idx, "family"] = (f"all {int(p.notna().sum())} p-values at the {level} level "
                                    "(every test, party and group)")
    table["significant"] = table["pvalue_adj"] < alpha
    return table[TEST_COLUMNS].reset_index(drop=True)


# --------------------------------------------------------------------------- exclusions
def excluded_table(election: Election, results: dict, stations: pd.DataFrame) -> pd.DataFrame:
    """Every unit left out by any analysis, with the reason (``EXCLUDED_COLUMNS``).

    One row per (analysis, level, group, party, station) for stations left
    out whole, and one row per reason (``station`` = -1) for units a test
    only counted (e.g. counts below 10 in a digit test); the ``n`` of one
    result's rows add up to its ``n_excluded``.  Results of one call that
    share their exclusions (the three digit-pair tests) are listed once.
    Built in one pass over all results: every listed row placed and its
    reason coded at once, each result's rows found by its block number, and
    each text column taken from its few distinct values (not made row by row).
    """
    listed = _listed(results)
    st = stations.loc[stations["excluded"] != "", ["station", "excluded"]]
    rows = [r.excluded_rows if r.excluded_rows is not None else pd.Series([], dtype=object) for _, r in listed]
    named = [x.index.to_numpy() for x in rows if len(x)]
    at = election.table.index.get_indexer(pd.Index(np.concatenate(named))) if named else np.zeros(0, np.int64)
    texts = np.concatenate([np.zeros(0, object), st["excluded"].astype(str).to_numpy(dtype=object)]
                           + [x.to_numpy(dtype=object) for x in rows])
    codes, kinds = pd.factorize(texts)
    kinds = [str(k) for k in kinds]
    # block 0: the station evidence; block 1 + 2k: result k's stations left out whole, 2 + 2k: its other units
    owner = np.repeat(np.arange(len(rows)), [len(x) for x in rows])
    codes_st, codes = codes[:len(st)], codes[len(st):]
    whole = at >= 0
    owner, at, codes = owner[whole], at[whole], codes[whole]
    counts = np.bincount(owner * len(kinds) + codes, minlength=len(rows) * len(kinds)).reshape(len(rows), len(kinds))
    rest_owner, rest_reason, rest_n = [], [], []
    code_of = {kind: k for k, kind in enumerate(kinds)}
    for k, (_, r) in enumerate(listed):
        for reason, count in r.excluded.items():
            left = int(count) - (int(counts[k, code_of[reason]]) if reason in code_of else 0)
            if left > 0:
                rest_owner.append(k)
                rest_reason.append(reason)
                rest_n.append(left)
    # every reason's code: the listed rows' reasons keep theirs, the other units' reasons follow
    all_codes, reasons = pd.factorize(pd.Index(kinds).append(pd.Index(rest_reason, dtype=object)))
    block = np.concatenate([np.zeros(len(st), np.int64), 1 + 2 * owner, 2 + 2 * np.asarray(rest_owner, np.int64)])
    order = np.argsort(block, kind="stable")
    result = np.maximum(block[order] - 1, 0) // 2
    evidence = block[order] == 0
    station = np.concatenate([st["station"].to_numpy(np.int64), at, np.full(len(rest_owner), -1, np.int64)])[order]
    reason = np.concatenate([codes_st, codes, all_codes[len(kinds):]])[order]
    n = np.concatenate([np.ones(len(st) + len(at), np.int64), np.asarray(rest_n, np.int64)])[order]
    labels = [("station evidence", "nation", NATIONAL, "")] + [base for base, _ in listed]
    which = np.where(evidence, 0, result + 1)
    columns = {col: _texts([b[k] for b in labels], which)
               for k, col in enumerate(("analysis", "level", "group", "party"))}
    columns["station"] = station
    ids = pd.Index(stations["station"].to_numpy()).get_indexer(station)
    columns.update({col: stations[col].array.take(ids, allow_fill=True) for col in ("region", "tec", "pec")})
    columns["reason"] = _texts([str(x) for x in reasons], reason)
    columns["n"] = n
    return pd.DataFrame({col: columns[col] for col in EXCLUDED_COLUMNS})


def _listed(results: dict) -> list:
    """((analysis, level, group, party), result) of every result with exclusions, in result order; the results
    of one call that share their exclusions once."""
    listed = []
    for (name, level), res in results.items():
        for group, items in res.items():
            seen = set()
            for r in items if isinstance(items, (list, tuple)) else [items]:
                if not isinstance(r, TestResult) or not r.excluded:
                    continue
                key = (r.party or "", tuple(sorted(r.excluded.items())))
                if key in seen:
                    continue
                seen.add(key)
                listed.append(((name, level, group, r.party or ""), r))
    return listed


def _texts(values: list, codes: np.ndarray):
    """A text column: ``values[codes]``, converted to text once per distinct value, not once per row."""
    return pd.Series(np.asarray(values, dtype=object)).array.take(codes)  # text dtype inferred as pandas does
