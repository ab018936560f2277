"""Unbound extensions; create_app() binds them. Nothing here touches an app at import.

`appbuilder` is a proxy to the current app's AppBuilder: FAB keeps per-app state (views,
security manager, menu) on the AppBuilder object, so each app gets its own instance and a
module-level singleton would be silently rebound by a second create_app() (tests, scripts).
"""
from flask import current_app
from flask_appbuilder.utils.legacy import get_sqla_class
from flask_migrate import Migrate
from flask_wtf.csrf import CSRFProtect
from werkzeug.local import LocalProxy

db = get_sqla_class()(session_options={"expire_on_commit": False})
appbuilder = LocalProxy(lambda: current_app.appbuilder)
csrf = CSRFProtect()
migrate = Migrate()


def end_read() -> None:
    """Give the session's connection back to the pool if its transaction only read.

    Called before waiting on the outside world (the model, the Graph API), so a job holds a
    database connection only while it talks to the database. Pending writes stay pending:
    they go out with the caller's own commit, never early.
    """
    session = db.session
    if not (session.new or session.dirty or session.deleted):
        session.commit()
