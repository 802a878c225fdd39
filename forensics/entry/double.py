"""Double entry: two typists per protocol, blind to each other; agreement, disputes, resolutions, rates.

A station is entered in two slots by two different people (the unique
constraints of ``models`` enforce it, whatever the timing of requests).
Equal entries are ``agreed``; different ones are ``disputed`` until a
coordinator, who sees both entries and the photo, records the figures as
``resolved``.  A typist may correct their own entry until the second entry
is in; after that only the coordinator decides.
"""
from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass

from sqlalchemy import func, select

from .models import SLOTS, Assignment, Entry, Photo, Resolution, Station, User

STATUSES = ("no photo", "to enter", "entered once", "agreed", "disputed", "resolved")


class EntryRefused(Exception):
    """The entry cannot be saved (not assigned, or locked); the message says why."""


def differing(a: dict, b: dict, keys) -> list[str]:
    """The lines on which two entries differ (blank on both sides counts as equal)."""
    return [k for k in keys if a.get(k) != b.get(k)]


@dataclass(frozen=True)
class StationState:
    station: Station
    photos: int
    assigned: dict  # slot -> username
    entered: dict  # slot -> username
    status: str
    lines_differing: tuple = ()

    @property
    def label(self) -> str:
        return " / ".join(x for x in (self.station.region, self.station.tec, self.station.pec) if x)


def states(session, keys, station_ids=None) -> list[StationState]:
    """The entry status of every station (or of ``station_ids``), in station order."""
    def only(q, column):
        return q if station_ids is None else q.where(column.in_(list(station_ids)))

    stations = session.scalars(only(select(Station).order_by(Station.id), Station.id)).all()
    names = dict(session.execute(select(User.id, User.username)).all())
    photos = dict(session.execute(only(select(Photo.station_id, func.count()), Photo.station_id)
                                  .group_by(Photo.station_id)).all())
    assigned, entries = defaultdict(dict), defaultdict(dict)
    for a in session.scalars(only(select(Assignment), Assignment.station_id)):
        assigned[a.station_id][a.slot] = names.get(a.user_id, "?")
    for e in session.scalars(only(select(Entry), Entry.station_id)):
        entries[e.station_id][e.slot] = e
    resolved = set(session.scalars(only(select(Resolution.station_id), Resolution.station_id)))
    out = []
    for st in stations:
        mine = entries.get(st.id, {})
        diff: list[str] = []
        if st.id in resolved:
            status = "resolved"
        elif len(mine) == 2:
            diff = differing(mine[1].values, mine[2].values, keys)
            status = "disputed" if diff else "agreed"
        elif len(mine) == 1:
            status = "entered once"
        else:
            status = "to enter" if photos.get(st.id) else "no photo"
        if st.id in resolved and len(mine) == 2:
            diff = differing(mine[1].values, mine[2].values, keys)
        out.append(StationState(st, photos.get(st.id, 0), assigned.get(st.id, {}),
                                {s: names.get(e.user_id, "?") for s, e in mine.items()}, status, tuple(diff)))
    return out


def progress(all_states: list[StationState]) -> list[dict]:
    """Counts of each status per region, and a total row."""
    per = defaultdict(Counter)
    for s in all_states:
        per[s.station.region][s.status] += 1
        per["(all regions)"][s.status] += 1
    rows = []
    for region in sorted(k for k in per if k != "(all regions)") + ["(all regions)"]:
        c = per[region]
        rows.append({"region": region, "stations": sum(c.values()), **{k: c.get(k, 0) for k in STATUSES},
                     "done": c.get("agreed", 0) + c.get("resolved", 0)})
    return rows


def slot_of(session, station_id: int, user_id: int) -> int | None:
    return session.scalar(select(Assignment.slot).where(Assignment.station_id == station_id,
                                                        Assignment.user_id == user_id))


def _lock_station(session, station_id: int) -> Station:
    """The station row, locked for this transaction (PostgreSQL; SQLite's write transaction is exclusive)."""
    station = session.scalar(select(Station).where(Station.id == station_id).with_for_update())
    if station is None:
        raise EntryRefused("no such station")
    return station


def save_entry(session, user: User, station_id: int, values: dict, confirmed=(), findings=(), taken_at: str = "",
               source: str = "web", slot: int | None = None) -> Entry:
    """Save (or correct) ``user``'s entry of a station, in the caller's write transaction.

    A typist needs an assignment (which fixes the slot); an imported field
    submission takes ``slot`` or the first free one.  Refused once both
    entries are in, or after a resolution.
    """
    _lock_station(session, station_id)
    if session.get(Resolution, station_id) is not None:
        raise EntryRefused("this station has been resolved by a coordinator; entries are closed")
    existing = {e.slot: e for e in session.scalars(select(Entry).where(Entry.station_id == station_id))}
    if user.role == "typist":
        slot = slot_of(session, station_id, user.id)
        if slot is None:
            raise EntryRefused("this station is not assigned to you")
    elif slot is None:
        free = [s for s in SLOTS if s not in existing]
        if not free:
            raise EntryRefused("this station already has two entries")
        slot = free[0]
    mine = existing.get(slot)
    if mine is not None and mine.user_id != user.id:
        raise EntryRefused("the slot is taken by another person's entry")
    if any(e.user_id == user.id for s, e in existing.items() if s != slot):
        raise EntryRefused("you made the other entry of this station; a second person must enter it")
    if mine is not None and len(existing) == 2:
        raise EntryRefused("both entries of this station are in; a coordinator compares them now")
    return _upsert(session, mine, Entry, {"station_id": station_id, "slot": slot, "user_id": user.id},
                   {"values": dict(values), "confirmed": list(confirmed), "findings": list(findings),
                    "taken_at": taken_at, "source": source})


def resolve(session, user: User, station_id: int, values: dict, confirmed=(), findings=(), note: str = "") -> Resolution:
    """Record the coordinator's figures for a station (replacing an earlier resolution)."""
    _lock_station(session, station_id)
    return _upsert(session, session.get(Resolution, station_id), Resolution, {"station_id": station_id},
                   {"values": dict(values), "confirmed": list(confirmed), "findings": list(findings), "note": note,
                    "user_id": user.id})


def _upsert(session, row, model, keys: dict, fields: dict):
    """Create ``model(**keys, **fields)``, or set ``fields`` on the existing ``row``; flush."""
    if row is None:
        row = model(**keys, **fields)
        session.add(row)
    else:
        for k, v in fields.items():
            setattr(row, k, v)
    session.flush()
    return row


def assign(session, station_id: int, slot: int, user: User) -> Assignment:
    """Give slot ``slot`` of a station to a typist (replacing whoever had it, if they have not entered it)."""
    if slot not in SLOTS:
        raise EntryRefused("the slot is 1 (first entry) or 2 (second entry)")
    if user.role != "typist":
        raise EntryRefused(f"{user.username} is not a typist")
    _lock_station(session, station_id)
    entry = session.scalar(select(Entry).where(Entry.station_id == station_id, Entry.slot == slot))
    if entry is not None and entry.user_id != user.id:
        raise EntryRefused("this entry has been made already; it cannot be reassigned")
    other = session.scalar(select(Assignment).where(Assignment.station_id == station_id, Assignment.slot != slot))
    if other is not None and other.user_id == user.id:
        raise EntryRefused("the two entries of a station must be made by two different people")
    current = session.scalar(select(Assignment).where(Assignment.station_id == station_id, Assignment.slot == slot))
    if current is None:
        current = Assignment(station_id=station_id, slot=slot, user_id=user.id)
        session.add(current)
    else:
        current.user_id = user.id
    session.flush()
    return current


def auto_assign(session, typists: list[User], with_photos_only: bool = True) -> int:
    """Fill every free slot of the stations (with a photo, by default), balancing the typists' load.

    Each station's two slots go to two different typists, the least loaded
    first.  Returns the number of slots assigned.
    """
    if len(typists) < 2:
        raise EntryRefused("double entry needs at least two typists")
    load = Counter({t.id: 0 for t in typists})
    taken = defaultdict(dict)
    for a in session.scalars(select(Assignment)):
        taken[a.station_id][a.slot] = a.user_id
        if a.user_id in load:
            load[a.user_id] += 1
    q = select(Station.id).order_by(Station.id)
    if with_photos_only:
        q = q.where(Station.id.in_(select(Photo.station_id).where(Photo.station_id.is_not(None))))
    n = 0
    for station_id in session.scalars(q):
        for slot in SLOTS:
            if slot in taken[station_id]:
                continue
            others = set(taken[station_id].values())
            user_id = min((u for u in load if u not in others), key=lambda u: (load[u], u))
            session.add(Assignment(station_id=station_id, slot=slot, user_id=user_id))
            taken[station_id][slot] = user_id
            load[user_id] += 1
            n += 1
    session.flush()
    return n


def typist_rates(session, keys) -> list[dict]:
    """Per typist: entries made, entries compared with a second one, disagreements, and lines wrong.

    ``disagreement_rate`` is the share of their compared entries that
    differed from the other entry; ``lines_wrong`` counts lines where their
    figure differs from the coordinator's resolution (who was right).
    """
    names = dict(session.execute(select(User.id, User.username)).all())
    by_station = defaultdict(dict)
    for e in session.scalars(select(Entry)):
        by_station[e.station_id][e.slot] = e
    resolutions = {r.station_id: r for r in session.scalars(select(Resolution))}
    stats = defaultdict(Counter)
    for station_id, pair in by_station.items():
        for e in pair.values():
            stats[e.user_id]["entries"] += 1
        if len(pair) == 2:
            differ = bool(differing(pair[1].values, pair[2].values, keys))
            for e in pair.values():
                stats[e.user_id]["compared"] += 1
                stats[e.user_id]["disagreed"] += differ
                if station_id in resolutions:
                    stats[e.user_id]["lines_wrong"] += len(differing(e.values, resolutions[station_id].values, keys))
                    stats[e.user_id]["resolved"] += 1
    rows = []
    for uid, c in sorted(stats.items(), key=lambda kv: names.get(kv[0], "")):
        rows.append({"typist": names.get(uid, "?"), "entries": c["entries"], "compared": c["compared"],
                     "disagreed": c["disagreed"],
                     "disagreement_rate": c["disagreed"] / c["compared"] if c["compared"] else None,
                     "resolved": c["resolved"], "lines_wrong": c["lines_wrong"]})
    return rows
