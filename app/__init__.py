"""create_app(): a short list of init/register calls (Airflow's and cookiecutter-flask's habit)."""
from __future__ import annotations

import logging

from flask import Flask

from flask_appbuilder import AppBuilder

from app.extensions import csrf, db, migrate


def create_app(config_object=None) -> Flask:
    from app.security.headers import init_security_headers
    from config import config_from_env

    app = Flask(__name__, instance_relative_config=False)
    cfg = config_object if config_object is not None else config_from_env()
    app.config.from_object(cfg() if isinstance(cfg, type) else cfg)
    init_config(app)
    init_extensions(app)
    register_blueprints(app)
    init_security_headers(app)  # after the blueprints: it configures /health and /webhooks
    register_commands(app)
    return app


def init_config(app: Flask) -> None:
    from app.security.passwords import fab_complexity_validator
    from app.security.permissions import fab_roles

    from config import Config

    app.config["FAB_ROLES"] = fab_roles()
    app.config["FAB_INDEX_VIEW"] = "app.views.tenants.CloserIndexView"
    app.config["FAB_PASSWORD_COMPLEXITY_ENABLED"] = True
    app.config["FAB_PASSWORD_COMPLEXITY_VALIDATOR"] = fab_complexity_validator
    if not app.config.get("RATELIMIT_STORAGE_URI"):
        app.config["RATELIMIT_STORAGE_URI"] = app.config.get("REDIS_URL") or "memory://"
    Config.validate(app.config)
    logging.basicConfig(level=logging.INFO)
    # httpx (under the Groq SDK) logs every request at INFO: one line per model call
    logging.getLogger("httpx").setLevel(logging.WARNING)


def init_extensions(app: Flask) -> None:
    from app.jobs import init_queue
    from app.security.tenancy import bind_request_scope, install_orm_guard
    from app.services.conversation_facts import init_conversation_facts
    from app.services.tenant_content import init_content_stamps
    from app.services.order_triggers import init_workflow_events
    from app.views import register_views
    from app.views.base import refuse_ids_past_range
    from app.views.context import register_template_helpers
    from app.views.errors import register_error_pages

    db.init_app(app)
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        _sqlite_pragmas(app)
    else:
        from app.db_pool import ping_when_idle

        with app.app_context():
            ping_when_idle(db.engine, app.config["DB_PING_IDLE_SECONDS"])
    migrate.init_app(app, db, render_as_batch=True, compare_type=True)
    csrf.init_app(app)
    init_queue(app)
    install_orm_guard()
    init_content_stamps()
    init_conversation_facts()
    init_workflow_events()
    with app.app_context():
        builder = AppBuilder()
        builder.init_app(app, db.session)
        register_views(builder)
    app.before_request(lambda: bind_request_scope(db.session))
    app.before_request(refuse_ids_past_range)  # last: its 404 page has the user and scope
    register_template_helpers(app)
    register_error_pages(app)


def _sqlite_pragmas(app: Flask) -> None:
    """SQLite enforces foreign keys only when asked, per connection."""
    from sqlalchemy import event

    with app.app_context():
        @event.listens_for(db.engine, "connect")
        def _on_connect(dbapi_connection, _record):
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=5000")
            cursor.close()


def register_blueprints(app: Flask) -> None:
    from app.health import bp as health_bp
    from app.payment_page import bp as payment_page_bp
    from app.webhooks import register_webhooks

    app.register_blueprint(health_bp)
    from app.views.meta_callbacks import bp as meta_callbacks_bp

    csrf.exempt(meta_callbacks_bp)  # signed by Meta (signed_request), no session to forge
    app.register_blueprint(meta_callbacks_bp)
    if not app.config.get("PRODUCTION", True):  # test mode exists only in development and testing
        app.register_blueprint(payment_page_bp)
    register_webhooks(app)


def register_commands(app: Flask) -> None:
    from app.cli import register

    register(app)
