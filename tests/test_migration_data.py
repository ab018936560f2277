"""Migrations keep the rows they don't mean to touch.

On SQLite a batch migration rebuilds a table (copy, drop, rename); with foreign keys enforced the
drop fired the ON DELETE actions of every referring table, so adding a column with a foreign key
to `channel` cascade-deleted every conversation. The migration environment switches enforcement
off while migrating and checks the keys afterwards.
"""
from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from tests.conftest import make_config

MIGRATIONS = str(Path(__file__).resolve().parent.parent / "migrations")
BEFORE_CHANNEL_CONNECTIONS = "d4a1b2c3e5f6"

ROWS = [
    "INSERT INTO tenant (id, name, slug, currency, timezone, active, order_seq, content_stamp, created_at)"
    " VALUES (1, 'T', 't', 'INR', 'UTC', 1, 0, 'x', '2026-01-01')",
    "INSERT INTO channel (id, tenant_id, name, platform, external_id, status, created_at)"
    " VALUES (1, 1, 'c', 'messenger', 'p', 'active', '2026-01-01')",
    "INSERT INTO customer (id, tenant_id, platform, external_id, opted_out, first_seen_at, last_seen_at)"
    " VALUES (1, 1, 'messenger', 'u', 0, '2026-01-01', '2026-01-01')",
    "INSERT INTO conversation (id, tenant_id, channel_id, customer_id, status, mode, lead_score, created_at)"
    " VALUES (1, 1, 1, 1, 'open', 'ai', 0, '2026-01-01')",
    "INSERT INTO message (id, tenant_id, conversation_id, channel_id, direction, sender, kind, status, created_at)"
    " VALUES (1, 1, 1, 1, 'in', 'customer', 'text', 'received', '2026-01-01')",
    "INSERT INTO template (id, tenant_id, name, platform, language, category, body, status)"
    " VALUES (1, 1, 'order_update', 'whatsapp', 'en', 'utility', 'b', 'approved')",
    "INSERT INTO automation_rule (id, tenant_id, name, \"trigger\", action, template_id, priority, active)"
    " VALUES (1, 1, 'r', 'keyword', 'reply', 1, 100, 1)",
]


def test_sqlite_rebuilds_keep_referring_rows(tmp_path):
    from flask_migrate import upgrade

    from app import create_app
    from app.extensions import db

    scratch = create_app(make_config(SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'data.db'}"))
    with scratch.app_context():
        upgrade(directory=MIGRATIONS, revision=BEFORE_CHANNEL_CONNECTIONS)
        with db.engine.begin() as conn:
            for row in ROWS:
                conn.execute(text(row))
        upgrade(directory=MIGRATIONS)
        with db.engine.connect() as conn:
            counts = {t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar()
                      for t in ("channel", "conversation", "message", "template")}
            rule_template = conn.execute(text("SELECT template_id FROM automation_rule")).scalar()
            enforced = conn.execute(text("PRAGMA foreign_keys")).scalar()
        db.engine.dispose()
    assert counts == {"channel": 1, "conversation": 1, "message": 1, "template": 1}
    assert rule_template == 1
    assert enforced == 1  # enforcement is back on for the app's connections


def test_orders_refunded_before_partial_refunds_counted_had_all_of_their_total_refunded(tmp_path):
    from flask_migrate import upgrade

    from app import create_app
    from app.extensions import db

    scratch = create_app(make_config(SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'refunds.db'}"))
    with scratch.app_context():
        upgrade(directory=MIGRATIONS, revision="c5d8e1f3a902")
        with db.engine.begin() as conn:
            conn.execute(text(ROWS[0]))
            for n, status in ((1, "paid"), (2, "refunded")):
                conn.execute(text(
                    "INSERT INTO orders (id, tenant_id, number, status, currency, total_minor, created_at, updated_at)"
                    f" VALUES ({n}, 1, 'O-{n}', '{status}', 'INR', 5000, '2026-01-01', '2026-01-01')"))
        upgrade(directory=MIGRATIONS)
        with db.engine.connect() as conn:
            rows = dict(conn.execute(text("SELECT status, refunded_minor FROM orders")).all())
        db.engine.dispose()
    assert rows == {"paid": 0, "refunded": 5000}
