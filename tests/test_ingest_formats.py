"""The same content in every supported format loads identically; to_layout round-trips."""
from __future__ import annotations

import gzip
import zipfile

import numpy as np
import openpyxl
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import forensics
from forensics.ingest import load_profile, source_rows, to_layout
from forensics.model import UNPUBLISHED

RU = load_profile("ru_cik_2018")
FIELDS18 = ["registered", "ballots_received", "ballots_issued_early", "ballots_issued_inside",
            "ballots_issued_outside", "ballots_cancelled", "ballots_found_mobile", "ballots_found_stationary",
            "invalid", "valid", "ballots_lost", "ballots_unaccounted"]


@pytest.fixture(scope="module")
def ru_frame() -> pd.DataFrame:
    """A small table in the Russian 2018 layout: leading-zero ids, one unpublished station, odd facts."""
    rng = np.random.default_rng(7)
    n = 12
    reg = rng.integers(300, 2500, n)
    cand = rng.integers(0, 400, (n, 3))
    valid = cand.sum(axis=1)
    invalid = rng.integers(0, 20, n)
    found = valid + invalid
    table = pd.DataFrame({
        "region": ["Республика Алтай"] * 6 + ["Город Москва"] * 6,
        "tec": ["ТИК №1"] * 3 + ["ТИК №2"] * 3 + ["ТИК Арбат"] * 6,
        "pec": [f"{i:04d}" for i in range(1, n + 1)],
        "registered": reg, "ballots_received": found + 100, "ballots_issued_early": 0,
        "ballots_issued_inside": found - 10, "ballots_issued_outside": 10, "ballots_cancelled": 100,
        "ballots_found_mobile": 10, "ballots_found_stationary": found - 10, "invalid": invalid, "valid": valid,
        "ballots_lost": 0, "ballots_unaccounted": 0,
        "Иванов Иван Иванович": cand[:, 0], "Петров Пётр Петрович": cand[:, 1], "Сидорова Анна": cand[:, 2],
        "url": [f"http://example.org/uik/{i}" for i in range(n)],
    })
    table.loc[4, "registered"] = 0  # a fact about the election, not a load error
    table.loc[5, "registered"] = 50  # turnout above 100%: kept, surfaces later as a finding
    counts = [*FIELDS18, "Иванов Иван Иванович", "Петров Пётр Петрович", "Сидорова Анна"]
    table[counts] = table[counts].astype(float)
    table.loc[7, counts] = np.nan  # never published
    return to_layout(table, RU)


def write_all(frame: pd.DataFrame, d):
    """The same table as every supported file format."""
    text = frame.to_csv(index=False)
    paths = {}

    def put(name, data):
        paths[name] = d / name
        paths[name].write_bytes(data.encode("utf-8") if isinstance(data, str) else data)

    put("utf8.csv", text)
    put("bom.csv", "\ufeff" + text)
    put("cp1251.csv", text.encode("cp1251"))
    put("crlf_semicolon.csv", frame.to_csv(index=False, sep=";", lineterminator="\r\n"))
    put("tab.tsv", frame.to_csv(index=False, sep="\t"))
    put("pipe_blank_lines.txt", frame.to_csv(index=False, sep="|") + "\n\n")
    put("utf16.csv", text.encode("utf-16"))
    put("results.csv.gz", gzip.compress(text.encode("utf-8"), mtime=0))
    with zipfile.ZipFile(d / "zipped.zip", "w") as zf:
        zf.writestr("results.csv", text)
        zf.writestr("__MACOSX/._results.csv", "resource fork")
    paths["zipped.zip"] = d / "zipped.zip"
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["Сведения о результатах выборов"])  # a title row above the header
    ws.append(list(frame.columns))
    for row in frame.itertuples(index=False):
        ws.append([None if isinstance(v, float) and np.isnan(v) else v for v in row])
    wb.save(d / "title_row.xlsx")
    paths["title_row.xlsx"] = d / "title_row.xlsx"
    frame.to_parquet(d / "results.parquet", index=False)
    paths["results.parquet"] = d / "results.parquet"
    return paths


def test_every_format_loads_identically(ru_frame, tmp_path):
    paths = write_all(ru_frame, tmp_path)
    loaded = {name: forensics.load(p) for name, p in paths.items()}
    ref = loaded["utf8.csv"]
    assert ref.profile == "ru_cik_2018"
    assert ref.table["pec"].tolist()[:3] == ["0001", "0002", "0003"]  # leading zeros kept
    assert ref.meta["n_unpublished"] == 1 and ref.table[UNPUBLISHED].tolist()[7] is True
    assert ref.table.loc[4, "registered"] == 0 and ref.table.loc[5, "registered"] == 50
    for name, e in loaded.items():
        assert e.profile == "ru_cik_2018", name
        assert e.parties == ref.parties, name
        pd.testing.assert_frame_equal(e.table, ref.table, obj=name)
    assert loaded["cp1251.csv"].meta["encoding"] == "cp1251"
    assert loaded["bom.csv"].meta["encoding"] == "utf-8-sig"
    assert loaded["crlf_semicolon.csv"].meta["delimiter"] == ";"
    assert loaded["title_row.xlsx"].meta["header_row"] == 2
    assert loaded["zipped.zip"].meta["member"] == "results.csv"
    assert len(loaded["pipe_blank_lines.txt"].meta["blank_rows"]) == 2


def test_source_rows_skip_blank_lines(tmp_path):
    (tmp_path / "b.csv").write_text("region,tec,pec,registered\nA,T,1,10\n\nA,T,2,20\n\n\nA,T,3,30\n",
                                    encoding="utf-8")
    e = forensics.load(tmp_path / "b.csv")
    assert e.meta["blank_rows"] == [3, 5, 6]
    assert source_rows(e).tolist() == [2, 4, 7]
    assert source_rows(e.subset(e.table["registered"] > 15)).tolist() == [4, 7]
    assert e.table["registered"].tolist() == [10, 20, 30]


def test_unpublished_station_is_kept_and_marked(ru_frame, tmp_path):
    (tmp_path / "r.csv").write_text(ru_frame.to_csv(index=False), encoding="utf-8")
    e = forensics.load(tmp_path / "r.csv")
    assert len(e) == len(ru_frame)
    assert e.table[UNPUBLISHED].sum() == 1
    assert e.table.loc[e.table[UNPUBLISHED], "registered"].isna().all()
    assert e.table["registered"].dtype == "float64"  # whole numbers with a gap
    assert e.meta["missing_cells"] == {}  # the unpublished station is not counted as gaps
    assert e.published.sum() == len(ru_frame) - 1


def round_trip(e, profile, tmp_path, name="rt.csv"):
    path = tmp_path / name
    to_layout(e, profile).to_csv(path, index=False)
    return forensics.load(path)


def test_round_trip_simulated_kz(tmp_path):
    sim = forensics.simulate(n_pec=300, rng=3)
    keep = [c for c in sim.table.columns if not c.startswith("true_")]
    e = sim.with_table(sim.table[keep])
    written = to_layout(e, "kz_cec")
    assert "Число избирателей, включенных в списки избирателей" in written.columns
    back = round_trip(e, "kz_cec", tmp_path)
    assert back.profile == "kz_cec" and back.meta["ruleset"] == "kz" and back.meta["seats"] == 98
    assert back.parties == e.parties
    pd.testing.assert_frame_equal(back.table, e.table.reset_index(drop=True), check_dtype=False)


def test_round_trip_real_layouts(ru2018, canada, albania, tmp_path):
    for e, prof in ((ru2018, "ru_cik_2018"), (canada, "canada_2011"), (albania, "albania_2013")):
        part = e.subset(e.table.index[:2000])
        back = round_trip(part, prof, tmp_path, f"{prof}.csv")
        assert back.profile == prof
        assert back.parties == part.parties
        pd.testing.assert_frame_equal(back.table, part.table, obj=prof)


def test_to_layout_names(canada):
    out = to_layout(canada.subset(canada.table.index[:5]), "canada_2011")
    assert "region" not in out.columns and UNPUBLISHED not in out.columns  # recreated on loading
    assert {"ed_number", "poll_number", "electors", "votes_Conservative"} <= set(out.columns)
    frame = canada.table.head()
    assert "votes_Liberal" in to_layout(frame, "canada_2011", parties=["Liberal"]).columns


CYRILLIC_ID = st.text(alphabet="0123456789АБВГДЖЯабвгдя-/№ ", min_size=1, max_size=6).map(str.strip).filter(bool)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_random_tables_survive_any_delimiter_and_encoding(tmp_path, data):
    """Random ids (leading zeros, Cyrillic, '№', '/'), gaps and unpublished rows, any delimiter and encoding."""
    n = data.draw(st.integers(1, 15))
    regions = data.draw(st.lists(CYRILLIC_ID, min_size=n, max_size=n))
    pecs = [f"{p}{i}" for i, p in enumerate(data.draw(st.lists(CYRILLIC_ID, min_size=n, max_size=n)))]
    cells = st.one_of(st.none(), st.integers(0, 10**6)) if data.draw(st.booleans()) else st.integers(0, 10**6)
    counts = {c: data.draw(st.lists(cells, min_size=n, max_size=n)) for c in ("registered", "valid", "Партия 1", "B")}
    frame = pd.DataFrame({"region": regions, "tec": "ТИК", "pec": pecs, **counts})
    dead = data.draw(st.lists(st.booleans(), min_size=n, max_size=n))
    frame.loc[dead, list(counts)] = None
    sep = data.draw(st.sampled_from([",", ";", "\t", "|"]))
    encoding = data.draw(st.sampled_from(["utf-8", "utf-8-sig", "cp1251", "utf-16"]))
    path = tmp_path / "random.csv"
    path.write_bytes(frame.to_csv(index=False, sep=sep).encode(encoding))
    e = forensics.load(path)
    assert e.profile == "generic" and e.parties == ("Партия 1", "B")
    assert e.table["region"].tolist() == regions and e.table["pec"].tolist() == pecs
    for c in counts:
        assert e.table[c].astype(float).tolist() == pytest.approx(frame[c].astype(float).tolist(), nan_ok=True)
    unpublished = frame[list(counts)].isna().all(axis=1)
    assert e.table[UNPUBLISHED].tolist() == unpublished.tolist()
    assert e.meta["n_unpublished"] == int(unpublished.sum())
