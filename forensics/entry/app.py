"""The Flask application factory of ``forensics entry``.

``create_app(directory)`` opens the election's entry folder (``Workspace``),
connects to its database, brings the schema up to date and registers the
sign-in, typist and coordinator pages.  Sessions are signed cookies
(HttpOnly, SameSite=Lax); every POST carries a CSRF token (Flask-WTF);
templates are autoescaped Jinja2; CSS and JavaScript are served from the
package (no network needed).
"""
from __future__ import annotations

from flask import Flask, g, redirect, render_template, url_for
from flask_login import current_user, login_required
from flask_wtf.csrf import CSRFProtect

from . import auditlog, auth, coordinator, typist
from .database import Database
from .election import settings
from .protocol import ProtocolForm
from .workspace import Workspace

#: the largest upload accepted in one request (a batch of phone photos)
MAX_UPLOAD = 512 * 1024 * 1024


def create_app(directory, database_url: str | None = None) -> Flask:
    ws = Workspace(directory).require()
    db = Database(database_url or ws.database_url())
    db.upgrade()
    auditlog.install()
    with db.read() as s:
        conf = settings(s)
    form = ProtocolForm.from_settings(conf)

    app = Flask(__name__)
    app.config.update(SECRET_KEY=ws.secret_key(), SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax",
                      REMEMBER_COOKIE_HTTPONLY=True, MAX_CONTENT_LENGTH=MAX_UPLOAD, WTF_CSRF_TIME_LIMIT=None)
    app.extensions["entry"] = {"workspace": ws, "database": db, "form": form, "settings": conf}
    CSRFProtect(app)
    auth.login_manager.init_app(app)

    @app.teardown_appcontext
    def _close(_exc):
        session = g.pop("db_session", None)
        if session is not None:
            session.close()

    @app.after_request
    def _headers(response):
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("Content-Security-Policy",
                                    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
                                    "frame-ancestors 'none'")
        return response

    @app.context_processor
    def _globals():
        return {"election": conf, "form_lines": form.lines}

    @app.route("/")
    @login_required
    def home():
        if current_user.role == "coordinator":
            return redirect(url_for("coordinator.dashboard"))
        return redirect(url_for("typist.queue"))

    @app.errorhandler(403)
    def _forbidden(_e):
        return render_template("message.html.j2", title="Not allowed",
                               text="Your account cannot open this page."), 403

    @app.errorhandler(404)
    def _missing(_e):
        return render_template("message.html.j2", title="Not found", text="There is no such page."), 404

    @app.errorhandler(413)
    def _too_large(_e):
        return render_template("message.html.j2", title="Upload too large",
                               text=f"Upload at most {MAX_UPLOAD // 2**20} MB at once, or import the folder "
                                    "with 'forensics entry photos'."), 413

    app.register_blueprint(auth.blueprint)
    app.register_blueprint(typist.blueprint)
    app.register_blueprint(coordinator.blueprint, url_prefix="/coordinator")
    return app
