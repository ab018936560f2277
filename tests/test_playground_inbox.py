"""The Playground loop and staff replies from the conversation page."""
from __future__ import annotations

import json

from sqlalchemy import select

from app.extensions import db
from app.models import Conversation, ConversationMode, Message, MessageStatus
from tests import meta_payloads as mp


def csrf_headers(client):
    return {"X-CSRFToken": client.csrf("/playground/"), "Content-Type": "application/json"}


def test_playground_round_trip_through_the_real_path(world, browser, run_jobs, app):
    staff = browser("staff_a")
    page = staff.get("/playground/")
    assert page.status_code == 200 and "pg-log" in page.get_data(as_text=True)
    resp = staff.client.post("/playground/send", data=json.dumps({"text": "Hi there"}),
                             headers=csrf_headers(staff))
    assert resp.status_code == 200, resp.get_data(as_text=True)
    run_jobs()
    msgs = staff.get("/playground/messages").json["messages"]
    assert [m["direction"] for m in msgs] == ["in", "out"]
    assert msgs[1]["text"] == "Hello from A" and msgs[1]["status"] == "sent"
    after = staff.get(f"/playground/messages?after={msgs[0]['id']}").json["messages"]
    assert [m["id"] for m in after] == [msgs[1]["id"]]
    # start over: a fresh conversation greets again
    staff.client.post("/playground/reset", headers=csrf_headers(staff))
    assert staff.get("/playground/messages").json["messages"] == []
    staff.client.post("/playground/send", data=json.dumps({"text": "again"}), headers=csrf_headers(staff))
    run_jobs()
    again = staff.get("/playground/messages").json["messages"]
    assert again[-1]["text"] == "Hello from A"


def test_playground_needs_csrf_and_text(world, browser):
    staff = browser("staff_a")
    assert staff.client.post("/playground/send", json={"text": "x"}).status_code == 400
    resp = staff.client.post("/playground/send", data=json.dumps({"text": "  "}), headers=csrf_headers(staff))
    assert resp.status_code == 400 and "Type a message" in resp.json["error"]


def test_playground_is_per_tenant(world, browser, run_jobs):
    a = browser("owner_a")
    a.client.post("/playground/send", data=json.dumps({"text": "secret A"}), headers=csrf_headers(a))
    run_jobs()
    b = browser("owner_b")
    assert b.get("/playground/messages").json["messages"] == []
    assert "secret A" not in b.get("/conversationview/list/").get_data(as_text=True)


def test_staff_reply_is_sent_by_a_job_and_takes_over(world, browser, run_jobs, graph, app, post_meta):
    post_meta(mp.messenger("page-A", mp.text("psid-s", "page-A", "m_s1", "hello")))
    run_jobs()
    with app.app_context():
        conv_id = db.session.scalar(select(Message.conversation_id).filter_by(external_id="m_s1"))
    staff = browser("staff_a")
    page = staff.get(f"/conversationview/show/{conv_id}").get_data(as_text=True)
    assert "hello" in page and "Hello from A" in page and "Send reply" in page
    resp = staff.post(f"/conversationview/reply/{conv_id}", data={"text": "Hi, this is Priya"},
                      token_from=f"/conversationview/show/{conv_id}")
    assert resp.status_code == 302
    run_jobs()
    sends = graph.sends()
    assert sends[-1]["message"]["text"] == "Hi, this is Priya"
    with app.app_context():
        conv = db.session.get(Conversation, conv_id)
        assert conv.mode == ConversationMode.HUMAN
        msg = db.session.scalar(select(Message).filter_by(text="Hi, this is Priya"))
        assert msg.sender == "agent" and msg.status == MessageStatus.SENT and msg.author.username == "staff_a"
    # the AI stays quiet now
    post_meta(mp.messenger("page-A", mp.text("psid-s", "page-A", "m_s2", "thanks!")))
    run_jobs()
    assert len(graph.sends()) == 2


def test_failed_reply_shows_why_on_the_conversation(world, browser, app):
    from datetime import timedelta

    from app.models import Sender, utcnow
    from app.services import outbound

    with app.app_context():
        conv = db.session.get(Conversation, world.a["conversation"])
        conv.last_inbound_at = utcnow() - timedelta(days=2)
        msg = outbound.queue_message(conv, "late answer", sender=Sender.AI)
        db.session.commit()
        outbound.deliver(msg.id, conv.tenant_id)
    html = browser("owner_a").get(f"/conversationview/show/{world.a['conversation']}").get_data(as_text=True)
    assert "Not sent: Outside the 24-hour messaging window" in html


def test_webhook_for_one_tenant_never_touches_another(world, app, post_meta, run_jobs, graph):
    """A delivery on tenant A's page naming tenant B's message ids changes nothing of B's."""
    with app.app_context():
        b_msg = db.session.scalar(select(Message).filter_by(external_id="mid-B"))
        b_before = (b_msg.text, b_msg.status, b_msg.deleted_at, b_msg.payload)
    wm = mp.now_ms(60)
    post_meta(mp.messenger("page-A",
        mp.delivery("psid-B", "page-A", ["mid-B"], wm),
        mp.reaction("psid-B", "page-A", "mid-B"),
        {"sender": {"id": "psid-B"}, "recipient": {"id": "page-A"}, "timestamp": mp.now_ms(),
         "message_edit": {"mid": "mid-B", "text": "HACKED", "num_edit": 1}},
        {"sender": {"id": "psid-B"}, "recipient": {"id": "page-A"}, "timestamp": mp.now_ms(),
         "message": {"mid": "mid-B", "is_deleted": True}},
    ))
    with app.app_context():
        b_msg = db.session.scalar(select(Message).filter_by(external_id="mid-B"))
        assert (b_msg.text, b_msg.status, b_msg.deleted_at, b_msg.payload) == b_before
    # and a customer id that exists in B becomes a separate customer of A
    post_meta(mp.messenger("page-A", mp.text("psid-B", "page-A", "m_new", "hi")))
    run_jobs()
    with app.app_context():
        from app.models import Customer

        rows = db.session.scalars(select(Customer).filter_by(external_id="psid-B")).all()
        assert sorted(c.tenant_id for c in rows) == sorted([world.a.tenant_id, world.b.tenant_id])


def test_jobs_refuse_another_tenants_ids(world, app):
    from app.services import replies

    with app.app_context():
        a_msg = db.session.scalar(select(Message.id).filter_by(external_id="mid-A"))
        assert replies.answer(a_msg, world.b.tenant_id) == "missing"
