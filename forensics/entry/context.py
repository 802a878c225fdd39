"""Per-request access to the election: its workspace, database session, form and settings."""
from __future__ import annotations

from flask import current_app, g


def read_session():
    """The request's read-only database session (closed when the request ends)."""
    if "db_session" not in g:
        g.db_session = entry_context()["database"].read()
    return g.db_session


def entry_context() -> dict:
    """The election's workspace, database, form and settings (inside a request)."""
    return current_app.extensions["entry"]
