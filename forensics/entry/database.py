"""Connecting to the entry database (SQLite file or PostgreSQL) and bringing its schema up to date.

SQLite runs in WAL mode with full sync, a generous busy timeout and foreign
keys on; a session that writes starts with ``BEGIN IMMEDIATE`` so that
concurrent writers queue instead of failing on a lock upgrade.  PostgreSQL
needs nothing special (psycopg 3).  The schema is created and migrated by
Alembic (``migrations/``), never by hand.
"""
from __future__ import annotations

from contextlib import contextmanager
from importlib import resources
from pathlib import Path

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from ..errors import DataError


def normalise_url(url: str) -> str:
    """A SQLAlchemy URL from what a user types: a file path means SQLite; postgresql:// means psycopg 3."""
    text = str(url)
    if "://" not in text:
        return f"sqlite:///{Path(text).resolve()}"
    if text.startswith(("postgresql://", "postgres://")):
        return "postgresql+psycopg://" + text.split("://", 1)[1]
    return text


def make_engine(url: str) -> Engine:
    """An engine for ``url`` with the settings entry needs (see the module docstring)."""
    url = normalise_url(url)
    try:
        parsed = make_url(url)
    except Exception as exc:  # noqa: BLE001 - any parse failure is the user's URL
        raise DataError(f"cannot read the database address '{url}' ({exc})",
                        fix="give a file path (SQLite) or postgresql://user:password@host/dbname") from None
    # a request may hold a reading and a writing connection: the pool is sized for many server threads
    pool = {"pool_size": 20, "max_overflow": 60, "pool_timeout": 300}
    if parsed.get_backend_name() == "sqlite":
        engine = create_engine(url, connect_args={"timeout": 60, "check_same_thread": False}, **pool)
        _sqlite_settings(engine)
        return engine
    return create_engine(url, pool_pre_ping=True, **pool)


def _sqlite_settings(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None  # transactions are begun below, explicitly
        cursor = dbapi_connection.cursor()
        for pragma in ("journal_mode=WAL", "synchronous=FULL", "foreign_keys=ON", "busy_timeout=60000"):
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(conn):
        conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get("writes") else "BEGIN")


class Database:
    """An engine with a session factory for reading and one for writing."""

    def __init__(self, url: str):
        self.url = normalise_url(url)
        self.engine = make_engine(self.url)
        self.read = sessionmaker(self.engine, expire_on_commit=False)
        self.writer = sessionmaker(self.engine.execution_options(writes=True), expire_on_commit=False)

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @contextmanager
    def write(self, username: str = "") -> Session:
        """A session whose changes are committed together at the end (or not at all), logged under ``username``."""
        with self.writer() as session:
            session.info["username"] = username
            with session.begin():
                yield session

    def upgrade(self) -> None:
        """Create or migrate the schema to the newest revision (Alembic)."""
        from alembic import command
        from alembic.config import Config

        config = Config()
        config.set_main_option("script_location", str(resources.files("forensics.entry") / "migrations"))
        try:
            with self.engine.begin() as connection:
                config.attributes["connection"] = connection
                command.upgrade(config, "head")
        except OperationalError as exc:
            raise DataError(f"cannot open the database {self.engine.url.render_as_string(hide_password=True)} "
                            f"({str(exc.orig).strip().splitlines()[0] if exc.orig else exc})",
                            fix="check the address, that the database server runs and that the database exists "
                                "(createdb NAME)") from None

    def dispose(self) -> None:
        self.engine.dispose()
