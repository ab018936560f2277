"""Sending: the 24-hour window, error classes, retries, human mode, opt-out, the sweep."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
import responses
from sqlalchemy import select

from app.extensions import db
from app.models import (
    Channel, ChannelStatus, Conversation, ConversationMode, Customer, Message, MessageStatus,
    Platform, Sender, utcnow,
)
from app.services import outbound
from tests import meta_payloads as mp

PAGE = "page-A"
SEND_URL = re.compile(r"http://graph\.test/v25\.0/.+/messages")


def conversation_id(app, psid):
    with app.app_context():
        cid = db.session.scalar(select(Conversation.id).join(Customer).where(Customer.external_id == psid))
        db.session.remove()
        return cid


def last_out(app, conv_id):
    with app.app_context():
        m = db.session.scalars(select(Message).where(Message.conversation_id == conv_id,
                                                     Message.direction == "out").order_by(Message.id.desc())).first()
        out = (m.status, m.error, m.external_id, m.sender) if m else None
        db.session.remove()
        return out


def queue_agent_reply(app, conv_id, text, inbound_age: timedelta, sender=Sender.AGENT, kind="text"):
    with app.app_context():
        conv = db.session.get(Conversation, conv_id)
        conv.last_inbound_at = utcnow() - inbound_age
        msg = outbound.queue_message(conv, text, sender=sender, kind=kind,
                                     payload={"template": {"name": "order_update", "language": {"code": "en"}}}
                                     if kind == "template" else None)
        db.session.commit()
        ids = msg.id, conv.tenant_id
        db.session.remove()
        return ids


def deliver(app, message_id, tenant_id):
    with app.app_context():
        try:
            return outbound.deliver(message_id, tenant_id)
        finally:
            db.session.remove()


@pytest.fixture
def conv_a(world, app):
    return world.a["conversation"]


# ---------------------------------------------------------------- windows

def test_inside_window_ai_reply_is_sent(app, world, conv_a, graph):
    mid, tid = queue_agent_reply(app, conv_a, "hi", timedelta(hours=1), sender=Sender.AI)
    assert deliver(app, mid, tid) == "sent"
    assert graph.sends()[0]["messaging_type"] == "RESPONSE"


def test_outside_window_ai_reply_is_not_sent_and_says_why(app, world, conv_a, graph):
    mid, tid = queue_agent_reply(app, conv_a, "hi", timedelta(hours=25), sender=Sender.AI)
    assert deliver(app, mid, tid) == "failed"
    assert graph.sends() == []
    status, error, _, _ = last_out(app, conv_a)
    assert "24-hour" in error


def test_messenger_human_agent_tag_within_seven_days(app, world, conv_a, graph):
    mid, tid = queue_agent_reply(app, conv_a, "Sorry for the wait", timedelta(days=3))
    assert deliver(app, mid, tid) == "sent"
    sent = graph.sends()[0]
    assert sent["messaging_type"] == "MESSAGE_TAG" and sent["tag"] == "HUMAN_AGENT"
    mid, tid = queue_agent_reply(app, conv_a, "too late", timedelta(days=8))
    assert deliver(app, mid, tid) == "failed"
    assert len(graph.sends()) == 1


def test_whatsapp_outside_window_only_templates(app, world, graph):
    with app.app_context():
        ch = Channel(tenant_id=world.a.tenant_id, platform=Platform.WHATSAPP, external_id="pn-1",
                     name="WA", access_token="tok")
        cust = Customer(tenant_id=world.a.tenant_id, platform=Platform.WHATSAPP, external_id="9190000")
        db.session.add_all([ch, cust])
        db.session.flush()
        conv = Conversation(tenant_id=world.a.tenant_id, channel_id=ch.id, customer_id=cust.id)
        db.session.add(conv)
        db.session.commit()
        conv_id = conv.id
    mid, tid = queue_agent_reply(app, conv_id, "free text", timedelta(hours=30))
    assert deliver(app, mid, tid) == "failed"
    assert "template" in last_out(app, conv_id)[1]
    mid, tid = queue_agent_reply(app, conv_id, "", timedelta(hours=30), kind="template")
    assert deliver(app, mid, tid) == "sent"
    assert graph.sends()[0]["type"] == "template"


# ---------------------------------------------------------------- error classes

def _fail_sends(status, error):
    rsps = responses.RequestsMock(assert_all_requests_are_fired=False)
    rsps.add(responses.POST, SEND_URL, status=status, json={"error": error})
    return rsps


@pytest.mark.parametrize("status,error", [
    (500, {"message": "Internal", "code": 2}),
    (400, {"message": "Calls to this api have exceeded the rate limit.", "code": 613}),
    (400, {"message": "(#130429) Rate limit hit", "code": 130429}),
])
def test_rate_limits_and_5xx_are_retried(app, world, conv_a, status, error):
    from app.clients.graph import TransientGraphError

    mid, tid = queue_agent_reply(app, conv_a, "hi", timedelta(hours=1), sender=Sender.AI)
    with _fail_sends(status, error):
        with pytest.raises(TransientGraphError):
            deliver(app, mid, tid)
    assert last_out(app, conv_a)[0] == MessageStatus.QUEUED  # still waiting for the retry


def test_expired_token_marks_channel_error_and_stops(app, world, conv_a):
    mid, tid = queue_agent_reply(app, conv_a, "hi", timedelta(hours=1), sender=Sender.AI)
    with _fail_sends(400, {"message": "Error validating access token: Session has expired",
                           "type": "OAuthException", "code": 190, "error_subcode": 463}):
        assert deliver(app, mid, tid) == "failed"
    with app.app_context():
        ch = db.session.get(Channel, world.a["channel"])
        assert ch.status == ChannelStatus.ERROR and "Session has expired" in ch.last_error
    # later replies on that channel are not attempted until it's reconnected
    mid2, _ = queue_agent_reply(app, conv_a, "again", timedelta(hours=1), sender=Sender.AI)
    with responses.RequestsMock() as rsps:  # no HTTP call may happen
        assert deliver(app, mid2, tid) == "failed"
        assert len(rsps.calls) == 0


@pytest.mark.parametrize("error", [
    {"message": "This person isn't available right now.", "code": 551},
    {"message": "Message undeliverable", "code": 131026},
])
def test_unreachable_person_marks_message_failed(app, world, conv_a, error):
    mid, tid = queue_agent_reply(app, conv_a, "hi", timedelta(hours=1), sender=Sender.AI)
    with _fail_sends(400, error):
        assert deliver(app, mid, tid) == "failed"
    status, err, _, _ = last_out(app, conv_a)
    assert status == MessageStatus.FAILED and str(error["code"]) in err
    with app.app_context():
        assert db.session.get(Channel, world.a["channel"]).status == ChannelStatus.ACTIVE


def test_deliver_is_idempotent(app, world, conv_a, graph):
    mid, tid = queue_agent_reply(app, conv_a, "hi", timedelta(hours=1), sender=Sender.AI)
    assert deliver(app, mid, tid) == "sent"
    assert deliver(app, mid, tid) == "sent"
    assert len(graph.sends()) == 1
    assert deliver(app, mid, world.b.tenant_id) == "missing"  # another tenant's id: nothing


def test_transient_failure_in_reply_job_hands_over_to_retrying_send_job(app, world, post_meta, run_jobs):
    from rq.registry import ScheduledJobRegistry

    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        rsps.add(responses.POST, SEND_URL, status=503, json={"error": {"message": "down", "code": 2}})
        post_meta(mp.messenger(PAGE, mp.text("psid-retry", PAGE, "m_r1", "hi")))
        run_jobs()
    conv = conversation_id(app, "psid-retry")
    assert last_out(app, conv)[0] == MessageStatus.QUEUED
    scheduled = ScheduledJobRegistry(queue=app.extensions["job_queue"]).get_job_ids()
    assert any(j.startswith("send-") for j in scheduled)  # the send job's retry, after its backoff


def test_send_job_gives_up_after_last_retry(app, world, conv_a):
    from app.jobs.outbound import send_outbound

    mid, tid = queue_agent_reply(app, conv_a, "hi", timedelta(hours=1), sender=Sender.AI)
    with _fail_sends(500, {"message": "down", "code": 2}):
        with app.app_context():
            assert send_outbound(mid, tenant_id=tid) == "failed"  # no RQ job: last attempt
    status, error, _, _ = last_out(app, conv_a)
    assert status == MessageStatus.FAILED and "Gave up" in error


# ---------------------------------------------------------------- who answers

def test_human_mode_and_opted_out_get_no_automated_reply(app, world, post_meta, run_jobs, graph):
    post_meta(mp.messenger(PAGE, mp.text("psid-h", PAGE, "m_h1", "hi")))
    run_jobs()
    conv = conversation_id(app, "psid-h")
    with app.app_context():
        db.session.get(Conversation, conv).mode = ConversationMode.HUMAN
        db.session.commit()
    post_meta(mp.messenger(PAGE, mp.text("psid-h", PAGE, "m_h2", "anyone?")))
    run_jobs()
    assert len(graph.sends()) == 1
    with app.app_context():
        c = db.session.get(Conversation, conv)
        c.mode = ConversationMode.AI
        c.customer.opted_out = True
        db.session.commit()
        assert db.session.scalar(select(Message).filter_by(external_id="m_h2")).handled_at is not None
    post_meta(mp.messenger(PAGE, mp.text("psid-h", PAGE, "m_h3", "hello?")))
    run_jobs()
    assert len(graph.sends()) == 1


def test_stop_keyword_rule_opts_out_with_confirmation(app, world, post_meta, run_jobs, graph):
    post_meta(mp.messenger(PAGE, mp.text("psid-stop", PAGE, "m_s1", "STOP please")))
    run_jobs()
    sends = graph.sends()
    assert len(sends) == 1 and sends[0]["message"]["text"] == "Body-A"  # the rule's template
    with app.app_context():
        assert db.session.scalar(select(Customer).filter_by(external_id="psid-stop")).opted_out
    post_meta(mp.messenger(PAGE, mp.text("psid-stop", PAGE, "m_s2", "hello")))
    run_jobs()
    assert len(graph.sends()) == 1


# ---------------------------------------------------------------- nothing lost

def test_queue_down_during_webhook_then_sweep(app, world, post_meta, run_jobs, graph, monkeypatch):
    """Redis down: the webhook still stores and says 200; the sweep enqueues later."""
    def broken(*a, **k):
        raise ConnectionError("Redis is down")

    queue = app.extensions["job_queue"]
    monkeypatch.setattr(type(queue), "enqueue", broken)
    monkeypatch.setattr(type(queue), "enqueue_in", broken)
    resp = post_meta(mp.messenger(PAGE, mp.text("psid-down", PAGE, "m_d1", "hello?")), process=False)
    assert resp.status_code == 200  # stored durably, though nothing could be queued
    monkeypatch.undo()
    run_jobs()
    assert graph.sends() == []
    app.config["SWEEP_AFTER_SECONDS"] = 0
    try:
        result = app.test_cli_runner().invoke(args=["sweep"])
    finally:
        app.config["SWEEP_AFTER_SECONDS"] = 30
    assert result.output.startswith("re-queued 1 deliveries, 0 inbound"), result.output
    run_jobs()
    assert len(graph.sends()) == 1
    assert app.test_cli_runner().invoke(args=["sweep"]).output.startswith("re-queued 0 deliveries, 0 inbound")


def test_database_down_during_webhook_asks_meta_to_retry(world, post_meta):
    from app import create_app
    from tests.conftest import make_config

    down = create_app(make_config(SQLALCHEMY_DATABASE_URI="postgresql+psycopg://postgres@127.0.0.1:1/none",
                                  REDIS_URL=None))
    body = mp.encode(mp.messenger(PAGE, mp.text("psid-db", PAGE, "m_db", "hi")))
    resp = down.test_client().post("/webhooks/meta", data=body, headers={
        "X-Hub-Signature-256": mp.sign(body), "Content-Type": "application/json"})
    assert resp.status_code == 503
