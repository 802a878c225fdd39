"""An election's entry folder: where the database address, secret key, photos and exports live.

::

    DIR/entry.toml      database address (SQLite file in DIR by default)
    DIR/secret_key      signs the session cookies (readable by the owner only)
    DIR/photos/         the photo store, named by SHA-256 (never served as a folder)
    DIR/official/       a copy of the official results file, if one was given
    DIR/exports/        transcription files and audits written from the app

``FORENSICS_ENTRY_DB`` overrides the database address (e.g. to keep a
PostgreSQL password out of the file).
"""
from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

from ..errors import DataError

ENV_DB = "FORENSICS_ENTRY_DB"


@dataclass(frozen=True)
class Workspace:
    root: Path

    def __post_init__(self):
        object.__setattr__(self, "root", Path(self.root).resolve())

    @property
    def config_file(self) -> Path:
        return self.root / "entry.toml"

    @property
    def photos(self) -> Path:
        return self.root / "photos"

    @property
    def official(self) -> Path:
        return self.root / "official"

    @property
    def exports(self) -> Path:
        return self.root / "exports"

    def exists(self) -> bool:
        return self.config_file.is_file()

    def create(self, database: str | None = None) -> None:
        """Make the folder, its sub-folders, the config file and a new secret key."""
        if self.exists():
            raise DataError("this folder already holds an election", file=self.root,
                            fix="choose another --dir, or delete the folder to start again")
        for path in (self.root, self.photos, self.official, self.exports):
            path.mkdir(parents=True, exist_ok=True)
        url = database or str(self.root / "entry.sqlite")
        self.config_file.write_text(f"database = {_toml_string(url)}\n", encoding="utf-8")
        self.config_file.chmod(0o600)
        key = self.root / "secret_key"
        fd = os.open(key, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32))

    def require(self) -> "Workspace":
        if not self.exists():
            raise DataError("no election has been set up in this folder", file=self.root,
                            fix="run 'forensics entry init --dir DIR --profile P --stations FILE' first, "
                                "or pass the folder you set up with --dir")
        return self

    def database_url(self) -> str:
        if os.environ.get(ENV_DB):
            return os.environ[ENV_DB]
        return tomllib.loads(self.require().config_file.read_text(encoding="utf-8"))["database"]

    def secret_key(self) -> str:
        return (self.require().root / "secret_key").read_text().strip()


def _toml_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
