"""Coordinators' pages: progress, stations, photos, assignments, accounts, resolutions, export, log."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, send_file, url_for
from flask_login import current_user
from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError

from ..audit.photos import safe_path
from ..errors import DataError
from .context import entry_context, read_session
from .auth import hash_password, new_user, role_required
from .double import STATUSES, EntryRefused, assign, auto_assign, progress, resolve, states, typist_rates
from .export import evidence_sheet, export, latest_export, run_audit_export
from .models import ROLES, Change, Entry, Photo, Resolution, Station, User
from .photos import compile_pattern, import_folder, intake, station_label
from .typist import check_submission

blueprint = Blueprint("coordinator", __name__)
coordinator_only = role_required("coordinator")


@blueprint.before_request
@coordinator_only
def _guard():
    """Every page here is for coordinators only."""


def _user(session) -> User:
    return session.get(User, current_user.id)


@blueprint.route("/")
def dashboard():
    s = read_session()
    form = entry_context()["form"]
    all_states = states(s, form.keys)
    unassigned = s.scalar(select(Photo.id).where(Photo.station_id.is_(None)).limit(1)) is not None
    return render_template("dashboard.html.j2", progress=progress(all_states), statuses=STATUSES,
                           rates=typist_rates(s, form.keys), unassigned_photos=unassigned)


@blueprint.route("/stations")
def stations():
    s = read_session()
    status, region = request.args.get("status", ""), request.args.get("region", "")
    found = [st for st in states(s, entry_context()["form"].keys)
             if (not status or st.status == status) and (not region or st.station.region == region)]
    return render_template("stations.html.j2", rows=found[:2000], total=len(found), status=status, region=region,
                           statuses=STATUSES)


@blueprint.route("/station/<int:station_id>")
def station(station_id: int):
    ctx = entry_context()
    s, form = read_session(), ctx["form"]
    st = s.get(Station, station_id) or abort(404)
    state = states(s, form.keys, station_ids=[station_id])[0]
    entries = {e.slot: e for e in s.scalars(select(Entry).where(Entry.station_id == station_id))}
    names = dict(s.execute(select(User.id, User.username)).all())
    resolution = s.get(Resolution, station_id)
    label = station_label(st)
    log = s.scalars(select(Change).where(or_(Change.record_id.like(f"station {station_id} %"),
                                             Change.record_id == f"station {station_id}",
                                             Change.record_id == f"{st.region} / {st.tec} / {st.pec}"))
                    .order_by(Change.id.desc()).limit(300)).all()
    typists = s.scalars(select(User).where(User.role == "typist", User.active).order_by(User.username)).all()
    folder = latest_export(ctx["workspace"].exports)
    sheet = evidence_sheet(folder, st)
    values = dict(resolution.values) if resolution else (
        {k: entries[1].values.get(k) for k in form.keys if k not in state.lines_differing} if 1 in entries else {})
    return render_template("station.html.j2", st=st, label=label, state=state, entries=entries, names=names,
                           resolution=resolution, log=log, typists=typists, photos=st.photos, values=values,
                           evidence=(folder.name, sheet) if sheet else None, rules=form.rules_data(),
                           problems={}, findings=[], needs=[], taken_at="",
                           action=url_for("coordinator.resolve_station", station_id=station_id))


@blueprint.route("/station/<int:station_id>/resolve", methods=["POST"])
def resolve_station(station_id: int):
    ctx = entry_context()
    form = ctx["form"]
    values, problems, findings, needs, _ = check_submission(form, request.form)
    if problems or (needs and request.form.get("confirm_as_written") != "yes"):
        what = "; ".join(problems.values()) or ("confirm that the figures are as written on the protocol: "
                                               + ", ".join(needs))
        flash(f"Not saved: {what}.", "error")
        return redirect(url_for("coordinator.station", station_id=station_id))
    with ctx["database"].write(current_user.username) as w:
        resolve(w, _user(w), station_id, values, confirmed=needs, findings=[f["code"] for f in findings],
                note=request.form.get("note", "")[:2000])
    flash("Resolution saved.", "ok")
    return redirect(url_for("coordinator.station", station_id=station_id), code=303)


@blueprint.route("/station/<int:station_id>/assign", methods=["POST"])
def assign_station(station_id: int):
    ctx = entry_context()
    try:
        with ctx["database"].write(current_user.username) as w:
            user = w.scalar(select(User).where(User.username == request.form.get("username", "")))
            if user is None:
                raise EntryRefused("no such typist")
            assign(w, station_id, int(request.form.get("slot", "0") or 0), user)
        flash("Assigned.", "ok")
    except (EntryRefused, ValueError) as exc:
        flash(f"Not assigned: {exc}.", "error")
    return redirect(url_for("coordinator.station", station_id=station_id), code=303)


@blueprint.route("/assign", methods=["POST"])
def assign_all():
    ctx = entry_context()
    try:
        with ctx["database"].write(current_user.username) as w:
            typists = w.scalars(select(User).where(User.role == "typist", User.active).order_by(User.id)).all()
            n = auto_assign(w, typists, with_photos_only=request.form.get("all_stations") != "yes")
        flash(f"{n} entries assigned.", "ok")
    except EntryRefused as exc:
        flash(f"Nothing assigned: {exc}.", "error")
    return redirect(url_for("coordinator.dashboard"), code=303)


# -- photos ------------------------------------------------------------------------------------
@blueprint.route("/photos")
def photos():
    s = read_session()
    loose = s.scalars(select(Photo).where(Photo.station_id.is_(None)).order_by(Photo.id).limit(500)).all()
    recent = s.scalars(select(Photo).where(Photo.station_id.is_not(None)).order_by(Photo.id.desc()).limit(50)).all()
    return render_template("photos.html.j2", loose=loose, recent=recent)


@blueprint.route("/photos/upload", methods=["POST"])
def upload():
    ctx = entry_context()
    store = ctx["workspace"].photos
    results = []
    try:
        pattern = compile_pattern(request.form.get("pattern") or None)
    except ValueError as exc:
        return _upload_reply([], str(exc))
    for item in request.files.getlist("photos"):
        name = Path(item.filename or "upload").name
        fd, tmp = tempfile.mkstemp(dir=store, prefix=".upload-")
        try:
            with os.fdopen(fd, "wb") as out:
                item.save(out)
            with ctx["database"].write(current_user.username) as w:
                results.append(intake(w, store, tmp, name, current_user.id, pattern))
        except IntegrityError:  # the same photo uploaded at the same moment by someone else
            results.append(_duplicate(name))
        finally:
            os.unlink(tmp)
    return _upload_reply(results)


def _duplicate(name: str):
    from .photos import Intake

    return Intake(name, "duplicate", "same content as a photo stored at the same moment")


def _upload_reply(results, error: str = ""):
    if request.headers.get("Accept", "").startswith("application/json"):
        return jsonify({"error": error, "results": [r.__dict__ for r in results]}), 400 if error else 200
    if error:
        flash(error, "error")
    for r in results:
        flash(f"{r.name}: {r.status} — {r.message}", "ok" if r.status == "stored" else "error")
    return redirect(url_for("coordinator.photos"), code=303)


@blueprint.route("/photos/import", methods=["POST"])
def import_photos():
    ctx = entry_context()
    folder = request.form.get("folder", "").strip()
    if not folder or not Path(folder).is_dir():
        flash("Give the path of a folder on this computer.", "error")
        return redirect(url_for("coordinator.photos"), code=303)
    try:
        pattern = compile_pattern(request.form.get("pattern") or None)
        with ctx["database"].write(current_user.username) as w:
            results = import_folder(w, ctx["workspace"].photos, folder, current_user.id, pattern)
    except ValueError as exc:
        flash(str(exc), "error")
        return redirect(url_for("coordinator.photos"), code=303)
    counts = {k: sum(r.status == k for r in results) for k in ("stored", "duplicate", "refused")}
    flash(f"Folder imported: {counts['stored']} stored, {counts['duplicate']} duplicates, "
          f"{counts['refused']} refused.", "ok")
    for r in results:
        if r.status != "stored":
            flash(f"{r.name}: {r.status} — {r.message}", "error")
    return redirect(url_for("coordinator.photos"), code=303)


@blueprint.route("/photos/<int:photo_id>/assign", methods=["POST"])
def assign_photo(photo_id: int):
    ctx = entry_context()
    region, tec, pec = (request.form.get(k, "").strip() for k in ("region", "tec", "pec"))
    with ctx["database"].write(current_user.username) as w:
        photo = w.get(Photo, photo_id) or abort(404)
        q = select(Station).where(Station.pec == pec)
        q = q.where(Station.region == region) if region else q
        q = q.where(Station.tec == tec) if tec else q
        found = w.scalars(q.limit(2)).all()
        if len(found) != 1:
            flash(f"No single station matches PEC '{pec}'" + (" (add region and TEC)" if found else "") + ".", "error")
        else:
            photo.station = found[0]
            flash(f"Photo {photo_id} assigned to {station_label(found[0])}.", "ok")
    return redirect(request.form.get("next") or url_for("coordinator.photos"), code=303)


# -- accounts ------------------------------------------------------------------------------------
@blueprint.route("/users", methods=["GET", "POST"])
def users():
    ctx = entry_context()
    if request.method == "POST":
        try:
            with ctx["database"].write(current_user.username) as w:
                action = request.form.get("action", "create")
                if action == "create":
                    w.add(new_user(request.form.get("username", ""), request.form.get("role", "typist"),
                                   request.form.get("password", "")))
                    w.flush()
                else:
                    user = w.scalar(select(User).where(User.username == request.form.get("username", ""))) or abort(404)
                    if user.id == current_user.id:
                        raise ValueError("you cannot change your own account here")
                    if action == "deactivate":
                        user.active = False
                    elif action == "activate":
                        user.active = True
                    elif action == "password":
                        user.password_hash = hash_password(request.form.get("password", ""))
            flash("Saved.", "ok")
        except ValueError as exc:
            flash(f"Not saved: {exc}.", "error")
        except IntegrityError:
            flash("Not saved: that user name is taken.", "error")
        return redirect(url_for("coordinator.users"), code=303)
    s = read_session()
    return render_template("users.html.j2", users=s.scalars(select(User).order_by(User.role, User.username)).all(),
                           roles=[r for r in ROLES if r != "field"])


# -- export, audit, evidence -------------------------------------------------------------------------
@blueprint.route("/export", methods=["GET", "POST"])
def export_page():
    ctx = entry_context()
    exports = ctx["workspace"].exports
    if request.method == "POST":
        folder = export(read_session(), ctx["form"], exports)
        if ctx["settings"].get("official"):
            try:
                summary = run_audit_export(folder, ctx["settings"], ctx["workspace"].photos)
                flash(f"Exported to {folder.name} and audited: {summary['compared']} stations compared, "
                      f"{summary['evidence_sheets']} evidence sheet(s).", "ok")
            except DataError as exc:
                flash(f"Exported to {folder.name}; the audit did not run: {exc}", "error")
        else:
            flash(f"Exported to {folder.name} (no official results were given, so there is nothing to audit against).",
                  "ok")
        return redirect(url_for("coordinator.export_page"), code=303)
    done = sorted((p for p in exports.iterdir() if p.is_dir() and not p.name.startswith(".")), reverse=True)
    listing = [(p.name, sorted(f.relative_to(p).as_posix() for f in p.rglob("*") if f.is_file()
                               and (f.parent == p or f.parent.name == "audit" or f.name == "index.html")))
               for p in done[:20]]
    return render_template("export.html.j2", exports=listing)


@blueprint.route("/exports/<name>/<path:file>")
def export_file(name: str, file: str):
    exports = entry_context()["workspace"].exports
    try:
        path = safe_path(safe_path(exports, name), file)
    except ValueError:
        abort(404)
    if not path.is_file() or name.startswith("."):
        abort(404)
    return send_file(path, as_attachment=not path.name.endswith(".html"))


@blueprint.route("/log")
def log():
    s = read_session()
    rows = s.scalars(select(Change).order_by(Change.id.desc()).limit(1000)).all()
    return render_template("log.html.j2", rows=rows)
