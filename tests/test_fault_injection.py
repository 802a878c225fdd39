"""Faults injected while writing: a read-only folder, a file size limit, Ctrl-C during the figures, a full stdout.

Each runs the command line in a subprocess, as a user would.  The outcome
is always a one-paragraph message without a traceback, exit status 2 (130
for Ctrl-C, as shells report an interrupt), and never an output folder that
looks complete but is not: an earlier report stays whole, or there is none.
"""
from __future__ import annotations

import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import forensics
from forensics.simulate import protocol_frame

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def results_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("input") / "results.csv"
    protocol_frame(forensics.simulate(n_pec=1500, n_regions=4, rng=3)).to_csv(path, index=False)
    return path


def _env():
    env = dict(os.environ, PYTHONWARNINGS="ignore")
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def _command(*args):
    return [sys.executable, "-m", "forensics", *map(str, args)]


def _scan_args(results_file, out, seed=1):
    return ("scan", results_file, "--out", out, "--seed", seed, "--levels", "nation", "--quiet")


def _clear_error(proc, *words):
    err = proc.stderr if isinstance(proc.stderr, str) else proc.stderr.decode()
    assert "Traceback" not in err, err
    assert err.startswith("forensics: error:"), err
    for word in words:
        assert word in err, err


def _no_leftovers(folder: Path):
    assert not [p.name for p in folder.iterdir() if ".tmp-" in p.name or ".old-" in p.name]


def test_out_pointing_at_a_file_fails_before_any_computation(results_file, tmp_path):
    target = tmp_path / "report.html"
    target.write_text("not a folder")
    started = time.perf_counter()
    proc = subprocess.run(_command(*_scan_args(results_file, target)), capture_output=True, text=True, env=_env())
    assert proc.returncode == 2
    _clear_error(proc, "is a file")
    assert target.read_text() == "not a folder"
    assert time.perf_counter() - started < 60  # refused before the scan, not after it (a generous bound)


def test_read_only_output_folder(results_file, tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    out = folder / "report"
    if os.geteuid() != 0:
        folder.chmod(0o555)
        proc = subprocess.run(_command(*_scan_args(results_file, out)), capture_output=True, text=True, env=_env())
        folder.chmod(0o755)
    elif shutil.which("unshare") and subprocess.run(["unshare", "-m", "true"], capture_output=True).returncode == 0:
        # root writes into folders marked read-only, so mount a read-only file system in a private namespace
        script = f"mount -t tmpfs -o ro none {folder} && exec " + " ".join(
            f"'{a}'" for a in _command(*_scan_args(results_file, out)))
        proc = subprocess.run(["unshare", "-m", "sh", "-c", script], capture_output=True, text=True, env=_env())
    else:
        pytest.skip("running as root without mount namespaces: no folder is read-only for this user")
    assert proc.returncode == 2
    _clear_error(proc, "not writable")
    assert not out.exists()


def test_file_size_limit(results_file, tmp_path):
    out = tmp_path / "report"

    def limit():
        resource.setrlimit(resource.RLIMIT_FSIZE, (200_000, 200_000))

    proc = subprocess.run(_command(*_scan_args(results_file, out)), capture_output=True, text=True, env=_env(),
                          preexec_fn=limit)
    assert proc.returncode == 2
    _clear_error(proc, "File too large")
    assert not out.exists()
    _no_leftovers(tmp_path)


def test_ctrl_c_during_the_figures_leaves_the_earlier_report_whole(results_file, tmp_path):
    out = tmp_path / "report"
    first = subprocess.run(_command(*_scan_args(results_file, out, seed=1)), capture_output=True, text=True,
                           env=_env())
    assert first.returncode == 0, first.stderr
    before = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}

    proc = subprocess.Popen(_command(*_scan_args(results_file, out, seed=2)), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=_env())
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline and proc.poll() is None:
        if any((p / "figures").is_dir() for p in tmp_path.glob(".report.tmp-*")):
            break
        time.sleep(0.01)
    assert proc.poll() is None, "the run ended before its figures were drawn"
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 130, err.decode()
    assert b"interrupted" in err and b"Traceback" not in err
    after = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    assert after == before  # the seed-1 report and its tables, untouched: no seed-2 table beside them
    assert json.loads(after["summary.json"])["provenance"]["seed"] == 1
    _no_leftovers(tmp_path)


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="no /dev/full on this system")
@pytest.mark.parametrize("command", ["load", "profiles"])
def test_a_full_stdout(results_file, command):
    args = ("load", results_file) if command == "load" else ("profiles",)
    with open("/dev/full", "w") as full:
        proc = subprocess.run(_command(*args), stdout=full, stderr=subprocess.PIPE, text=True, env=_env())
    assert proc.returncode == 2
    _clear_error(proc, "No space left")
