"""The one writer: every CSV, JSON, text and figure file the package emits goes through here.

Outputs are complete or absent, never half-written:

* a folder (``OutputFolder``: the report, the audit, the reconciliation
  tables) is written into a temporary folder beside the target
  (``.<name>.tmp-...``) and renamed into place only when every file is
  written; an earlier output in the target is replaced in the same step.
  An interrupted or failed run removes its temporary folder and leaves the
  target as it was, so a report can never sit beside tables of another run.
  A target folder that holds files forensics did not write is refused.
* a single file (``write_csv``, ``write_json``, ``write_text``,
  ``write_file``) is written beside its target and renamed over it.

``check_folder`` / ``check_file`` test writability before any computation.
Every ``OSError`` while writing becomes an ``OutputError`` naming the path.

CSV conventions: UTF-8, ``\\n`` line ends, no index column (a ``station``
column where rows are stations), floats with 10 significant digits.  Cells
and headers that a spreadsheet would run as a formula (starting with ``=``,
``+``, ``-``, ``@``, a tab or a carriage return, and not a plain number) get
a leading apostrophe, unless ``raw_csv=True``.  JSON: sorted keys, 2-space
indent, NaN and infinities as null.
"""
from __future__ import annotations

import contextlib
import functools
import json
import math
import os
import re
import secrets
import shutil
from pathlib import Path

from ._version import __version__
from .errors import OutputError

FLOAT_FORMAT = "%.10g"
#: the file every completed output folder carries; a folder with it may be replaced by a new run
MARKER = ".forensics-output"
#: names of what earlier versions wrote, so their folders may be replaced too
_OURS = re.compile(r"^(report\.html|summary\.(json|txt)|figure_errors\.txt|figures|evidence|index\.html|\d{4}_.*\.html|"
                   r"(tests|findings|stations|excluded|not_checkable|rules|by_region|totals|discrepancies|"
                   r"differences|impact_\w+|recomputed|pvt|observer_effect|entry_status|disputes|photos|"
                   r"photo_issues)\.csv)$")
_FORMULA = re.compile(r"^[=+\-@\t\r]")
_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
#: the fewest floats with one decimal exponent written in bulk: below it the bulk steps' fixed cost is the larger
_BULK = 500
#: 10**0 ... 10**13 as floats, each exact
_POWERS_OF_TEN = tuple(float(10**k) for k in range(14))


# -- checks before any computation ------------------------------------------------------
def _problem(exc: OSError) -> str:
    return exc.strerror or str(exc)


def check_folder(target) -> Path:
    """Raise ``OutputError`` unless ``target`` can become (or be replaced by) an output folder."""
    target = Path(target)
    if target.exists() and not target.is_dir():
        raise OutputError("it is a file, not a folder", target, fix="pass a folder path to --out")
    if target.is_dir():
        foreign = [p.name for p in target.iterdir() if p.name != MARKER and not _OURS.match(p.name)]
        if foreign and not (target / MARKER).exists():
            raise OutputError(f"the folder holds files forensics did not write ({', '.join(sorted(foreign)[:3])}"
                              f"{', ...' if len(foreign) > 3 else ''}), and a new run replaces the whole folder",
                              target, fix="choose a new or empty folder")
        if not os.access(target, os.W_OK | os.X_OK):
            raise OutputError("the folder is read-only", target, fix="choose a writable folder")
        _probe(target, target)  # the replaced folder must be writable too (a read-only mount is not)
    _probe(target.parent if target.parent != Path("") else Path("."), target)
    return target


def check_file(path) -> Path:
    """Raise ``OutputError`` unless the file ``path`` can be written (its folder exists and is writable)."""
    path = Path(path)
    if path.is_dir():
        raise OutputError("it is a folder, not a file", path, fix="pass a file name")
    if path.exists() and not os.access(path, os.W_OK):
        raise OutputError("the file is read-only", path, fix="choose another file name")
    _probe(path.parent if path.parent != Path("") else Path("."), path)
    return path


def _probe(folder: Path, target: Path) -> None:
    """Create and remove a file in ``folder``: the only sure test that it is writable (read-only mounts too)."""
    if not folder.is_dir():
        raise OutputError(f"the folder {folder} does not exist", target, fix="create it first, or fix the path")
    probe = folder / f".{target.name}.probe-{os.getpid()}-{secrets.token_hex(4)}"
    try:
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        where = "it is not writable" if folder == target else f"its folder {folder} is not writable"
        raise OutputError(f"{where} ({_problem(exc)})", target, fix="choose a writable folder") from None


# -- formats -------------------------------------------------------------------------------
def plain(value):
    """A JSON-safe value: numpy scalars to Python, NaN, infinities and missing values to None."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if hasattr(value, "item") and getattr(value, "ndim", None) == 0:  # numpy scalar
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    import pandas as pd

    if value is pd.NA or value is pd.NaT:
        return None
    return str(value)


def json_text(obj) -> str:
    """The package's JSON: sorted keys, 2-space indent, UTF-8 text, a final newline."""
    return json.dumps(plain(obj), sort_keys=True, indent=2, ensure_ascii=False) + "\n"


def _neutral_text(text: str) -> str:
    return "'" + text if _FORMULA.match(text) and not _NUMBER.match(text) else text


def _risky(values) -> list:
    """The values among ``values`` whose text would run as a spreadsheet formula."""
    return [v for v in values if _FORMULA.match(str(v)) and not _NUMBER.match(str(v))]


def neutralise(frame):
    """A copy of ``frame`` whose text cells and headers cannot run as spreadsheet formulas (leading apostrophe).

    Each column's distinct values are checked once (names repeat across thousands of rows).
    """
    import pandas as pd

    out = frame.copy()
    out.columns = [_neutral_text(str(c)) if isinstance(c, str) else c for c in out.columns]
    for i, dtype in enumerate(out.dtypes):
        if dtype == object or str(dtype) in ("string", "str"):
            col = out.iloc[:, i]
            risky = _risky(pd.unique(col[col.notna()]))
            if risky:
                mask = col.isin(risky).to_numpy(dtype=bool)
                cells = col.astype(object).to_numpy(copy=True)
                cells[mask] = ["'" + str(v) for v in cells[mask]]
                out.isetitem(i, pd.Series(cells, index=col.index, name=col.name, dtype=object))
    return out


def _formatted_floats(frame):
    """``frame`` with its float columns as text in ``FLOAT_FORMAT`` (missing: empty), formatted in one pass each."""
    import numpy as np

    out = None
    for i, dtype in enumerate(frame.dtypes):
        if isinstance(dtype, np.dtype) and dtype.kind == "f":
            values = frame.iloc[:, i].to_numpy()
            text = np.array([FLOAT_FORMAT % v for v in values.tolist()], dtype=object)
            text[np.isnan(values)] = ""
            out = frame.copy(deep=False) if out is None else out
            out.isetitem(i, text)
    return frame if out is None else out


def csv_bytes(frame, raw_csv: bool = False) -> bytes:
    """The package's CSV of ``frame``: no index, 10 significant digits, formulas neutralised unless ``raw_csv``.

    Each column is turned into text once, in bulk (``_text_column``), and the rows are joined by pyarrow; a
    frame whose columns pyarrow cannot write the way pandas does (dates, categories, a single column) goes
    through ``DataFrame.to_csv``.  Either way the bytes are ``to_csv``'s (a test)."""
    columns = [_text_column(frame.iloc[:, i], raw_csv) for i in range(frame.shape[1])] if frame.shape[1] > 1 else [None]
    if any(c is None for c in columns):
        data = frame if raw_csv else neutralise(frame)
        return _formatted_floats(data).to_csv(index=False, lineterminator="\n").encode("utf-8")
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    names = [str(c) if raw_csv or not isinstance(c, str) else _neutral_text(c) for c in frame.columns]
    header = (",".join(_quoted(name) for name in names) + "\n").encode("utf-8")
    if not len(frame):
        return header
    lines = pc.binary_join_element_wise(pc.binary_join_element_wise(*columns, ","), pa.scalar(""), "\n")
    offsets = np.frombuffer(lines.buffers()[1], dtype=np.int32, count=len(lines) + 1, offset=4 * lines.offset)
    return header + lines.buffers()[2].to_pybytes()[offsets[0]:offsets[-1]]  # the rows' text, end to end


def _float_text(values):
    """``FLOAT_FORMAT`` of each float as a pyarrow string array (missing: empty), in bulk.

    Whole numbers below 1e10 are written as integers.  The others between 1e-4 and 1e10, which ``%.10g`` writes
    in fixed notation, are rounded to their 10 significant digits as integers (``rint`` of the value times a
    power of ten, which is exact in binary: one rounding, at most 1.2e-6 off) and written from those digits,
    grouped by decimal exponent; a value within 1e-5 of a rounding tie, or whose exponent the logarithm
    misjudged or fewer than ``_BULK`` values share, and every other value (exponent notation, infinities,
    negative zero) is formatted one by one."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    values = np.asarray(values, dtype=np.float64)
    size = np.abs(values)
    whole = np.isfinite(values) & (size < 1e10)
    whole[whole] = (values[whole] == np.trunc(values[whole])) & ~((values[whole] == 0) & np.signbit(values[whole]))
    fixed = np.flatnonzero(~whole & (size >= 1e-4) & (size < 1e10))  # NaN compares False: not here
    exponent = np.floor(np.log10(size[fixed])).astype(np.int64)
    scaled = size[fixed] * np.array(_POWERS_OF_TEN)[9 - exponent]
    digits = np.rint(scaled)
    good = (digits >= 1e9) & (digits < 1e10) & (np.abs(scaled - np.floor(scaled) - 0.5) > 1e-5)
    fixed, exponent, digits = fixed[good], exponent[good], digits[good].astype(np.int64)
    negative = values[fixed] < 0
    parts, where = [pa.array(values[whole].astype(np.int64)).cast(pa.string())], [np.flatnonzero(whole)]
    exponents, counts = np.unique(exponent, return_counts=True)
    for e in exponents[counts >= _BULK].tolist():  # a rarer exponent costs less one value at a time
        mine = exponent == e
        text = pa.array(digits[mine]).cast(pa.string())
        if e >= 0:  # e + 1 digits before the point, the others after it without trailing zeros
            head = pc.utf8_slice_codeunits(text, 0, e + 1)
            tail = pc.utf8_rtrim(pc.utf8_slice_codeunits(text, e + 1, 10), characters="0")
            text = pc.if_else(pc.equal(tail, ""), head, pc.binary_join_element_wise(head, tail, "."))
        else:  # "0." and -e - 1 zeros before the digits
            text = pc.binary_join_element_wise("0." + "0" * (-e - 1), pc.utf8_rtrim(text, characters="0"), "")
        parts.append(pc.if_else(pa.array(negative[mine]), pc.binary_join_element_wise("-", text, ""), text))
        where.append(fixed[mine])
    missing = np.isnan(values)
    parts.append(pa.repeat("", int(missing.sum())))
    where.append(np.flatnonzero(missing))
    rest = ~missing
    rest[np.concatenate(where)] = False
    rest = np.flatnonzero(rest)
    parts.append(pa.array([FLOAT_FORMAT % v for v in values[rest].tolist()], type=pa.string()))
    where.append(rest)
    return _in_place(parts, where, len(values))


def _in_place(parts, where, n: int):
    """The string arrays ``parts`` as one array of ``n`` cells, ``parts[k][j]`` at position ``where[k][j]``."""
    import numpy as np
    import pyarrow as pa

    position = np.empty(n, dtype=np.int64)
    position[np.concatenate(where)] = np.arange(n)
    return pa.concat_arrays([p.cast(pa.string()) for p in parts]).take(pa.array(position))


def _quoted(text: str) -> str:
    """``text`` as a CSV field: quoted (quotes doubled) where the csv module that pandas writes with quotes it."""
    return '"' + text.replace('"', '""') + '"' if _needs_quotes().search(text) else text


@functools.cache
def _needs_quotes() -> re.Pattern:
    """The characters for which the csv module quotes a field, as a pattern."""
    return re.compile("[" + re.escape("".join(_quote_chars())) + "]")


@functools.cache
def _quote_chars() -> tuple:
    """The characters for which the csv module that pandas writes with quotes a field (a comma and a quote;
    which line breaks depends on the Python version), asked of the module once."""
    import csv
    import io

    def quoted(char):
        buf = io.StringIO()
        csv.writer(buf, lineterminator="\n").writerow(["a" + char + "b", "c"])
        return buf.getvalue().startswith('"')

    return tuple(c for c in ',"\r\n' if quoted(c))


def _text_column(column, raw_csv: bool = False):
    """The CSV cells of ``column`` as a pyarrow string array, written as ``DataFrame.to_csv`` writes them after
    ``neutralise`` (unless ``raw_csv``; floats in ``FLOAT_FORMAT``; missing: empty), or None for a type whose
    text only pandas knows (dates, categories).  With more than one column, ``to_csv``'s cells are these joined
    by commas, byte for byte (a test)."""
    import numpy as np
    import pandas as pd
    import pyarrow as pa
    import pyarrow.compute as pc

    dtype = column.dtype
    if isinstance(dtype, np.dtype) and dtype.kind == "f":
        return _float_text(column.to_numpy())
    if isinstance(dtype, np.dtype) and dtype.kind == "b":
        return pc.if_else(pa.array(column.to_numpy()), "True", "False")
    if isinstance(dtype, np.dtype) and dtype.kind in "iu":
        return pa.array(column.to_numpy()).cast(pa.string())
    if isinstance(dtype, pd.StringDtype) and dtype.storage == "pyarrow":
        text = pa.array(column.array)  # the column's own arrow data, in one or more chunks
        return _arrow_text((text.combine_chunks() if isinstance(text, pa.ChunkedArray) else text).cast(pa.string()),
                           raw_csv)
    if not (dtype == object or str(dtype) in ("string", "str", "Int64", "Int32", "Int16", "Int8")):
        return None
    codes, uniques = pd.factorize(column, use_na_sentinel=True)
    text = [v if type(v) is str else str(v) for v in uniques.tolist()]
    cells = pa.array([_quoted(t if raw_csv else _neutral_text(t)) for t in text] + [""], type=pa.string())
    return cells.take(pa.array(np.where(codes < 0, len(text), codes)))


def _arrow_text(text, raw_csv: bool):
    """The CSV cells of a pyarrow string array: formula-like text neutralised (unless ``raw_csv``), quoted where
    the csv module quotes, missing values empty.  Each distinct value is written once (names repeat across
    thousands of rows), and only those that start like a formula are looked at one by one."""
    import pyarrow as pa
    import pyarrow.compute as pc

    encoded = text.dictionary_encode()
    values = encoded.dictionary
    if not raw_csv:
        start = _any_of([pc.starts_with(values, c) for c in "=+-@\t\r"])
        risky = _risky(values.filter(start).to_pylist()) if start is not None else []
        if risky:
            values = pc.if_else(pc.is_in(values, value_set=pa.array(risky, type=pa.string())),
                                pc.binary_join_element_wise("'", values, ""), values)
    quote = _any_of([pc.match_substring(values, c) for c in _quote_chars()])
    if quote is not None:
        values = pc.if_else(quote, pc.binary_join_element_wise('"', pc.replace_substring(values, '"', '""'), '"', ""),
                            values)
    return pc.fill_null(values.take(encoded.indices), "")


def _any_of(masks):
    """The element-wise or of boolean arrays (missing counts as False), or None where no element is true."""
    import pyarrow.compute as pc

    mask = masks[0]
    for other in masks[1:]:
        mask = pc.or_kleene(mask, other)
    mask = pc.fill_null(mask, False)
    return mask if pc.any(mask).as_py() else None


# -- single files ----------------------------------------------------------------------------
def write_file(path, write) -> Path:
    """Write a file through ``write(temporary_path)`` and rename it over ``path`` when complete."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}-{secrets.token_hex(4)}{path.suffix}")
    try:
        write(tmp)
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise OutputError(_problem(exc), path) from None
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    return path


def write_bytes(path, data: bytes) -> Path:
    return write_file(path, lambda tmp: Path(tmp).write_bytes(data))


def write_text(path, text: str) -> Path:
    return write_bytes(path, text.encode("utf-8"))


def write_csv(frame, path, raw_csv: bool = False) -> Path:
    return write_bytes(path, csv_bytes(frame, raw_csv))


def write_json(obj, path) -> Path:
    return write_text(path, json_text(obj))


# -- folders -----------------------------------------------------------------------------------
class OutputFolder:
    """A folder written completely or not at all (see the module docstring).

    ``with OutputFolder(target) as out:`` then ``out.csv(name, frame)``,
    ``out.json(name, obj)``, ``out.text(name, text)``, ``out.bytes(name, data)``
    or ``out.path(name)`` for a library that writes a file itself.  Names
    may contain sub-folders ("figures/x.png").  On leaving the block the
    folder replaces ``target``; on any error or interruption it is removed.
    """

    def __init__(self, target, raw_csv: bool = False):
        self.target = check_folder(target)
        self.raw_csv = raw_csv
        self.dir: Path | None = None

    def __enter__(self) -> "OutputFolder":
        self.dir = self.target.with_name(f".{self.target.name}.tmp-{os.getpid()}-{secrets.token_hex(4)}")
        try:
            self.dir.mkdir()
        except OSError as exc:
            raise OutputError(_problem(exc), self.target) from None
        return self

    def path(self, name: str) -> Path:
        """Where to write ``name`` inside the folder being built (its sub-folders are created)."""
        path = self.dir / name
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise OutputError(_problem(exc), self.target / name) from None
        return path

    def bytes(self, name: str, data: bytes) -> Path:
        try:
            self.path(name).write_bytes(data)
        except OSError as exc:
            raise OutputError(_problem(exc), self.target / name) from None
        return self.target / name

    def text(self, name: str, text: str) -> Path:
        return self.bytes(name, text.encode("utf-8"))

    def csv(self, name: str, frame) -> Path:
        return self.bytes(name, csv_bytes(frame, self.raw_csv))

    def json(self, name: str, obj) -> Path:
        return self.text(name, json_text(obj))

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None:
            shutil.rmtree(self.dir, ignore_errors=True)
            if isinstance(exc, OSError) and not isinstance(exc, OutputError):
                raise OutputError(_problem(exc), getattr(exc, "filename", None) or self.target) from None
            return
        try:
            (self.dir / MARKER).write_text(f"written by forensics {__version__}; a new run replaces this folder\n",
                                           encoding="utf-8")
            self._swap()
        except OSError as exc:
            shutil.rmtree(self.dir, ignore_errors=True)
            raise OutputError(_problem(exc), self.target) from None

    def _swap(self) -> None:
        """Put the finished folder in place of the target, the old one out of the way first."""
        old = None
        if self.target.exists():
            old = self.target.with_name(f".{self.target.name}.old-{os.getpid()}-{secrets.token_hex(4)}")
            os.rename(self.target, old)
        try:
            os.rename(self.dir, self.target)
        except OSError:
            if old is not None:
                os.rename(old, self.target)
            raise
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
