"""Out of the database: the audit's transcription files, a results file, and the audit itself.

``export`` writes, into a new folder under ``exports/`` (built beside and
renamed into place when complete):

* ``entry1.csv`` / ``entry2.csv`` — the first and second entries in the
  audit's transcription layout (the profile's own headers, then
  ``transcriber``, ``photos``, ``taken_at``), exactly what ``forensics audit
  --observed ... --second-entry ...`` reads.  A station the coordinator
  resolved carries the resolved figures in both files, the second under the
  coordinator's name, so the audit counts it as agreed by two people;
* ``resolutions.csv`` — each resolved station with both typists' figures;
* ``results.csv`` — the agreed and resolved protocols as a results file of
  the profile (``forensics scan`` and ``forensics load`` read it);
* ``photos.csv`` — every photo: stored name, original name, SHA-256, EXIF time, station.

``run_audit_export`` then runs ``forensics.audit.run_audit`` against the
official results (when the election has them) into ``audit/``, with the
photo store as the photo folder, and records which evidence sheet belongs
to which station.
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd
from sqlalchemy import select

from ..audit import run_audit
from ..audit.transcription import PROVENANCE_COLUMNS
from ..ingest import load_profile, to_layout
from ..model import ID_COLUMNS
from .double import states
from .models import Entry, Photo, Resolution, Station, User
from .protocol import ProtocolForm

EVIDENCE_MAP = "evidence_by_station.json"


def _taken_at(entry_taken: str, photos: list[Photo]) -> str:
    """The entry's own time, else the first photo's EXIF time as YYYY-MM-DD HH:MM."""
    if entry_taken:
        return entry_taken
    for p in photos:
        if p.exif_datetime and len(p.exif_datetime) >= 16:
            d, t = p.exif_datetime[:10].replace(":", "-"), p.exif_datetime[11:16]
            return f"{d} {t}"
    return ""


def frames(session, form: ProtocolForm) -> dict[str, pd.DataFrame]:
    """The tables of an export, in canonical column names."""
    names = dict(session.execute(select(User.id, User.username)).all())
    stations = {s.id: s for s in session.scalars(select(Station))}
    photos: dict[int, list[Photo]] = {}
    for p in session.scalars(select(Photo).order_by(Photo.id)):
        photos.setdefault(p.station_id, []).append(p)
    entries = {(e.station_id, e.slot): e for e in session.scalars(select(Entry))}
    resolutions = {r.station_id: r for r in session.scalars(select(Resolution))}
    keys = form.keys
    rows = {1: [], 2: []}
    resolved_rows, final_rows = [], []
    for (station_id, slot), e in sorted(entries.items()):
        st = stations[station_id]
        res = resolutions.get(station_id)
        values = res.values if res is not None else e.values
        who = names[res.user_id] if res is not None and slot == 2 else names[e.user_id]
        shots = photos.get(station_id, [])
        rows[slot].append({"region": st.region, "tec": st.tec, "pec": st.pec, **{k: values.get(k) for k in keys},
                           "transcriber": who, "photos": ";".join(p.stored_name for p in shots),
                           "taken_at": _taken_at(e.taken_at, shots)})
    for s in states(session, keys):
        st = s.station
        if s.status not in ("agreed", "resolved"):
            continue
        res = resolutions.get(st.id)
        values = res.values if res is not None else entries[(st.id, 1)].values
        final_rows.append({"region": st.region, "tec": st.tec, "pec": st.pec, **{k: values.get(k) for k in keys}})
        if res is not None:
            row = {"region": st.region, "tec": st.tec, "pec": st.pec, "resolved_by": names[res.user_id],
                   "note": res.note}
            for slot in (1, 2):
                e = entries.get((st.id, slot))
                row[f"typist_{slot}"] = names[e.user_id] if e else ""
                for k in keys:
                    row[f"{k} [{slot}]"] = e.values.get(k) if e else None
            for k in keys:
                row[f"{k} [resolved]"] = values.get(k)
            resolved_rows.append(row)
    columns = [*ID_COLUMNS, *keys]
    photo_rows = [{"file": p.stored_name, "original_name": p.original_name, "sha256": p.sha256, "bytes": p.bytes,
                   "exif_datetime": p.exif_datetime or "", "image_type": p.image_type,
                   "region": stations[p.station_id].region if p.station_id else "",
                   "tec": stations[p.station_id].tec if p.station_id else "",
                   "pec": stations[p.station_id].pec if p.station_id else ""}
                  for ps in photos.values() for p in ps]
    return {
        "entry1": pd.DataFrame(rows[1], columns=[*columns, *PROVENANCE_COLUMNS]),
        "entry2": pd.DataFrame(rows[2], columns=[*columns, *PROVENANCE_COLUMNS]),
        "results": pd.DataFrame(final_rows, columns=columns),
        "resolutions": pd.DataFrame(resolved_rows),
        "photos": pd.DataFrame(photo_rows, columns=["file", "original_name", "sha256", "bytes", "exif_datetime",
                                                    "image_type", "region", "tec", "pec"]),
    }


def _layout(frame: pd.DataFrame, form: ProtocolForm) -> pd.DataFrame:
    """Canonical columns renamed to the profile's header text, whole numbers kept whole."""
    frame = frame.copy()
    for k in form.keys:
        if k in frame:
            frame[k] = frame[k].astype("Int64")
    prof = load_profile(form.profile)
    frame = frame.drop(columns=[c for c in ID_COLUMNS if c in prof.derived and c in frame])
    return to_layout(frame, prof, parties=form.parties)


def export(session, form: ProtocolForm, exports: Path) -> Path:
    """Write the export folder (see the module docstring) and return its path."""
    exports.mkdir(parents=True, exist_ok=True)
    tables = frames(session, form)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S-%f")
    tmp = Path(tempfile.mkdtemp(dir=exports, prefix=f".{stamp}-"))
    try:
        for name in ("entry1", "entry2", "results"):
            _layout(tables[name], form).to_csv(tmp / f"{name}.csv", index=False, encoding="utf-8")
        tables["resolutions"].to_csv(tmp / "resolutions.csv", index=False, encoding="utf-8")
        tables["photos"].to_csv(tmp / "photos.csv", index=False, encoding="utf-8")
        final = exports / stamp
        os.replace(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return final


def run_audit_export(folder: Path, settings: dict, photo_store: Path) -> dict:
    """Run the observer audit on an export folder; map stations to their evidence sheets."""
    summary = run_audit(settings["official"], folder / "entry1.csv", folder / "audit", profile=settings["profile"],
                        second=folder / "entry2.csv", photos=photo_store, design="convenience")
    disc = pd.read_csv(folder / "audit" / "discrepancies.csv", dtype=str, keep_default_na=False)
    sheets = sorted(p.name for p in (folder / "audit" / "evidence").glob("*.html") if p.name != "index.html")
    mapping = {}
    if len(sheets) == len(disc):
        for sheet, row in zip(sheets, disc.itertuples()):
            mapping["\x1f".join(str(getattr(row, k, "")) for k in ID_COLUMNS)] = sheet
    (folder / EVIDENCE_MAP).write_text(json.dumps(mapping, ensure_ascii=False), encoding="utf-8")
    return summary


def latest_export(exports: Path) -> Path | None:
    done = sorted(p for p in exports.iterdir() if p.is_dir() and not p.name.startswith(".")) if exports.is_dir() else []
    return done[-1] if done else None


def evidence_sheet(folder: Path | None, station: Station) -> str | None:
    """The evidence sheet's file name for a station in an export folder, if the audit wrote one."""
    if folder is None or not (folder / EVIDENCE_MAP).is_file():
        return None
    mapping = json.loads((folder / EVIDENCE_MAP).read_text(encoding="utf-8"))
    return mapping.get("\x1f".join((station.region, station.tec, station.pec)))
