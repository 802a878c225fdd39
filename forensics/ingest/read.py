"""Read a results file into a DataFrame of its source columns.

CSV (any of , ; tab | as delimiter, sniffed), UTF-8 with or without BOM,
UTF-16 with BOM or cp1251 (detected), gzip or a zip holding one file, XLSX
(the header is the first full row, so title rows above it are skipped; the
cells are then parsed like a CSV, so both load identically) and Parquet.
Reading happens in two steps: ``Source(path)`` looks at the bytes and the
header row; ``Source.frame(text_columns)`` parses the rows, keeping the
named columns (the station ids) as text so codes like ``007`` survive.
"""
from __future__ import annotations

import codecs
import csv
import gzip
import hashlib
import io
import re
import zipfile
from pathlib import Path

import pandas as pd

from ..errors import DataError

DELIMITERS = (",", ";", "\t", "|")
#: cell texts read as empty in count columns (ids keep them: "NA" may be a code)
NA_TEXT = ("", "NA", "N/A", "n/a", "#N/A", "NaN", "nan", "null", "NULL", "None", "<NA>")
SAVE_AS_CSV = "open the file in a spreadsheet and save it as 'CSV UTF-8', or as XLSX"
_CYRILLIC = re.compile(r"[\u0400-\u04ff]")
_CYRILLIC_BY_LATIN = re.compile(r"(?<=[A-Za-z])[\u0400-\u04ff]|[\u0400-\u04ff](?=[A-Za-z])")
_PANDAS_RAGGED = re.compile(r"Expected (\d+) fields in line (\d+), saw (\d+)")


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def file_sha256(path) -> str:
    """SHA-256 of a file, read in blocks (photos and inputs can be large)."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class Source:
    """One input file: its bytes, format, header row and, on demand, its rows."""

    def __init__(self, path):
        self.path = Path(path)
        self.file = str(path)
        data = self.path.read_bytes()
        self.sha256 = sha256(data)
        self.info = {}
        self.first_row = 2  # spreadsheet row of the first data row (header = row 1)
        data = self._unpack(data)
        if data[:4] == b"PAR1":
            self._init_parquet(data)
        elif data[:2] == b"PK":
            self._init_xlsx(data)
        elif data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
            raise DataError("this is an old binary Excel (.xls) file, which is not supported",
                            file=self.file, fix=SAVE_AS_CSV)
        else:
            self._init_csv(data)
        if not self.headers:
            raise DataError("the file is empty", file=self.file,
                            fix="check that you exported the right file; it needs a header row "
                                "and one row per polling station")

    # -- containers ------------------------------------------------------------
    def _unpack(self, data: bytes) -> bytes:
        """Gunzip, or unzip an archive (not an XLSX) that must hold exactly one data file."""
        if data[:2] == b"\x1f\x8b":
            try:
                return gzip.decompress(data)
            except (OSError, EOFError) as exc:
                raise DataError(f"the gzip file is damaged ({exc})", file=self.file,
                                fix="download or compress the file again") from None
        if data[:2] != b"PK":
            return data
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as zf:
                names = zf.namelist()
                if "[Content_Types].xml" in names:
                    return data  # an XLSX workbook
                members = [m for m in zf.infolist() if not m.is_dir()
                           and not m.filename.startswith("__MACOSX/")
                           and not Path(m.filename).name.startswith(".")]
                if len(members) != 1:
                    listed = ", ".join(m.filename for m in members) or "nothing"
                    raise DataError(f"the zip archive must hold exactly one data file, it holds {listed}",
                                    file=self.file, fix="unzip it and load the file you want, "
                                                        "or make a zip with that one file")
                self.info["member"] = members[0].filename
                return zf.read(members[0])
        except (zipfile.BadZipFile, EOFError, zipfile.LargeZipFile) as exc:
            raise DataError(f"the zip archive is damaged ({exc})", file=self.file,
                            fix="download or zip the file again") from None

    # -- formats ----------------------------------------------------------------
    def _init_parquet(self, data: bytes):
        try:
            self._frame = pd.read_parquet(io.BytesIO(data))
        except Exception as exc:  # pyarrow raises several types for damaged files
            raise DataError(f"the Parquet file cannot be read ({exc})", file=self.file,
                            fix="write the file again, or export it as CSV") from None
        self.info["format"] = "parquet"
        self.headers = [str(c) for c in self._frame.columns]
        self._frame.columns = self.headers

    def _init_xlsx(self, data: bytes):
        try:
            grid = pd.read_excel(io.BytesIO(data), header=None, dtype=object, sheet_name=0)
        except Exception as exc:  # openpyxl raises several types for damaged files
            raise DataError(f"the file looks like a zip/XLSX but cannot be read as a spreadsheet ({exc})",
                            file=self.file, fix=SAVE_AS_CSV) from None
        grid = grid.dropna(axis=1, how="all")
        if grid.dropna(how="all").empty:
            self.info["format"], self.headers = "xlsx", []
            return
        # the header is the first row as full as any of the first rows: title rows above it are skipped
        filled = grid.head(30).notna().sum(axis=1)
        top = int(filled.index[filled.argmax()])
        # from the header on, the sheet is read exactly as a CSV of its cells' text would be
        buf = io.StringIO()
        csv.writer(buf).writerows(grid.loc[top:].map(_cell_text).itertuples(index=False))
        self._init_csv(buf.getvalue().encode("utf-8"), header_row=top + 1, delimiter=",")
        self.info = {"format": "xlsx", "header_row": top + 1}

    def _init_csv(self, data: bytes, header_row: int = 1, delimiter=None):
        self.header_row, self.first_row = header_row, header_row + 1
        text = self._decode(data)
        # pandas parses UTF-8 bytes faster than a str; re-encode only when the file was not UTF-8
        self.utf8 = data if self.info["encoding"] == "utf-8" else text.encode("utf-8")
        sample = text[:200_000]
        more = len(sample) < len(text)
        del text
        self.info["format"] = "csv"
        lines = sample.splitlines()
        if not "".join(lines).strip():
            self.headers = []
            return
        self.delimiter = delimiter or _sniff(lines[:50] if more else lines)
        self.info["delimiter"] = self.delimiter
        header = next(csv.reader([lines[0]], delimiter=self.delimiter))
        header = [h.strip() or f"Unnamed: {i}" for i, h in enumerate(header)]
        self._check_headers(header, header_row)
        self.headers = header

    def _decode(self, data: bytes) -> str:
        """Text of a CSV: UTF-8 (BOM or not), UTF-16 with BOM, or cp1251 when it reads as Russian."""
        for bom, enc in ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"),
                         (codecs.BOM_UTF16_BE, "utf-16")):
            if data.startswith(bom):
                self.info["encoding"] = enc
                return data.decode(enc, errors="strict")
        head = data[:4096]
        if b"\x00" in head:
            utf16 = head[1::2].count(0) > 0.8 * len(head[1::2]) or head[0::2].count(0) > 0.8 * len(head[0::2])
            what = "UTF-16 text without a byte-order mark" if utf16 else "binary, not a text table"
            raise DataError(f"the file is {what}", file=self.file, fix=SAVE_AS_CSV)
        try:
            self.info["encoding"] = "utf-8"
            return data.decode("utf-8")
        except UnicodeDecodeError as exc:
            row = data[:exc.start].count(b"\n") + 1
            bad = data[exc.start:exc.start + 1]
        try:
            text = data.decode("cp1251")
        except UnicodeDecodeError:
            text = None
        if text is not None and _looks_cyrillic(text):
            self.info["encoding"] = "cp1251"
            return text
        raise DataError(f"the file is not UTF-8 (byte {bad!r} cannot be read) and does not read as cp1251 Cyrillic "
                        "either", file=self.file, row=row,
                        fix="open it in a spreadsheet or text editor and save it with the encoding 'UTF-8'")

    def _check_headers(self, headers, row):
        seen = {}
        for i, h in enumerate(headers):
            if h and h in seen:
                raise DataError(f"the header '{h}' appears twice (columns {seen[h] + 1} and {i + 1})",
                                file=self.file, row=row, column=h,
                                fix="rename or delete one of the two columns")
            seen[h] = i

    # -- rows -------------------------------------------------------------------------
    def frame(self, text_columns=()) -> pd.DataFrame:
        """The data rows; ``text_columns`` are read as text, others as numbers where they are."""
        if self.info["format"] == "parquet":
            frame = self._frame.copy()
            for c in text_columns:
                if not pd.api.types.is_string_dtype(frame[c]):
                    frame[c] = frame[c].map(_cell_text, na_action="ignore").astype("object")
            return frame
        try:
            frame = pd.read_csv(io.BytesIO(self.utf8), encoding="utf-8", sep=self.delimiter, header=0,
                                names=self.headers, index_col=False, dtype={c: str for c in text_columns},
                                keep_default_na=False,
                                na_values={h: [""] if h in text_columns else NA_TEXT for h in self.headers},
                                skip_blank_lines=False, skipinitialspace=True, low_memory=False)
        except pd.errors.ParserError as exc:
            m = _PANDAS_RAGGED.search(str(exc))
            if not m:
                raise DataError(f"the file cannot be parsed as CSV ({exc})", file=self.file,
                                fix="check the quotes and delimiters, or " + SAVE_AS_CSV) from None
            want, line, saw = map(int, m.groups())
            raise DataError(f"the row has {_fields(saw)} but the header has {want}", file=self.file,
                            row=line + self.header_row - 1,
                            fix="check for an extra delimiter or an unquoted value containing "
                                f"'{self.delimiter}' in that row") from None
        if len(frame) and frame.iloc[:, -1].isna().any():
            self._check_short_rows()
        return frame

    def _check_short_rows(self):
        """Rows with fewer fields than the header (pandas would fill them silently)."""
        n = len(self.headers)
        text = self.utf8.decode("utf-8")
        for i, rec in enumerate(csv.reader(io.StringIO(text), delimiter=self.delimiter)):
            if rec and len(rec) < n and not (len(rec) == 1 and not rec[0].strip()):
                hint = (" The rows may use a different delimiter than the header." if len(rec) == 1 else
                        " The file may be truncated." if i >= text.count("\n") - 1 else "")
                raise DataError(f"the row has {_fields(len(rec))} but the header has {n}.{hint}",
                                file=self.file, row=i + self.header_row, column=self.headers[len(rec)],
                                fix="add the missing cells (leave a cell empty between two delimiters "
                                    "if a figure is unknown), or export the file again")


def _fields(n: int) -> str:
    return f"{n} field" + ("" if n == 1 else "s")


def _sniff(lines) -> str:
    """The delimiter giving the header several fields and the same count on most rows."""
    best, best_score = ",", (-1, 0)
    complete = [ln for ln in lines[:-1] if ln.strip()] or lines[:1]
    for d in DELIMITERS:
        counts = [len(r) for r in csv.reader(complete, delimiter=d)]
        if counts[0] < 2:
            continue
        share = sum(c == counts[0] for c in counts) / len(counts)
        score = (share >= 0.9, counts[0])
        if score > best_score:
            best, best_score = d, score
    return best


def _looks_cyrillic(text: str) -> bool:
    """cp1251 decodes almost any bytes; accept it only when the letters read as Russian words.

    Accented Latin letters read as cp1251 become Cyrillic letters inside Latin
    words ("Québec" -> "Quйbec"); in real Russian text Cyrillic letters stand
    among Cyrillic ones.
    """
    text = text[:500_000]
    non_ascii = sum(ord(ch) > 127 for ch in text)
    cyrillic = len(_CYRILLIC.findall(text))
    if not cyrillic or cyrillic < 0.9 * non_ascii:
        return False
    return len(_CYRILLIC_BY_LATIN.findall(text)) < 0.1 * cyrillic


def _cell_text(value) -> str:
    """A spreadsheet cell as id text: 12.0 -> '12', None -> ''."""
    if value is None or (isinstance(value, float) and value != value):
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()
