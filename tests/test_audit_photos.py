"""Photo chain of custody: hashes, EXIF date, missing/duplicated photos, path-escape attempts."""
from __future__ import annotations

import hashlib
import os
import struct

import pandas as pd
import pytest

from forensics.audit import check_photos, exif_datetime, manifest, safe_path
from forensics.errors import DataError


def jpeg_with_exif(when: str, order: str = "<") -> bytes:
    """A minimal JPEG: SOI, APP1 with IFD0 -> EXIF sub-IFD -> DateTimeOriginal, EOI."""
    text = when.encode() + b"\x00"
    magic = b"II" if order == "<" else b"MM"
    ifd0 = 8
    sub = ifd0 + 2 + 12 + 4
    data_at = sub + 2 + 12 + 4
    tiff = magic + struct.pack(order + "HI", 42, ifd0)
    tiff += struct.pack(order + "H", 1) + struct.pack(order + "HHII", 0x8769, 4, 1, sub) + struct.pack(order + "I", 0)
    tiff += struct.pack(order + "H", 1) + struct.pack(order + "HHII", 0x9003, 2, len(text), data_at)
    tiff += struct.pack(order + "I", 0) + text
    app1 = b"Exif\x00\x00" + tiff
    return b"\xff\xd8" + b"\xff\xe1" + struct.pack(">H", len(app1) + 2) + app1 + b"\xff\xd9"


def test_exif_datetime_both_byte_orders():
    assert exif_datetime(jpeg_with_exif("2021:01:10 21:35:07")) == "2021:01:10 21:35:07"
    assert exif_datetime(jpeg_with_exif("2021:01:10 22:00:00", ">")) == "2021:01:10 22:00:00"
    assert exif_datetime(b"\xff\xd8\xff\xd9") is None
    assert exif_datetime(b"not a jpeg") is None
    damaged = jpeg_with_exif("2021:01:10 21:35:07")[:30]
    assert exif_datetime(damaged) is None


@pytest.fixture
def folder(tmp_path):
    photos = tmp_path / "photos"
    (photos / "tec1").mkdir(parents=True)
    (photos / "a.jpg").write_bytes(jpeg_with_exif("2021:01:10 21:35:07"))
    (photos / "tec1" / "b.jpg").write_bytes(b"\xff\xd8other\xff\xd9")
    (photos / "copy_of_a.jpg").write_bytes((photos / "a.jpg").read_bytes())
    secret = tmp_path / "secret.txt"
    secret.write_text("outside the folder")
    os.symlink(secret, photos / "link.jpg")
    return photos


def test_manifest(folder):
    m = manifest(folder).set_index("file")
    data = (folder / "a.jpg").read_bytes()
    assert m.at["a.jpg", "sha256"] == hashlib.sha256(data).hexdigest()
    assert m.at["a.jpg", "bytes"] == len(data)
    assert m.at["a.jpg", "exif_datetime"] == "2021:01:10 21:35:07"
    assert "tec1/b.jpg" in m.index and pd.isna(m.at["tec1/b.jpg", "exif_datetime"])
    assert m.at["copy_of_a.jpg", "note"] == "same content as another file"
    assert m.at["link.jpg", "sha256"] == "" and m.at["link.jpg", "note"].startswith("not read")
    with pytest.raises(DataError):
        manifest(folder / "nope")


@pytest.mark.parametrize("name", ["../secret.txt", "/etc/passwd", "tec1/../../secret.txt", "link.jpg",
                                  "C:\\Windows\\x.jpg", "..\\secret.txt", ""])
def test_path_escape_refused(folder, name):
    with pytest.raises(ValueError):
        safe_path(folder, name)


def test_check_photos_flags(folder):
    rows = pd.DataFrame({
        "region": ["R", "R", "R", "R", "R"], "tec": ["1", "1", "2", "2", "3"], "pec": ["1", "2", "3", "4", "5"],
        "photos": ["a.jpg; tec1/b.jpg", "missing.jpg", "../secret.txt", "copy_of_a.jpg", ""],
    })
    hashes, issues = check_photos(rows, folder)
    sha_a = hashlib.sha256((folder / "a.jpg").read_bytes()).hexdigest()
    assert hashes[0].split(";")[0] == sha_a and len(hashes[0].split(";")) == 2
    problems = issues.groupby("row")["problem"].apply(list)
    assert problems[1] == ["photo missing from the folder"]
    assert problems[2][0].startswith("path refused")
    assert problems[4] == ["no photo cited"]
    # the same picture (by content) cited for two stations
    assert "photo (same content) cited for more than one station" in problems[0]
    assert "photo (same content) cited for more than one station" in problems[3]
    assert hashes[2] == ""


def test_fifo_device_and_fake_jpeg_are_listed_not_hung(tmp_path):
    """A FIFO in the folder is listed unread (reading it would wait forever); a text file named
    .jpg is hashed and noted as no image; the audit's summary lists both."""
    from forensics.audit import image_type, inspect_photo

    photos = tmp_path / "photos"
    photos.mkdir()
    (photos / "real.jpg").write_bytes(jpeg_with_exif("2021:01:10 21:35:07"))
    (photos / "fake.jpg").write_text("just some text, not a photo")
    (photos / "empty.png").write_bytes(b"")
    (photos / "photo.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 20)
    os.mkfifo(photos / "pipe.jpg")
    m = manifest(photos).set_index("file")
    assert m.at["pipe.jpg", "sha256"] == "" and "named pipe" in m.at["pipe.jpg", "note"]
    assert m.at["fake.jpg", "sha256"] and m.at["fake.jpg", "note"].startswith("not an image")
    assert m.at["empty.png", "note"] == "empty file"
    assert m.at["real.jpg", "note"] == "" and m.at["photo.png", "note"] == ""
    assert inspect_photo(photos / "photo.png").image_type == "png"
    assert inspect_photo(photos / "real.jpg").accepted and not inspect_photo(photos / "fake.jpg").accepted
    assert image_type(b"RIFF\x00\x00\x00\x00WEBPVP8 ") == "webp" and image_type(b"hello") is None
    assert inspect_photo("/dev/null").note.startswith("not read: a character device")

    rows = pd.DataFrame({"pec": ["1", "2", "3"], "photos": ["pipe.jpg", "fake.jpg", "real.jpg"]})
    _, issues = check_photos(rows, photos)
    problems = dict(zip(issues["photo"], issues["problem"]))
    assert "named pipe" in problems["pipe.jpg"] and problems["fake.jpg"].startswith("photo is not an image")
    assert "real.jpg" not in problems
