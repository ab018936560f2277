"""The first-response facts stored on each conversation (first inbound message, first reply,
the customer's return) follow its messages however they arrive: through the webhook, late and
out of order, as replies are sent, fail or get read, when a message goes; the migration fills
them in for existing rows; two transactions writing one conversation at once leave them right.
The analytics cohort reads them, so the figures follow too."""
from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import event, select, text

from app import analytics
from app.extensions import db
from app.models import Conversation, Customer, Message
from app.services import ingest
from tests import meta_payloads as mp
from tests.conftest import IS_POSTGRES, make_config, wait_for

PAGE = "page-A"
PSID = "psid-facts"
MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"
FACTS_REVISION = "b9e4d2a7c630"


def _conversation(psid: str = PSID) -> Conversation:
    db.session.expire_all()
    return db.session.scalar(select(Conversation).join(Customer, Customer.id == Conversation.customer_id)
                             .where(Customer.external_id == psid))


def _facts(conv: Conversation) -> tuple:
    row = db.session.execute(select(Conversation.first_inbound_at, Conversation.first_reply_at,
                                    Conversation.engaged_at).where(Conversation.id == conv.id)).one()
    return tuple(_utc(v) for v in row)


def _utc(value):
    if value is None:
        return None
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


def _at(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc)


def _text(mid: str, ms: int, body: str = "hi") -> dict:
    item = mp.text(PSID, PAGE, mid, body)
    item["timestamp"] = ms
    return item


def _echo(mid: str, ms: int) -> dict:
    item = mp.echo(PSID, PAGE, mid, "Yes, in stock", app_id="777")  # a person, from Business Suite
    item["timestamp"] = ms
    return item


def _summary(world, conv: Conversation) -> dict:
    day = _utc(conv.created_at).date()
    return analytics.summary(analytics.Filters(tenant_id=world.a.tenant_id, start=day - timedelta(days=1),
                                               end=day + timedelta(days=1)))


def test_webhook_messages_late_and_out_of_order_keep_the_facts_and_the_figures(app, world, post_meta):
    now = mp.now_ms()
    first, reply, again = now - 600_000, now - 540_000, now - 300_000
    post_meta(mp.messenger(PAGE, _text("m_f1", first)))
    with app.app_context():
        conv = _conversation()
        assert _facts(conv) == (_at(first), None, None)

    post_meta(mp.messenger(PAGE, _echo("m_f_echo", reply)))
    with app.app_context():
        assert _facts(_conversation()) == (_at(first), _at(reply), None)
        assert _summary(world, _conversation())["median_first_response_seconds"] == 60.0

    post_meta(mp.messenger(PAGE, _text("m_f2", again)))
    with app.app_context():
        assert _facts(_conversation()) == (_at(first), _at(reply), _at(again))

    # Meta re-delivers a message the customer wrote before all of these (an outage's backlog):
    # the conversation's first message moves earlier, and with it the first-response time.
    earliest = now - 900_000
    assert post_meta(mp.messenger(PAGE, _text("m_f0", earliest))).stored == 1
    with app.app_context():
        conv = _conversation()
        assert _facts(conv) == (_at(earliest), _at(reply), _at(again))
        s = _summary(world, conv)
        assert s["median_first_response_seconds"] == 360.0
        assert s["response_rate"] == 1.0

    # The same delivery again changes nothing (stored once, facts as they were).
    assert post_meta(mp.messenger(PAGE, _text("m_f0", earliest))).duplicates == 1
    with app.app_context():
        assert _facts(_conversation()) == (_at(earliest), _at(reply), _at(again))


def _statements():
    """UPDATE statements on conversation, collected by the returned listener."""
    seen = []

    def grab(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("UPDATE CONVERSATION"):
            seen.append(statement)

    return seen, grab


def test_reply_status_moves_the_facts_only_when_it_crosses_sent(app, world):
    t0 = datetime(2026, 11, 10, 4, 0, tzinfo=timezone.utc)
    with app.app_context():
        conv = db.session.get(Conversation, world.a["conversation"])
        base = dict(tenant_id=conv.tenant_id, conversation_id=conv.id, channel_id=conv.channel_id)
        for m in db.session.scalars(select(Message).where(Message.conversation_id == conv.id)):
            db.session.delete(m)
        db.session.add(Message(**base, direction="in", sender="customer", status="received",
                               external_id="mid-s-in", created_at=t0))
        reply = Message(**base, direction="out", sender="ai", status="queued", created_at=t0 + timedelta(seconds=40))
        db.session.add(reply)
        db.session.add(Message(**base, direction="in", sender="customer", status="received",
                               external_id="mid-s-in2", created_at=t0 + timedelta(minutes=3)))
        db.session.commit()
        assert _facts(conv) == (t0, None, None)  # a queued reply has not reached anyone yet

        reply.status, reply.external_id = "sent", "mid-s-out"
        db.session.commit()
        assert _facts(conv) == (t0, t0 + timedelta(seconds=40), t0 + timedelta(minutes=3))

        seen, grab = _statements()
        event.listen(db.engine, "before_cursor_execute", grab)
        try:
            ingest.advance(reply, "delivered")
            db.session.commit()
            ingest.advance(reply, "read")
            db.session.commit()
        finally:
            event.remove(db.engine, "before_cursor_execute", grab)
        assert reply.status == "read" and seen == []  # read receipts recompute nothing
        assert _facts(conv) == (t0, t0 + timedelta(seconds=40), t0 + timedelta(minutes=3))

        late = Message(**base, direction="out", sender="agent", status="sent", external_id="mid-s-out2",
                       created_at=t0 + timedelta(minutes=5))
        db.session.add(late)
        db.session.commit()
        reply.status = "failed"  # the platform refused it after all: the person's reply is the first
        db.session.commit()
        assert _facts(conv) == (t0, t0 + timedelta(minutes=5), None)

        db.session.delete(late)
        db.session.commit()
        assert _facts(conv) == (t0, None, None)


def test_a_message_moved_to_another_conversation_recomputes_both(app, world):
    t0 = datetime(2026, 11, 10, 4, 0, tzinfo=timezone.utc)
    with app.app_context():
        one = db.session.get(Conversation, world.a["conversation"])
        other = Conversation(tenant_id=one.tenant_id, channel_id=one.channel_id, customer_id=one.customer_id)
        db.session.add(other)
        db.session.flush()
        msg = Message(tenant_id=one.tenant_id, conversation_id=one.id, channel_id=one.channel_id,
                      direction="in", sender="customer", status="received", external_id="mid-move",
                      created_at=t0 - timedelta(days=30))
        db.session.add(msg)
        db.session.commit()
        assert _facts(one)[0] == t0 - timedelta(days=30)
        msg.conversation_id = other.id
        db.session.commit()
        assert _facts(other)[0] == t0 - timedelta(days=30)
        assert _facts(one)[0] != t0 - timedelta(days=30)


def test_the_migration_fills_the_facts_in_and_keeps_every_message(tmp_path):
    from flask_migrate import upgrade

    from app import create_app

    from alembic.config import Config
    from alembic.script import ScriptDirectory

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    before = ScriptDirectory.from_config(cfg).get_revision(FACTS_REVISION).down_revision
    scratch = create_app(make_config(SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'facts.db'}"))
    with scratch.app_context():
        upgrade(directory=str(MIGRATIONS), revision=before)
        with db.engine.begin() as conn:
            conn.execute(text("INSERT INTO tenant (id, name, slug, currency, timezone, active, order_seq, "
                              "content_stamp, created_at, human_pause_minutes, ai_disclosure) VALUES "
                              "(1, 'T', 't', 'INR', 'Asia/Kolkata', 1, 0, 'x', '2026-01-01', 30, 0)"))
            conn.execute(text("INSERT INTO channel (id, tenant_id, name, platform, external_id, status, "
                              "created_at) VALUES (1, 1, 'c', 'messenger', 'p', 'active', '2026-01-01')"))
            conn.execute(text("INSERT INTO customer (id, tenant_id, platform, external_id, opted_out, "
                              "first_seen_at, last_seen_at) VALUES (1, 1, 'messenger', 'x', 0, '2026-01-01', "
                              "'2026-01-01')"))
            for cid in (1, 2):
                conn.execute(text("INSERT INTO conversation (id, tenant_id, channel_id, customer_id, status, "
                                  "mode, lead_score, takeover_seq, created_at) VALUES "
                                  f"({cid}, 1, 1, 1, 'open', 'ai', 0, 0, '2026-01-01 10:00:00')"))
            rows = [(1, 1, "out", "ai", "sent", "09:59:00"),      # before the customer wrote: no reply
                    (2, 1, "in", "customer", "received", "10:00:00"),
                    (3, 1, "out", "ai", "failed", "10:00:10"),
                    (4, 1, "out", "agent", "read", "10:01:00"),
                    (5, 1, "in", "customer", "received", "10:02:00"),
                    (6, 2, "in", "customer", "received", "11:00:00")]
            for mid, cid, direction, sender, status, hhmm in rows:
                conn.execute(text(
                    "INSERT INTO message (id, tenant_id, conversation_id, channel_id, direction, sender, kind, "
                    f"status, created_at) VALUES ({mid}, 1, {cid}, 1, '{direction}', '{sender}', 'text', "
                    f"'{status}', '2026-01-01 {hhmm}')"))
        upgrade(directory=str(MIGRATIONS))
        with db.engine.begin() as conn:
            facts = conn.execute(text("SELECT id, first_inbound_at, first_reply_at, engaged_at FROM conversation "
                                      "ORDER BY id")).all()
            assert [(r[0], *(str(v)[:19] if v else None for v in r[1:])) for r in facts] == [
                (1, "2026-01-01 10:00:00", "2026-01-01 10:01:00", "2026-01-01 10:02:00"),
                (2, "2026-01-01 11:00:00", None, None)]
            assert conn.execute(text("SELECT count(*) FROM message")).scalar() == 6
        db.engine.dispose()


@pytest.mark.skipif(not IS_POSTGRES, reason="row locks: PostgreSQL only")
def test_two_transactions_writing_one_conversation_at_once(app, world):
    """A holds the conversation (its inbound message flushed, not committed) while B flushes a
    reply: B waits for A, then computes from A's committed message, so the reply counts."""
    t0 = datetime(2026, 11, 10, 4, 0, tzinfo=timezone.utc)
    with app.app_context():
        conv = db.session.get(Conversation, world.a["conversation"])
        ids = dict(tenant_id=conv.tenant_id, conversation_id=conv.id, channel_id=conv.channel_id)
        for m in db.session.scalars(select(Message).where(Message.conversation_id == conv.id)):
            db.session.delete(m)
        db.session.commit()
        conv_id = conv.id

    errors = []

    def writer_b():
        try:
            with app.app_context():
                db.session.add(Message(**ids, direction="out", sender="agent", status="sent",
                                       external_id="mid-b", created_at=t0 + timedelta(seconds=30)))
                db.session.commit()
        except Exception as exc:  # surfaced by the assertion below
            errors.append(exc)

    with app.app_context():
        db.session.add(Message(**ids, direction="in", sender="customer", status="received",
                               external_id="mid-a", created_at=t0))
        db.session.flush()  # A now holds the conversation row
        b = threading.Thread(target=writer_b)
        b.start()
        probe = db.engine.connect()
        try:
            wait_for(lambda: probe.execute(text(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                "AND datname = current_database()")).scalar() > 0, 10, "B to wait for A's lock")
        finally:
            probe.close()
        db.session.commit()
        b.join(10)
    assert not errors
    with app.app_context():
        conv = db.session.get(Conversation, conv_id)
        assert _facts(conv) == (t0, t0 + timedelta(seconds=30), None)
