"""Shared fixtures: the real data sets in ../shared/data and small simulated elections."""
from __future__ import annotations

import os

# Many small optimiser calls (coarse-share fits) slow down badly when BLAS threads fight
# over the two cores; one thread each is faster for this suite.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
from pathlib import Path

import pytest
from hypothesis import settings

# Property tests draw the same examples on every run, so the suite cannot pass once and fail the
# next time; search further on purpose with `pytest --hypothesis-seed=N`.
settings.register_profile("forensics", derandomize=True)
settings.load_profile("forensics")

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"


def shared_file(name: str) -> Path:
    """Path of a real data set; skip when ../shared is absent, fail in CI."""
    path = SHARED_DATA / name
    if not path.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{path} is missing: CI must run with ../shared beside the checkout")
        pytest.skip(f"real data not available: {path} (../shared is absent on this machine)")
    return path


@pytest.fixture(scope="session")
def ru2018_path():
    return shared_file("ru_2018_president.csv.zip")


@pytest.fixture(scope="session")
def ru2011_path():
    return shared_file("ru_2011_duma.csv.zip")


@pytest.fixture(scope="session")
def ru2012_path():
    return shared_file("ru_2012_president.csv.zip")


@pytest.fixture(scope="session")
def albania_path():
    return shared_file("albania_2013_polling_stations.csv")


@pytest.fixture(scope="session")
def canada_path():
    return shared_file("canada_2011_polls.csv.zip")


@pytest.fixture(scope="session")
def ru2018(ru2018_path):
    import forensics

    return forensics.load(ru2018_path)


@pytest.fixture(scope="session")
def ru2011(ru2011_path):
    import forensics

    return forensics.load(ru2011_path)


@pytest.fixture(scope="session")
def ru2012(ru2012_path):
    import forensics

    return forensics.load(ru2012_path)


@pytest.fixture(scope="session")
def canada(canada_path):
    import forensics

    return forensics.load(canada_path, profile="canada_2011")


@pytest.fixture(scope="session")
def albania(albania_path):
    import forensics

    return forensics.load(albania_path, profile="albania_2013")
