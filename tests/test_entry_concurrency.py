"""Many typists at once against a real server process: nothing lost, duplicated or half-written.

Against SQLite and against PostgreSQL (a throw-away cluster of Debian's
``postgresql``; see ``entry_support.postgres``), and with the server killed
(SIGKILL) in the middle of entry: every entry the server confirmed is in the
database, exact; none is partial; after a restart the typists finish.
"""
from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import select

from entry_support import COORDINATOR, TYPIST_PASSWORD, Server, kz_official, postgres  # noqa: F401 (fixture)
from forensics.entry import auditlog, init_election
from forensics.entry.auth import new_user
from forensics.entry.database import Database
from forensics.entry.double import auto_assign
from forensics.entry.models import Station
from forensics.entry.protocol import ProtocolForm
from forensics.entry.election import settings
from forensics.entry.simulate import Typist, run_typists, verify
from forensics.entry.workspace import Workspace
from forensics.ingest import load

pytestmark = pytest.mark.slow


def prepare(tmp_path, n_pec: int, n_typists: int, database=None):
    """An election with ``n_pec`` stations, ``n_typists`` typists, every station assigned twice."""
    official = kz_official(tmp_path / "official.csv", n_pec=n_pec)
    init_election(tmp_path / "e", "kz_cec", official=official, database=database, password=COORDINATOR[1])
    db = Database(Workspace(tmp_path / "e").database_url())
    auditlog.install()
    names = [f"typist{i:02d}" for i in range(n_typists)]
    with db.write("test") as w:
        users = [new_user(n, "typist", TYPIST_PASSWORD) for n in names]
        w.add_all(users)
        w.flush()
        auto_assign(w, users, with_photos_only=False)
    with db.read() as s:
        form = ProtocolForm.from_settings(settings(s))
        stations = {st.id: st for st in s.scalars(select(Station))}
    t = load(official, profile="kz_cec").table.astype({"pec": str})
    by_ids = t.set_index(["region", "tec", "pec"])
    expected = {sid: {k: int(by_ids.loc[(st.region, st.tec, st.pec), k]) for k in form.keys}
                for sid, st in stations.items()}
    # every 10th protocol carries a real arithmetic error, as written on it: kept, confirmed
    for sid in list(expected)[::10]:
        expected[sid]["valid"] += 1
    return db, form, names, expected


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_ten_typists_hundred_protocols(tmp_path, backend, request):
    url = request.getfixturevalue("postgres")() if backend == "postgresql" else None
    db, form, names, expected = prepare(tmp_path, 100, 10, database=url)
    server = Server(tmp_path / "e")
    try:
        typists = [Typist(server.base, n, TYPIST_PASSWORD, expected.get) for n in names]
        run_typists(typists)
    finally:
        server.stop()
    assert [f for t in typists for f in t.failures] == []
    assert sum(len(t.saved) for t in typists) == 200
    with db.read() as s:
        counts = verify(s, expected, form.keys)
    assert counts == {"entries": 200, "stations_complete": 100, "missing": 0, "duplicated": 0, "half_written": 0,
                      "wrong": 0}
    db.dispose()


def test_killing_the_server_loses_at_most_the_entry_being_saved(tmp_path):
    db, form, names, expected = prepare(tmp_path, 60, 6)
    server = Server(tmp_path / "e")
    stop = threading.Event()
    typists = [Typist(server.base, n, TYPIST_PASSWORD, expected.get) for n in names]
    runner = threading.Thread(target=run_typists, args=(typists, stop))
    runner.start()
    while sum(len(t.saved) for t in typists) < 30 and runner.is_alive():
        time.sleep(0.05)
    server.kill()  # SIGKILL in the middle of entry
    stop.set()
    runner.join()
    confirmed = {(t.username, s) for t in typists for s in t.saved}
    assert 30 <= len(confirmed) < 120
    with db.read() as s:
        from forensics.entry.models import Entry, User

        rows = s.execute(select(User.username, Entry.station_id, Entry.values).join(User, User.id == Entry.user_id)).all()
        counts = verify(s, expected, form.keys)
    stored = {(u, sid) for u, sid, _ in rows}
    assert confirmed <= stored  # every entry the server confirmed survived the kill
    assert len(stored - confirmed) <= len(typists)  # at most the one being saved per typist, and then complete
    assert counts["half_written"] == 0 and counts["wrong"] == 0 and counts["duplicated"] == 0
    # the database opens cleanly after the kill and the typists finish
    server = Server(tmp_path / "e")
    try:
        again = [Typist(server.base, n, TYPIST_PASSWORD, expected.get) for n in names]
        run_typists(again)
    finally:
        server.stop()
    with db.read() as s:
        counts = verify(s, expected, form.keys)
    assert counts == {"entries": 120, "stations_complete": 60, "missing": 0, "duplicated": 0, "half_written": 0,
                      "wrong": 0}
    db.dispose()
