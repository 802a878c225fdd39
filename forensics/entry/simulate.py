"""Simulated typists: many people entering protocols at once against a running ``forensics entry``.

Each ``Typist`` signs in over HTTP (with the CSRF token, as a browser does),
opens every station assigned to it and saves the figures it is given, ticking
"as written on the protocol" when the form asks.  ``run_typists`` runs them
in parallel threads and records every request's latency; ``verify`` then
reads the database and counts entries that are missing, duplicated, or hold
figures other than those sent.  Used by the load benchmark and the tests.
"""
from __future__ import annotations

import html
import http.client
import re
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from http.cookiejar import CookieJar

from sqlalchemy import select

_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
_STATION = re.compile(r'href="/enter/(\d+)"')
_LINE = re.compile(r'name="line_(\d+)"\s+data-key="([^"]*)"')


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


@dataclass
class Typist:
    """One simulated typist: ``figures(station_id) -> {line key: value}`` says what the photo shows."""

    base: str
    username: str
    password: str
    figures: callable
    latencies: list = field(default_factory=list)
    saved: list = field(default_factory=list)
    failures: list = field(default_factory=list)

    def __post_init__(self):
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()), _NoRedirect)

    def request(self, path: str, data: dict | None = None) -> tuple[int, str]:
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        started = time.perf_counter()
        try:
            with self.opener.open(self.base + path, data=body, timeout=120) as r:
                status, text = r.status, r.read().decode("utf-8")
        except urllib.error.HTTPError as exc:
            status, text = exc.code, exc.read().decode("utf-8", "replace")
        self.latencies.append(("POST" if data is not None else "GET", path.split("/")[1], time.perf_counter() - started))
        return status, text

    def login(self) -> None:
        _, page = self.request("/login")
        status, _ = self.request("/login", {"csrf_token": _TOKEN.search(page)[1], "username": self.username,
                                            "password": self.password})
        if status != 302:
            raise RuntimeError(f"{self.username} could not sign in ({status})")

    def stations(self) -> list[int]:
        _, page = self.request("/queue")
        return [int(s) for s in dict.fromkeys(_STATION.findall(page))]

    def enter(self, station_id: int) -> bool:
        status, page = self.request(f"/enter/{station_id}")
        if status != 200:
            self.failures.append((station_id, f"GET {status}"))
            return False
        values = self.figures(station_id)
        data = {"csrf_token": _TOKEN.search(page)[1]}
        for number, key in _LINE.findall(page):
            value = values.get(html.unescape(key))
            data[f"line_{number}"] = "" if value is None else str(value)
        status, page = self.request(f"/enter/{station_id}", data)
        if status == 422 and 'id="needs-confirmation"' in page:
            data["confirm_as_written"] = "yes"
            status, page = self.request(f"/enter/{station_id}", data)
        if status != 303:
            self.failures.append((station_id, f"POST {status}"))
            return False
        self.saved.append(station_id)
        return True

    def run(self, stop: threading.Event | None = None) -> None:
        try:
            self.login()
            for station_id in self.stations():
                if stop is not None and stop.is_set():
                    return
                self.enter(station_id)
        except (OSError, RuntimeError, http.client.HTTPException) as exc:  # the server went away: recorded, not raised
            self.failures.append((None, repr(exc)))


def run_typists(typists: list[Typist], stop: threading.Event | None = None) -> float:
    """Run every typist in its own thread; return the wall time in seconds."""
    threads = [threading.Thread(target=t.run, args=(stop,), daemon=True) for t in typists]
    started = time.perf_counter()
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    return time.perf_counter() - started


def verify(session, expected: dict, keys) -> dict:
    """Compare the entries in the database with the figures sent (``expected``: station id -> values).

    Returns counts of ``entries``, ``stations_complete`` (two entries, both
    exact), ``missing`` (entries not in the database), ``duplicated``
    (a station with more than two entries, or one person twice),
    ``half_written`` (an entry lacking a line) and ``wrong`` (a figure other
    than the one sent).
    """
    from .models import Entry

    entries = session.scalars(select(Entry)).all()
    per_station = Counter(e.station_id for e in entries)
    per_person = Counter((e.station_id, e.user_id) for e in entries)
    half = sum(1 for e in entries if set(e.values) != set(keys))
    wrong = sum(1 for e in entries if e.station_id in expected
                and any(e.values.get(k) != expected[e.station_id].get(k) for k in keys))
    return {"entries": len(entries),
            "stations_complete": sum(1 for s in expected if per_station.get(s) == 2),
            "missing": sum(max(0, 2 - per_station.get(s, 0)) for s in expected),
            "duplicated": sum(n - 2 for n in per_station.values() if n > 2) + sum(n - 1 for n in per_person.values() if n > 1),
            "half_written": half, "wrong": wrong}


def latency_table(typists: list[Typist]) -> list[dict]:
    """Median, 95th percentile and maximum latency per kind of request, in milliseconds."""
    import numpy as np

    groups: dict[tuple, list] = {}
    for t in typists:
        for method, page, seconds in t.latencies:
            groups.setdefault((method, page), []).append(seconds)
    return [{"request": f"{m} /{p}", "n": len(v), "median_ms": 1000 * float(np.median(v)),
             "p95_ms": 1000 * float(np.percentile(v, 95)), "max_ms": 1000 * float(np.max(v))}
            for (m, p), v in sorted(groups.items())]
