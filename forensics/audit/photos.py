"""Chain of custody for protocol photos: fingerprints, and the checks transcriptions cite.

``manifest(folder)`` records each photo's SHA-256, size and EXIF
DateTimeOriginal (read from the JPEG header with a small bounds-checked
parser; other formats get none).  ``check_photos`` flags transcriptions
citing a photo that is missing, cited for another station, identical in
content to another file, or named by a path that leaves the folder.  Paths
are never trusted: absolute names, '..' and symlinks leading outside the
folder are refused before any read.
"""
from __future__ import annotations

import os
import struct
from pathlib import Path, PurePosixPath, PureWindowsPath

import pandas as pd

from ..errors import DataError
from ..ingest.read import file_sha256
from ..model import ID_COLUMNS
from .stations import station_key

#: how much of a JPEG is scanned for its EXIF header
_HEAD = 1 << 17


def safe_path(folder: str | Path, name: str) -> Path:
    """The file ``name`` inside ``folder``, or ValueError if it would lead outside."""
    name = str(name).strip()
    if not name or "\x00" in name:
        raise ValueError("empty or invalid file name")
    for flavour in (PurePosixPath(name), PureWindowsPath(name)):
        if flavour.is_absolute() or flavour.anchor or ".." in flavour.parts:
            raise ValueError("absolute paths and '..' are not allowed")
    root = Path(folder).resolve()
    path = (root / name).resolve()
    if path != root and root not in path.parents:
        raise ValueError("the path leads outside the photo folder (symlink)")
    return path


def exif_datetime(head: bytes) -> str | None:
    """EXIF DateTimeOriginal (or DateTime) from the first bytes of a JPEG, else None."""
    if head[:2] != b"\xff\xd8":
        return None
    pos = 2
    while pos + 4 <= len(head) and head[pos] == 0xFF:
        marker = head[pos + 1]
        (length,) = struct.unpack(">H", head[pos + 2:pos + 4])
        if marker == 0xE1 and head[pos + 4:pos + 10] == b"Exif\x00\x00":
            return _tiff_datetime(head[pos + 10:pos + 2 + length])
        if marker in (0xDA, 0xD9) or length < 2:
            return None
        pos += 2 + length
    return None


def _tiff_datetime(tiff: bytes) -> str | None:
    """Walk IFD0 and the EXIF sub-IFD of a TIFF block for tags 0x9003 / 0x0132."""
    if len(tiff) < 8 or tiff[:2] not in (b"II", b"MM"):
        return None
    order = "<" if tiff[:2] == b"II" else ">"

    def entries(offset):
        if offset + 2 > len(tiff):
            return {}
        (count,) = struct.unpack(order + "H", tiff[offset:offset + 2])
        found = {}
        for i in range(min(count, 512)):
            at = offset + 2 + 12 * i
            if at + 12 > len(tiff):
                break
            tag, typ, n, value = struct.unpack(order + "HHII", tiff[at:at + 12])
            found[tag] = (typ, n, value)
        return found

    def text(entry):
        typ, n, offset = entry
        if typ != 2 or n > 64 or offset + n > len(tiff):
            return None
        return tiff[offset:offset + n].split(b"\x00")[0].decode("ascii", "replace") or None

    (ifd0,) = struct.unpack(order + "I", tiff[4:8])
    top = entries(ifd0)
    if 0x8769 in top:
        sub = entries(top[0x8769][2])
        if 0x9003 in sub:
            return text(sub[0x9003])
    return text(top[0x0132]) if 0x0132 in top else None


def manifest(folder: str | Path) -> pd.DataFrame:
    """One row per file under ``folder``: file, sha256, bytes, exif_datetime, note.

    Symlinks that lead outside the folder are listed with a note and not read.
    """
    root = Path(folder)
    if not root.is_dir():
        raise DataError("the photo folder does not exist or is not a folder", file=folder,
                        fix="pass the folder that holds the protocol photos")
    rows = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames.sort()
        for name in sorted(filenames):
            rel = Path(dirpath, name).relative_to(root).as_posix()
            try:
                path = safe_path(root, rel)
            except ValueError as exc:
                rows.append({"file": rel, "sha256": "", "bytes": pd.NA, "exif_datetime": None,
                             "note": f"not read: {exc}"})
                continue
            with open(path, "rb") as fh:
                head = fh.read(_HEAD)
            rows.append({"file": rel, "sha256": file_sha256(path), "bytes": path.stat().st_size,
                         "exif_datetime": exif_datetime(head), "note": ""})
    table = pd.DataFrame(rows, columns=["file", "sha256", "bytes", "exif_datetime", "note"])
    same = table["sha256"].ne("") & table["sha256"].duplicated(keep=False)
    table.loc[same, "note"] = "same content as another file"
    return table


def split_names(cell) -> list[str]:
    """Photo names of one transcription row (';'-separated)."""
    if cell is None or (isinstance(cell, float) and pd.isna(cell)) or cell is pd.NA:
        return []
    return [n.strip() for n in str(cell).split(";") if n.strip()]


def check_photos(transcriptions: pd.DataFrame, folder: str | Path, table: pd.DataFrame | None = None):
    """Photo hashes per transcription row and the problems found.

    Returns ``(hashes, issues)``: ``hashes`` maps row -> ';'-joined SHA-256 of
    its photos (in the order cited); ``issues`` is a table of row, station (its ids),
    photo and problem (no photo cited, missing, path refused, cited for another
    station, same content as a photo cited elsewhere).
    """
    table = manifest(folder) if table is None else table
    by_name = table.set_index("file")
    root = Path(folder)
    issues, hashes, cited = [], {}, []
    keys = [k for k in ID_COLUMNS if k in transcriptions.columns]
    station = station_key(transcriptions, keys) if keys else pd.Series("", index=transcriptions.index)
    for row, cell in transcriptions.get("photos", pd.Series(index=transcriptions.index, dtype=object)).items():
        pec = station[row].replace("\x1f", " / ")
        names = split_names(cell)
        if not names:
            issues.append((row, pec, "", "no photo cited"))
        found = []
        for name in names:
            try:
                rel = safe_path(root, name).relative_to(root.resolve()).as_posix()
            except ValueError as exc:
                issues.append((row, pec, name, f"path refused: {exc}"))
                continue
            if rel not in by_name.index or not by_name.at[rel, "sha256"]:
                issues.append((row, pec, name, "photo missing from the folder"))
                continue
            found.append(by_name.at[rel, "sha256"])
            cited.append((row, pec, name, by_name.at[rel, "sha256"]))
        hashes[row] = ";".join(found)
    cites = pd.DataFrame(cited, columns=["row", "station", "photo", "sha256"])
    for sha, grp in cites.groupby("sha256"):
        if grp["station"].nunique() > 1:
            for r in grp.itertuples():
                issues.append((r.row, r.station, r.photo, "photo (same content) cited for more than one station"))
    issues = pd.DataFrame(issues, columns=["row", "station", "photo", "problem"])
    return pd.Series(hashes, dtype=object).reindex(transcriptions.index).fillna(""), issues
