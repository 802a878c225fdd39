"""The command line's rough edges: option checking before any work, help texts that agree with the README."""
from __future__ import annotations

import importlib
import re
import sys
from pathlib import Path

import pytest

import forensics
from forensics.cli import COMMANDS, build_parser, main
from forensics.cli.audit import USAGE as AUDIT_USAGE
from forensics.simulate import protocol_frame

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def results_csv(tmp_path_factory):
    path = tmp_path_factory.mktemp("cli") / "results.csv"
    protocol_frame(forensics.simulate(n_pec=200, n_regions=2, rng=3)).to_csv(path, index=False)
    return path


def _help(argv, capsys) -> str:
    with pytest.raises(SystemExit) as stop:
        main([*argv, "--help"])
    assert stop.value.code == 0
    return capsys.readouterr().out


def test_unknown_level_stops_before_any_computation(results_csv, tmp_path, capsys, monkeypatch):
    def never(*args, **kwargs):
        raise AssertionError("the scan ran although --levels was wrong")

    importlib.import_module("forensics.scan")  # the package forensics.scan, not the function of that name
    monkeypatch.setattr(sys.modules["forensics.scan"], "scan", never)
    for levels, problem in (("nation,province", "no such column in this election: 'province'"),
                            (" , ", "no level given")):
        assert main(["scan", str(results_csv), "--out", str(tmp_path / "out"), "--levels", levels]) == 2
        err = " ".join(capsys.readouterr().err.split())  # one paragraph, wrapped
        assert problem in err and "Traceback" not in err
        assert "available levels: nation, region, tec, pec" in err



def test_workers_reach_the_scan_and_a_bad_count_stops_before_any_work(results_csv, tmp_path, capsys, monkeypatch):
    from forensics.scan import scan

    seen = []

    def quick(election, **kwargs):  # one cheap test: what is checked is the option's way to the scan
        seen.append(kwargs["workers"])
        return scan(election, tests=("fingerprint",), **kwargs)

    importlib.import_module("forensics.scan")
    monkeypatch.setattr(sys.modules["forensics.scan"], "scan", quick)
    out = str(tmp_path / "out")
    assert main(["scan", str(results_csv), "--out", out, "--levels", "nation", "--quiet", "--workers", "1"]) == 0
    assert main(["scan", str(results_csv), "--out", out, "--levels", "nation", "--quiet"]) == 0
    assert seen == [1, None]  # None: the scan's default, the available cores
    capsys.readouterr()
    for bad in ("0", "two"):
        with pytest.raises(SystemExit) as stop:
            main(["scan", str(results_csv), "--out", out, "--workers", bad])
        assert stop.value.code == 2
        assert "--workers" in capsys.readouterr().err
    assert seen == [1, None]

def test_quiet_hides_the_progress_bars_only(results_csv, tmp_path, capsys, monkeypatch):
    from forensics.scan import scan

    def quick(election, **kwargs):  # one cheap test of the battery: what is checked here is the printing
        return scan(election, tests=("fingerprint",), **kwargs)

    importlib.import_module("forensics.scan")
    monkeypatch.setattr(sys.modules["forensics.scan"], "scan", quick)
    assert main(["scan", str(results_csv), "--out", str(tmp_path / "out"), "--levels", "nation", "--quiet"]) == 0
    captured = capsys.readouterr()
    assert "not proof of fraud" in captured.out and "report.html" in captured.out  # the summary is printed
    assert "scan:" not in captured.err  # and no progress bar


@pytest.mark.parametrize("command", [*(c.replace("_", "-") for c in COMMANDS), "audit template"])
def test_help_texts_are_clean(command, capsys):
    text = _help(command.split(), capsys)
    assert "%%" not in text  # argparse prints a description's %% as is
    assert text.startswith(f"usage: forensics {command}")


def test_audit_usage_shows_two_ways_and_no_required_positional(capsys):
    text = _help(["audit"], capsys)
    usage = text.split("\n\n")[0]
    assert "positional arguments" not in text
    lines = usage.splitlines()
    assert lines[0].startswith("usage: forensics audit --official F --observed G --out DIR")
    assert any(line.strip().startswith("forensics audit template --profile P") for line in lines)
    # every option of both parsers is in the hand-written usage
    audit = build_parser()._subparsers._group_actions[0].choices["audit"]
    template = audit._subparsers._group_actions[0].choices["template"]
    for parser in (audit, template):
        for action in parser._actions:
            for option in action.option_strings:
                if option not in ("-h", "--help"):
                    assert option in AUDIT_USAGE, option


def test_reconcile_default_folder_is_the_one_the_help_and_readme_give(results_csv, tmp_path, capsys, monkeypatch):
    help_text = re.sub(r"\s+", " ", _help(["reconcile"], capsys))
    assert "(default: reports/<file name>-reconcile)" in help_text and "100% turnout" in help_text
    assert "(default: `reports/<file name>-reconcile`" in README
    monkeypatch.chdir(tmp_path)
    assert main(["reconcile", str(results_csv)]) == 0
    assert (tmp_path / "reports" / "results-reconcile" / "findings.csv").is_file()
