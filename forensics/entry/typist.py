"""Typists' pages: their queue of assigned stations, the entry form beside the photo, the photos.

A typist sees only the stations assigned to them, their own entry of each,
and those stations' photos; never the other entry of a station.
"""
from __future__ import annotations

import re

from flask import Blueprint, abort, flash, redirect, render_template, request, send_file, url_for
from flask_login import current_user, login_required
from sqlalchemy import select

from .context import entry_context, read_session
from .auth import role_required
from .double import EntryRefused, save_entry, states
from .models import Assignment, Entry, Photo, Station, User
from .photos import stored_path

blueprint = Blueprint("typist", __name__)
_WHEN = re.compile(r"^\d{4}-\d{2}-\d{2}( \d{2}:\d{2})?$")
_MIME = {"jpeg": "image/jpeg", "png": "image/png", "gif": "image/gif", "webp": "image/webp", "tiff": "image/tiff",
         "bmp": "image/bmp", "heic": "image/heic", "avif": "image/avif"}


@blueprint.route("/queue")
@role_required("typist")
def queue():
    s = read_session()
    mine = dict(s.execute(select(Assignment.station_id, Assignment.slot).where(Assignment.user_id == current_user.id)).all())
    done = set(s.scalars(select(Entry.station_id).where(Entry.user_id == current_user.id)))
    rows = []
    for st in states(s, entry_context()["form"].keys, station_ids=mine):
        rows.append({"state": st, "slot": mine[st.station.id], "mine": st.station.id in done,
                     "closed": st.status in ("agreed", "disputed", "resolved")})
    rows.sort(key=lambda r: (r["mine"], r["state"].photos == 0, r["state"].station.id))
    return render_template("queue.html.j2", rows=rows)


def check_submission(form, data) -> tuple[dict, dict, list, list, str]:
    """Parse and check a submitted form: values, problems, findings, what needs confirming, taken_at."""
    values, problems = form.parse(data)
    taken_at = (data.get("taken_at") or "").strip()
    if taken_at and not _WHEN.match(taken_at):
        problems["taken_at"] = "the time is written YYYY-MM-DD HH:MM"
    findings = form.check(values) if not problems else []
    return values, problems, findings, form.needs_confirmation(values, findings), taken_at


@blueprint.route("/enter/<int:station_id>", methods=["GET", "POST"])
@role_required("typist")
def enter(station_id: int):
    ctx = entry_context()
    form, s = ctx["form"], read_session()
    station = s.get(Station, station_id)
    slot = s.scalar(select(Assignment.slot).where(Assignment.station_id == station_id,
                                                  Assignment.user_id == current_user.id))
    if station is None or slot is None:
        abort(404)  # not told apart: a typist learns nothing about stations not theirs
    own = s.scalar(select(Entry).where(Entry.station_id == station_id, Entry.user_id == current_user.id))
    values = dict(own.values) if own else {}
    taken_at = own.taken_at if own else ""
    problems, findings, needs = {}, [], []
    if request.method == "POST":
        values, problems, findings, needs, taken_at = check_submission(form, request.form)
        confirmed = request.form.get("confirm_as_written") == "yes"
        if not problems and (confirmed or not needs):
            try:
                with ctx["database"].write(current_user.username) as w:
                    save_entry(w, w.get(User, current_user.id), station_id, values,
                               confirmed=needs, findings=[f["code"] for f in findings], taken_at=taken_at)
            except EntryRefused as exc:
                flash(f"Not saved: {exc}.", "error")
                return redirect(url_for("typist.queue"))
            flash(f"Saved: station {station.pec}.", "ok")
            return redirect(url_for("typist.queue"), code=303)
    photos = s.scalars(select(Photo).where(Photo.station_id == station_id).order_by(Photo.id)).all()
    return render_template("enter.html.j2", station=station, slot=slot, photos=photos, values=values,
                           taken_at=taken_at, problems=problems, findings=findings, needs=needs,
                           rules=form.rules_data(), action=url_for("typist.enter", station_id=station_id)), \
        422 if request.method == "POST" else 200


@blueprint.route("/photo/<int:photo_id>")
@login_required
def photo(photo_id: int):
    s = read_session()
    p = s.get(Photo, photo_id)
    if p is None:
        abort(404)
    if current_user.role != "coordinator":
        allowed = p.station_id is not None and s.scalar(select(Assignment.id).where(
            Assignment.station_id == p.station_id, Assignment.user_id == current_user.id)) is not None
        if not allowed:
            abort(404)
    try:
        path = stored_path(entry_context()["workspace"].photos, p)
    except ValueError:
        abort(404)
    return send_file(path, mimetype=_MIME.get(p.image_type, "application/octet-stream"), max_age=3600,
                     download_name=f"photo-{p.id}.{p.image_type}")
