"""``forensics entry``: observers' double entry of protocol photos in a browser.

``init`` sets up an election folder and database, ``serve`` starts the web
application (waitress), ``user`` adds or changes accounts, ``photos``
imports a folder of photos, ``export`` writes the transcription files (and
runs the audit), ``xlsform`` writes the ODK / KoboToolbox form and
``import`` reads its submissions.  Needs ``pip install election-forensics[entry]``.
"""
from __future__ import annotations

import getpass
import importlib.util
import os
import sys

from ..errors import DataError

ENV_PASSWORD = "FORENSICS_ENTRY_PASSWORD"


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "entry", help="double entry of protocol photos in a browser (observer groups)",
        description="A small web application for an observer group: coordinators take in protocol photos and "
                    "assign stations; typists enter each protocol beside its photo with the profile's control "
                    "relations checked live; two blind entries per protocol are compared and disputes resolved; "
                    "the result is exported in the audit's transcription layout and audited.")
    sub = p.add_subparsers(dest="entry_command", metavar="COMMAND")
    p.set_defaults(func=lambda args: p.print_help() or 0)

    def add(name, help_, func):
        q = sub.add_parser(name, help=help_, description=help_)
        q.add_argument("--dir", default="election-entry", metavar="DIR",
                       help="the election's entry folder (default: ./election-entry)")
        q.set_defaults(func=func)
        return q

    q = add("init", "set up an election: folder, database, stations, protocol lines, first coordinator", _init)
    q.add_argument("--profile", required=True, metavar="P", help="the protocol's profile (e.g. kz_cec)")
    q.add_argument("--stations", metavar="FILE", help="station list (CSV/XLSX with the profile's id headers)")
    q.add_argument("--official", metavar="FILE", help="official results (lines, parties and stations; audited against)")
    q.add_argument("--db", metavar="URL", help="database: a SQLite file (default DIR/entry.sqlite) or "
                                                "postgresql://user:password@host/dbname")
    q.add_argument("--lines", nargs="+", metavar="FIELD", help="protocol lines in form order (without --official)")
    q.add_argument("--parties", nargs="+", metavar="NAME", help="parties in ballot order (without --official)")
    q.add_argument("--coordinator", default="coordinator", metavar="NAME", help="first coordinator's user name")
    q.add_argument("--password-stdin", action="store_true", help=f"read the password from standard input "
                                                                  f"(else ${ENV_PASSWORD}, else a prompt)")

    q = add("serve", "start the web application (waitress)", _serve)
    q.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1; 0.0.0.0 for a LAN)")
    q.add_argument("--port", type=int, default=8080, help="port (default 8080)")
    q.add_argument("--threads", type=int, default=8, help="worker threads (default 8)")

    q = add("user", "add an account or set its password", _user)
    q.add_argument("username")
    q.add_argument("--role", default="typist", choices=("typist", "coordinator"))
    q.add_argument("--password-stdin", action="store_true", help="read the password from standard input")

    q = add("photos", "import a folder of protocol photos", _photos)
    q.add_argument("folder")
    q.add_argument("--pattern", help="file-name pattern with a group (?P<pec>...) (default: the first number)")

    add("export", "write the transcription files and run the audit (when official results were given)", _export)

    q = add("xlsform", "write the XLSForm of the protocol (ODK Collect / KoboToolbox)", _xlsform)
    q.add_argument("--out", default="protocol.xlsx", metavar="FILE", help="the XLSForm to write (.xlsx)")

    q = add("import", "import ODK / KoboToolbox submissions (CSV, or the zip with media)", _import)
    q.add_argument("submissions", metavar="FILE")
    q.add_argument("--media", metavar="DIR", help="folder of the photo attachments (default: beside the CSV)")


def _password(args, confirm: bool = True) -> str:
    if getattr(args, "password_stdin", False):
        return sys.stdin.readline().rstrip("\n")
    if os.environ.get(ENV_PASSWORD):
        return os.environ[ENV_PASSWORD]
    if not sys.stdin.isatty():
        raise DataError("no password given", fix=f"use --password-stdin or set {ENV_PASSWORD}")
    first = getpass.getpass("Password: ")
    if confirm and getpass.getpass("Again: ") != first:
        raise DataError("the two passwords differ", fix="type the same password twice")
    return first


#: modules of the ``entry`` extra
_EXTRA = ("flask", "flask_login", "flask_wtf", "sqlalchemy", "alembic", "argon2", "waitress")


def _need_extra():
    missing = [name for name in _EXTRA if importlib.util.find_spec(name) is None]
    if missing:
        raise DataError(f"forensics entry needs the package(s) {', '.join(missing)}",
                        fix="pip install 'election-forensics[entry]'")


def _session(args):
    from ..entry.database import Database
    from ..entry.election import settings
    from ..entry.protocol import ProtocolForm
    from ..entry.workspace import Workspace

    ws = Workspace(args.dir).require()
    db = Database(ws.database_url())
    db.upgrade()
    with db.read() as s:
        conf = settings(s)
    return ws, db, conf, ProtocolForm.from_settings(conf)


def _init(args) -> int:
    _need_extra()
    from ..entry import init_election

    password = _password(args)
    out = init_election(args.dir, args.profile, stations=args.stations, official=args.official, database=args.db,
                        lines=args.lines, parties=args.parties, coordinator=args.coordinator, password=password)
    print(f"Set up {out['stations']} stations with {len(out['lines'])} protocol lines and {len(out['parties'])} "
          f"parties in {out['directory']}; coordinator '{args.coordinator}'.")
    print(f"Next: forensics entry serve --dir {args.dir}")
    return 0


def _serve(args) -> int:
    _need_extra()
    import waitress

    from ..entry import create_app

    app = create_app(args.dir)
    print(f"forensics entry: serving {args.dir} on http://{args.host}:{args.port}/ (Ctrl+C stops)", flush=True)
    waitress.serve(app, host=args.host, port=args.port, threads=args.threads, ident="forensics-entry")
    return 0


def _user(args) -> int:
    _need_extra()
    from sqlalchemy import select

    from ..entry import auditlog
    from ..entry.auth import hash_password, new_user
    from ..entry.models import User

    _, db, _, _ = _session(args)
    auditlog.install()
    password = _password(args)
    try:
        with db.write("command line") as w:
            user = w.scalar(select(User).where(User.username == args.username))
            if user is None:
                w.add(new_user(args.username, args.role, password))
                print(f"Added {args.role} '{args.username}'.")
            else:
                user.password_hash = hash_password(password)
                print(f"Changed the password of '{args.username}'.")
    except ValueError as exc:
        raise DataError(str(exc), fix="choose another user name or a longer password") from None
    return 0


def _photos(args) -> int:
    _need_extra()
    from ..entry import auditlog
    from ..entry.photos import compile_pattern, import_folder

    ws, db, _, _ = _session(args)
    auditlog.install()
    if not os.path.isdir(args.folder):
        raise DataError("not a folder", file=args.folder, fix="give the folder that holds the photos")
    try:
        pattern = compile_pattern(args.pattern)
    except ValueError as exc:
        raise DataError(str(exc), fix="e.g. --pattern '(?P<pec>\\d+)'") from None
    with db.write("command line") as w:
        results = import_folder(w, ws.photos, args.folder, None, pattern)
    for r in results:
        if r.status != "stored" or not r.station:
            print(f"{r.name}: {r.status}: {r.message}")
    counts = {k: sum(r.status == k for r in results) for k in ("stored", "duplicate", "refused")}
    print(f"{counts['stored']} stored ({sum(bool(r.station) for r in results if r.status == 'stored')} assigned to a "
          f"station), {counts['duplicate']} duplicates, {counts['refused']} refused.")
    return 0


def _export(args) -> int:
    _need_extra()
    from ..entry.export import export, run_audit_export

    ws, db, conf, form = _session(args)
    with db.read() as s:
        folder = export(s, form, ws.exports)
    print(f"Wrote {folder}")
    if conf.get("official"):
        summary = run_audit_export(folder, conf, ws.photos)
        print(f"Audit: {summary['compared']} stations compared, {summary['evidence_sheets']} evidence sheet(s) in "
              f"{folder / 'audit'}")
    return 0


def _xlsform(args) -> int:
    _need_extra()
    from ..entry.xlsform import write_xlsform

    _, _, _, form = _session(args)
    print(f"Wrote {write_xlsform(form, args.out)}")
    return 0


def _import(args) -> int:
    _need_extra()
    from ..entry import auditlog
    from ..entry.odk import import_submissions

    ws, db, _, form = _session(args)
    auditlog.install()
    outcomes = import_submissions(db, form, args.submissions, ws.photos, media=args.media)
    for o in outcomes:
        if o.status != "imported":
            print(f"row {o.row} ({o.station or 'no station'}): not imported: {o.reason}")
    print(f"{sum(o.status == 'imported' for o in outcomes)} of {len(outcomes)} submissions imported.")
    return 0
