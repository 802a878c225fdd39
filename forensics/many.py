"""Many elections in one run: each loaded and scanned as one task, on Dask or in this process.

``scan_many(sources, out=...)`` scans every election independently, as one
task each on a ``dask.distributed`` cluster (a ``LocalCluster`` by default,
any ``distributed.Client`` or scheduler address), or one after the other
(``executor="sequential"``, no Dask).  Each election draws from its own
stream, ``forensics.random.seed_sequence(seed, name)``, so its results
depend on the base seed and its name only: identical whatever the number
of workers, the order of the sources and the elections beside it.

A task returns the ``Scan`` and its output files as bytes (rendered by the
one writer, ``forensics.output``); this process writes them, so a remote
cluster needs no shared folder.  The whole ``out`` folder is written
completely or not at all (``OutputFolder``): one sub-folder per election
(the tables of ``forensics scan``, and report.html with ``report=True``)
and, at the top, ``summary.csv`` / ``summary.json``: one row per election x
headline (``SUMMARY_COLUMNS``).  An election that fails (a bad file) is one
row with its error in words; the others are kept.
"""
from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from .errors import DataError
from .output import OutputFolder, check_folder
from .random import base_seed, seed_sequence
from .tasks import check_executor, run_tasks
from .scan.provenance import jsonable

#: columns of summary.csv: one row per election x headline (one row with the error for a failed election)
SUMMARY_COLUMNS = ["election", "source", "status", "error", "n_stations", "n_stations_flagged", "code", "party",
                   "fired", "scope", "statistic", "expected", "pvalue_adj", "n_regions", "n_regions_fired"]
_SUFFIXES = re.compile(r"(\.(csv|tsv|txt|xlsx|xls|parquet|json|zip|gz|bz2|xz))+$", re.IGNORECASE)
_UNSAFE = re.compile(r"[^\w.-]+")


@dataclass(frozen=True)
class Outcome:
    """What one election's task gives back: its ``Scan`` (None if it failed or was not kept), the error in
    words, its summary rows and its output files ({path inside its folder: bytes})."""

    name: str
    source: str
    scan: object = None
    error: str = ""
    rows: tuple = ()
    files: dict = field(default_factory=dict)


@dataclass(frozen=True)
class ManyScans:
    """The result of ``scan_many``: ``scans`` ({name: Scan}, the elections scanned, when kept), ``errors``
    ({name: the error in words}), ``sources`` ({name: the path or "Election object"}), ``summary`` (one row
    per election x headline, ``SUMMARY_COLUMNS``), ``seed`` (the base seed, recorded so the run can be
    repeated) and ``out`` (the folder written, or None)."""

    scans: dict
    errors: dict
    sources: dict
    summary: pd.DataFrame
    seed: object
    out: Path | None = None

    def summary_dict(self) -> dict:
        """The content of summary.json: the seed, each election's status, and the summary rows."""
        fired = self.summary[self.summary["fired"] == True]  # noqa: E712 - the column holds True/False/None
        return {"seed": jsonable(_seed_record(self.seed)),
                "elections": [{"election": name, "source": self.sources[name],
                               "status": "failed" if name in self.errors else "scanned",
                               "error": self.errors.get(name, ""),
                               "headlines": fired.loc[fired["election"] == name, "code"].tolist()}
                              for name in self.sources],
                "rows": self.summary.to_dict(orient="records")}

    def __repr__(self) -> str:  # pragma: no cover - convenience
        return f"<ManyScans of {len(self.sources)} elections, {len(self.errors)} failed>"


def _seed_record(seed):
    if hasattr(seed, "entropy"):
        return {"entropy": seed.entropy, "spawn_key": list(seed.spawn_key)}
    return seed


def election_name(source, position: int) -> str:
    """A source's name (its seed key and sub-folder): a file's name without its extensions, an Election's
    ``meta["election"]["name"]``, else ``election_<position>``; characters unsafe in a folder name become _."""
    if isinstance(source, (str, Path)):
        name = _SUFFIXES.sub("", Path(source).name)
    else:
        given = (getattr(source, "meta", {}) or {}).get("election") or {}
        name = str(given.get("name") or given.get("title") or f"election_{position + 1}")
    return _UNSAFE.sub("_", name).strip("._") or f"election_{position + 1}"


def _named(sources) -> dict:
    """{name: source}, from a mapping or a sequence; names must be unique and files must exist."""
    if isinstance(sources, (str, Path)) or not hasattr(sources, "__iter__"):
        raise TypeError("sources must be a list of paths or Elections, or a mapping {name: path or Election}")
    if isinstance(sources, dict):
        pairs = [(_UNSAFE.sub("_", str(k)).strip("._"), v) for k, v in sources.items()]
    else:
        pairs = [(election_name(s, i), s) for i, s in enumerate(sources)]
    if not pairs:
        raise DataError("no election given", fix="pass at least one results file")
    named, seen = {}, {}
    for name, source in pairs:
        if not name:
            raise DataError(f"the election name of {source!r} is empty", fix="name it with a mapping {name: source}")
        if name in named:
            raise DataError(f"two elections have the name {name!r} ({seen[name]} and {source})",
                            fix="rename one file, or pass a mapping {name: path} with distinct names")
        if isinstance(source, (str, Path)) and not Path(source).is_file():
            raise DataError("no such file", file=source, fix="check the path")
        named[name], seen[name] = source, source
    return named


def _rows(name: str, source: str, scan=None, error: str = "") -> tuple:
    """The summary rows of one election: one per headline, or one with the error."""
    if scan is None:
        return ({**dict.fromkeys(SUMMARY_COLUMNS), "election": name, "source": source, "status": "failed",
                 "error": error},)
    st = scan.stations
    base = {"election": name, "source": source, "status": "scanned", "error": "", "n_stations": int(len(st)),
            "n_stations_flagged": int((st["n_flags"] > 0).sum())}
    rows = []
    for code, v in scan.verdicts.verdicts.items():
        nat = v.national
        regions = v.groups[v.groups["level"] != "nation"]
        rows.append({**base, "code": code, "party": v.party or "", "fired": v.fired, "scope": v.scope or "",
                     "statistic": None if nat is None else nat["statistic"],
                     "expected": None if nat is None else nat["expected"], "pvalue_adj": v.pvalue,
                     "n_regions": int(regions["group"].nunique()), "n_regions_fired": len(v.significant_regions)})
    return tuple(rows)


def _render(scan, report: bool, lang: str, raw_csv: bool) -> dict:
    """The election's output files as bytes, written by the one writer into a temporary folder."""
    from .report import write_report, write_tables

    with tempfile.TemporaryDirectory(prefix="forensics-many-") as tmp:
        folder = Path(tmp) / "out"
        if report:
            write_report(scan, folder, lang=lang, progress=False, raw_csv=raw_csv)
        else:
            write_tables(scan, folder, raw_csv=raw_csv)
        return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def scan_one(name: str, source, seed, profile=None, report: bool = False, lang: str = "en", raw_csv: bool = False,
             render: bool = True, keep: bool = True, **scan_kwargs) -> Outcome:
    """Load and scan one election with the stream ``seed_sequence(seed, name)`` (one task of ``scan_many``).

    Bad input is caught and returned as the error in words; so is any other
    failure, named by its type, so that one election never stops the others.
    """
    from .ingest import load
    from .scan.run import scan

    label = str(source) if isinstance(source, (str, Path)) else "Election object"
    try:
        election = load(source, profile=profile) if isinstance(source, (str, Path)) else source
        # one process per election: the cluster's workers are the parallelism (a Dask worker may not fork)
        result = scan(election, rng=seed_sequence(seed, name), progress=False, workers=1, **scan_kwargs)
        files = _render(result, report, lang, raw_csv) if render else {}
    except DataError as exc:
        return Outcome(name, label, error=str(exc), rows=_rows(name, label, error=str(exc)))
    except (TypeError, KeyboardInterrupt):  # a wrong keyword is the caller's error, for every election alike
        raise
    except Exception as exc:  # noqa: BLE001 - one election's failure is reported, the others go on
        error = f"{type(exc).__name__}: {exc}"
        return Outcome(name, label, error=error, rows=_rows(name, label, error=error))
    return Outcome(name, label, scan=result if keep else None, rows=_rows(name, label, result), files=files)


def _lost(args, exc) -> Outcome:
    """The outcome of a task that raised outside ``scan_one`` (a lost worker): this election failed."""
    name, source, _ = args
    label = str(source) if isinstance(source, (str, Path)) else "Election object"
    error = f"{type(exc).__name__}: {exc}"
    return Outcome(name, label, error=error, rows=_rows(name, label, error=error))


def scan_many(sources, out=None, executor=None, workers: int = 2, rng=None, levels=None, profile=None,
              report: bool = False, lang: str = "en", raw_csv: bool = False, keep: bool = True,
              progress: bool = True, **scan_kwargs) -> ManyScans:
    """Scan many elections, one task each; write each one's outputs and a summary across them.

    ``sources``: paths and/or ``Election`` objects, or a mapping {name:
    source}.  A name (see ``election_name``) keys the election's random
    stream and names its sub-folder; two sources with one name, or a path
    that is not a file, are a ``DataError`` before anything runs.
    ``executor``: None (a new ``LocalCluster`` of ``workers`` processes,
    one thread each), a scheduler address ("tcp://host:8786"), a
    ``distributed.Client``, or "sequential" (no Dask).  ``rng`` (an int
    seed, a SeedSequence, a Generator or None) gives the base seed,
    recorded in summary.json.  ``profile`` is how every file is read
    (default: detected per file); ``levels`` and any other keyword go to
    ``forensics.scan`` for every election.  ``out``: the folder to write
    (completely or not at all), one sub-folder per election plus
    summary.csv and summary.json; ``report=True`` also writes each
    election's report.html and figures in ``lang``.  ``keep=False`` drops
    the ``Scan`` objects once written (to save memory on long runs).
    """
    check_executor(executor, workers)
    named = _named(sources)
    if out is not None:
        check_folder(out)
    seed, _ = base_seed(rng)
    call = {"profile": profile, "report": report, "lang": lang, "raw_csv": raw_csv, "render": out is not None,
            "keep": keep, "levels": levels, **scan_kwargs}
    tasks = [(name, named[name], seed) for name in sorted(named)]  # outputs in name order, whatever the input order
    outcomes = run_tasks(scan_one, tasks, executor, workers, progress, unit="election", on_error=_lost, **call)
    summary = pd.DataFrame([r for o in outcomes for r in o.rows], columns=SUMMARY_COLUMNS)
    result = ManyScans(scans={o.name: o.scan for o in outcomes if o.scan is not None},
                       errors={o.name: o.error for o in outcomes if o.error},
                       sources={o.name: o.source for o in outcomes}, summary=summary, seed=seed,
                       out=None if out is None else Path(out))
    if out is not None:
        with OutputFolder(out, raw_csv=raw_csv) as folder:
            for o in outcomes:
                for name, data in o.files.items():
                    folder.bytes(f"{o.name}/{name}", data)
            folder.csv("summary.csv", summary)
            folder.json("summary.json", result.summary_dict())
    return result
