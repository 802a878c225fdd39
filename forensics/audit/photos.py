"""Chain of custody for protocol photos: fingerprints, and the checks transcriptions cite.

``inspect_photo(path)`` is the one intake of a photo file (the audit's
folder manifest and the entry application's uploads both use it): regular
files only (a FIFO, device or socket is never opened for reading, so it
cannot hang the run), the image type recognised from the file's first bytes
rather than its name, then the SHA-256, size and EXIF DateTimeOriginal (read
from the JPEG header with a small bounds-checked parser; other formats get
none).  ``manifest(folder)`` lists every file with a note for each oddity.
``check_photos`` flags transcriptions citing a photo that is missing, cited
for another station, identical in content to another file, or named by a
path that leaves the folder.  Paths are never trusted: absolute names, '..'
and symlinks leading outside the folder are refused before any read.
"""
from __future__ import annotations

import hashlib
import os
import stat
import struct
from dataclasses import dataclass
from pathlib import Path, PurePosixPath, PureWindowsPath

import pandas as pd

from ..errors import DataError
from ..model import ID_COLUMNS
from .stations import station_key

#: how much of a JPEG is scanned for its EXIF header
_HEAD = 1 << 17

#: image formats recognised by their leading bytes ("magic numbers"), with the offset they start at
IMAGE_SIGNATURES = (
    ("jpeg", 0, b"\xff\xd8"),
    ("png", 0, b"\x89PNG\r\n\x1a\n"),
    ("gif", 0, b"GIF87a"),
    ("gif", 0, b"GIF89a"),
    ("tiff", 0, b"II*\x00"),
    ("tiff", 0, b"MM\x00*"),
    ("webp", 8, b"WEBP"),
    ("heic", 4, b"ftypheic"),
    ("heic", 4, b"ftypheix"),
    ("heic", 4, b"ftypmif1"),
    ("avif", 4, b"ftypavif"),
    ("bmp", 0, b"BM"),
)


def image_type(head: bytes) -> str | None:
    """The image format the first bytes of a file announce, or None when they announce none."""
    for name, offset, magic in IMAGE_SIGNATURES:
        if head[offset:offset + len(magic)] == magic and (name != "webp" or head[:4] == b"RIFF"):
            return name
    return None


@dataclass(frozen=True)
class PhotoInfo:
    """What the intake learnt about one file; ``note`` is empty for a readable image."""

    sha256: str = ""
    bytes: int | None = None
    exif_datetime: str | None = None
    image_type: str | None = None
    note: str = ""

    @property
    def accepted(self) -> bool:
        """True for a regular file whose content is an image."""
        return bool(self.sha256) and self.image_type is not None


def _kind(mode: int) -> str:
    for test, name in ((stat.S_ISFIFO, "a named pipe (FIFO)"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"), (stat.S_ISDIR, "a folder"),
                       (stat.S_ISLNK, "a symbolic link")):
        if test(mode):
            return name
    return "not a regular file"


def open_regular(path: str | Path):
    """Open ``path`` for reading only if it is a regular file; else ValueError saying what it is.

    The open neither follows a final symlink nor blocks (a FIFO would
    otherwise wait for a writer forever); ``fstat`` on the open file then
    decides, so the file cannot be swapped between the check and the read.
    """
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOFOLLOW", 0))
    except OSError as exc:
        try:
            mode = os.lstat(path).st_mode
        except OSError:
            raise ValueError(f"not read: {exc.strerror or exc}") from None
        raise ValueError(f"not read: {_kind(mode)}, not a photo file") from None
    fh = os.fdopen(fd, "rb")
    mode = os.fstat(fh.fileno()).st_mode
    if not stat.S_ISREG(mode):
        fh.close()
        raise ValueError(f"not read: {_kind(mode)}, not a photo file")
    return fh


def inspect_photo(path: str | Path, copy_to=None) -> PhotoInfo:
    """Fingerprint one photo file without trusting its name or kind.

    Anything but a regular file (see ``open_regular``) is returned unread
    with a note; a regular file whose first bytes are no known image format
    is hashed and noted.  ``copy_to`` (a writable binary file) receives the
    very bytes that were hashed.
    """
    try:
        fh = open_regular(path)
    except ValueError as exc:
        return PhotoInfo(note=str(exc))
    with fh:
        digest, head, size = hashlib.sha256(), b"", 0
        for block in iter(lambda: fh.read(1 << 20), b""):
            if len(head) < _HEAD:
                head += block[:_HEAD - len(head)]
            digest.update(block)
            size += len(block)
            if copy_to is not None:
                copy_to.write(block)
    kind = image_type(head)
    note = "" if kind else ("empty file" if size == 0 else
                            "not an image: the content is no known image format, whatever the file name says")
    return PhotoInfo(sha256=digest.hexdigest(), bytes=size,
                     exif_datetime=exif_datetime(head) if kind == "jpeg" else None, image_type=kind, note=note)


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


def folder_files(root: Path):
    """Every file under ``root`` in sorted order, as (name relative to root, path).

    Directory symlinks are not followed; a name that resolves outside the
    folder comes with the ValueError saying why, in place of its path.
    """
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames.sort()
        for name in sorted(filenames):
            rel = Path(dirpath, name).relative_to(root).as_posix()
            try:
                yield rel, safe_path(root, rel)
            except ValueError as exc:
                yield rel, exc


def manifest(folder: str | Path) -> pd.DataFrame:
    """One row per file under ``folder``: file, sha256, bytes, exif_datetime, note.

    Symlinks that lead outside the folder, FIFOs, devices and sockets are
    listed with a note and not read; files whose content is not an image
    are hashed and noted (see ``inspect_photo``).
    """
    root = Path(folder)
    if not root.is_dir():
        raise DataError("the photo folder does not exist or is not a folder", file=folder,
                        fix="pass the folder that holds the protocol photos")
    rows = []
    for rel, path in folder_files(root):
        if isinstance(path, ValueError):
            rows.append({"file": rel, "sha256": "", "bytes": pd.NA, "exif_datetime": None, "note": f"not read: {path}"})
            continue
        info = inspect_photo(path)
        rows.append({"file": rel, "sha256": info.sha256, "bytes": pd.NA if info.bytes is None else info.bytes,
                     "exif_datetime": info.exif_datetime, "note": info.note})
    table = pd.DataFrame(rows, columns=["file", "sha256", "bytes", "exif_datetime", "note"])
    same = table["sha256"].ne("") & table["sha256"].duplicated(keep=False)
    table.loc[same, "note"] = [f"{n}; same content as another file" if n else "same content as another file"
                               for n in table.loc[same, "note"]]
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
    station, same content as a photo cited elsewhere, not read or not an
    image).
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
            if rel not in by_name.index:
                issues.append((row, pec, name, "photo missing from the folder"))
                continue
            note = by_name.at[rel, "note"]
            if not by_name.at[rel, "sha256"]:
                issues.append((row, pec, name, f"photo {note}" if note else "photo missing from the folder"))
                continue
            if note.startswith(("not an image", "empty file")):
                issues.append((row, pec, name, f"photo is {note}"))
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
