"""``forensics scan-many FILES... --out DIR``: scan many elections, one task each on Dask, and a summary."""
from __future__ import annotations

import sys
from pathlib import Path

from ..errors import DataError
from ..i18n import LANGUAGES
from . import add_raw_csv_option
from .scan import check_out


def _main(args) -> int:
    from ..many import scan_many

    if args.workers < 1:
        raise DataError(f"--workers {args.workers}: a cluster needs at least one worker", fix="pass --workers 1 or more")
    check_out(args)
    levels = tuple(lv.strip() for lv in args.levels.split(",") if lv.strip()) if args.levels else None
    executor = "sequential" if args.sequential else args.scheduler
    result = scan_many(args.files, out=args.out, executor=executor, workers=args.workers, rng=args.seed,
                       levels=levels, profile=args.profile, report=args.report, lang=args.lang,
                       raw_csv=args.raw_csv, keep=False, progress=not args.quiet)
    summary = result.summary
    for name in result.sources:
        if name in result.errors:
            print(f"{name}: failed: {result.errors[name]}")
            continue
        rows = summary[summary["election"] == name]
        fired = rows.loc[rows["fired"] == True, "code"].tolist()  # noqa: E712 - object column (None when failed)
        print(f"{name}: {int(rows['n_stations'].iloc[0])} stations; "
              + (f"stands out: {', '.join(fired)}" if fired else "no headline stands out"))
    if result.errors:
        print(f"forensics: {len(result.errors)} of {len(result.sources)} elections could not be scanned; "
              "each is listed with its error in summary.csv", file=sys.stderr)
    print(f"Summary: {(args.out / 'summary.csv').resolve()}")
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "scan-many", help="scan many elections (one task each, on a Dask cluster) and write a summary across them",
        description="Scan every FILE as 'forensics scan' does, each as one task on a local Dask cluster (or the "
                    "scheduler given), and write into --out one folder per election (its tables; report.html "
                    "too with --report) and summary.csv / summary.json: one row per election and headline. "
                    "Each election's randomness depends on --seed and its name only, so the outputs are the "
                    "same whatever the number of workers. Exit status: 0 when the run completed (an election "
                    "that could not be read is listed with its error in the summary), 2 for bad arguments or an "
                    "output that cannot be written, 130 when interrupted.")
    p.add_argument("files", metavar="FILE", nargs="+", type=Path,
                   help="results files; each election is named by its file name without extensions")
    p.add_argument("--out", metavar="DIR", required=True, type=Path,
                   help="directory for one sub-folder per election, summary.csv and summary.json")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--scheduler", metavar="ADDRESS",
                   help="a running Dask scheduler (e.g. tcp://host:8786); default: a local cluster of --workers "
                        "processes")
    where.add_argument("--workers", type=int, default=2, metavar="N",
                   help="worker processes of the local cluster, one thread each (default 2)")
    where.add_argument("--sequential", action="store_true", help="scan one election after the other in this process, "
                                                             "without Dask")
    p.add_argument("--seed", type=int, default=2021, help="base seed for all randomness (default 2021)")
    p.add_argument("--profile", metavar="P", help="a profile name or a TOML file for every file; default: detect "
                                                  "from each file's headers")
    p.add_argument("--levels", default=None,
                   help="comma-separated levels for every election (default nation,region; nation alone when a "
                        "table has no region)")
    p.add_argument("--report", action="store_true", help="also write each election's report.html and figures")
    p.add_argument("--lang", default="en", choices=LANGUAGES, help="language of the reports (default: en)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    add_raw_csv_option(p)
    p.set_defaults(func=_main)
