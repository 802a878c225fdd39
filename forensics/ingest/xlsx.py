"""One worksheet of an XLSX workbook as a header and text records.

The sheet read is the one asked for, else the first visible one (a hidden
first sheet is skipped, and ``info["sheets"]`` names them all).  Title rows
above the header are skipped; a header spanning several rows (a label merged
across the party columns above their names) is joined into one text per
column.  Cells become the text a CSV of the sheet would hold (12.0 -> "12",
a date -> "2024-06-09", TRUE stays "TRUE", so the count parser can name
it); a formula whose result was never computed (a file written by a program
that does not calculate) is an error, not an empty cell.
"""
from __future__ import annotations

import datetime as dt
import io
import zipfile

from ..errors import DataError
from .read import join_header_rows

SAVE_AS_CSV = "open the file in a spreadsheet and save it as 'CSV UTF-8', or as XLSX"
#: rows looked at to find the header
HEAD = 30


def read_sheet(data: bytes, file: str, sheet=None, header_rows=None):
    """((headers, records, first data row) or None when the sheet is empty, info)."""
    import openpyxl

    try:
        wb = openpyxl.load_workbook(io.BytesIO(data), data_only=True)
    except Exception as exc:  # openpyxl raises several types for damaged files
        raise DataError(f"the file looks like a zip/XLSX but cannot be read as a spreadsheet ({exc})",
                        file=file, fix=SAVE_AS_CSV) from None
    names = wb.sheetnames
    visible = [ws.title for ws in wb.worksheets if ws.sheet_state == "visible"]
    if sheet is not None:
        chosen = names[int(sheet)] if str(sheet).isdigit() and int(sheet) < len(names) and sheet not in names \
            else sheet
        if chosen not in names:
            raise DataError(f"the workbook has no sheet '{sheet}'; its sheets are {', '.join(names)}", file=file,
                            fix="pass one of these names with --sheet (or [read] sheet in the profile)")
    elif visible:
        chosen = visible[0]
    else:
        raise DataError("every sheet of the workbook is hidden", file=file,
                        fix=f"pass the sheet to read with --sheet (sheets: {', '.join(names)})")
    ws = wb[chosen]
    info = {"sheet": chosen, "sheets": names}
    if len(visible) > 1 and sheet is None:
        info["sheet_note"] = (f"read sheet '{chosen}', the first visible one; the workbook also has "
                              + ", ".join(f"'{n}'" for n in visible if n != chosen) + " (choose with --sheet)")
    merged_rows = _fill_merged(ws)
    grid = [list(r) for r in ws.iter_rows(values_only=True)]
    _check_formulas(data, chosen, grid, file)
    width = max((max((j + 1 for j, v in enumerate(r) if _filled(v)), default=0) for r in grid), default=0)
    grid = [(r + [None] * width)[:width] for r in grid]
    filled_rows = [i for i, r in enumerate(grid) if any(_filled(v) for v in r)]
    if not filled_rows:
        return None, info
    top = _header_top(grid)
    n_header = int(header_rows) if header_rows else _header_height(grid, top) if top in merged_rows else 1
    headers = join_header_rows([[_text(v) for v in r] for r in grid[top:top + n_header]])
    keep = [j for j, h in enumerate(headers) if not h.startswith("Unnamed: ")
            or any(_filled(r[j]) for r in grid[top + n_header:])]
    headers = [headers[j] for j in keep]
    records = [[_text(r[j]) for j in keep] for r in grid[top + n_header:]]
    info["header_row"] = top + n_header
    if n_header > 1:
        info["header_rows"] = n_header
    return (headers, records, top + n_header + 1), info


def _filled(v) -> bool:
    return v is not None and not (isinstance(v, str) and not v.strip())


def _header_top(grid) -> int:
    """The first row as full as any of the first rows: title rows above it are skipped."""
    counts = [sum(_filled(v) for v in r) for r in grid[:HEAD]]
    return counts.index(max(counts))


def _header_height(grid, top: int) -> int:
    """Rows from ``top`` holding only text, before the first row with a number: a merged header's rows."""
    n = 1
    for r in grid[top + 1:top + 6]:
        if any(isinstance(v, (int, float)) and not isinstance(v, bool) for v in r):
            break
        if not any(_filled(v) for v in r):
            break
        n += 1
    body = grid[top + n:]
    return n if body else 1


def _fill_merged(ws) -> set:
    """A merged range's value stands in each of its cells (openpyxl leaves all but the first empty).

    Returns the (0-based) rows where a merged range starts: a header there may span several rows.
    """
    starts = set()
    for rng in list(ws.merged_cells.ranges):
        starts.add(rng.min_row - 1)
        value = ws.cell(rng.min_row, rng.min_col).value
        ws.unmerge_cells(str(rng))
        for row in ws.iter_rows(min_row=rng.min_row, max_row=rng.max_row, min_col=rng.min_col, max_col=rng.max_col):
            for cell in row:
                cell.value = value
    return starts


def _check_formulas(data: bytes, sheet: str, grid, file: str) -> None:
    """A formula without a cached result reads as empty: refuse it rather than lose the figure."""
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        if not any(b"<f" in zf.read(n) for n in zf.namelist() if n.startswith("xl/worksheets/")):
            return
    import openpyxl

    ws = openpyxl.load_workbook(io.BytesIO(data), data_only=False)[sheet]
    _fill_merged(ws)
    bad = []
    for i, row in enumerate(ws.iter_rows(values_only=True)):
        for j, v in enumerate(row):
            if isinstance(v, str) and v.startswith("=") and i < len(grid) and j < len(grid[i]) \
                    and grid[i][j] is None:
                bad.append((i + 1, j + 1, v))
    if bad:
        row, col, formula = bad[0]
        from openpyxl.utils import get_column_letter

        raise DataError(f"cell {get_column_letter(col)}{row} holds the formula '{formula[:60]}' but no computed value"
                        + (f" ({len(bad) - 1} more cells like it)" if len(bad) > 1 else ""),
                        file=file, row=row,
                        fix="open the file in a spreadsheet program and save it (that computes the formulas), "
                            "or export the values as CSV")


def _text(v) -> str:
    """A cell as the text a CSV would hold: 12.0 -> '12', a date -> ISO, None -> ''."""
    if v is None:
        return ""
    if isinstance(v, bool):
        return "TRUE" if v else "FALSE"
    if isinstance(v, float):
        return str(int(v)) if v.is_integer() and abs(v) < 2**63 else repr(v)
    if isinstance(v, (dt.datetime, dt.date, dt.time)):
        return v.isoformat()
    return str(v).strip()
