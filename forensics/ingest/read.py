"""Read a results file into its header row and its cells, safely.

Only regular files are opened (a FIFO, a device or a directory is refused
before anything blocks); zip and gzip are streamed with a cap on the
decompressed size; CSV with any of , ; tab | as delimiter (sniffed), UTF-8
with or without BOM, UTF-16 with BOM or cp1251 (detected; a file mixing
encodings is refused with the row); XLSX (the visible sheet or the one asked
for, title rows skipped, multi-row merged headers joined, formulas without
a cached value refused) and Parquet.

``Source(path)`` looks at the bytes and the header; ``Source.cells()`` gives
every column as a pyarrow array (text for CSV and XLSX, the stored type for
Parquet) with the spreadsheet row of each record, so every problem found
later names the row a spreadsheet shows.
"""
from __future__ import annotations

import codecs
import csv
import gzip
import hashlib
import io
import os
import re
import stat
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from ..errors import DataError
from .problems import Problem, raise_problems
from .words import plain

DELIMITERS = (",", ";", "\t", "|")
SAVE_AS_CSV = "open the file in a spreadsheet and save it as 'CSV UTF-8', or as XLSX"
#: decompressed bytes read from one file at most (a results table of a large country is ~50 MB)
MAX_BYTES = 2 << 30
#: the longest cell a results table plausibly has; longer ones are usually an unclosed quote
MAX_CELL = 100_000
_CYRILLIC = re.compile(r"[\u0400-\u04ff]")
_CYRILLIC_BY_LATIN = re.compile(r"(?<=[A-Za-z])[\u0400-\u04ff]|[\u0400-\u04ff](?=[A-Za-z])")
#: a Cyrillic letter in UTF-8: 0xD0/0xD1 and a continuation byte (in cp1251 text: 'Р'/'С' and a symbol)
_UTF8_CYRILLIC = re.compile(rb"[\xd0\xd1][\x80-\xbf]")


def file_sha256(path) -> str:
    """SHA-256 of a file, read in blocks (photos and inputs can be large)."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def regular_file(path, what: str = "results file") -> Path:
    """The path, if it names a regular file; a FIFO, device, socket or directory is a DataError."""
    path = Path(path)
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        raise DataError(f"the {what} does not exist", file=path, fix="check the path and try again") from None
    except OSError as exc:
        raise DataError(f"the {what} cannot be read ({exc.strerror})", file=path,
                        fix="check the path and its permissions") from None
    if not stat.S_ISREG(mode):
        kind = ("a directory" if stat.S_ISDIR(mode) else "a named pipe (FIFO)" if stat.S_ISFIFO(mode)
                else "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else "a socket" if stat.S_ISSOCK(mode)
                else "not a regular file")
        raise DataError(f"this is {kind}, not a file", file=path,
                        fix=f"give the path of the {what} itself (save a stream to a file first)")
    return path


@dataclass
class Cells:
    """The data records of a file: one array per header, and each record's spreadsheet row."""

    columns: dict  # header -> pyarrow Array
    rows: np.ndarray  # spreadsheet row number of each record

    def __len__(self) -> int:
        return len(self.rows)

    def take(self, keep: np.ndarray) -> "Cells":
        idx = pa.array(np.flatnonzero(keep))
        return Cells({h: a.take(idx) for h, a in self.columns.items()}, self.rows[keep])


class Source:
    """One input file: its bytes, format, header row and, on demand, its cells.

    ``options`` (from a profile's ``[read]`` table or the command line):
    ``sheet`` (XLSX), ``delimiter``, ``encoding``, ``header_rows`` (rows the
    header spans, joined), ``max_bytes``.
    """

    def __init__(self, path, **options):
        self.path = regular_file(path)
        self.file = str(path)
        self.options = options
        self.info = {}
        self.skipped = []  # rows set aside while reading (on_bad_rows="skip"), as Problems
        self.blank_rows = []  # empty lines left out before the cells are handed on (a long layout's)
        self.first_row = 2  # spreadsheet row of the first data record (header = row 1)
        try:
            data = self._read(self.path)
            self.sha256 = hashlib.sha256(data).hexdigest()
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
        except MemoryError:
            raise DataError("the file does not fit in memory", file=self.file,
                            fix="split it (e.g. one file per region) and load the parts") from None
        if not self.headers:
            raise DataError("the file is empty", file=self.file,
                            fix="check that you exported the right file; it needs a header row "
                                "and one row per polling station")
        self._check_headers(self.headers)

    # -- containers ------------------------------------------------------------
    @property
    def max_bytes(self) -> int:
        return int(self.options.get("max_bytes") or MAX_BYTES)

    def _too_big(self, what: str):
        return DataError(f"the {what} is larger than {self.max_bytes / 2**20:,.0f} MB", file=self.file,
                         fix="this is far larger than any results table; check that it is the right file "
                             "(a damaged or malicious archive can expand without end)")

    def _read(self, path: Path) -> bytes:
        if path.stat().st_size > self.max_bytes:
            raise self._too_big("file")
        return path.read_bytes()

    def _stream(self, fh) -> bytes:
        """Read a decompressing stream, refusing more than the cap."""
        out, total = [], 0
        while True:
            block = fh.read(1 << 22)
            if not block:
                return b"".join(out)
            total += len(block)
            if total > self.max_bytes:
                raise self._too_big("decompressed content")
            out.append(block)

    def _unpack(self, data: bytes) -> bytes:
        """Gunzip, or unzip an archive (not an XLSX) that must hold exactly one data file."""
        if data[:2] == b"\x1f\x8b":
            try:
                with gzip.GzipFile(fileobj=io.BytesIO(data)) as fh:
                    return self._stream(fh)
            except (OSError, EOFError, zipfile.BadZipFile) as exc:
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
                with zf.open(members[0]) as fh:
                    inner = self._stream(fh)
        except (zipfile.BadZipFile, EOFError, zipfile.LargeZipFile, NotImplementedError, OSError) as exc:
            raise DataError(f"the zip archive is damaged or uses an unsupported compression ({exc})",
                            file=self.file, fix="download or zip the file again") from None
        if inner[:2] == b"\x1f\x8b" or (inner[:4] == b"PK\x03\x04" and not _is_xlsx(inner)):
            raise DataError("the zip archive holds another archive", file=self.file,
                            fix="unpack the inner archive and load the data file itself")
        return inner

    # -- formats ----------------------------------------------------------------
    def _init_parquet(self, data: bytes):
        import pyarrow.parquet as pq

        try:
            table = pq.read_table(io.BytesIO(data))
        except Exception as exc:  # pyarrow raises several types for damaged files
            raise DataError(f"the Parquet file cannot be read ({exc})", file=self.file,
                            fix="write the file again, or export it as CSV") from None
        self.info["format"] = "parquet"
        self.headers = [str(c) for c in table.column_names]
        self._cells = Cells({h: table.column(i).combine_chunks() for i, h in enumerate(self.headers)},
                            np.arange(table.num_rows) + 2)

    def _init_xlsx(self, data: bytes):
        from .xlsx import read_sheet

        grid, info = read_sheet(data, self.file, self.options.get("sheet"), self.options.get("header_rows"))
        self.info = {"format": "xlsx", **info}
        if grid is None:
            self.headers = []
            return
        self.headers, records, first = grid
        self.header_row, self.first_row = first - 1, first
        self._cells = self._from_records(records, first)

    def _init_csv(self, data: bytes):
        self.info["format"] = "csv"
        sample = self._utf8_sample(data)
        if sample is None:  # not plain UTF-8: decode it all (cp1251, UTF-16, a BOM, a given encoding)
            text = self._decode(data)
            self._utf8 = text.encode("utf-8")
            sample = text[:200_000]
            more = len(sample) < len(text)
            del text
        else:  # UTF-8: the bytes are parsed as they are; Arrow checks the rest of the encoding
            self.info["encoding"] = "utf-8"
            self._utf8 = data
            more = len(sample) < len(data)
        if not sample.strip():
            self.headers = []
            return
        lines = sample.splitlines()
        self.delimiter = self.options.get("delimiter") or _sniff(lines[:50] if more else lines)
        self.info["delimiter"] = self.delimiter
        header_rows = int(self.options.get("header_rows") or 1)
        reader = csv.reader(io.StringIO(sample), delimiter=self.delimiter)
        try:
            top = [next(reader, []) for _ in range(header_rows)]
        except csv.Error as exc:
            raise self._csv_error(exc, 1) from None
        self.headers = join_header_rows(top)
        self.header_row = header_rows
        self.first_row = header_rows + 1

    def _utf8_sample(self, data: bytes):
        """The first 200 kB as text if the file starts as plain UTF-8 (no BOM, no NUL, no encoding given)."""
        if self.options.get("encoding") or data[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE) \
                or data.startswith(codecs.BOM_UTF8) or b"\x00" in data[:4096]:
            return None
        try:
            return codecs.getincrementaldecoder("utf-8")().decode(data[:200_000], final=len(data) <= 200_000)
        except UnicodeDecodeError:
            return None

    def _decode(self, data: bytes) -> str:
        """Text of a CSV: UTF-8 (BOM or not), UTF-16 with BOM, or cp1251 when it reads as Russian."""
        wanted = self.options.get("encoding")
        if wanted:
            try:
                text = data.decode(wanted)
            except (UnicodeDecodeError, LookupError) as exc:
                raise DataError(f"the file cannot be read as {wanted} ({exc})", file=self.file,
                                fix="give the right encoding, or save the file as UTF-8") from None
            self.info["encoding"] = wanted
            return text.lstrip("\ufeff")
        for bom, enc in ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"),
                         (codecs.BOM_UTF16_BE, "utf-16")):
            if data.startswith(bom):
                self.info["encoding"] = enc
                try:
                    text = data.decode(enc, errors="strict")
                except UnicodeDecodeError as exc:
                    raise self._bad_bytes(data, exc, enc) from None
                if text.startswith("\ufeff"):
                    self.info["extra_bom"] = True  # a second byte-order mark (a file converted twice)
                return text.lstrip("\ufeff")
        head = data[:4096]
        if b"\x00" in head:
            utf16 = head[1::2].count(0) > 0.8 * len(head[1::2]) or head[0::2].count(0) > 0.8 * len(head[0::2])
            what = "UTF-16 text without a byte-order mark" if utf16 else "binary, not a text table"
            raise DataError(f"the file is {what}", file=self.file, fix=SAVE_AS_CSV)
        try:
            self.info["encoding"] = "utf-8"
            return data.decode("utf-8")
        except UnicodeDecodeError as exc:
            first_bad = exc
        text = data.decode("cp1251", errors="replace")
        if "\ufffd" not in text and _looks_cyrillic(text):
            self._check_mixed(data, first_bad)
            self.info["encoding"] = "cp1251"
            return text
        lines = data.split(b"\n")
        row = data[:first_bad.start].count(b"\n")
        others = b"\n".join(lines[:row] + lines[row + 1:])
        try:  # UTF-8 but for a few rows: a file pasted together from two exports
            others.decode("utf-8")
            if _looks_cyrillic(lines[row].decode("cp1251", errors="replace")):
                raise DataError("the file mixes encodings: it is UTF-8 but this row is in another encoding "
                                "(it reads as cp1251)", file=self.file, row=row + 1,
                                fix="export the whole file again in one encoding (UTF-8), or retype that row")
        except UnicodeDecodeError:
            pass
        raise self._bad_bytes(data, first_bad, "UTF-8")

    def _bad_bytes(self, data, exc, enc):
        row = data[:exc.start].count(b"\n") + 1
        bad = data[exc.start:exc.start + 1]
        also = " and does not read as cp1251 Cyrillic either" if enc == "UTF-8" else ""
        return DataError(f"the file is not {enc} (byte {bad!r} cannot be read){also}", file=self.file, row=row,
                         fix="open it in a spreadsheet or text editor and save it with the encoding 'UTF-8'")

    def _check_mixed(self, data: bytes, utf8_error) -> None:
        """A cp1251 file must not hold rows written in UTF-8 (they would read as garbage)."""
        for i, line in enumerate(data.split(b"\n")):
            if len(_UTF8_CYRILLIC.findall(line)) >= 2:
                try:
                    line.decode("utf-8")
                except UnicodeDecodeError:
                    continue
                bad_row = data[:utf8_error.start].count(b"\n") + 1
                raise DataError(f"the file mixes encodings: it reads as cp1251 (e.g. row {bad_row}) but this row "
                                "is written in UTF-8", file=self.file, row=i + 1,
                                fix="export the whole file again in one encoding (UTF-8), or retype that row")

    def _check_headers(self, headers):
        """Headers too long, or two that differ only by case, spaces or ё/е (numbered if the options say so)."""
        seen, self.duplicates = {}, []
        for i, h in enumerate(headers):
            if len(h) > MAX_CELL // 10:
                raise DataError(f"the header of column {i + 1} is {len(h):,} characters long", file=self.file,
                                row=getattr(self, "header_row", 1), fix="check for an unclosed quote in the header row")
            key = plain(h)
            if key in seen:
                if self.options.get("duplicate_headers") == "number":
                    n = sum(plain(x) == key for x in headers[:i]) + 1
                    headers[i] = f"{h} ({n})"
                    self.info.setdefault("numbered_headers", []).append(headers[i])
                    continue
                self.duplicates.append((seen[key], i))
            else:
                seen[key] = i

    def check_duplicates(self) -> None:
        """A DataError for the first pair of headers that name the same column."""
        if self.duplicates:
            j, i = self.duplicates[0]
            h, first = self.headers[i], self.headers[j]
            same = "appears twice" if first == h else f"and '{first}' differ only by case, spaces or ё/е"
            raise DataError(f"the header '{h}' {same} (columns {j + 1} and {i + 1})",
                            file=self.file, row=getattr(self, "header_row", 1), column=h,
                            fix="rename or delete one of the two columns (a profile may number repeated headers: "
                                "[read] duplicate_headers = \"number\")")

    # -- cells -------------------------------------------------------------------------
    def cells(self) -> Cells:
        """Every data record, one array per header; rows that do not fit the header are a DataError."""
        if not hasattr(self, "_cells"):
            try:
                self._cells = self._parse_csv()
            except MemoryError:
                raise DataError("the file does not fit in memory", file=self.file,
                                fix="split it (e.g. one file per region) and load the parts") from None
            del self._utf8
        return self._cells

    def widen(self, prof, skip: bool = False) -> None:
        """A long layout (``prof.long``): the rows of each station become one, with a column per option."""
        from .long import widen

        self.headers, self._cells, set_aside, info, self.blank_rows = widen(
            self.cells(), self.headers, prof, self.file, self.options.get("thousands"), skip)
        self.skipped += set_aside
        self.info.update(info)

    def text_frame(self) -> pd.DataFrame:
        """Every data record as stripped text ("" for empty), one column per header; the index is the
        spreadsheet row of the record (for messages that name the row)."""
        from .rows import column_text

        cells = self.cells()
        frame = pd.DataFrame({h: column_text(a).to_numpy() for h, a in cells.columns.items()})
        frame.index = pd.Index(cells.rows, name="row")
        return frame

    def _parse_csv(self) -> Cells:
        ragged = []

        def note(row):
            ragged.append(row)
            return "skip"

        n = len(self.headers)
        for attempt in (1, 2):
            try:
                table = self._arrow_csv(n, note)
                break
            except (pa.ArrowInvalid, pa.ArrowCapacityError) as exc:
                if "utf8" in str(exc).lower() and attempt == 1:
                    self._utf8 = self._decode(self._utf8).encode("utf-8")  # not UTF-8 after all
                    ragged.clear()
                    continue
                if "straddling" in str(exc) or "capacity" in str(exc).lower():
                    return self._parse_csv_slow()
                raise DataError(f"the file cannot be parsed as CSV ({exc})", file=self.file,
                                fix="check the quotes and delimiters, or " + SAVE_AS_CSV) from None
        if ragged:
            return self._parse_csv_slow()
        columns = {h: table.column(i).combine_chunks() for i, h in enumerate(self.headers)}
        cells = Cells(columns, np.arange(table.num_rows) + self.first_row)
        self._check_cell_length(cells)
        return cells

    def _arrow_csv(self, n, note):
        # blocks of 1 MB parsed on every core (a row longer than a block goes to the slow path)
        return pacsv.read_csv(
            io.BytesIO(self._utf8),
            read_options=pacsv.ReadOptions(column_names=[f"c{i}" for i in range(n)], skip_rows=self.header_row,
                                           block_size=1 << 20, use_threads=True),
            parse_options=pacsv.ParseOptions(delimiter=self.delimiter, newlines_in_values=True,
                                             ignore_empty_lines=False, invalid_row_handler=note),
            convert_options=pacsv.ConvertOptions(column_types={f"c{i}": pa.string() for i in range(n)},
                                                 strings_can_be_null=False, quoted_strings_can_be_null=False))

    def _parse_csv_slow(self) -> Cells:
        """Record by record (rows that do not fit the header, whitespace-only lines)."""
        try:
            text = self._utf8.decode("utf-8")
        except UnicodeDecodeError:
            text = self._decode(self._utf8)
        limit = csv.field_size_limit(MAX_CELL * 10)  # long cells are named below, not a csv.Error
        try:
            records = list(csv.reader(io.StringIO(text), delimiter=self.delimiter))[self.header_row:]
        except csv.Error as exc:
            raise self._csv_error(exc, None) from None
        finally:
            csv.field_size_limit(limit)
        return self._from_records(records, self.first_row)

    def _from_records(self, records, first: int) -> Cells:
        n = len(self.headers)
        keep, bad = [], []
        total = sum(1 for _ in records)
        for i, rec in enumerate(records):
            if len(rec) == n:
                keep.append(i)
            elif not rec or (len(rec) == 1 and not rec[0].strip()):
                keep.append(i)
                records[i] = [""] * n
            else:
                bad.append((i, len(rec)))
        if bad:
            problems = self._ragged(bad, first, total, records)
            if self.options.get("on_bad_rows") != "skip":
                raise_problems(problems, self.file)
            self.skipped = problems
        columns = {h: pa.array([records[i][j] for i in keep], type=pa.string()) for j, h in enumerate(self.headers)}
        cells = Cells(columns, np.asarray(keep, dtype=np.int64) + first)
        self._check_cell_length(cells)
        return cells

    def _ragged(self, bad, first, total, records) -> list:
        n = len(self.headers)
        problems = []
        for i, got in bad:
            hint = ""
            if any("\n" in c for c in records[i]) and got < n:
                hint = (" A quote in this row is never closed: it swallows the line breaks and the rows after it "
                        "into one cell.")
            elif got == 1:
                hint = " The rows may use a different delimiter than the header."
            elif got < n and i == total - 1:
                hint = " The file may be truncated."
            column = self.headers[got] if got < n else None
            problems.append(Problem(first + i, column, f"the row has {_fields(got)} but the header has {n}.{hint}",
                                    "check for an extra delimiter or an unquoted value containing "
                                    f"'{self.delimiter}' in that row" if got > n else
                                    "add the missing cells (leave a cell empty between two delimiters if a figure "
                                    "is unknown), or export the file again"))
        return problems

    def _check_cell_length(self, cells: Cells):
        import pyarrow.compute as pc

        for h, arr in cells.columns.items():
            if not pa.types.is_string(arr.type) or not len(arr):
                continue
            longest = pc.max(pc.utf8_length(arr)).as_py() or 0
            if longest > MAX_CELL:
                i = int(np.argmax(pc.utf8_length(arr).to_numpy(zero_copy_only=False)))
                raise DataError(f"a cell of {longest:,} characters", file=self.file, row=int(cells.rows[i]),
                                column=h, fix="results tables have short cells: look for an unclosed quote "
                                              "(a '\"' without its partner swallows the rows after it)")

    def _csv_error(self, exc, row):
        return DataError(f"the file cannot be parsed as CSV ({exc})", file=self.file, row=row,
                         fix="a cell this long usually comes from an unclosed quote; check the quotes and "
                             "delimiters, or " + SAVE_AS_CSV)


def _is_xlsx(data: bytes) -> bool:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            return "[Content_Types].xml" in zf.namelist()
    except (zipfile.BadZipFile, OSError):
        return False


def join_header_rows(rows) -> list:
    """One header text per column from one or more header rows (distinct parts joined by a space)."""
    width = max((len(r) for r in rows), default=0)
    if not width:
        return []
    parts = [[str(c).strip() for c in r] + [""] * (width - len(r)) for r in rows]
    out = []
    for j in range(width):
        words = []
        for r in parts:
            if r[j] and r[j] not in words:
                words.append(r[j])
        out.append(" ".join(" ".join(words).split()) or f"Unnamed: {j}")
    return out


def _fields(n: int) -> str:
    return f"{n} field" + ("" if n == 1 else "s")


def _sniff(lines) -> str:
    """The delimiter giving the header several fields and the same count on most rows."""
    best, best_score = ",", (-1, 0)
    complete = [ln for ln in lines[:-1] if ln.strip()] or lines[:1]
    for d in DELIMITERS:
        try:
            counts = [len(r) for r in csv.reader(complete, delimiter=d)]
        except csv.Error:
            continue
        if not counts or counts[0] < 2:
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
