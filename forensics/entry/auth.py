"""Accounts, sessions and roles: argon2 password hashes, Flask-Login sessions, CSRF on every form.

Three roles: a ``coordinator`` sets up, assigns, resolves and exports; a
``typist`` enters the stations assigned to them and sees nothing else; a
``field`` account holds submissions imported from ODK / KoboToolbox and
cannot sign in.  Every page but the sign-in page needs a session.
"""
from __future__ import annotations

from functools import wraps

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import LoginManager, current_user, login_required, login_user, logout_user
from sqlalchemy import select

from .context import read_session
from .models import ROLES, User

hasher = PasswordHasher()
login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.session_protection = "strong"
blueprint = Blueprint("auth", __name__)

#: shortest password accepted
MIN_PASSWORD = 8


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise ValueError(f"a password needs at least {MIN_PASSWORD} characters")
    return hasher.hash(password)


def verify_password(user: User | None, password: str) -> bool:
    """True when ``password`` is the user's; a missing user still costs one hash (no timing hint)."""
    if user is None or not user.password_hash:
        hasher.hash(password or "-")
        return False
    try:
        return hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def new_user(username: str, role: str, password: str | None) -> User:
    """A user row (not yet added to a session); ``field`` accounts have no password."""
    username = username.strip()
    if not username or len(username) > 64 or not username.replace("-", "").replace("_", "").replace(".", "").isalnum():
        raise ValueError("a user name is 1-64 letters, digits, '.', '-' or '_'")
    if role not in ROLES:
        raise ValueError(f"the role must be one of {', '.join(ROLES)}")
    return User(username=username, role=role, password_hash=hash_password(password) if role != "field" else "")


def role_required(*roles):
    """A view only users of these roles may open (others get 403, anonymous users the sign-in page)."""
    def decorate(view):
        @wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)
        return wrapped
    return decorate


@login_manager.user_loader
def _load_user(user_id: str):
    user = read_session().get(User, int(user_id)) if user_id.isdigit() else None
    return user if user is not None and user.active and user.role != "field" else None


@blueprint.route("/login", methods=["GET", "POST"])
def login():
    if request.method == "POST":
        name = request.form.get("username", "").strip()
        user = read_session().scalar(select(User).where(User.username == name))
        allowed = user if user is not None and user.role != "field" and user.active else None
        if verify_password(allowed, request.form.get("password", "")):
            login_user(allowed)
            return redirect(url_for("home"))
        flash("Wrong user name or password.", "error")
    return render_template("login.html.j2")


@blueprint.route("/logout", methods=["POST"])
@login_required
def logout():
    logout_user()
    return redirect(url_for("auth.login"))
