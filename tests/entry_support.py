"""Helpers for the ``forensics entry`` tests: a small kz_cec election, a server process, PostgreSQL.

PostgreSQL is Debian's ``postgresql`` package (``.ci/run`` installs it): a
throw-away cluster is made with ``initdb`` in a temporary folder (as the
``postgres`` user when running as root) and started on a free local port.
Without the package the PostgreSQL tests skip, except under CI=true, where
they fail.
"""
from __future__ import annotations

import contextlib
import glob
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

COORDINATOR = ("coordinator", "coordinator-pass")
TYPIST_PASSWORD = "typist-pass"
ROOT = Path(__file__).resolve().parents[1]


def kz_official(path: Path, n_pec: int = 40, rng: int = 5) -> Path:
    """A small simulated Kazakh election written as an official results file of profile kz_cec."""
    from forensics.simulate import PRESET_FILES, protocol_frame, simulate_preset

    e = simulate_preset("kz-demo", n_pec=n_pec, n_regions=2, n_tec=4, unpublished=0,
                        region_names=["Акжарская область", "город Алтынкала"], urban_share=[0.4, 0.9], fraud={},
                        rng=rng)
    protocol_frame(e, layout="kz_cec", fields=PRESET_FILES["kz-demo"]["fields"]).to_csv(path, index=False)
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """``forensics entry serve`` in a child process."""

    def __init__(self, directory, env=None, threads: int = 8):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        # the log goes to a file: a pipe nobody reads fills up and stalls the server
        self.log = Path(directory).parent / f"server-{self.port}.log"
        with open(self.log, "w") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "forensics", "entry", "serve", "--dir", str(directory), "--port",
                 str(self.port), "--threads", str(threads)],
                env={**os.environ, **(env or {})}, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 600  # a busy shared machine can take minutes to import and migrate
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(self.base + "/login", timeout=30).close()
                return
            except OSError:
                if self.proc.poll() is not None:
                    raise RuntimeError("the server did not start:\n" + self.log.read_text())
                time.sleep(0.2)
        self.kill()
        raise RuntimeError("the server did not answer:\n" + self.log.read_text())

    def kill(self) -> None:
        """SIGKILL: no clean shutdown, as a power cut or an out-of-memory kill."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()


def _pg_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(found[-1]).parent if found else None


@contextlib.contextmanager
def postgres_cluster(folder: Path):
    """A throw-away PostgreSQL cluster in ``folder``; yields a factory of URLs of fresh databases."""
    bindir = _pg_bin()
    if bindir is None:
        message = "PostgreSQL is not installed (apt-get install postgresql)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    data = Path(folder) / "data"
    port = free_port()
    as_root = os.geteuid() == 0
    if as_root:
        data.parent.chmod(0o777)
        for parent in data.parents:  # the postgres user must reach the folder
            if str(parent).startswith(("/tmp", "/var/tmp")) and parent != Path("/tmp"):
                parent.chmod(parent.stat().st_mode | 0o055)
    run = (lambda *cmd: ["runuser", "-u", "postgres", "--", *cmd]) if as_root else (lambda *cmd: list(cmd))
    subprocess.run(run(str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres", "-E", "UTF8",
                       "--locale=C.UTF-8"), check=True, capture_output=True)
    subprocess.run(run(str(bindir / "pg_ctl"), "-D", str(data), "-w", "-l", str(data / "server.log"), "-o",
                       f"-p {port} -k {data} -c listen_addresses=127.0.0.1 -c max_connections=300 -c fsync=on",
                       "start"), check=True, capture_output=True)
    counter = iter(range(10_000))

    def new_database() -> str:
        import psycopg

        name = f"entry{next(counter)}"
        with psycopg.connect(f"host=127.0.0.1 port={port} user=postgres dbname=postgres", autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return f"postgresql://postgres@127.0.0.1:{port}/{name}"

    try:
        yield new_database
    finally:
        subprocess.run(run(str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"), capture_output=True)
        shutil.rmtree(data, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres(tmp_path_factory):
    """A URL factory for fresh databases on a throw-away PostgreSQL cluster (see ``postgres_cluster``)."""
    with postgres_cluster(tmp_path_factory.mktemp("pg")) as new_database:
        yield new_database
