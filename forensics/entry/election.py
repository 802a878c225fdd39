"""Setting up an election for entry: its stations, protocol lines, parties and accounts.

``init_election`` reads the station list (any table the profile's id headers
describe; an official results file serves too), fixes the protocol lines and
parties (from the official file, else ``lines`` and ``parties``), creates the
database through its migrations and the first coordinator account.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
from sqlalchemy import select

from ..errors import DataError
from ..ingest import load, load_profile
from ..ingest.read import Source, file_sha256
from ..model import FIELDS, ID_COLUMNS
from .auth import new_user
from .database import Database
from .models import Setting, Station, User
from .protocol import ProtocolForm
from .workspace import Workspace


def read_stations(path, profile) -> pd.DataFrame:
    """The station ids (region, tec, pec as text) of a station list, by the profile's header texts."""
    prof = load_profile(profile)
    source = Source(path)  # the readers of forensics.load: CSV/XLSX/zip, encodings, delimiters
    raw = source.text_frame()
    mapping = prof.match(list(raw.columns)).fields
    if "pec" not in mapping:
        raise DataError(f"the station list has no polling-station column ({prof.describe_field('pec')})",
                        file=path, row=1, fix="add a column with the station number, headed as the profile names it")
    out = pd.DataFrame({k: raw[mapping[k]] if k in mapping else "" for k in ID_COLUMNS}, index=raw.index)
    blank = out.index[out["pec"] == ""]
    if len(blank):
        raise DataError("the polling-station number is empty", file=path, row=int(blank[0]), column=mapping["pec"],
                        fix="fill in every station number or delete the row")
    twice = out.duplicated(keep="first")
    if twice.any():
        row = int(out.index[twice][0])
        raise DataError("the same station is listed twice", file=path, row=row, column=mapping["pec"],
                        fix="list each station once; add region and TEC columns if numbers repeat across them")
    return out.reset_index(drop=True)


def init_election(directory, profile, stations=None, official=None, database=None, lines=None, parties=None,
                  coordinator: str = "coordinator", password: str | None = None) -> dict:
    """Create the entry folder and database of an election; return its settings."""
    prof = load_profile(profile)
    if stations is None and official is None:
        raise DataError("entry needs the list of stations", fix="pass --stations FILE (or --official FILE)")
    off = load(official, profile=prof) if official is not None else None
    if off is not None:
        lines = lines or off.fields
        parties = parties or list(off.parties)
    if not lines:
        raise DataError("the protocol lines are not known",
                        fix=f"pass --official FILE, or --lines with the form's fields in order ({', '.join(FIELDS)})")
    if not parties:
        raise DataError(f"profile '{prof.name}' does not list the parties",
                        fix="pass --official FILE, or --parties with the names in ballot order")
    form = ProtocolForm(prof, lines, parties)
    ids = read_stations(stations, prof) if stations is not None else None
    if off is not None:
        known = off.table[[k for k in ID_COLUMNS if k in off.table]].astype(str).reindex(columns=list(ID_COLUMNS),
                                                                                    fill_value="")
        ids = known if ids is None else pd.concat([ids, known]).drop_duplicates()

    try:
        first = new_user(coordinator, "coordinator", password) if password is not None else None
    except ValueError as exc:
        raise DataError(f"the coordinator account cannot be made: {exc}", fix="choose another name or password") from None
    ws = Workspace(directory)
    fresh = not ws.root.exists()
    ws.create(database)
    try:
        conf = _store(ws, prof, form, official, ids, first)
    except BaseException:  # leave no half-made election behind: the same command can be run again
        if fresh:
            shutil.rmtree(ws.root, ignore_errors=True)
        else:
            ws.config_file.unlink(missing_ok=True)
        raise
    return {**conf, "stations": len(ids), "directory": str(ws.root)}


def settings(session) -> dict:
    """The election's settings as a dict."""
    return {s.key: s.value["value"] for s in session.scalars(select(Setting))}


def _store(ws: Workspace, prof, form: ProtocolForm, official, ids: pd.DataFrame, first: User | None) -> dict:
    """Copy the inputs into the folder and write the database; return the settings."""
    own_profile = bool(prof.path) and Path(prof.path).is_file()  # a user's TOML file, kept with the election
    conf = {"profile": str(shutil.copy(prof.path, ws.root / "profile.toml")) if own_profile else prof.name,
                "lines": form.fields, "parties": form.parties, "ruleset": form.ruleset,
                "official": None, "official_sha256": None}
    if official is not None:
        copy = ws.official / Path(official).name
        shutil.copyfile(official, copy)
        conf.update(official=str(copy), official_sha256=file_sha256(copy))
    db = Database(ws.database_url())
    try:
        db.upgrade()
        with db.write("init") as s:
            if s.scalar(select(Setting).limit(1)) is not None:
                raise DataError("the database already holds an election", fix="give a new, empty database")
            s.add_all(Setting(key=k, value={"value": v}) for k, v in conf.items())
            s.add_all(Station(region=r.region, tec=r.tec, pec=r.pec) for r in ids.itertuples())
            if first is not None:
                s.add(first)
    finally:
        db.dispose()
    return conf
