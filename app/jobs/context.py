"""One fresh app context per job (Superset's AppContextTask), in any process that runs jobs."""
from __future__ import annotations

import functools
import os
import time

from flask import Flask, current_app, has_app_context

_app: Flask | None = None
_pid: int | None = None


def _worker_app() -> Flask:
    """The app a worker process builds once; after fork the DB pool is not reused."""
    global _app, _pid
    if _app is None:
        from app import create_app

        _app = create_app()
        _pid = os.getpid()
    elif _pid != os.getpid():
        from app.extensions import db

        with _app.app_context():
            db.engine.dispose(close=False)
        _pid = os.getpid()
    return _app


def set_worker_app(app: Flask) -> None:
    global _app, _pid
    _app, _pid = app, os.getpid()


def job(func):
    """Run the job inside its own app context (and so its own database session).

    A job queued with `not_before` (see `app.jobs.enqueue`) first waits until then, before
    it touches the database, so the wait holds no connection.
    """

    @functools.wraps(func)
    def wrapper(*args, not_before: float | None = None, **kwargs):
        app = current_app._get_current_object() if has_app_context() else _worker_app()
        if has_app_context() and _pid is not None and _pid != os.getpid():
            app = _worker_app()
        if not_before is not None:
            wait_until(not_before, app.config["JOB_TIMEOUT"] / 4)
        with app.app_context():
            return func(*args, **kwargs)

    return wrapper


def wait_until(when: float, longest: float) -> None:
    """Sleep until the epoch time `when`, never longer than `longest` (clocks can disagree)."""
    remaining = when - time.time()
    if remaining > 0:
        time.sleep(min(remaining, longest))
