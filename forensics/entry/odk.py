"""Import ODK Collect / KoboToolbox submissions of the XLSForm (``xlsform.py``) into the entry database.

Reads the CSV export (or the zip of CSV and media that ODK Central and
KoboToolbox download), matches each submission to its station, takes its
photo in through the photo intake, checks the figures with the profile's
rules and saves it as one entry of that station under a ``field`` account
named after the observer code.  Every row not imported is listed with its
reason; nothing is dropped silently.
"""
from __future__ import annotations

import re
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from sqlalchemy import select

from ..errors import DataError
from .double import EntryRefused, save_entry
from .models import Station, User
from .photos import intake
from .protocol import ProtocolForm
from .xlsform import question_names

_OBSERVER = ("observer", "SubmitterName", "_submitted_by", "username", "deviceid")


@dataclass(frozen=True)
class Outcome:
    row: int  # 1-based data row as a spreadsheet shows it (header is row 1)
    station: str
    status: str  # imported or skipped
    reason: str = ""


def _short(col: str) -> str:
    """A question's name from an export column ('protocol-valid', 'protocol/valid', 'valid')."""
    return re.split(r"[/:-]", str(col))[-1]


def _unzip(path: Path, into: Path) -> tuple[Path, Path]:
    with zipfile.ZipFile(path) as z:
        for info in z.infolist():
            target = (into / info.filename).resolve()
            if into.resolve() not in target.parents:
                raise DataError("the zip holds a path leading outside it", file=path, fix="export the data again")
        z.extractall(into)
    csvs = sorted(into.rglob("*.csv"), key=lambda p: (len(p.parts), p.name))
    if not csvs:
        raise DataError("the zip holds no CSV file", file=path, fix="download the CSV export with its media")
    return csvs[0], csvs[0].parent


def read_submissions(path) -> pd.DataFrame:
    table = pd.read_csv(path, dtype=str, keep_default_na=False, sep=None, engine="python", encoding="utf-8-sig")
    return table.rename(columns={c: _short(c) for c in table.columns if _short(c) not in table.columns or c == _short(c)})


def import_submissions(db, form: ProtocolForm, path, store: Path, media=None) -> list[Outcome]:
    """Import every submission; return one outcome per row."""
    path = Path(path)
    with tempfile.TemporaryDirectory() as tmp:
        if path.suffix.lower() == ".zip":
            path, found = _unzip(path, Path(tmp))
            media = media or found
        table = read_submissions(path)
        if "pec" not in table.columns:
            raise DataError("the export has no 'pec' column (the station question)", file=path, row=1,
                            fix="export the submissions of the form written by 'forensics entry xlsform'")
        media = Path(media) if media else path.parent
        names = question_names(form)
        return [_one(db, form, names, store, media, i + 2, row) for i, row in table.iterrows()]


def _observer(row) -> str:
    for col in _OBSERVER:
        if row.get(col, "").strip():
            return re.sub(r"[^A-Za-z0-9._-]+", "_", row[col].strip())[:50]
    return "unknown"


def _one(db, form, names, store, media, number, row) -> Outcome:
    ids = {k: str(row.get(k, "")).strip() for k in ("region", "tec", "pec")}
    label = " / ".join(v for v in ids.values() if v)
    values, problems = form.parse({f"line_{line.number}": row.get(names[line.key], "") for line in form.lines})
    if problems:
        return Outcome(number, label, "skipped", "; ".join(problems.values()))
    findings = form.check(values)
    needs = form.needs_confirmation(values, findings)
    confirmed = [c for c in needs if c.startswith("blank:")
                 or str(row.get(f"confirm_{c.split('-', 1)[0]}", "")).strip().lower() == "yes"]
    if set(needs) - set(confirmed):
        return Outcome(number, label, "skipped", "rules broken without confirmation: "
                       + ", ".join(sorted(set(needs) - set(confirmed))))
    try:
        with db.write("import") as w:
            _save(w, form, store, media, ids, row, values, confirmed, findings)
    except EntryRefused as exc:  # raised inside the transaction: nothing of this row is kept
        return Outcome(number, label, "skipped", str(exc))
    return Outcome(number, label, "imported")


def _save(w, form, store, media, ids, row, values, confirmed, findings) -> None:
    q = select(Station).where(Station.pec == ids["pec"])
    for k in ("region", "tec"):
        q = q.where(getattr(Station, k) == ids[k]) if ids[k] else q
    found = w.scalars(q.limit(2)).all()
    if len(found) != 1:
        raise EntryRefused("no such station" if not found else
                           "station number not unique: the submission needs region and TEC")
    station = found[0]
    username = f"field-{_observer(row)}"
    user = w.scalar(select(User).where(User.username == username))
    if user is None:
        user = User(username=username, role="field", password_hash="")
        w.add(user)
        w.flush()
    photo = str(row.get("protocol_photo", "")).strip()
    if photo:
        candidates = sorted(media.rglob(Path(photo).name)) if media.is_dir() else []
        if not candidates:
            raise EntryRefused(f"photo {photo} not found in {media}")
        result = intake(w, store, candidates[0], Path(photo).name, None, station=station)
        if result.status == "refused":
            raise EntryRefused(f"photo {photo}: {result.message}")
    save_entry(w, user, station.id, values, confirmed=confirmed, findings=[f["code"] for f in findings],
               taken_at=str(row.get("taken_at", ""))[:16].replace("T", " "), source="xlsform")
