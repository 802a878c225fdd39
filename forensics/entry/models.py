"""The entry database: stations, photos, typists' entries, resolutions and the change log.

One row per protocol entry holds every figure of it as one JSON object, so
an entry is written (or not) in one statement: a crash can lose the entry
being saved but never leave half of one.  Unique constraints keep a station
to two entries (slots 1 and 2) by two different people, and a photo's
content (SHA-256) to one copy.
"""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

ROLES = ("coordinator", "typist", "field")
SLOTS = (1, 2)


def now() -> datetime:
    return datetime.now(timezone.utc)


class Base(DeclarativeBase):
    type_annotation_map = {dict: JSON, list: JSON}


class Setting(Base):
    """Election-wide settings written by ``init`` (profile, protocol lines, parties, files)."""

    __tablename__ = "setting"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[dict] = mapped_column(JSON)


class User(Base):
    """A coordinator, a typist, or a field account (submissions imported from ODK / KoboToolbox)."""

    __tablename__ = "user_account"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(256), default="")
    role: Mapped[str] = mapped_column(String(16))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)

    # Flask-Login's user protocol
    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        return str(self.id)


class Station(Base):
    """A polling station (PEC) of the election, by its ids."""

    __tablename__ = "station"
    __table_args__ = (UniqueConstraint("region", "tec", "pec", name="uq_station_ids"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    region: Mapped[str] = mapped_column(String(200), default="")
    tec: Mapped[str] = mapped_column(String(200), default="")
    pec: Mapped[str] = mapped_column(String(200))
    photos: Mapped[list["Photo"]] = relationship(back_populates="station", order_by="Photo.id")


class Photo(Base):
    """A protocol photo in the store (named by its SHA-256, outside the web root)."""

    __tablename__ = "photo"
    id: Mapped[int] = mapped_column(primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    original_name: Mapped[str] = mapped_column(String(500))
    stored_name: Mapped[str] = mapped_column(String(100))
    image_type: Mapped[str] = mapped_column(String(16))
    bytes: Mapped[int] = mapped_column(Integer)
    exif_datetime: Mapped[str | None] = mapped_column(String(32), nullable=True)
    station_id: Mapped[int | None] = mapped_column(ForeignKey("station.id"), nullable=True, index=True)
    uploaded_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), nullable=True)
    uploaded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)
    station: Mapped[Station | None] = relationship(back_populates="photos")


class Assignment(Base):
    """Who enters a station: slot 1 (first entry) and slot 2 (second entry), two different people."""

    __tablename__ = "assignment"
    __table_args__ = (UniqueConstraint("station_id", "slot", name="uq_assignment_slot"),
                      UniqueConstraint("station_id", "user_id", name="uq_assignment_user"))
    id: Mapped[int] = mapped_column(primary_key=True)
    station_id: Mapped[int] = mapped_column(ForeignKey("station.id"), index=True)
    slot: Mapped[int] = mapped_column(Integer)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)


class Entry(Base):
    """One typist's figures of one protocol: ``values`` maps line -> whole number or None (unreadable).

    ``confirmed`` lists the rule codes (and blank lines) the typist confirmed as
    written on the protocol; ``findings`` the rule codes the figures break.
    """

    __tablename__ = "entry"
    __table_args__ = (UniqueConstraint("station_id", "slot", name="uq_entry_slot"),
                      UniqueConstraint("station_id", "user_id", name="uq_entry_user"))
    id: Mapped[int] = mapped_column(primary_key=True)
    station_id: Mapped[int] = mapped_column(ForeignKey("station.id"), index=True)
    slot: Mapped[int] = mapped_column(Integer)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    values: Mapped[dict] = mapped_column(JSON)
    confirmed: Mapped[list] = mapped_column(JSON, default=list)
    findings: Mapped[list] = mapped_column(JSON, default=list)
    taken_at: Mapped[str] = mapped_column(String(32), default="")
    source: Mapped[str] = mapped_column(String(32), default="web")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now, onupdate=now)


class Resolution(Base):
    """The coordinator's decision on a disputed station: the figures as on the photo."""

    __tablename__ = "resolution"
    station_id: Mapped[int] = mapped_column(ForeignKey("station.id"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    values: Mapped[dict] = mapped_column(JSON)
    confirmed: Mapped[list] = mapped_column(JSON, default=list)
    findings: Mapped[list] = mapped_column(JSON, default=list)
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now, onupdate=now)


class Change(Base):
    """The audit log: one row per changed value (who, when, what, old, new)."""

    __tablename__ = "change_log"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now, index=True)
    username: Mapped[str] = mapped_column(String(64), default="")
    action: Mapped[str] = mapped_column(String(16))
    record: Mapped[str] = mapped_column(String(64))
    record_id: Mapped[str] = mapped_column(String(64))
    field: Mapped[str] = mapped_column(String(200), default="")
    old: Mapped[str | None] = mapped_column(Text, nullable=True)
    new: Mapped[str | None] = mapped_column(Text, nullable=True)
