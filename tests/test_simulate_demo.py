"""The shipped demo data, the writer and ``forensics simulate``."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from forensics.cli import main
from forensics.cli.simulate import parse_fraud
from forensics.data import DEMO_FILE, DEMO_TRUTH_FILE
from forensics.errors import DataError
from forensics.simulate import PRESETS, protocol_frame, simulate, simulate_preset, truth_frame, write_table


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo") / "demo_kz.csv"
    assert main(["simulate", "--preset", "kz-demo", "--seed", "2021", "--out", str(out)]) == 0
    return out


def test_demo_data_regenerate_byte_identically(regenerated):
    assert regenerated.read_bytes() == DEMO_FILE.read_bytes()
    truth = regenerated.with_name("demo_kz_truth.csv")
    assert truth.read_bytes() == DEMO_TRUTH_FILE.read_bytes()
    assert DEMO_FILE.stat().st_size < 2_000_000


def test_demo_data_load_with_the_kz_profile_and_match_the_simulation():
    import forensics

    e = forensics.load(DEMO_FILE)
    sim = simulate_preset("kz-demo", rng=2021)
    assert e.profile == "kz_cec" and len(e.table) == 10_000
    assert e.table["region"].nunique() == 17
    assert e.table[["region", "tec"]].drop_duplicates().shape[0] == 230
    assert list(e.parties) == list(sim.parties)
    for col in ("registered", "signatures", "valid", "invalid", *sim.parties):
        assert e.table[col].sum() == sim.table[col].sum(), col
    found = sim.table["ballots_found_mobile"] + sim.table["ballots_found_stationary"]
    assert e.table["ballots_found"].sum() == found.sum()
    assert e.meta["seats"] == 98 and e.meta["threshold"] == 0.07


def test_demo_truth_is_keyed_and_describes_the_injected_fraud():
    truth = pd.read_csv(DEMO_TRUTH_FILE, dtype={"pec": str}, keep_default_na=False)
    assert not truth[["region", "tec", "pec"]].duplicated().any() and len(truth) == 10_000
    kinds = truth["true_fraud"].str.split("+").explode()
    counts = kinds[kinds != ""].value_counts()
    assert set(counts.index) == {"carousel", "stuffing", "transfer", "digits", "rounding", "drawn"}
    assert 5 <= counts["drawn"] <= 30  # a handful of invented protocols
    stuffed = truth.loc[truth["true_fraud"].str.contains("stuffing"), "region"].value_counts()
    assert stuffed.iloc[:3].sum() > 0.9 * stuffed.sum()  # concentrated in three regions
    assert truth["true_rounded"].dtype == bool
    rounded = truth.loc[truth["true_rounded"], "region"]
    assert rounded.nunique() == 1


def test_preset_shape_is_a_dominant_party_race():
    e = simulate_preset("kz-demo", rng=2021)
    t = e.table
    shares = t[list(e.parties)].sum() / t["valid"].sum()
    assert shares.iloc[0] > 0.6 and (shares.iloc[1:] < 0.2).all()
    assert (shares > 0.07).sum() in (2, 3, 4)  # some parties pass the 7% threshold, some do not
    assert 0.55 < t["signatures"].sum() / t["registered"].sum() < 0.75
    assert PRESETS["kz-demo"]["n_pec"] == 10_000


def test_cli_writes_protocol_and_truth_in_every_format(tmp_path):
    for ext in ("csv", "parquet", "xlsx"):
        out = tmp_path / f"sim.{ext}"
        assert main(["simulate", "--stations", "300", "--regions", "4", "--parties", "3",
                     "--fraud", "stuffing=0.2,signatures=no", "--seed", "5", "--out", str(out)]) == 0
        read = {"csv": pd.read_csv, "parquet": pd.read_parquet, "xlsx": pd.read_excel}[ext]
        table, truth = read(out), read(tmp_path / f"sim_truth.{ext}")
        assert len(table) == len(truth) == 300
        assert list(table.columns[-3:]) == ["Party A", "Party B", "Party C"]
        assert "true_stuffed" in truth.columns and "true_stuffed" not in table.columns
    e = simulate(n_pec=300, n_regions=4, parties=3, fraud={"stuffing": {"fraction": 0.2, "signatures": False}}, rng=5)
    assert truth["true_stuffed"].sum() == e.table["true_stuffed"].sum() > 0


def test_cli_layout_writes_the_national_headers(tmp_path):
    out = tmp_path / "ru.csv"
    assert main(["simulate", "--stations", "200", "--layout", "ru_cik_2018", "--out", str(out)]) == 0
    header = out.read_text(encoding="utf-8").splitlines()[0]
    assert "Число погашенных избирательных бюллетеней" in header and "signatures" not in header


def test_protocol_frame_sums_single_lines_and_drops_truth():
    e = simulate(n_pec=100, rng=1, fraud={"stuffing": 0.2})
    frame = protocol_frame(e, fields=["registered", "ballots_found", "ballots_issued"])
    assert list(frame.columns[:6]) == ["region", "tec", "pec", "registered", "ballots_found", "ballots_issued"]
    assert (frame["ballots_issued"] == e.table["signatures"]).all()
    assert not any(c.startswith("true_") for c in frame.columns)
    assert list(truth_frame(e).columns[:4]) == ["region", "tec", "pec", "true_fraud"]
    with pytest.raises(DataError, match="cannot write"):
        write_table(frame, Path("x.json"))
    with pytest.raises(DataError, match="folder does not exist"):
        write_table(frame, Path("no/such/folder/x.csv"))


def test_parse_fraud():
    spec = parse_fraud(["stuffing=0.05,intensity=0.4,signatures=no", "rounding=0.1,regions=A|B,what=share",
                        "digits=0.2,favour=0|5"])
    assert spec == {"stuffing": {"fraction": 0.05, "intensity": 0.4, "signatures": False},
                    "rounding": {"fraction": 0.1, "regions": ["A", "B"], "what": "share"},
                    "digits": {"fraction": 0.2, "favour": (0, 5)}}
    for bad in ("stuffing", "stuffing=lots", "stuffing=0.1,intensity"):
        with pytest.raises(DataError):
            parse_fraud([bad])


def test_cli_bad_fraud_exits_2(tmp_path, capsys):
    assert main(["simulate", "--fraud", "bribery=0.1", "--out", str(tmp_path / "x.csv")]) == 2
    assert "unknown fraud kind" in capsys.readouterr().err
    assert main(["simulate", "--preset", "ru-demo", "--out", str(tmp_path / "x.csv")]) == 2
    assert "kz-demo" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("layout", [None, "ru_cik_2018", "kz_cec"])
def test_written_files_load_back_with_the_same_figures(tmp_path, layout):
    import forensics

    e = simulate(n_pec=400, rng=8, unpublished=0.02, fraud={"drawn": 0.05})
    path = tmp_path / "sim.csv"
    write_table(protocol_frame(e, layout), path)
    back = forensics.load(path, profile=layout)
    assert list(back.parties) == list(e.parties)
    assert back.published.sum() == (~e.table["unpublished"]).sum()
    for col in [*back.fields, *e.parties]:
        if col in e.table.columns:
            assert back.table[col].sum() == e.table[col].sum(), col
    assert back.ballots_found().sum() == e.ballots_found().sum()
