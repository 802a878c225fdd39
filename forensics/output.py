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
    """The package's CSV of ``frame``: no index, 10 significant digits, formulas neutralised unless ``raw_csv``."""
    data = frame if raw_csv else neutralise(frame)
    columns = [_text_column(data.iloc[:, i]) for i in range(data.shape[1])] if data.shape[1] > 1 else [None]
    if any(c is None for c in columns):
        return _formatted_floats(data).to_csv(index=False, lineterminator="\n").encode("utf-8")
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    header = (",".join(_quoted(str(c)) for c in data.columns) + "\n").encode("utf-8")
    if not len(data):
        return header
    lines = pc.binary_join_element_wise(pc.binary_join_element_wise(*columns, ","), pa.scalar(""), "\n")
    offsets = np.frombuffer(lines.buffers()[1], dtype=np.int32, count=len(lines) + 1, offset=4 * lines.offset)
    return header + lines.buffers()[2].to_pybytes()[offsets[0]:offsets[-1]]  # the rows' text, end to end


def _float_text(values):
    """``FLOAT_FORMAT`` of each float as a pyarrow string array (missing: empty); whole numbers below 1e10, which
    it writes as integers, are converted in one pass, the others one by one."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    whole = np.isfinite(values) & (np.abs(values) < 1e10)
    whole[whole] = (values[whole] == np.trunc(values[whole])) & ~((values[whole] == 0) & np.signbit(values[whole]))
    rest = np.full(len(values), "", dtype=object)
    other = ~whole & ~np.isnan(values)
    rest[other] = [FLOAT_FORMAT % v for v in values[other].tolist()]
    integers = pa.array(np.where(whole, values, 0).astype(np.int64)).cast(pa.string())
    return pc.if_else(pa.array(whole), integers, pa.array(rest, type=pa.string()))


def _quoted(text: str) -> str:
    """``text`` as a CSV field: quoted (quotes doubled) where the csv module that pandas writes with quotes it."""
    return '"' + text.replace('"', '""') + '"' if _needs_quotes().search(text) else text


@functools.cache
def _needs_quotes() -> re.Pattern:
    """The characters for which the csv module quotes a field (a comma and a quote; which line breaks depends on
    the Python version), asked of the module once."""
    import csv
    import io

    def quoted(char):
        buf = io.StringIO()
        csv.writer(buf, lineterminator="\n").writerow(["a" + char + "b", "c"])
        return buf.getvalue().startswith('"')

    return re.compile("[" + re.escape("".join(c for c in ',"\r\n' if quoted(c))) + "]")


def _text_column(column):
    """The CSV cells of ``column`` as a pyarrow string array, written as ``DataFrame.to_csv`` writes them (floats in
    ``FLOAT_FORMAT``; missing: empty; each distinct value converted once), or None for a type whose text only pandas knows (dates, categories).
    With more than one column, ``to_csv``'s cells are these joined by commas, byte for byte (a test)."""
    import numpy as np
    import pandas as pd
    import pyarrow as pa

    dtype = column.dtype
    if isinstance(dtype, np.dtype) and dtype.kind == "f":
        return _float_text(column.to_numpy())
    if isinstance(dtype, np.dtype) and dtype.kind == "b":
        return pa.array(np.where(column.to_numpy(), "True", "False"))
    if isinstance(dtype, np.dtype) and dtype.kind in "iu":
        return pa.array(column.to_numpy()).cast(pa.string())
    if not (dtype == object or str(dtype) in ("string", "str", "Int64", "Int32", "Int16", "Int8")):
        return None
    codes, uniques = pd.factorize(column, use_na_sentinel=True)
    text = [v if type(v) is str else str(v) for v in uniques.tolist()]
    cells = np.array([_quoted(t) for t in text] + [""], dtype=object)
    return pa.array(cells[codes], type=pa.string())


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
