"""The inbox migration keeps every row: on SQLite, a batch operation that rebuilds a table
drops the old one, and `ON DELETE CASCADE` would take the rows that point at it along."""
from __future__ import annotations

from pathlib import Path

from alembic.script import ScriptDirectory
from sqlalchemy import text

from tests.conftest import make_config

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"
INBOX = "e4a7c2b9d310"


def test_inbox_migration_keeps_tenants_conversations_and_messages(tmp_path):
    from flask_migrate import upgrade

    from app import create_app
    from app.extensions import db

    before = ScriptDirectory.from_config(_config()).get_revision(INBOX).down_revision
    scratch = create_app(make_config(SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'data.db'}"))
    with scratch.app_context():
        upgrade(directory=str(MIGRATIONS), revision=before)
        with db.engine.begin() as conn:
            conn.execute(text("INSERT INTO tenant (id, name, slug, currency, timezone, active, order_seq, "
                              "content_stamp, created_at) VALUES (1, 'T', 't', 'INR', 'Asia/Kolkata', 1, 0, "
                              "'x', '2026-01-01')"))
            conn.execute(text("INSERT INTO channel (id, tenant_id, name, platform, external_id, status, "
                              "created_at) VALUES (1, 1, 'c', 'messenger', 'p', 'active', '2026-01-01')"))
            conn.execute(text("INSERT INTO customer (id, tenant_id, platform, external_id, opted_out, "
                              "first_seen_at, last_seen_at) VALUES (1, 1, 'messenger', 'x', 0, '2026-01-01', "
                              "'2026-01-01')"))
            conn.execute(text("INSERT INTO conversation (id, tenant_id, channel_id, customer_id, status, mode, "
                              "lead_score, created_at) VALUES (1, 1, 1, 1, 'open', 'human', 0, '2026-01-01')"))
            conn.execute(text("INSERT INTO message (id, tenant_id, conversation_id, channel_id, direction, "
                              "sender, kind, status, created_at) VALUES (1, 1, 1, 1, 'in', 'customer', 'text', "
                              "'received', '2026-01-01')"))
        upgrade(directory=str(MIGRATIONS), revision=INBOX)
        with db.engine.begin() as conn:
            assert conn.execute(text("SELECT id, mode, takeover_seq, paused_until FROM conversation")).all() == [
                (1, "human", 0, None)]
            assert conn.execute(text("SELECT count(*) FROM message")).scalar() == 1
            assert conn.execute(text("SELECT count(*) FROM channel")).scalar() == 1
            assert conn.execute(text("SELECT human_pause_minutes, ai_disclosure FROM tenant")).all() == [(30, 0)]
        db.engine.dispose()


def _config():
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg
