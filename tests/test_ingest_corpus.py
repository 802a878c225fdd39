"""The corpus of unusual and malformed files: no traceback, no hang, no silent wrong result.

Every legitimate variant loads to exactly the reference table; every broken
file gives a DataError naming the row and the column, with a fix.  Files
that cannot be committed (a FIFO, a device, a directory) are made here.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

import forensics
import forensics.ingest.read as read
from forensics.errors import DataError
from forensics.ingest import excluded_rows, load_profile

CORPUS = Path(__file__).parent / "corpus"
RU_REG = "Число избирателей, включенных в список избирателей"

#: legitimate variants -> the reference they must equal (and the profile they must be read with)
SAME = {
    **{name: "ref.csv" for name in (
        "semicolon.csv", "tab.tsv", "pipe.txt", "crlf.csv", "bom.csv", "double_bom.csv", "utf16le_bom.csv",
        "utf16be_bom.csv", "quoted_all.csv", "reordered.csv", "blank_lines.csv", "spaces_in_cells.csv",
        "whole_decimals.csv", "leading_zero_counts.csv", "header_case_spaces.csv", "na_texts_party_gaps.csv",
        "zipped.zip", "gzipped.csv.gz", "zipped_xlsx.zip", "plain.xlsx", "title_rows.xlsx", "hidden_first_sheet.xlsx",
        "two_visible_sheets.xlsx", "numbers_as_text.xlsx", "float_cells.xlsx", "merged_header.xlsx",
        "sheet_by_name.xlsx", "int64.parquet", "int32.parquet", "float_whole.parquet", "strings.parquet",
        "thousands_declared.csv")},
    **{name: "ru_ref.csv" for name in (
        "ru_cp1251.csv", "ru_cp1251_semicolon.csv", "ru_2004_wording.csv", "ru_2016_wording.csv",
        "ru_line_numbers.csv", "ru_yo.csv", "ru_header_line_break.csv", "ru_bom_semicolon_crlf.csv", "ru_utf16.csv",
        "ru_upper_case.csv")},
}
OPTIONS = {"sheet_by_name.xlsx": {"sheet": "Results"}}

#: broken files -> (row, column, words the message must contain); None = the file as a whole
ERRORS = {
    "overflow_int64.csv": (3, "Alpha", "too large for a count"),
    "beyond_2_53.csv": (4, "registered", "9007199254740993 is too large"),
    "thousands_dot.csv": (2, "Alpha", "'3.000' is ambiguous"),
    "thousands_comma.csv": (6, "registered", "'1,000' is ambiguous"),
    "thousands_two_groups.csv": (5, "registered", "thousands separators"),
    "scientific.csv": (3, "registered", "scientific notation"),
    "boolean_text.csv": (4, "Beta", "'TRUE' is a boolean"),
    "date_text.csv": (5, "ballots_received", "is a date"),
    "date_dots.csv": (2, "ballots_cancelled", "'12.05.2024' is a date"),
    "plus_sign.csv": (6, "invalid", "plus sign"),
    "dash_for_zero.csv": (3, "Beta", "'-' is not a number"),
    "decimal_comma.csv": (4, "Alpha", "fractional count 12,5"),
    "arabic_digits.csv": (2, "registered", "digits other than 0-9"),
    "many_bad_cells.csv": (2, "registered", "5 problems in 5 rows"),
    "bad_cells_and_empty_id.csv": (3, "pec", "2 problems in 2 rows"),
    "duplicate_three_times.csv": (7, "pec", "rows 2 and 7 are the same polling station"),
    "ragged_two_rows.csv": (4, "valid", "2 problems in 2 rows"),
    "dup_case.csv": (1, "Registered", "differ only by case"),
    "dup_upper_valid.csv": (1, "VALID", "differ only by case"),
    "dup_trailing_space.csv": (1, "valid", "appears twice"),
    "ru_dup_yo.csv": (1, "Петров Петр Петрович", "ё/е"),
    "party_named_registered.csv": (1, "registered", "party named like the field 'registered'"),
    "ru_mixed_encoding.csv": (4, None, "mixes encodings"),
    "ru_utf8_with_cp1251_row.csv": (5, None, "mixes encodings"),
    "huge_cell.csv": (4, "region", "a cell of 200,000 characters"),
    "unclosed_quote.csv": (3, "tec", "never closed"),
    "zip_in_zip.zip": (None, None, "holds another archive"),
    "gzip_in_zip.zip": (None, None, "holds another archive"),
    "nul_bytes.csv": (None, None, "binary"),
    "only_bom.csv": (None, None, "is empty"),
    "bom_header_only.csv": (2, None, "no data rows"),
    "formula_no_value.xlsx": (4, None, "formula '=SUM(I4:J4)' but no computed value"),
    "date_cell.xlsx": (4, "ballots_received", "is a date"),
    "bool_cell.xlsx": (5, "Alpha", "'TRUE' is a boolean"),
    "fraction_cell.xlsx": (3, "valid", "fractional count 595.5"),
    "bool_registered.parquet": (2, "registered", "boolean values"),
    "timestamp_valid.parquet": (2, "valid", "dates or times are not counts"),
    "uint64_huge.parquet": (4, "Alpha", "too large for a count"),
    "float_huge.parquet": (6, "Beta", "too large for a count"),
    "computed_negative.csv": (2, "ballots_issued", "is negative"),
    "bomb.zip": (None, None, "decompressed content is larger than"),
    "bomb.csv.gz": (None, None, "decompressed content is larger than"),
}


def _profile(name):
    toml = CORPUS / (name.split(".")[0] + ".toml")
    return toml if toml.exists() else None


def _load(name, **kw):
    return forensics.load(CORPUS / name, profile=_profile(name), **OPTIONS.get(name, {}), **kw)


def _canonical(e) -> pd.DataFrame:
    cols = [c for c in ("region", "tec", "pec") if c in e.table] + e.fields + sorted(e.parties) + ["unpublished"]
    return e.table[cols]


def test_corpus_is_large_and_complete():
    files = {p.name for p in CORPUS.iterdir() if p.suffix not in (".py", ".toml")}
    listed = set(SAME) | set(ERRORS) | {"ref.csv", "ru_ref.csv", "empty_valid_cell.csv", "quoted_delimiters_in_ids.csv"}
    assert files == listed
    assert len(files) >= 80


@pytest.mark.parametrize("name", sorted(SAME))
def test_legitimate_variant_loads_to_the_reference(name):
    got, ref = _load(name), _load(SAME[name])
    assert got.profile == (load_profile(_profile(name)).name if _profile(name) else ref.profile)
    pd.testing.assert_frame_equal(_canonical(got), _canonical(ref), obj=name)


@pytest.mark.parametrize("name", sorted(ERRORS))
def test_broken_file_gives_its_data_error(name, monkeypatch):
    if name.startswith("bomb"):  # the committed bombs are small: the cap is lowered to meet them
        monkeypatch.setattr(read, "MAX_BYTES", 1 << 20)
    row, column, words = ERRORS[name]
    with pytest.raises(DataError) as info:
        _load(name)
    err = info.value
    assert (err.row, err.column) == (row, column), str(err)
    assert words in str(err)
    assert err.fix


def test_what_was_chosen_is_said():
    assert _load("two_visible_sheets.xlsx").meta["sheet_note"].startswith("read sheet 'Results'")
    assert _load("hidden_first_sheet.xlsx").meta["sheet"] == "Results"
    assert _load("sheet_by_name.xlsx").meta["sheets"] == ["Cover", "Results"]
    assert _load("double_bom.csv").meta["extra_bom"] is True
    assert _load("merged_header.xlsx").meta["header_rows"] == 2
    assert _load("ru_cp1251.csv").meta["encoding"] == "cp1251"
    assert _load("quoted_delimiters_in_ids.csv").table["region"].iloc[0] == "North, district"


def test_missing_cell_stays_missing():
    e = _load("empty_valid_cell.csv")
    assert pd.isna(e.table.loc[0, "valid"]) and e.meta["missing_cells"] == {"valid": 1}
    assert not e.table.loc[0, "unpublished"]


def test_every_problem_is_listed_and_rows_can_be_set_aside():
    with pytest.raises(DataError) as info:
        _load("many_bad_cells.csv")
    assert [(p["row"], p["column"]) for p in info.value.problems] == [
        (2, "registered"), (3, "ballots_received"), (4, "ballots_cancelled"), (5, "invalid"), (6, "valid")]
    assert "--skip-bad-rows" in info.value.fix
    e = _load("bad_cells_and_empty_id.csv", on_bad_rows="skip")
    assert len(e) == 3
    gone = excluded_rows(e)
    assert gone["source_row"].tolist() == [3, 5] and set(gone["action"]) == {"skipped"}
    assert "station id is empty" in gone["reason"].iloc[0] and "'n/d' is not a number" in gone["reason"].iloc[1]
    from forensics.ingest import source_rows
    assert source_rows(e).tolist() == [2, 4, 6]
    both = _load("duplicate_three_times.csv", on_bad_rows="skip")  # no copy of a repeated station is trusted
    assert len(both) == 4 and excluded_rows(both)["source_row"].tolist() == [2, 7, 8]
    ragged = _load("ragged_two_rows.csv", on_bad_rows="skip")
    assert excluded_rows(ragged)["source_row"].tolist() == [4, 6] and len(ragged) == 3


def test_bad_on_bad_rows_value():
    with pytest.raises(ValueError, match="on_bad_rows"):
        _load("ref.csv", on_bad_rows="ignore")


SPECIAL = """
import os, sys, forensics
from forensics.errors import DataError
try:
    forensics.load(sys.argv[1])
except DataError as exc:
    print("DataError:", exc)
"""


@pytest.mark.parametrize("kind", ["fifo", "device", "directory", "symlink_to_device"])
def test_not_a_regular_file_is_refused_without_hanging(kind, tmp_path):
    if kind == "fifo":
        path = tmp_path / "pipe.csv"
        os.mkfifo(path)
    elif kind == "device":
        path = Path("/dev/zero")
    elif kind == "directory":
        path = tmp_path
    else:
        path = tmp_path / "zero.csv"
        path.symlink_to("/dev/zero")
    if not path.exists() and kind != "fifo":
        pytest.skip(f"{path} is not available here")
    # in a child process with a time limit: a hang fails the test instead of stopping the suite
    out = subprocess.run([sys.executable, "-c", SPECIAL, str(path)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and "Traceback" not in out.stderr
    assert "DataError:" in out.stdout and "not a file" in out.stdout


def test_cli_skip_bad_rows_and_sheet(capsys):
    from forensics.cli import main

    assert main(["load", str(CORPUS / "bad_cells_and_empty_id.csv")]) == 2
    assert "--skip-bad-rows" in capsys.readouterr().err
    assert main(["load", str(CORPUS / "bad_cells_and_empty_id.csv"), "--skip-bad-rows"]) == 0
    out = capsys.readouterr().out
    assert "set aside   2 rows" in out and "row 3: column 'pec': the station id is empty" in out
    assert main(["load", str(CORPUS / "sheet_by_name.xlsx"), "--sheet", "Results"]) == 0
    assert "sheet Results" in capsys.readouterr().out
    assert main(["load", str(CORPUS / "sheet_by_name.xlsx"), "--sheet", "Nope"]) == 2
    assert "its sheets are Cover, Results" in capsys.readouterr().err
