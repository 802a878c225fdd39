"""Calibration runs as independent tasks: each run its own random stream, the same numbers on any number of workers.

A calibration simulates many elections and runs a test on each.  Each run
here draws from a stream of its own (``run_streams``: children of one
``SeedSequence``), so its numbers depend on the seed and the run's position
only; ``map_runs`` sends the runs to a local Dask cluster of ``--workers``
processes, to a running scheduler (``--scheduler``), or with ``--workers 1``
runs them in this process (``forensics.tasks.run_tasks``).
"""
from __future__ import annotations

import sys

import numpy as np


def add_run_options(parser, workers: int = 2) -> None:
    """``--workers`` and ``--scheduler``, as every calibration script takes them."""
    parser.add_argument("--workers", type=int, default=workers, help="processes of the local Dask cluster (1: no Dask)")
    parser.add_argument("--scheduler", metavar="ADDRESS", help="run the simulations on this Dask scheduler")


def run_streams(seed, n: int) -> list:
    """``n`` independent streams (SeedSequence children) of ``seed`` (an int or a SeedSequence)."""
    root = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
    return root.spawn(n)


def map_runs(fn, calls, workers: int, scheduler=None) -> list:
    """``fn(*call)`` for each call, in order: on ``scheduler``, a local Dask cluster, or in this process."""
    from forensics.tasks import run_tasks

    if fn.__module__ != "__main__":  # imported from benchmarks/, a folder workers cannot import from: send by value
        import cloudpickle

        cloudpickle.register_pickle_by_value(sys.modules[fn.__module__])
    executor = scheduler or ("sequential" if workers <= 1 else None)
    return run_tasks(fn, calls, executor=executor, workers=max(workers, 1))
