"""Evidence sheets: one printable HTML page per discrepant station, and an index.

Each page puts the official and observed figures side by side with the
differences highlighted, the reconciliation rules each version breaks, the
photos' SHA-256, and a plain-language paragraph to attach to a complaint,
followed by the blanks complaints have been dismissed for leaving empty.
Pages are rendered by jinja2 with every value escaped and no remote
resources.  PDF is not produced: print the page from a browser.
"""
from __future__ import annotations

import functools
import re
from pathlib import Path

import pandas as pd

from .._version import __version__
from ..output import OutputFolder
from ..templating import environment
from .compare import CLASSES, Comparison
from .photos import split_names


@functools.cache
def _env():
    return environment("forensics.audit")

_SENTENCE = {
    "moved": "The published figures take votes from one party and give exactly as many to another, "
             "with every total unchanged ({detail}).",
    "added": "The published figures add ballots for a party, with matching increases in the ballots issued "
             "and found and fewer cancelled ballots, as if ballots had been put in the box after the count ({detail}).",
    "redrawn": "Both versions satisfy the arithmetic checks of the protocol, yet they differ: the published "
               "figures come from a different protocol than the one signed at the count.",
    "other": "The published figures differ from the signed copy in a way no simple correction explains.",
    "slip": "One figure differs by a single digit or two swapped digits ({detail}); this may be a mistake in "
            "our transcription and must be re-checked against the photo before any complaint.",
}


def station_label(row) -> str:
    parts = [f"polling station (PEC) {row['pec']}"]
    if "tec" in row and row["tec"]:
        parts.append(f"territorial commission {row['tec']}")
    if "region" in row and row["region"]:
        parts.append(f"region {row['region']}")
    return ", ".join(parts)


def complaint_paragraph(row, differences: pd.DataFrame, labels: dict) -> str:
    """The plain-language statement for one station (row of ``Comparison.stations``)."""
    photos = split_names(row.get("photos", ""))
    hashes = [h for h in str(row.get("photo_sha256", "")).split(";") if h]
    source = "the copy of the results protocol obtained by observers"
    if photos:
        source = (f"the photograph{'s' if len(photos) > 1 else ''} of the results protocol "
                  f"({', '.join(photos)}" + (f"; SHA-256 {', '.join(h[:16] + '…' for h in hashes)}" if hashes else "")
                  + ")" + (f" taken at {row['taken_at']}" if row.get("taken_at") else ""))
    lines = "; ".join(f"{labels.get(r.line, r.line)}: published {int(r.official)}, signed {int(r.observed)}"
                      for r in differences.itertuples())
    text = (f"According to {source}, the precinct commission of {station_label(row)} signed figures that differ "
            f"from the official results published for this station on {len(differences)} "
            f"line{'s' if len(differences) != 1 else ''}: {lines}. "
            + _SENTENCE[row["classification"]].format(detail=row["detail"]) + " ")
    if row["classification"] != "slip":
        text += ("We ask that the published figures be compared with the original protocol signed by the members "
                 "of the precinct commission, that the published result be corrected to match it, and that the "
                 "reasons for the change be established.")
    return text


def _slug(row, i: int) -> str:
    raw = "_".join(str(row[k]) for k in ("region", "tec", "pec") if k in row)
    return f"{i:04d}_" + (re.sub(r"[^A-Za-z0-9]+", "-", raw).strip("-")[:60] or "station") + ".html"


def render_sheet(comparison: Comparison, label, photos: pd.DataFrame | None = None, entry: str = "",
                 source_file: str = "", official_file: str = "", official_sha: str = "") -> str:
    """The HTML evidence sheet of the station with index label ``label``."""
    row = comparison.stations.loc[label]
    labels = comparison.official.meta.get("mapping", {})
    off, obs = comparison.official.table.loc[label], comparison.observed.loc[label]
    lines = [{"label": labels.get(c, c) if labels.get(c, c) == c else f"{labels[c]} ({c})",
              "official": int(off[c]), "observed": int(obs[c]), "difference": int(off[c]) - int(obs[c])}
             for c in comparison.lines]
    findings = []
    for side, table in (("official", comparison.findings_official), ("observers' copy", comparison.findings_observed)):
        if len(table):
            for f in table[table["_row"] == label].itertuples():
                findings.append({"side": side, "code": f.code, "severity": f.severity, "message": f.message})
    manifest = photos.set_index("file") if photos is not None and len(photos) else None
    cited = []
    for name in split_names(row.get("photos", "")):
        info = manifest.loc[name] if manifest is not None and name in manifest.index else None
        cited.append({"file": name, "sha256": "" if info is None else info["sha256"],
                      "bytes": "" if info is None else info["bytes"],
                      "exif_datetime": "" if info is None or pd.isna(info["exif_datetime"]) else info["exif_datetime"]})
    diffs = comparison.differences
    mine = diffs[(diffs[[k for k in ("region", "tec", "pec") if k in diffs]] ==
                  row[[k for k in ("region", "tec", "pec") if k in diffs]].to_numpy()).all(axis=1)]
    return _env().get_template("evidence.html.j2").render(
        station_label=station_label(row), classification=row["classification"],
        meaning=CLASSES[row["classification"]], lines=lines, findings=findings,
        transcriber=row.get("transcriber", ""), taken_at=row.get("taken_at", ""),
        entry=entry or "single entry (not double-checked)", source_file=source_file,
        source_row="" if pd.isna(row.get("source_row")) else int(row["source_row"]), photos=cited,
        paragraph=complaint_paragraph(row, mine, labels), version=__version__,
        official_file=official_file, official_sha=official_sha)


def write_evidence(comparison: Comparison, out_dir, photos: pd.DataFrame | None = None, entry: str = "",
                   **provenance) -> list[Path]:
    """Write one sheet per discrepant station and ``index.html`` into ``out_dir``; return the sheet paths.

    ``entry`` says how the copies were entered (e.g. "agreed by two
    independent transcribers"); ``provenance`` passes ``source_file``,
    ``official_file``, ``official_sha``.  The folder is written completely
    or not at all (``forensics.output.OutputFolder``).
    """
    with OutputFolder(out_dir) as out:
        listed, paths = [], []
        for i, (label, row) in enumerate(comparison.discrepant.iterrows(), start=1):
            name = _slug(row, i)
            paths.append(out.text(name, render_sheet(comparison, label, photos, entry, **provenance)))
            listed.append({**{k: row.get(k, "") for k in ("region", "tec", "pec", "classification", "detail")},
                           "href": name})
        out.text("index.html", _env().get_template("index.html.j2").render(
            stations=listed, n_compared=len(comparison.stations), n_discrepant=len(listed),
            counts={k: v for k, v in comparison.counts.items() if k != "identical"}))
    return paths
