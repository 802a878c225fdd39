"""Photo intake for entry: uploads and folder imports into the photo store, and station assignment.

Every file goes through ``forensics.audit.photos`` (the audit's own intake):
regular files only, the image type from the content, SHA-256 and EXIF time.
The bytes are copied into a temporary file in the store while they are
hashed, then renamed to ``<sha256>.<type>``: the stored photo is exactly the
one fingerprinted.  The same content twice is reported as a duplicate and
stored once.  A file name pattern (a regular expression with named groups
``pec`` and optionally ``tec`` and ``region``) assigns a photo to its station.
"""
from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select

from ..audit.photos import folder_files, inspect_photo, safe_path
from .models import Photo, Station

#: default file-name pattern: the first number in the name is the station (PEC) number
DEFAULT_PATTERN = r"(?P<pec>\d+)"


@dataclass(frozen=True)
class Intake:
    """The outcome for one file: ``status`` is stored, duplicate or refused."""

    name: str
    status: str
    message: str
    photo_id: int | None = None
    station: str = ""


def compile_pattern(pattern: str | None) -> re.Pattern:
    """The file-name pattern, checked to name the station number (``(?P<pec>...)``)."""
    try:
        rx = re.compile(pattern or DEFAULT_PATTERN)
    except re.error as exc:
        raise ValueError(f"the file-name pattern is not a regular expression ({exc})") from None
    if "pec" not in rx.groupindex:
        raise ValueError("the file-name pattern needs a group named pec, e.g. (?P<pec>\\d+)")
    return rx


def match_station(session, name: str, pattern: re.Pattern) -> Station | None:
    """The one station the file name points to, or None (no match, or more than one station)."""
    m = pattern.search(Path(name).stem)
    if not m:
        return None
    numbers = {m["pec"], m["pec"].lstrip("0") or "0"}  # "0042" names station 42 too
    query = select(Station).where(Station.pec.in_(numbers))
    for key in ("region", "tec"):
        if key in pattern.groupindex and m[key] is not None:
            query = query.where(getattr(Station, key) == m[key])
    found = session.scalars(query.limit(2)).all()
    return found[0] if len(found) == 1 else None


def station_label(station: Station | None) -> str:
    return "" if station is None else " / ".join(x for x in (station.region, station.tec, station.pec) if x)


def intake(session, store: Path, path, name: str, user_id: int | None, pattern: re.Pattern | None = None,
           station: Station | None = None) -> Intake:
    """Take one file into the store and the database (in ``session``'s transaction)."""
    store.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=store, prefix=".incoming-")
    try:
        with os.fdopen(fd, "wb") as out:
            info = inspect_photo(path, copy_to=out)
            out.flush()
            os.fsync(out.fileno())
        if not info.accepted:
            return Intake(name, "refused", info.note or "not a photo")
        same = session.scalar(select(Photo).where(Photo.sha256 == info.sha256))
        if same is not None:
            return Intake(name, "duplicate", f"same content as {same.original_name} (photo {same.id}"
                          + (f", station {station_label(same.station)})" if same.station else ")"),
                          same.id, station_label(same.station))
        stored = f"{info.sha256}.{info.image_type}"
        os.replace(tmp, store / stored)
        tmp = None
        if station is None and pattern is not None:
            station = match_station(session, name, pattern)
        photo = Photo(sha256=info.sha256, original_name=name[:500], stored_name=stored, image_type=info.image_type,
                      bytes=info.bytes, exif_datetime=info.exif_datetime, station=station, uploaded_by=user_id)
        session.add(photo)
        session.flush()
        return Intake(name, "stored", "assigned to " + station_label(station) if station else "not yet assigned",
                      photo.id, station_label(station))
    finally:
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)


def import_folder(session, store: Path, folder, user_id: int | None, pattern: re.Pattern | None = None) -> list[Intake]:
    """Take in every file under ``folder`` (symlinks leading out, FIFOs and devices are refused unread)."""
    return [Intake(rel, "refused", f"not read: {path}") if isinstance(path, ValueError)
            else intake(session, store, path, rel, user_id, pattern) for rel, path in folder_files(Path(folder))]


def stored_path(store: Path, photo: Photo) -> Path:
    """Where a photo's bytes are; the name comes from the database, checked to stay in the store."""
    return safe_path(store, photo.stored_name)
