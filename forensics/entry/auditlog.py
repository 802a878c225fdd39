"""The audit log: every insert, change and deletion, value by value, with who and when.

A ``before_flush`` hook on the entry sessions writes one ``Change`` row per
changed column (and per changed line of an entry's figures) in the same
transaction as the change itself, so the log and the data cannot disagree.
Password hashes are logged as changed, never by value.
"""
from __future__ import annotations

import json

from sqlalchemy import event, inspect
from sqlalchemy.orm import Session

from .models import Base, Change

_HIDDEN = {"password_hash"}
_SKIP = {"created_at", "updated_at", "uploaded_at"}


def _text(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(value)


#: how each record is named in the log (a natural key: ids are not known before the insert)
_LABELS = {
    "user_account": lambda o: o.username,
    "station": lambda o: f"{o.region} / {o.tec} / {o.pec}",
    "photo": lambda o: o.sha256[:16],
    "assignment": lambda o: f"station {o.station_id} slot {o.slot}",
    "entry": lambda o: f"station {o.station_id} slot {o.slot}",
    "resolution": lambda o: f"station {o.station_id}",
    "setting": lambda o: o.key,
}


def _rows(obj, action: str, username: str) -> list[Change]:
    state = inspect(obj)
    record = obj.__tablename__
    ident = _LABELS.get(record, lambda o: str(o.id))(obj)
    out = []
    for attr in state.mapper.column_attrs:
        key = attr.key
        if key in _SKIP or key == "id":
            continue
        hist = state.attrs[key].history
        if action == "update" and not hist.has_changes():
            continue
        old = hist.deleted[0] if hist.deleted else (None if action == "insert" else getattr(obj, key))
        new = None if action == "delete" else getattr(obj, key)
        if action == "update" and not hist.deleted:
            old = None
        if key in _HIDDEN:
            old, new = ("(hidden)" if old else None), ("(changed)" if new else None)
        if isinstance(old, dict) or isinstance(new, dict):  # figures of an entry: one row per line
            old, new = old or {}, new or {}
            for line in dict.fromkeys([*old, *new]):
                if action != "update" or old.get(line) != new.get(line):
                    out.append(Change(username=username, action=action, record=record, record_id=ident,
                                      field=f"{key}:{line}", old=_text(old.get(line)), new=_text(new.get(line))))
            continue
        if action == "update" and old == new:
            continue
        out.append(Change(username=username, action=action, record=record, record_id=ident, field=key,
                          old=_text(old), new=_text(new)))
    return out


def _before_flush(session: Session, _context, _instances) -> None:
    username = session.info.get("username", "")
    rows = []
    for action, objects in (("insert", session.new), ("update", session.dirty), ("delete", session.deleted)):
        for obj in objects:
            if isinstance(obj, Base) and not isinstance(obj, Change):
                rows += _rows(obj, action, username)
    session.add_all(rows)


def install() -> None:
    """Log every change made through any SQLAlchemy session (idempotent)."""
    if not event.contains(Session, "before_flush", _before_flush):
        event.listen(Session, "before_flush", _before_flush)
