"""The whole audit from files to an output folder (what ``forensics audit`` runs).

Writes ``discrepancies.csv`` (one row per station whose copy differs),
``stations.csv`` (every compared station), ``differences.csv`` (one row per
differing line), ``excluded.csv``, ``impact_nation.csv`` /
``impact_region.csv`` / ``impact_tec.csv``, ``recomputed.csv``,
``pvt.csv``, ``observer_effect.csv``, with a second entry
``entry_status.csv`` and ``disputes.csv``, with photos ``photos.csv`` and
``photo_issues.csv``, the evidence sheets in ``evidence/`` and
``summary.json`` / ``summary.txt``.  The folder is written completely or not
at all (``forensics.output.OutputFolder``), after every computation.
"""
from __future__ import annotations

import pandas as pd

from .._version import __version__
from ..errors import DataError
from ..ingest import load
from ..output import OutputFolder, check_folder
from .compare import CLASSES, compare
from .entry import double_entry
from .evidence import write_evidence
from .impact import LEVELS, impact, recomputed
from .photos import check_photos, manifest
from .sample import observer_effect, pvt
from .stations import protocol_lines
from .transcription import read_transcriptions


def run_audit(official, observed, out, profile=None, second=None, photos=None, design: str = "convenience",
              fe: str = "region", cluster: str = "tec", raw_csv: bool = False) -> dict:
    """Audit the transcription file ``observed`` against the results file ``official``.

    ``profile`` names the layout of both files; ``second`` is a second,
    independent transcription (only agreed stations go forward); ``photos``
    the folder of protocol photos; ``design`` how the observed stations were
    chosen (see ``pvt``); ``raw_csv`` leaves formula-like cells as they are
    (``forensics.output``).  Returns the summary it writes to summary.json.
    """
    check_folder(out)
    off = load(official, profile=profile)
    first = read_transcriptions(observed, profile or off.profile)
    summary = {"version": __version__, "official": str(official), "observed": str(observed),
               "profile": off.profile, "sources": {**off.sources, **first.sources}, "design": design}
    tables = {}
    table, entry = first.table, "single entry (not double-checked)"
    if second is not None:
        sec = read_transcriptions(second, profile or off.profile)
        summary["sources"].update(sec.sources)
        summary["second_entry"] = str(second)
        de = double_entry(first, sec, lines=protocol_lines(off))
        tables.update({"entry_status.csv": de.status, "disputes.csv": de.disputes})
        summary["double_entry"] = de.counts
        table, entry = de.agreed, "agreed by two independent transcribers"
    hashes, shots = None, None
    if photos is not None:
        shots = manifest(photos)
        hashes, issues = check_photos(table, photos, shots)
        tables.update({"photos.csv": shots, "photo_issues.csv": issues})
        summary["photos"] = {"files": len(shots), "issues": int(len(issues))}

    comp = compare(off, table, photo_hashes=hashes)
    tables.update({"discrepancies.csv": comp.discrepant, "stations.csv": comp.stations,
                   "differences.csv": comp.differences, "excluded.csv": comp.excluded})
    tables.update({f"impact_{level}.csv": impact(comp, level) for level in LEVELS})
    rec = recomputed(comp, off)
    tables["recomputed.csv"] = rec
    summary.update(compared=len(comp.stations), excluded=comp.excluded["reason"].value_counts().to_dict(),
                   classifications=comp.counts, evidence_sheets=len(comp.discrepant))

    notes = []
    try:
        est = pvt(off, table, design=design)
        tables["pvt.csv"] = est.table
        summary["pvt"] = est.table.to_dict(orient="records")
        notes += est.warnings
    except DataError as exc:
        notes.append(f"No sample estimate: {exc}")
    try:
        effects = pd.DataFrame([r.to_row() for r in observer_effect(off, comp.stations, fe=fe, cluster=cluster)])
        tables["observer_effect.csv"] = effects
        summary["observer_effect"] = effects.to_dict(orient="records")
    except DataError as exc:
        notes.append(f"No observer-effect estimate: {exc}")
    summary["notes"] = notes

    with OutputFolder(out, raw_csv=raw_csv) as folder:
        for name, frame in tables.items():
            folder.csv(name, frame)
        write_evidence(comp, folder.path("evidence"), photos=shots, entry=entry, source_file=str(observed),
                       official_file=str(official), official_sha=next(iter(off.sources.values()), ""))
        folder.json("summary.json", summary)
        folder.text("summary.txt", _text(summary, rec))
    return summary


def _text(summary: dict, rec: pd.DataFrame) -> str:
    """The summary in plain words."""
    c = summary["classifications"]
    lines = [f"Observer audit of {summary['official']} against {summary['observed']}",
             f"{summary['compared']} stations compared; {sum(v for k, v in c.items() if k != 'identical')} differ."]
    lines += [f"  {k}: {v}  ({CLASSES[k]})" for k, v in c.items() if v]
    for reason, n in summary["excluded"].items():
        lines.append(f"  not compared ({reason}): {n}")
    if "double_entry" in summary:
        lines.append("Double entry: " + ", ".join(f"{k} {v}" for k, v in summary["double_entry"].items())
                     + " (only agreed stations were compared; see entry_status.csv and disputes.csv)")
    lines.append("National result with the observers' figures where they have them:")
    for r in rec.itertuples():
        lines.append(f"  {r.party}: official {r.official_share:.2%}, recomputed {r.recomputed_share:.2%} "
                     f"({r.change_points:+.2f} points)")
    for r in summary.get("pvt", []):
        what = "turnout" if r["quantity"] == "turnout" else r["party"]
        lines.append(f"Sample estimate, {what}: {r['estimate']:.2%} ({r['ci_low']:.2%} to {r['ci_high']:.2%}); "
                     f"official {r['official']:.2%}, {'inside' if r['inside'] else 'OUTSIDE'} the interval")
    lines += summary["notes"]
    lines.append("A discrepancy is a reason to ask for the original protocol; a transcription slip must be "
                 "re-checked against the photo before anything is alleged.")
    return "\n".join(lines) + "\n"
