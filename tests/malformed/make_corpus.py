"""Write the malformed-file corpus next to this script.

Each file breaks one rule of a results file; ``tests/test_ingest_malformed.py``
lists what DataError (row, column) each must give.  Regenerate with
``python tests/malformed/make_corpus.py`` (deterministic: same bytes every time).
"""
from __future__ import annotations

import gzip
import io
import zipfile
from pathlib import Path

import openpyxl
import pandas as pd

HERE = Path(__file__).resolve().parent
HEADER = ["region", "tec", "pec", "registered", "ballots_received", "ballots_cancelled", "invalid", "valid",
          "Alpha", "Beta"]
ROWS = [
    ["North", "T1", "001", "1000", "900", "200", "10", "690", "400", "290"],
    ["North", "T1", "002", "800", "700", "100", "5", "595", "300", "295"],
    ["North", "T2", "001", "1200", "1100", "300", "20", "780", "500", "280"],
    ["South", "T3", "001", "600", "550", "150", "4", "396", "200", "196"],
    ["South", "T3", "002", "950", "900", "250", "11", "639", "320", "319"],
]
RU_HEADER = ["region", "tik", "uik", "Число избирателей, включенных в список избирателей",
             "Число избирательных бюллетеней, полученных участковой избирательной комиссией",
             "Число погашенных избирательных бюллетеней", "Число недействительных избирательных бюллетеней",
             "Число действительных избирательных бюллетеней", "Иванов Иван Иванович", "Петров Пётр Петрович"]
RU_ROWS = [["Республика Адыгея (Адыгея)", "1 Адыгейская", str(i + 1), *r[3:]] for i, r in enumerate(ROWS)]


def csv_text(header, rows, sep=",") -> str:
    """CSV text; cells holding the delimiter are quoted (a cell starting with '!' is written raw)."""
    def cell(v):
        if v.startswith("!"):
            return v[1:]
        return f'"{v}"' if sep in v or '"' in v else v
    return "".join(sep.join(map(cell, r)) + "\n" for r in [header, *rows])


def with_cell(rows, i, j, value):
    """A copy of rows with row i (0-based data row), column j replaced."""
    out = [list(r) for r in rows]
    out[i][j] = value
    return out


def write(name: str, data) -> None:
    path = HERE / name
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)


def xlsx(header, rows, title=None) -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    if title:
        ws.append([title])
    ws.append(header)
    for r in rows:
        ws.append([int(v) if v.lstrip("-").isdigit() and j >= 3 else v for j, v in enumerate(r)])
    buf = io.BytesIO()
    wb.save(buf)
    return _fixed_zip_dates(buf.getvalue())


def _fixed_zip_dates(data: bytes) -> bytes:
    """Rewrite a zip (XLSX) with fixed timestamps and core properties so the bytes never change."""
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            body = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                body = b'<?xml version="1.0" encoding="UTF-8"?><cp:coreProperties ' \
                       b'xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties"/>'
            dst.writestr(zipfile.ZipInfo(info.filename, date_time=(2020, 1, 1, 0, 0, 0)), body)
    return out.getvalue()


def zipped(members: dict) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, body in members.items():
            zf.writestr(zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0)), body)
    return out.getvalue()


def parquet(header, rows) -> bytes:
    frame = pd.DataFrame(rows, columns=header)
    for c in header[3:]:
        frame[c] = frame[c].astype("int64")
    buf = io.BytesIO()
    frame.to_parquet(buf, index=False)
    return buf.getvalue()


def main() -> None:
    good = csv_text(HEADER, ROWS)
    # -- empty or nearly so
    write("empty.csv", "")
    write("blank_lines_only.csv", "\n\n   \n")
    write("header_only.csv", csv_text(HEADER, []))
    write("header_only.xlsx", xlsx(HEADER, []))
    write("empty.xlsx", xlsx([], []))
    # -- shape of the rows
    write("truncated.csv", good[: good.rindex("\n", 0, len(good) - 1) + 12])  # last row cut after 3 cells
    write("ragged_extra_field.csv", csv_text(HEADER, with_cell(ROWS, 2, 9, "!280,7")))
    write("ragged_short_row.csv", csv_text(HEADER, [*ROWS[:1], ROWS[1][:8], *ROWS[2:]]))
    write("wrong_delimiter_rows.csv", csv_text(HEADER, [["!" + ",".join(r)] for r in ROWS], sep=";"))
    write("space_separated.csv", csv_text(HEADER, ROWS, sep=" "))
    write("duplicate_header.csv", csv_text([*HEADER[:-1], "valid"], ROWS))
    write("unknown_layout.csv", csv_text(["foo", "bar", "baz"], [["1", "2", "3"]]))
    write("missing_registered.csv", csv_text(HEADER[:3] + HEADER[4:], [r[:3] + r[4:] for r in ROWS]))
    write("missing_pec.csv", csv_text(HEADER[:2] + HEADER[3:], [r[:2] + r[3:] for r in ROWS]))
    # -- encodings and containers
    french = csv_text(HEADER[:8] + ["Québec solidaire", "Beta"], with_cell(ROWS, 3, 0, "Montréal"))
    write("wrong_encoding_latin1.csv", french.encode("cp1252"))
    write("utf16_without_bom.csv", good.encode("utf-16-le"))
    write("binary_garbage.csv", bytes(range(256)) * 4)
    write("old_excel.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504)
    write("zip_two_files.zip", zipped({"a.csv": good, "b.csv": good}))
    write("zip_empty.zip", zipped({}))
    write("zip_damaged.zip", zipped({"a.csv": good})[:60])
    write("gzip_damaged.csv.gz", gzip.compress(good.encode(), mtime=0)[:40])
    write("parquet_damaged.parquet", b"PAR1" + b"\x00\x01" * 50)
    # -- values in count columns
    write("text_in_registered.csv", csv_text(HEADER, with_cell(ROWS, 2, 3, "twelve hundred")))
    write("text_in_party.csv", csv_text(HEADER, with_cell(ROWS, 4, 9, "see note")))
    write("thousands_separator.csv", csv_text(HEADER, with_cell(ROWS, 1, 3, "1 800")))
    write("percent_sign.csv", csv_text(HEADER, with_cell(ROWS, 3, 8, "33%")))
    write("infinite.csv", csv_text(HEADER, with_cell(ROWS, 0, 6, "inf")))
    write("negative.csv", csv_text(HEADER, with_cell(ROWS, 1, 7, "-595")))
    write("fractional.csv", csv_text(HEADER, with_cell(ROWS, 4, 9, "319.5")))
    write("decimal_comma_semicolon.csv", csv_text(HEADER, with_cell(ROWS, 2, 8, "500,5"), sep=";"))
    write("negative_tab.tsv", csv_text(HEADER, with_cell(ROWS, 3, 4, "-1"), sep="\t"))
    write("negative.parquet", parquet(HEADER, with_cell(ROWS, 2, 5, "-300")))
    # -- station ids
    write("duplicate_ids.csv", csv_text(HEADER, [*ROWS, ROWS[2]]))
    write("empty_id.csv", csv_text(HEADER, with_cell(ROWS, 3, 2, "")))
    lines = csv_text(HEADER, [*ROWS, ROWS[0]]).split("\n")
    write("duplicate_ids_after_blank_line.csv", "\n".join([*lines[:3], "", *lines[3:]]))
    # -- spreadsheets with a title row above the header
    write("title_row_text_in_counts.xlsx", xlsx(HEADER, with_cell(ROWS, 2, 7, "n.a."), title="Results by station"))
    write("title_row_duplicate_ids.xlsx", xlsx(HEADER, [*ROWS, ROWS[0]], title="Results by station"))
    # -- Russian CEC layout
    write("ru_cp1251_text_in_counts.csv", csv_text(RU_HEADER, with_cell(RU_ROWS, 1, 6, "нет")).encode("cp1251"))
    write("ru_duplicate_uik.csv", csv_text(RU_HEADER, with_cell(RU_ROWS, 3, 2, "2")))
    write("ru_negative_bom_semicolon.csv", "\ufeff" + csv_text(RU_HEADER, with_cell(RU_ROWS, 0, 3, "-1"), sep=";"))


if __name__ == "__main__":
    main()
