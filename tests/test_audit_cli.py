"""``forensics audit`` end to end in a temporary folder, and ``forensics audit template``."""
from __future__ import annotations

import json
import os

import pandas as pd
import pytest

from forensics.audit import observer_copies
from forensics.cli import main
from forensics.ingest import to_layout
from forensics.simulate import simulate

IDS = ["region", "tec", "pec"]


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("audit")
    sim = observer_copies(simulate(n_pec=600, rng=21), sample=0.25, second_entry=True,
                          alterations={"moved": 0.06, "added": 0.06, "redrawn": 0.06}, rng=22)
    official = sim.official.table.drop(columns=[c for c in sim.official.table if str(c).startswith("true_")
                                                or c == "observed"])
    to_layout(official, "generic").to_csv(tmp / "official.csv", index=False)
    to_layout(sim.observed, "generic").to_csv(tmp / "observed.csv", index=False)
    sim.second.to_excel(tmp / "second.xlsx", index=False)
    photos = tmp / "photos"
    photos.mkdir()
    for cell in sim.observed["photos"]:
        for name in cell.split(";"):
            (photos / name).write_bytes(b"\xff\xd8" + name.encode() + b"\xff\xd9")
    os.mkfifo(photos / "stray_pipe.jpg")  # must be listed, not read (reading would hang the audit)
    (photos / "notes.jpg").write_text("a text file with an image's name")
    return sim, tmp


def test_template_subcommand(files, capsys):
    sim, tmp = files
    assert main(["audit", "template", "--profile", "generic", "--official", str(tmp / "official.csv")]) == 0
    header = capsys.readouterr().out.strip().split(",")
    assert header[:3] == IDS and header[-3:] == ["transcriber", "photos", "taken_at"]
    assert set(sim.official.parties) <= set(header)
    assert main(["audit", "template", "--profile", "kz_cec", "--parties", "Nur Otan", "Ak Zhol"]) == 0
    out = capsys.readouterr().out
    assert "Число действительных избирательных бюллетеней" in out and "Nur Otan,Ak Zhol,transcriber" in out
    assert main(["audit", "template", "--profile", "kz_cec", "--out", str(tmp / "t.xlsx")]) == 0
    assert "does not list the parties" in capsys.readouterr().err
    assert list(pd.read_excel(tmp / "t.xlsx").columns[-3:]) == ["transcriber", "photos", "taken_at"]


def test_audit_end_to_end(files, capsys):
    sim, tmp = files
    out = tmp / "out"
    code = main(["audit", "--official", str(tmp / "official.csv"), "--observed", str(tmp / "observed.csv"),
                 "--second-entry", str(tmp / "second.xlsx"), "--photos", str(tmp / "photos"),
                 "--profile", "generic", "--design", "srs", "--out", str(out)])
    assert code == 0
    printed = capsys.readouterr().out
    assert "stations compared" in printed and "evidence sheet" in printed
    for name in ("discrepancies.csv", "stations.csv", "differences.csv", "excluded.csv", "impact_nation.csv",
                 "impact_region.csv", "impact_tec.csv", "recomputed.csv", "pvt.csv", "observer_effect.csv",
                 "entry_status.csv", "disputes.csv", "photos.csv", "photo_issues.csv", "summary.json",
                 "summary.txt", "evidence/index.html"):
        assert (out / name).is_file(), name
    truth = sim.truth.astype({"pec": str})
    agreed = truth[truth["true_entry"] == "agreed"]
    disc = pd.read_csv(out / "discrepancies.csv", dtype={"pec": str})
    expected = agreed[agreed["true_class"] != "identical"]
    m = disc.merge(expected, on=IDS, how="outer", indicator=True)
    assert (m["_merge"] == "both").all()
    assert (m["classification"] == m["true_class"]).all()
    assert {"diff_valid", "diff_Party A", "rules_official", "photo_sha256"} <= set(disc.columns)
    assert disc["photo_sha256"].str.len().ge(129).all()  # two SHA-256 per station
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["double_entry"]["disputed"] == int((truth["true_entry"] == "disputed").sum())
    assert summary["evidence_sheets"] == len(disc) == len(list((out / "evidence").glob("0*.html")))
    assert summary["compared"] == len(agreed)
    odd = summary["photos"]["oddities"]
    assert "named pipe" in odd["stray_pipe.jpg"] and odd["notes.jpg"].startswith("not an image")
    assert "stray_pipe.jpg: not read" in printed and "notes.jpg: not an image" in printed
    assert pd.read_csv(out / "photo_issues.csv").empty
    assert len(pd.read_csv(out / "pvt.csv")) == 1 + len(sim.official.parties)


def test_audit_needs_its_options(files, capsys):
    sim, tmp = files
    assert main(["audit", "--official", str(tmp / "official.csv")]) == 2
    err = capsys.readouterr().err
    assert "--observed" in err and "--out" in err
    assert main(["audit", "--official", str(tmp / "official.csv"), "--observed", str(tmp / "nope.csv"),
                 "--profile", "generic", "--out", str(tmp / "x")]) == 2
