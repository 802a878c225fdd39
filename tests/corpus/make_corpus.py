"""Write the corpus of unusual and malformed results files next to this script.

Two kinds of file: legitimate variants of one reference table (another
delimiter, encoding, BOM, container, quoting, spreadsheet layout, column
order, header wording...), which must load to exactly the reference table,
and broken files, which must give a DataError naming the row, the column and
the fix.  ``tests/test_ingest_corpus.py`` lists what each file must give.
Regenerate with ``python tests/corpus/make_corpus.py`` (same bytes every time).
"""
from __future__ import annotations

import codecs
import csv
import gzip
import importlib.util
import io
import zipfile
from pathlib import Path

import openpyxl
import pandas as pd

HERE = Path(__file__).resolve().parent


def _malformed():
    """The reference tables and helpers of the malformed corpus beside this one."""
    spec = importlib.util.spec_from_file_location("malformed_corpus", HERE.parent / "malformed" / "make_corpus.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_M = _malformed()
HEADER, ROWS, RU_HEADER, RU_ROWS, with_cell = _M.HEADER, _M.ROWS, _M.RU_HEADER, _M.RU_ROWS, _M.with_cell
fixed_zip = _M._fixed_zip_dates
#: other years' wordings of the same Russian lines (matched by their meaning words)
RU_2004 = ["region", "tik", "uik", "Число избирателей, внесенных в список", "Число полученных избирательных бюллетеней",
           "Число погашенных избирательных бюллетеней", "Число недействительных избирательных бюллетеней",
           "Число действительных избирательных бюллетеней", "Иванов Иван Иванович", "Петров Пётр Петрович"]
RU_2016 = ["region", "tik", "uik", "Число избирателей, внесенных в список избирателей на момент окончания голосования",
           "Число избирательных бюллетеней, полученных участковыми избирательными комиссиями",
           "Число погашенных избирательных бюллетеней", "Число недействительных избирательных бюллетеней",
           "Число действительных избирательных бюллетеней", "Иванов Иван Иванович", "Петров Пётр Петрович"]
RU_NUMBERED = [*RU_HEADER[:3], *(f"{i}. {h}" for i, h in enumerate(RU_HEADER[3:8], 1)), *RU_HEADER[8:]]
RU_YO = [h.replace("включенных", "включённых").replace("учтенных", "учтённых") for h in RU_HEADER]


def csv_text(header, rows, sep=",", quote_all=False, eol="\n") -> str:
    buf = io.StringIO()
    csv.writer(buf, delimiter=sep, lineterminator=eol,
               quoting=csv.QUOTE_ALL if quote_all else csv.QUOTE_MINIMAL).writerows([header, *rows])
    return buf.getvalue()


def raw(header, rows, sep=",") -> str:
    """Cells written as they are, no quoting (to write broken files)."""
    return "".join(sep.join(r) + "\n" for r in [header, *rows])


def put(name: str, data) -> None:
    (HERE / name).write_bytes(data.encode("utf-8") if isinstance(data, str) else data)


def zipped(members: dict) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, body in members.items():
            info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, body)
    return out.getvalue()


def typed(r, j):
    """Spreadsheet cell values: counts as numbers, ids as text."""
    v = r[j]
    return int(v) if j >= 3 and v.isdigit() else v


def workbook(sheets, merged=()) -> bytes:
    """sheets: [(title, rows, state)]; rows are lists of cell values."""
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for title, rows, state in sheets:
        ws = wb.create_sheet(title)
        for r in rows:
            ws.append(r)
        ws.sheet_state = state
        for rng in merged:
            ws.merge_cells(rng)
    buf = io.BytesIO()
    wb.save(buf)
    return fixed_zip(buf.getvalue())


def grid(header, rows, convert=typed):
    return [header, *([convert(r, j) for j in range(len(r))] for r in rows)]


def parquet(frame) -> bytes:
    buf = io.BytesIO()
    frame.to_parquet(buf, index=False)
    return buf.getvalue()


def frame(header=HEADER, rows=ROWS, dtype="int64"):
    f = pd.DataFrame(rows, columns=header)
    for c in header[3:]:
        f[c] = f[c].astype(dtype)
    return f


def legitimate() -> None:
    """The reference table written in every way a results file legitimately comes."""
    ref = csv_text(HEADER, ROWS)
    put("ref.csv", ref)
    put("semicolon.csv", csv_text(HEADER, ROWS, sep=";"))
    put("tab.tsv", csv_text(HEADER, ROWS, sep="\t"))
    put("pipe.txt", csv_text(HEADER, ROWS, sep="|"))
    put("crlf.csv", csv_text(HEADER, ROWS, eol="\r\n"))
    put("bom.csv", "\ufeff" + ref)
    put("double_bom.csv", "\ufeff\ufeff" + ref)
    put("utf16le_bom.csv", ref.encode("utf-16"))
    put("utf16be_bom.csv", codecs.BOM_UTF16_BE + ref.encode("utf-16-be"))
    put("quoted_all.csv", csv_text(HEADER, ROWS, quote_all=True))
    put("reordered.csv", csv_text(HEADER[::-1], [r[::-1] for r in ROWS]))
    put("blank_lines.csv", ref.replace("\n", "\n\n", 2) + "\n\n")
    put("spaces_in_cells.csv", raw(HEADER, [[f" {c} " for c in r] for r in ROWS]))
    put("whole_decimals.csv", raw(HEADER, [[*r[:3], *(f"{c}.0" for c in r[3:])] for r in ROWS]))
    put("leading_zero_counts.csv", raw(HEADER, [[*r[:3], *(f"0{c}" for c in r[3:])] for r in ROWS]))
    put("header_case_spaces.csv", csv_text([f"  {h.upper()} " for h in HEADER[:8]] + HEADER[8:], ROWS))
    put("na_texts_party_gaps.csv", csv_text(HEADER, ROWS))  # (same as ref; kept for the count)
    put("zipped.zip", zipped({"results.csv": ref, "__MACOSX/._results.csv": "x"}))
    put("gzipped.csv.gz", gzip.compress(ref.encode(), mtime=0))
    put("zipped_xlsx.zip", zipped({"results.xlsx": workbook([("Sheet1", grid(HEADER, ROWS), "visible")])}))
    put("plain.xlsx", workbook([("Results", grid(HEADER, ROWS), "visible")]))
    put("title_rows.xlsx", workbook([("Results", [["Results by station"], ["Election of 2024"], *grid(HEADER, ROWS)],
                                      "visible")]))
    put("hidden_first_sheet.xlsx", workbook([("Notes", [["do not use"], ["x", "y"]], "hidden"),
                                             ("Results", grid(HEADER, ROWS), "visible")]))
    put("two_visible_sheets.xlsx", workbook([("Results", grid(HEADER, ROWS), "visible"),
                                             ("Summary", [["total", 1]], "visible")]))
    put("numbers_as_text.xlsx", workbook([("Results", grid(HEADER, ROWS, convert=lambda r, j: r[j]), "visible")]))
    put("float_cells.xlsx", workbook([("Results", grid(HEADER, ROWS, lambda r, j: float(r[j]) if j >= 3 else r[j]),
                                       "visible")]))
    merged = [["region", "tec", "pec", "registered", "ballots_received", "ballots_cancelled", "invalid", "valid",
               "Votes", None], [None, None, None, None, None, None, None, None, "Alpha", "Beta"],
              *grid(HEADER, ROWS)[1:]]
    put("merged_header.xlsx", workbook([("Results", merged, "visible")],
                                       merged=["I1:J1", "A1:A2", "B1:B2", "C1:C2", "D1:D2", "E1:E2", "F1:F2", "G1:G2",
                                               "H1:H2"]))
    put("merged_header.toml", 'name = "merged"\n[parties]\ncolumns = ["Votes Alpha", "Votes Beta"]\n'
                              'names = { "Votes Alpha" = "Alpha", "Votes Beta" = "Beta" }\n')
    put("sheet_by_name.xlsx", workbook([("Cover", [["cover page"]], "visible"),
                                        ("Results", grid(HEADER, ROWS), "visible")]))
    put("int64.parquet", parquet(frame()))
    put("int32.parquet", parquet(frame(dtype="int32")))
    put("float_whole.parquet", parquet(frame(dtype="float64")))
    put("strings.parquet", parquet(frame(dtype=str)))
    put("thousands_declared.csv", raw(HEADER, [[*r[:3], *(f"{int(c) // 1000}.{int(c) % 1000:03d}" if int(c) >= 1000
                                                          else c for c in r[3:])] for r in ROWS], sep=";"))
    put("thousands_declared.toml", 'name = "dots"\n[read]\nthousands = "."\n[parties]\nrest = true\n')
    put("quoted_delimiters_in_ids.csv", csv_text(HEADER, [[f"{r[0]}, district", *r[1:]] for r in ROWS]))
    # Russian layout, 2018 wording as reference, other years' wordings and encodings
    ru = csv_text(RU_HEADER, RU_ROWS)
    put("ru_ref.csv", ru)
    put("ru_cp1251.csv", ru.encode("cp1251"))
    put("ru_cp1251_semicolon.csv", csv_text(RU_HEADER, RU_ROWS, sep=";").encode("cp1251"))
    put("ru_2004_wording.csv", csv_text(RU_2004, RU_ROWS))
    put("ru_2016_wording.csv", csv_text(RU_2016, RU_ROWS))
    put("ru_line_numbers.csv", csv_text(RU_NUMBERED, RU_ROWS))
    put("ru_yo.csv", csv_text(RU_YO, RU_ROWS))
    put("ru_header_line_break.csv", csv_text([RU_HEADER[0], RU_HEADER[1], RU_HEADER[2],
                                              RU_HEADER[3].replace(", ", ",\n"), *RU_HEADER[4:]], RU_ROWS))
    put("ru_bom_semicolon_crlf.csv", "\ufeff" + csv_text(RU_HEADER, RU_ROWS, sep=";", eol="\r\n"))
    put("ru_utf16.csv", ru.encode("utf-16"))
    put("ru_upper_case.csv", csv_text([h.upper() for h in RU_HEADER[:8]] + RU_HEADER[8:], RU_ROWS))


def broken() -> None:
    """Files that must be refused with the row, the column and the fix."""
    put("overflow_int64.csv", raw(HEADER, with_cell(ROWS, 1, 8, "99999999999999999999")))
    put("beyond_2_53.csv", raw(HEADER, with_cell(ROWS, 2, 3, "9007199254740993")))
    put("thousands_dot.csv", raw(HEADER, with_cell(ROWS, 0, 8, "3.000"), sep=";"))
    put("thousands_comma.csv", csv_text(HEADER, with_cell(ROWS, 4, 3, "1,000")))
    put("thousands_two_groups.csv", raw(HEADER, with_cell(ROWS, 3, 3, "1.000.000"), sep=";"))
    put("scientific.csv", raw(HEADER, with_cell(ROWS, 1, 3, "2.3E+03")))
    put("boolean_text.csv", raw(HEADER, with_cell(ROWS, 2, 9, "TRUE")))
    put("date_text.csv", raw(HEADER, with_cell(ROWS, 3, 4, "2024-06-09")))
    put("date_dots.csv", raw(HEADER, with_cell(ROWS, 0, 5, "12.05.2024"), sep=";"))
    put("plus_sign.csv", raw(HEADER, with_cell(ROWS, 4, 6, "+5")))
    put("dash_for_zero.csv", raw(HEADER, with_cell(ROWS, 1, 9, "-")))
    put("decimal_comma.csv", raw(HEADER, with_cell(ROWS, 2, 8, "12,5"), sep=";"))
    put("arabic_digits.csv", raw(HEADER, with_cell(ROWS, 0, 3, "١٠٠٠")))
    put("many_bad_cells.csv", raw(HEADER, [with_cell([r], 0, 3 + i, "x")[0] for i, r in enumerate(ROWS)]))
    put("bad_cells_and_empty_id.csv", raw(HEADER, with_cell(with_cell(ROWS, 1, 2, ""), 3, 9, "n/d")))
    put("duplicate_three_times.csv", raw(HEADER, [*ROWS, ROWS[0], ROWS[0]]))
    put("ragged_two_rows.csv", raw(HEADER, [*ROWS[:2], ROWS[2][:7], ROWS[3], [*ROWS[4], "9"]]))
    put("dup_case.csv", csv_text([*HEADER, "Registered"], [[*r, "1"] for r in ROWS]))
    put("dup_upper_valid.csv", csv_text([*HEADER, "VALID"], [[*r, "1"] for r in ROWS]))
    put("dup_trailing_space.csv", csv_text([*HEADER, "valid "], [[*r, "1"] for r in ROWS]))
    put("ru_dup_yo.csv", csv_text([*RU_HEADER, "Петров Петр Петрович"], [[*r, "1"] for r in RU_ROWS]))
    put("party_named_registered.csv", csv_text(["Province", "District", "Station", "Voters", "registered", "A"],
                                               [["P", "D", "1", "100", "50", "40"]]))
    put("party_named_registered.toml", 'name = "voters"\n[fields]\nregion = "Province"\ntec = "District"\n'
                                       'pec = "Station"\nregistered = "Voters"\n[parties]\nrest = true\n')
    cp = csv_text(RU_HEADER, RU_ROWS).encode("cp1251").split(b"\n")
    cp[3] = csv_text(RU_HEADER, RU_ROWS).split("\n")[3].encode("utf-8")
    put("ru_mixed_encoding.csv", b"\n".join(cp))
    u8 = csv_text(RU_HEADER, RU_ROWS).encode("utf-8").split(b"\n")
    u8[4] = csv_text(RU_HEADER, RU_ROWS).split("\n")[4].encode("cp1251")
    put("ru_utf8_with_cp1251_row.csv", b"\n".join(u8))
    put("huge_cell.csv", raw(HEADER, with_cell(ROWS, 2, 0, "N" * 200_000)))
    put("unclosed_quote.csv", raw(HEADER, with_cell(ROWS, 1, 0, '"North')))
    put("zip_in_zip.zip", zipped({"inner.zip": zipped({"a.csv": csv_text(HEADER, ROWS)})}))
    put("gzip_in_zip.zip", zipped({"a.csv.gz": gzip.compress(csv_text(HEADER, ROWS).encode(), mtime=0)}))
    put("bomb.zip", zipped({"a.csv": csv_text(HEADER, ROWS) + "0" * 3_000_000}))
    put("bomb.csv.gz", gzip.compress((csv_text(HEADER, ROWS) + "0" * 3_000_000).encode(), mtime=0))
    put("nul_bytes.csv", csv_text(HEADER, ROWS).replace("North", "No\x00rth"))
    put("only_bom.csv", "\ufeff")
    put("bom_header_only.csv", "\ufeff" + csv_text(HEADER, []))
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Results"
    for r in grid(HEADER, ROWS):
        ws.append(r)
    ws["H4"] = "=SUM(I4:J4)"  # a formula whose value was never computed
    buf = io.BytesIO()
    wb.save(buf)
    put("formula_no_value.xlsx", fixed_zip(buf.getvalue()))
    put("date_cell.xlsx", workbook([("Results", grid(HEADER, with_cell(ROWS, 2, 4, "@date")), "visible")]))
    put("bool_cell.xlsx", workbook([("Results", grid(HEADER, with_cell(ROWS, 3, 8, "@bool")), "visible")]))
    put("fraction_cell.xlsx", workbook([("Results", grid(HEADER, with_cell(ROWS, 1, 7, "@frac")), "visible")]))
    f = frame()
    f["registered"] = f["registered"] > 900
    put("bool_registered.parquet", parquet(f))
    f = frame()
    f["valid"] = pd.to_datetime("2024-06-09")
    put("timestamp_valid.parquet", parquet(f))
    f = frame(dtype="uint64")
    f.loc[2, "Alpha"] = 2**63 + 5
    put("uint64_huge.parquet", parquet(f))
    f = frame(dtype="float64")
    f.loc[4, "Beta"] = 1e300
    put("float_huge.parquet", parquet(f))
    put("computed_negative.csv", csv_text([*HEADER, "total"], [[*r, "600"] for r in ROWS]))
    put("computed_negative.toml", 'name = "diff"\n[fields.ballots_issued]\ndifference = ["total", "valid"]\n'
                                  '[parties]\nrest = true\n')
    put("empty_valid_cell.csv", raw(HEADER, with_cell(ROWS, 0, 7, "")))  # legitimate: kept missing


def main() -> None:
    legitimate()
    broken()
    _fix_special_cells()


def _fix_special_cells() -> None:
    """Cells a generator writes as placeholders: a date, a boolean, a fraction in a spreadsheet."""
    import datetime as dt

    for name, value in (("date_cell.xlsx", dt.datetime(2024, 6, 9)), ("bool_cell.xlsx", True),
                        ("fraction_cell.xlsx", 595.5)):
        wb = openpyxl.load_workbook(HERE / name)
        ws = wb.active
        for row in ws.iter_rows():
            for cell in row:
                if isinstance(cell.value, str) and cell.value.startswith("@"):
                    cell.value = value
        buf = io.BytesIO()
        wb.save(buf)
        put(name, fixed_zip(buf.getvalue()))


if __name__ == "__main__":
    main()
