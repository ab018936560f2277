"""The workflows migration keeps old rules working: first_message becomes new_conversation,
and back again on downgrade; the new values are accepted only after the upgrade."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import IntegrityError

from tests.conftest import make_config

MIGRATIONS = str(Path(__file__).resolve().parent.parent / "migrations")
_SOURCE = (Path(MIGRATIONS) / "versions" / "cea945b5c010_workflows.py").read_text()
BEFORE = re.search(r"^down_revision = '(\w+)'", _SOURCE, re.M).group(1)  # whatever it follows
RULE = ("INSERT INTO automation_rule (id, tenant_id, name, \"trigger\", action, priority, active) "
        "VALUES (:id, 1, :name, :trigger, :action, 1, :active)")


def test_first_message_rules_become_new_conversation_rules(tmp_path):
    from flask_migrate import downgrade, upgrade

    from app import create_app

    url = f"sqlite:///{tmp_path / 'wf.db'}"
    scratch = create_app(make_config(SQLALCHEMY_DATABASE_URI=url))
    engine = create_engine(url)
    with scratch.app_context():
        upgrade(directory=MIGRATIONS, revision=BEFORE)
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO tenant (id, name, slug, currency, timezone, active, order_seq, "
                              "content_stamp, created_at) VALUES (1, 'T', 't', 'INR', 'Asia/Kolkata', 1, 0, "
                              "'x', '2026-01-01')"))
            conn.execute(text(RULE), dict(id=1, name="Welcome", trigger="first_message", action="reply", active=1))
            with pytest.raises(IntegrityError):  # the old schema refuses the new values
                conn.execute(text(RULE), dict(id=2, name="New", trigger="order_paid", action="reply", active=1))
        upgrade(directory=MIGRATIONS)
        with engine.begin() as conn:
            assert conn.execute(text('SELECT "trigger" FROM automation_rule WHERE id = 1')).scalar() == "new_conversation"
            conn.execute(text(RULE), dict(id=3, name="Paid", trigger="order_paid", action="follow_up", active=1))
            with pytest.raises(IntegrityError):
                conn.execute(text(RULE), dict(id=4, name="Bad", trigger="first_message", action="reply", active=1))
        downgrade(directory=MIGRATIONS, revision=BEFORE)
        with engine.begin() as conn:
            rows = conn.execute(text('SELECT id, "trigger" FROM automation_rule ORDER BY id')).all()
        assert rows == [(1, "first_message")]  # the rule the old schema can't express is gone
    engine.dispose()
