"""Ending cookie sessions on the server: a login generation per user.

Flask keeps the session in a signed cookie, so logging out only makes *this* browser forget
it; a copy of the cookie (another device, a stolen one) would stay valid until SECRET_KEY
changes. Each user therefore has a generation number in the database: logging in writes the
current one into the session, the user loader compares them on every request, and logging out
or changing the password bumps it, which ends every session cookie carrying an older number.

Flask-Login's "remember me" cookie (which FAB's database login never sets) cannot bring a
session back either: a session rebuilt from it has no generation and is refused like a stale one.
JWTs for /api/v1 are unaffected: they are stateless and expire on their own
(JWT_ACCESS_TOKEN_EXPIRES).
"""
from __future__ import annotations

from flask import has_request_context, session
from sqlalchemy import select, update

from app.extensions import db
from app.models import SessionGeneration

SESSION_KEY = "_login_generation"


def current_generation(user_id: int) -> int:
    found = db.session.scalar(
        select(SessionGeneration.generation).where(SessionGeneration.user_id == user_id)
    )
    return found or 0


def start(user) -> None:
    """Stamp the session of a user who just logged in with their current generation."""
    session[SESSION_KEY] = current_generation(user.id)


def is_current(user_id: int) -> bool:
    """Whether this request's session belongs to the user's current generation."""
    stamped = session.get(SESSION_KEY)
    return stamped is not None and stamped == current_generation(user_id)


def end_all(user_id: int) -> int:
    """Bump the generation (flushed, not committed): every existing session of the user ends.

    Returns the new generation, for a caller that keeps its own session alive.
    """
    bumped = db.session.execute(
        update(SessionGeneration)
        .where(SessionGeneration.user_id == user_id)
        .values(generation=SessionGeneration.generation + 1)
    ).rowcount
    if not bumped:
        db.session.add(SessionGeneration(user_id=user_id, generation=1))
    db.session.flush()
    return current_generation(user_id)


def end_others(user_id: int) -> None:
    """Like end_all, but the session of this request, if it is the user's own, stays valid."""
    generation = end_all(user_id)
    if has_request_context() and session.get("_user_id") == str(user_id):
        session[SESSION_KEY] = generation


def on_logged_in(_app, user, **_extra) -> None:
    start(user)


def on_logged_out(_app, user, **_extra) -> None:
    """Flask-Login's logout: end this session and every copy of it."""
    session.pop(SESSION_KEY, None)
    if user is not None and user.is_authenticated:
        end_all(user.id)
        db.session.commit()
