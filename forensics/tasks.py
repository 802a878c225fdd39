"""Independent tasks on a Dask cluster or in this process, results in the order given.

``run_tasks(fn, calls, executor=...)`` calls ``fn(*args, **common)`` for
each ``args`` of ``calls``: one after the other (``executor="sequential"``),
or as one task each on ``dask.distributed``: a new ``LocalCluster`` of
``workers`` processes with one thread each (``executor=None``), a running
scheduler (its address) or a ``distributed.Client``.  Results come back in
the order of ``calls`` whatever the order of completion, so a caller whose
tasks draw from their own named streams gets identical results on any
number of workers.  Dask is imported only here, and only when used (the
``[dask]`` extra).
"""
from __future__ import annotations

import logging

from .errors import DataError


def _client(executor, workers: int):
    """(client, cluster to close or None) for a Client, a scheduler address or None (a new LocalCluster)."""
    try:
        from distributed import Client, LocalCluster
    except ImportError:  # pragma: no cover - depends on the installation
        raise ImportError("running on Dask needs dask.distributed: pip install 'election-forensics[dask]', "
                          "or pass executor='sequential'") from None
    if executor is None:
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None,
                               silence_logs=logging.ERROR)
        return Client(cluster), cluster
    if isinstance(executor, str):
        try:
            return Client(executor, timeout="20s"), None
        except (OSError, TimeoutError) as exc:
            raise DataError(f"cannot reach the Dask scheduler at {executor} ({exc})",
                            fix="start one (dask scheduler) and pass its address, e.g. tcp://host:8786, or leave "
                                "the address out to run on a local cluster") from None
    return executor, None


def check_executor(executor, workers: int) -> None:
    """Raise before anything runs unless ``executor`` and ``workers`` are usable."""
    if executor is not None and not isinstance(executor, str) and not hasattr(executor, "submit"):
        raise TypeError(f"executor must be None, 'sequential', a scheduler address or a distributed.Client, "
                        f"not {type(executor).__name__}")
    if int(workers) < 1:
        raise DataError(f"workers must be at least 1, not {workers}", fix="pass --workers 1 or more")


def run_tasks(fn, calls, executor=None, workers: int = 2, progress: bool = False, unit: str = "task",
              on_error=None, **common) -> list:
    """``[fn(*args, **common) for args in calls]``, sequentially or as Dask tasks (see the module docstring).

    ``on_error(args, exc)``, when given, turns a task that raised (or whose
    worker was lost) into a result; without it the first error is raised.
    A ``TypeError`` (a wrong keyword, the same for every task) and an
    interrupt are always raised.
    """
    from tqdm import tqdm

    check_executor(executor, workers)
    calls = [tuple(args) for args in calls]
    client, cluster = (None, None) if executor == "sequential" else _client(executor, int(workers))
    bar = tqdm(total=len(calls), desc=f"{unit}s", disable=not progress, unit=unit, leave=False)
    try:
        if client is None:
            out = []
            for args in calls:
                out.append(_guarded(lambda a=args: fn(*a, **common), args, on_error))
                bar.update(1)
            return out
        from distributed import as_completed

        futures = {client.submit(fn, *args, pure=False, **common): i for i, args in enumerate(calls)}
        done = {}
        for future in as_completed(futures):
            i = futures[future]
            done[i] = _guarded(future.result, calls[i], on_error)
            bar.update(1)
        return [done[i] for i in range(len(calls))]
    finally:
        bar.close()
        if cluster is not None:
            client.close()
            cluster.close()


def _guarded(call, args, on_error):
    if on_error is None:
        return call()
    try:
        return call()
    except (TypeError, KeyboardInterrupt):
        raise
    except Exception as exc:  # noqa: BLE001 - the caller turns it into a result (e.g. a failed election)
        return on_error(args, exc)
