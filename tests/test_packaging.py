"""Packaging: metadata, a source distribution whose tests run, and a wheel whose demo equals the checkout's.

The build tests (marked slow) copy the files git tracks into a temporary folder, build the sdist
there with ``python -m build`` and the wheel from that sdist, so what is checked is exactly what
a release would ship.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

import forensics
from forensics.data import DEMO_FILE, DEMO_TRUTH_FILE

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
#: files the build tool writes into every sdist beside the tracked ones
GENERATED = re.compile(r"^(PKG-INFO|setup\.cfg|[^/]+\.egg-info/.*)$")
#: tracked files deliberately left out of the sdist (none: it carries the whole repository)
LEFT_OUT: set[str] = set()
#: the demo's machine-readable outputs, compared between the installed wheel and the checkout
DEMO_TABLES = ("verdicts.csv", "context.csv", "tests.csv", "stations.csv", "findings.csv", "summary.json")


def test_project_metadata_is_complete():
    project = PYPROJECT["project"]
    assert project["authors"] == [{"name": "forensics contributors"}]
    assert {"Homepage", "Documentation"} <= set(project["urls"])
    assert len(project["keywords"]) >= 5
    assert "Typing :: Typed" in project["classifiers"]
    assert any(c.startswith("Programming Language :: Python :: 3.") for c in project["classifiers"])
    assert project["version"] == forensics.__version__
    assert "build>=1.0" in project["optional-dependencies"]["dev"]
    package_data = PYPROJECT["tool"]["setuptools"]["package-data"]["forensics"]
    assert {"py.typed", "data/*.csv"} <= set(package_data)
    assert (ROOT / "forensics" / "py.typed").is_file()
    assert DEMO_FILE.is_file() and DEMO_TRUTH_FILE.is_file()


def test_citation_file_names_this_version():
    text = (ROOT / "CITATION.cff").read_text(encoding="utf-8")
    assert re.search(r"^cff-version: 1\.2\.0$", text, re.M)
    assert re.search(rf'^version: "{re.escape(forensics.__version__)}"$', text, re.M)
    for key in ("message", "title", "authors", "type", "license"):
        assert re.search(rf"^{key}:", text, re.M), key
    assert "forensics contributors" in text


# -- built distributions ----------------------------------------------------------------------

def _tracked_files() -> list[str]:
    if not (ROOT / ".git").exists():
        pytest.skip("not a git checkout (an unpacked sdist): nothing to compare the sdist with")
    out = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    # a tracked file deleted in the working tree but not yet committed is not part of the release
    return sorted(name for name in out.decode().split("\0") if name and (ROOT / name).is_file())


def _run(args, **kwargs) -> subprocess.CompletedProcess:
    """Run a command; on failure, show what it printed."""
    done = subprocess.run(args, capture_output=True, text=True, **kwargs)
    assert done.returncode == 0, f"{args} exited {done.returncode}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


@pytest.fixture(scope="module")
def dists(tmp_path_factory):
    """The sdist built from the tracked files, and the wheel built from that sdist."""
    tmp = tmp_path_factory.mktemp("dist")
    tracked = _tracked_files()
    source = tmp / "source"
    for name in tracked:
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, source / name)
    _run([sys.executable, "-m", "build", "--outdir", str(tmp / "dist"), str(source)])
    (sdist,) = (tmp / "dist").glob("*.tar.gz")
    (wheel,) = (tmp / "dist").glob("*.whl")
    return {"tracked": tracked, "sdist": sdist, "wheel": wheel, "tmp": tmp}


@pytest.mark.slow
def test_sdist_holds_every_tracked_file(dists):
    with tarfile.open(dists["sdist"]) as tar:
        members = [m.name.split("/", 1)[1] for m in tar.getmembers() if m.isfile()]
    shipped = {name for name in members if not GENERATED.match(name)}
    expected = set(dists["tracked"]) - LEFT_OUT
    missing = sorted(expected - shipped)
    assert not missing, f"tracked but not in the sdist (add them to MANIFEST.in): {missing}"
    assert not shipped - expected, f"in the sdist but not tracked: {sorted(shipped - expected)}"
    for name in ("tests/conftest.py", "tests/malformed/make_corpus.py", "notebooks/01_quickstart.ipynb",
                 "docs/profiles.md", "data/README.md", "Makefile", "constraints.txt", "CITATION.cff", ".ci/run",
                 "forensics/data/demo_kz.csv", "forensics/py.typed"):
        assert name in shipped, name


@pytest.mark.slow
def test_tests_run_from_the_unpacked_sdist(dists):
    """A few test modules (conftest, the malformed-file corpus, the demo data) run from the sdist alone."""
    with tarfile.open(dists["sdist"]) as tar:
        tar.extractall(dists["tmp"] / "unpacked", filter="data")
    (folder,) = (dists["tmp"] / "unpacked").iterdir()
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    found = _run([sys.executable, "-c", "import forensics; print(forensics.__file__)"], cwd=folder, env=env)
    assert Path(found.stdout.strip()).is_relative_to(folder)  # the sdist's code, not this checkout's
    done = _run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_core.py",
                 "tests/test_ingest_malformed.py", "tests/test_simulate_demo.py"], cwd=folder, env=env)
    assert re.search(r"\d+ passed", done.stdout) and "failed" not in done.stdout


@pytest.mark.slow
def test_wheel_ships_the_package_data(dists):
    names = set(zipfile.ZipFile(dists["wheel"]).namelist())
    for name in ("forensics/py.typed", "forensics/data/demo_kz.csv", "forensics/data/demo_kz_truth.csv",
                 "forensics/profiles/kz_cec.toml", "forensics/report/templates/report.html.j2",
                 "forensics/audit/templates/evidence.html.j2", "forensics/verdicts/calibration.json"):
        assert name in names, name
    assert not any(name.startswith("tests/") for name in names)


def _comparable(folder: Path, name: str):
    """A demo output's bytes; summary.json parsed, with the demo file's location (which differs by
    install) reduced to its name: its SHA-256 must still agree."""
    if name != "summary.json":
        return (folder / name).read_bytes()
    summary = json.loads((folder / name).read_text(encoding="utf-8"))
    sources = summary["provenance"]["sources"]
    summary["provenance"]["sources"] = {Path(path).name: sha for path, sha in sources.items()}
    return summary


@pytest.mark.slow
def test_installed_demo_equals_the_checkouts(dists, tmp_path):
    """A fresh virtual environment with the wheel: `forensics demo` gives the checkout's tables."""
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", str(venv)])
    python = venv / "bin" / "python"
    # with the dip extra, as the checkout's development install has it (without it the dip test
    # reports "not available" and the tables say so)
    _run([str(python), "-m", "pip", "install", "--quiet", "-c", str(ROOT / "constraints.txt"),
          f"{dists['wheel']}[dip]"])
    outside = tmp_path / "elsewhere"  # run away from the checkout, as a user would
    outside.mkdir()
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1"}
    _run([str(venv / "bin" / "forensics"), "demo", "--out", "installed", "--quiet"], cwd=outside, env=env)
    _run([sys.executable, "-m", "forensics", "demo", "--out", str(tmp_path / "checkout"), "--quiet"],
         cwd=ROOT, env=env)
    for name in DEMO_TABLES:
        assert _comparable(outside / "installed", name) == _comparable(tmp_path / "checkout", name), name
    summary = _comparable(outside / "installed", "summary.json")
    assert summary["n_stations"] == 10_000
    assert summary["provenance"]["sources"] == {"demo_kz.csv": hashlib.sha256(DEMO_FILE.read_bytes()).hexdigest()}
