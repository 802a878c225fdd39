"""Every file of the malformed corpus gives a DataError naming the right row and column."""
from __future__ import annotations

from pathlib import Path

import pytest

import forensics
from forensics.errors import DataError

CORPUS = Path(__file__).parent / "malformed"
RU_REGISTERED = "Число избирателей, включенных в список избирателей"

#: file -> (row, column, words the message must contain); row/column None = the file as a whole
EXPECTED = {
    "empty.csv": (None, None, "is empty"),
    "blank_lines_only.csv": (None, None, "is empty"),
    "header_only.csv": (2, None, "no data rows"),
    "header_only.xlsx": (2, None, "no data rows"),
    "empty.xlsx": (None, None, "is empty"),
    "truncated.csv": (6, "registered", "3 fields but the header has 10"),
    "ragged_extra_field.csv": (4, None, "11 fields but the header has 10"),
    "ragged_short_row.csv": (3, "Alpha", "8 fields but the header has 10"),
    "wrong_delimiter_rows.csv": (2, "tec", "different delimiter"),
    "space_separated.csv": (1, None, "delimiter"),
    "duplicate_header.csv": (1, "valid", "appears twice"),
    "unknown_layout.csv": (1, None, "no shipped profile"),
    "missing_registered.csv": (1, "registered", "lacks required columns"),
    "missing_pec.csv": (1, "pec", "lacks required columns"),
    "wrong_encoding_latin1.csv": (1, None, "not UTF-8"),
    "utf16_without_bom.csv": (None, None, "UTF-16"),
    "binary_garbage.csv": (None, None, "binary"),
    "old_excel.xls": (None, None, ".xls"),
    "zip_two_files.zip": (None, None, "a.csv, b.csv"),
    "zip_empty.zip": (None, None, "holds nothing"),
    "zip_damaged.zip": (None, None, "damaged"),
    "gzip_damaged.csv.gz": (None, None, "damaged"),
    "parquet_damaged.parquet": (None, None, "Parquet"),
    "text_in_registered.csv": (4, "registered", "'twelve hundred' is not a number"),
    "text_in_party.csv": (6, "Beta", "'see note' is not a number"),
    "thousands_separator.csv": (3, "registered", "'1 800' is not a number"),
    "percent_sign.csv": (5, "Alpha", "'33%' is not a number"),
    "infinite.csv": (2, "invalid", "infinite"),
    "negative.csv": (3, "valid", "negative count -595"),
    "fractional.csv": (6, "Beta", "fractional count 319.5"),
    "decimal_comma_semicolon.csv": (4, "Alpha", "fractional count 500,5"),
    "negative_tab.tsv": (5, "ballots_received", "negative count -1"),
    "negative.parquet": (4, "ballots_cancelled", "negative count -300"),
    "duplicate_ids.csv": (7, "pec", "rows 4 and 7 are the same polling station"),
    "empty_id.csv": (5, "pec", "id is empty"),
    "duplicate_ids_after_blank_line.csv": (8, "pec", "rows 2 and 8"),
    "title_row_text_in_counts.xlsx": (5, "valid", "'n.a.' is not a number"),
    "title_row_duplicate_ids.xlsx": (8, "pec", "rows 3 and 8"),
    "ru_cp1251_text_in_counts.csv": (3, "Число недействительных избирательных бюллетеней", "'нет' is not a number"),
    "ru_duplicate_uik.csv": (5, "uik", "rows 3 and 5"),
    "ru_negative_bom_semicolon.csv": (2, RU_REGISTERED, "negative count -1"),
}


def test_corpus_is_complete():
    files = {p.name for p in CORPUS.iterdir() if p.name != "make_corpus.py" and not p.name.startswith(".")}
    assert files == set(EXPECTED)
    assert len(files) >= 30


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_malformed_file_gives_its_data_error(name):
    row, column, words = EXPECTED[name]
    with pytest.raises(DataError) as info:
        forensics.load(CORPUS / name)
    err = info.value
    assert err.file == str(CORPUS / name)
    assert (err.row, err.column) == (row, column)
    assert words in str(err)
    assert err.fix  # every error says what to do


def test_wrong_profile_name_and_mismatched_profile():
    with pytest.raises(DataError, match="unknown profile 'ru_2018'"):
        forensics.load(CORPUS / "negative.csv", profile="ru_2018")
    with pytest.raises(DataError) as info:
        forensics.load(CORPUS / "unknown_layout.csv", profile="ru_cik_2018")
    assert info.value.column == "region" and info.value.row == 1
    # says which header texts it looked for
    assert "'region' or 'Регион'" in str(info.value) and "Число избирателей" in str(info.value)


def test_bad_profile_file(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("name = 'x'\n[fields]\nvoters = 'Voters'\n", encoding="utf-8")
    with pytest.raises(DataError, match="'voters' is not a canonical field"):
        forensics.load(CORPUS / "negative.csv", profile=bad)
    bad.write_text("name = 'x\n", encoding="utf-8")
    with pytest.raises(DataError, match="not valid TOML"):
        forensics.load(CORPUS / "negative.csv", profile=bad)
    with pytest.raises(DataError, match="profile file not found"):
        forensics.load(CORPUS / "negative.csv", profile=tmp_path / "absent.toml")
