"""The inbox: list filters, unread counts and polling, replies inside and outside the window
per platform (Graph faked at HTTP), templates, notes, tags, canned replies, roles, isolation."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import (
    BusinessProfile,
    Channel,
    Conversation,
    ConversationMode,
    ConversationStatus,
    Customer,
    Direction,
    Message,
    MessageStatus,
    Platform,
    Sender,
    Template,
    TemplateStatus,
    TargetPlatform,
    utcnow,
)
from app.models.inbox import CannedReply, ConversationNote

_channels: dict = {}


def make_conv(app, tenant_id, platform, ext, inbound_age=timedelta(minutes=5), **fields):
    """A conversation with one inbound message `inbound_age` ago; returns its id."""
    with app.app_context():
        channel = db.session.scalar(select(Channel).where(
            Channel.tenant_id == tenant_id, Channel.platform == platform))
        if channel is None:
            channel = Channel(tenant_id=tenant_id, platform=platform, external_id=f"{platform}-{tenant_id}",
                              name=f"{platform} channel", access_token="tok")
            db.session.add(channel)
            db.session.flush()
        customer = Customer(tenant_id=tenant_id, platform=platform, external_id=ext,
                            name=fields.pop("name", f"Name {ext}"), tags=fields.pop("tags", None))
        db.session.add(customer)
        db.session.flush()
        at = utcnow() - inbound_age
        conv = Conversation(tenant_id=tenant_id, channel_id=channel.id, customer_id=customer.id,
                            last_inbound_at=at, last_message_at=at, **fields)
        db.session.add(conv)
        db.session.flush()
        db.session.add(Message(tenant_id=tenant_id, conversation_id=conv.id, channel_id=channel.id,
                               direction=Direction.IN, sender=Sender.CUSTOMER, text=f"hello from {ext}",
                               external_id=f"in-{ext}", created_at=at, handled_at=at))
        db.session.commit()
        conv_id = conv.id
        db.session.remove()
        return conv_id


def ids(resp):
    assert resp.status_code == 200, resp.get_data(as_text=True)
    return [c["id"] for c in resp.json["conversations"]]


# ------------------------------------------------------------------ list, filters, unread, polling


def test_list_filters_sorting_and_unread(world, app, browser):
    t = world.a.tenant_id
    wa = make_conv(app, t, Platform.WHATSAPP, "91999", inbound_age=timedelta(minutes=1), tags="vip, wholesale")
    closed = make_conv(app, t, Platform.MESSENGER, "psid-closed", inbound_age=timedelta(hours=2),
                       status=ConversationStatus.CLOSED)
    human = make_conv(app, t, Platform.INSTAGRAM, "ig-human", inbound_age=timedelta(minutes=3),
                      mode=ConversationMode.HUMAN, campaign_id=world.a["campaign"])
    paused = make_conv(app, t, Platform.MESSENGER, "psid-paused", inbound_age=timedelta(minutes=2),
                       paused_until=utcnow() + timedelta(minutes=20),
                       last_staff_at=utcnow() - timedelta(minutes=1))  # a person already answered
    staff = browser("staff_a")
    with app.app_context():
        staff_id = db.session.scalar(select(Conversation.id).where(Conversation.id == human))
        from flask_appbuilder.security.sqla.models import User
        staff_user = db.session.scalar(select(User.id).where(User.username == "staff_a"))
        db.session.get(Conversation, paused).assignee_id = staff_user
        db.session.commit()
        db.session.remove()
    assert staff_id == human
    everything = ids(staff.get("/inbox/conversations.json"))
    assert everything[:4] == [world.a["conversation"], wa, paused, human]  # newest activity first
    assert set(everything) == {wa, closed, human, paused, world.a["conversation"]}
    assert set(ids(staff.get("/inbox/conversations.json?status=open"))) == {wa, human, paused, world.a["conversation"]}
    assert ids(staff.get("/inbox/conversations.json?status=closed")) == [closed]
    assert ids(staff.get("/inbox/conversations.json?platform=whatsapp")) == [wa]
    assert ids(staff.get(f"/inbox/conversations.json?campaign_id={world.a['campaign']}")) == [world.a["conversation"], human]
    assert ids(staff.get("/inbox/conversations.json?assignee=me")) == [paused]
    assert ids(staff.get(f"/inbox/conversations.json?assignee={staff_user}")) == [paused]
    assert paused not in ids(staff.get("/inbox/conversations.json?assignee=none"))
    assert ids(staff.get("/inbox/conversations.json?tag=VIP")) == [wa]
    assert ids(staff.get("/inbox/conversations.json?tag=wholesale")) == [wa]
    assert ids(staff.get("/inbox/conversations.json?tag=whole")) == []  # whole tags only
    assert ids(staff.get("/inbox/conversations.json?tag=%25")) == []  # LIKE wildcards are literal
    # needs a person: human mode and the customer spoke last (the paused one was answered)
    assert ids(staff.get("/inbox/conversations.json?needs_human=1")) == [human]
    rows = {c["id"]: c for c in staff.get("/inbox/conversations.json").json["conversations"]}
    assert rows[wa]["unread"] == 1 and rows[wa]["tags"] == ["vip", "wholesale"]
    assert rows[wa]["preview"] == "hello from 91999" and rows[paused]["paused_until"]
    # opening the conversation marks it read
    staff.get(f"/inbox/c/{wa}")
    rows = {c["id"]: c for c in staff.get("/inbox/conversations.json").json["conversations"]}
    assert rows[wa]["unread"] == 0


@pytest.mark.parametrize("query, problem", [
    ("status=archived", "status must be one of"), ("platform=telegram", "platform must be one of"),
    ("campaign_id=abc", "campaign_id must be a number"), ("assignee=bob", "assignee must be"),
    # digits that are no id: past the 32-bit id columns, or not ASCII (int() can't read "³")
    ("campaign_id=99999999999999999999", "campaign_id must be a number"), ("campaign_id=%C2%B3", "campaign_id must be"),
    ("assignee=2147483648", "assignee must be"), ("assignee=%C2%B3", "assignee must be"),
])
def test_bad_filters_are_a_clear_400(world, browser, query, problem):
    resp = browser("owner_a").get(f"/inbox/conversations.json?{query}")
    assert resp.status_code == 400 and problem in resp.json["error"]


def test_polling_after_an_id_past_any_message_is_empty_not_an_error(world, browser):
    resp = browser("staff_a").get(f"/inbox/c/{world.a['conversation']}/messages.json?after=99999999999999999999")
    assert resp.status_code == 200 and resp.json["messages"] == []


def test_another_tenants_campaign_in_the_filter_is_empty(world, browser):
    assert ids(browser("owner_a").get(f"/inbox/conversations.json?campaign_id={world.b['campaign']}")) == []


def test_polling_returns_new_messages_ticks_and_payment_state(world, app, browser):
    conv = world.a["conversation"]
    staff = browser("staff_a")
    first = staff.get(f"/inbox/c/{conv}/messages.json").json
    assert [m["text"] for m in first["messages"]] == ["Msg-A"]
    assert first["orders"][0]["status"] == "pending_payment" and first["state"]["mode"] == "ai"
    last = first["messages"][-1]["id"]
    assert staff.get(f"/inbox/c/{conv}/messages.json?after={last}").json["messages"] == []
    with app.app_context():
        c = db.session.get(Conversation, conv)
        out = Message(tenant_id=c.tenant_id, conversation_id=conv, channel_id=c.channel_id,
                      direction=Direction.OUT, sender=Sender.AI, text="Hi!", status=MessageStatus.SENT,
                      created_at=utcnow(), payload={"raw": {"message": {"attachments": [
                          {"type": "image", "payload": {"url": "https://scontent.xx.fbcdn.net/v/a.jpg"}},
                          {"type": "file", "payload": {"url": "javascript:alert(1)"}}]}}})
        db.session.add(out)
        db.session.commit()
        out_id = out.id
        db.session.remove()
    later = staff.get(f"/inbox/c/{conv}/messages.json?after={last}").json
    assert [m["id"] for m in later["messages"]] == [out_id]
    assert later["messages"][0]["attachments"] == [
        {"type": "image", "url": "https://scontent.xx.fbcdn.net/v/a.jpg", "inline": True, "download": False},
        {"type": "file", "url": None, "inline": False, "download": False}]
    assert later["statuses"][str(out_id)]["status"] == "sent"
    with app.app_context():
        db.session.get(Message, out_id).status = MessageStatus.READ
        db.session.commit()
        db.session.remove()
    assert staff.get(f"/inbox/c/{conv}/messages.json?after={out_id}").json["statuses"][str(out_id)]["status"] == "read"


# ------------------------------------------------------------------ replies per platform and window


def reply(client, conv, text):
    return client.post(f"/inbox/c/{conv}/reply", data={"text": text}, token_from=f"/inbox/c/{conv}")


def stored(app, conv):
    with app.app_context():
        rows = [(m.sender, m.kind, m.text, m.status, m.author_id is not None, m.payload)
                for m in db.session.scalars(select(Message).where(
                    Message.conversation_id == conv, Message.direction == Direction.OUT).order_by(Message.id))]
        db.session.remove()
        return rows


@pytest.mark.parametrize("platform", [Platform.MESSENGER, Platform.INSTAGRAM])
def test_messenger_and_instagram_replies_inside_and_outside_the_window(world, app, browser, graph, run_jobs, platform):
    staff = browser("staff_a")
    inside = make_conv(app, world.a.tenant_id, platform, f"{platform}-in")
    reply(staff, inside, "inside the window")
    run_jobs()
    assert graph.sends()[-1]["messaging_type"] == "RESPONSE" and "tag" not in graph.sends()[-1]
    days = make_conv(app, world.a.tenant_id, platform, f"{platform}-3d", inbound_age=timedelta(days=3))
    page = staff.get(f"/inbox/c/{days}").get_data(as_text=True)
    assert "HUMAN_AGENT" in page and "Send reply" in page
    reply(staff, days, "sorry for the wait")
    run_jobs()
    sent = graph.sends()[-1]
    assert (sent["messaging_type"], sent["tag"], sent["message"]["text"]) == ("MESSAGE_TAG", "HUMAN_AGENT", "sorry for the wait")
    assert stored(app, days)[-1][0] == "agent" and stored(app, days)[-1][4]
    old = make_conv(app, world.a.tenant_id, platform, f"{platform}-8d", inbound_age=timedelta(days=8))
    resp = reply(staff, old, "too late")
    assert "More than 7 days" in staff.get(f"/inbox/c/{old}").get_data(as_text=True)
    assert resp.status_code == 302 and stored(app, old) == []
    assert len(graph.sends()) == 2


def approved_template(app, tenant_id, name="order_update", body="Hi {{1}}, order {{2}} is ready",
                      platform=TargetPlatform.WHATSAPP, status=TemplateStatus.APPROVED):
    with app.app_context():
        t = Template(tenant_id=tenant_id, name=name, platform=platform, language="en_US", body=body,
                     status=status, category="utility")
        db.session.add(t)
        db.session.commit()
        tid = t.id
        db.session.remove()
        return tid


def test_whatsapp_text_inside_the_window_and_only_a_template_outside(world, app, browser, graph, run_jobs):
    staff = browser("staff_a")
    inside = make_conv(app, world.a.tenant_id, Platform.WHATSAPP, "919800000001")
    reply(staff, inside, "Namaste!")
    run_jobs()
    assert graph.sends()[-1]["type"] == "text" and graph.sends()[-1]["text"]["body"] == "Namaste!"

    outside = make_conv(app, world.a.tenant_id, Platform.WHATSAPP, "919800000002", inbound_age=timedelta(hours=30))
    tid = approved_template(app, world.a.tenant_id)
    approved_template(app, world.a.tenant_id, name="draft_one", status=TemplateStatus.DRAFT)
    page = staff.get(f"/inbox/c/{outside}").get_data(as_text=True)
    assert 'id="template-form"' in page and "order_update" in page and "draft_one" not in page
    assert 'id="reply-form"' not in page
    reply(staff, outside, "free text")
    assert stored(app, outside) == []
    path = f"/inbox/c/{outside}/template"
    staff.post(path, data={"template_id": tid, "var": ["Asha"]}, token_from=f"/inbox/c/{outside}")
    assert stored(app, outside) == []  # one value missing: nothing queued
    assert "needs 2 value(s)" in staff.get(f"/inbox/c/{outside}").get_data(as_text=True)
    staff.post(path, data={"template_id": tid, "var": ["Asha", "ORD-1001"]}, token_from=f"/inbox/c/{outside}")
    run_jobs()
    sent = graph.sends()[-1]
    assert sent["type"] == "template" and sent["to"] == "919800000002"
    assert sent["template"] == {"name": "order_update", "language": {"code": "en_US"}, "components": [
        {"type": "body", "parameters": [{"type": "text", "text": "Asha"}, {"type": "text", "text": "ORD-1001"}]}]}
    sender, kind, text, status, authored, _ = stored(app, outside)[-1]
    assert (sender, kind, text, status, authored) == ("agent", "template", "Hi Asha, order ORD-1001 is ready",
                                                      MessageStatus.SENT, True)


def test_another_tenants_template_is_refused(world, app, browser, graph, run_jobs):
    outside = make_conv(app, world.a.tenant_id, Platform.WHATSAPP, "919800000003", inbound_age=timedelta(days=2))
    approved_template(app, world.a.tenant_id, name="mine", body="Hello")
    theirs = approved_template(app, world.b.tenant_id, name="theirs", body="Hello from B")
    staff = browser("staff_a")
    resp = staff.post(f"/inbox/c/{outside}/template", data={"template_id": theirs}, token_from=f"/inbox/c/{outside}")
    assert resp.status_code == 404 and "Hello from B" not in resp.get_data(as_text=True)
    draft = approved_template(app, world.a.tenant_id, name="not_yet", body="Hi", status=TemplateStatus.PENDING)
    resp = staff.post(f"/inbox/c/{outside}/template", data={"template_id": draft}, token_from=f"/inbox/c/{outside}")
    assert resp.status_code == 302 and "not approved" in staff.get(f"/inbox/c/{outside}").get_data(as_text=True)
    run_jobs()
    assert stored(app, outside) == [] and graph.sends() == []


# ------------------------------------------------------------------ notes, tags, assign, status, canned


def test_notes_tags_assignment_and_status(world, app, browser):
    conv = world.a["conversation"]
    owner = browser("owner_a")
    at = f"/inbox/c/{conv}"
    owner.post(f"{at}/note", data={"body": "Asked for COD, check with Ravi"}, token_from=at)
    owner.post(f"{at}/note", data={"body": "   "}, token_from=at)
    page = owner.get(at).get_data(as_text=True)
    assert "Asked for COD, check with Ravi" in page and "Write the note first" in page
    owner.post(f"{at}/tag", data={"tag": "vip"}, token_from=at)
    owner.post(f"{at}/tag", data={"tag": "VIP"}, token_from=at)  # no duplicate
    owner.post(f"{at}/tag", data={"tag": "<script>"}, token_from=at)
    with app.app_context():
        assert db.session.get(Customer, world.a["customer"]).tags == "vip"
        staff_id = db.session.scalar(select(Conversation.assignee_id).where(Conversation.id == conv))
        assert staff_id is None
        db.session.remove()
    assert "Tags are up to" in owner.get(at).get_data(as_text=True)
    owner.post(f"{at}/untag", data={"tag": "vip"}, token_from=at)
    team = owner.get("/inbox/").get_data(as_text=True)
    assert "staff_a" in team and "owner_b" not in team
    from flask_appbuilder.security.sqla.models import User
    with app.app_context():
        staff_a = db.session.scalar(select(User.id).where(User.username == "staff_a"))
        owner_b = db.session.scalar(select(User.id).where(User.username == "owner_b"))
        db.session.remove()
    owner.post(f"{at}/assign", data={"assignee_id": owner_b}, token_from=at)
    assert "not on this business" in owner.get(at).get_data(as_text=True)
    owner.post(f"{at}/assign", data={"assignee_id": staff_a}, token_from=at)
    owner.post(f"{at}/status", data={"action": "converted"}, token_from=at)
    with app.app_context():
        c = db.session.get(Conversation, conv)
        assert (c.assignee_id, c.status, c.customer.tags) == (staff_a, ConversationStatus.CONVERTED, None)
        notes = db.session.scalars(select(ConversationNote).where(ConversationNote.author_id.is_not(None))).all()
        assert [(n.body, n.author.username) for n in notes] == [("Asked for COD, check with Ravi", "owner_a")]
        db.session.remove()
    owner.post(f"{at}/status", data={"action": "close"}, token_from=at)
    with app.app_context():
        assert db.session.get(Conversation, conv).status == ConversationStatus.CLOSED
        db.session.remove()


def test_canned_replies_fill_placeholders_and_refuse_unknown_ones(world, app, browser):
    owner = browser("owner_a")
    add = "/cannedreplyview/add"
    bad = owner.post(add, data={"shortcut": "oops", "body": "Hi {nickname}"}, token_from=add)
    assert bad.status_code == 200 and "Unknown placeholder {nickname}" in bad.get_data(as_text=True)
    ok = owner.post(add, data={"shortcut": "price", "body": "Hi {first_name}, {product:SKU-A} is {price:SKU-A}. "
                                                         "Order {order_number}: {order_total}. {price:SKU-B}."},
                    token_from=add)
    assert ok.status_code == 302
    with app.app_context():
        cid = db.session.scalar(select(CannedReply.id).where(CannedReply.shortcut == "price"))
        db.session.remove()
    conv = world.a["conversation"]
    with app.app_context():
        db.session.get(Conversation, conv).last_inbound_at = utcnow()  # the reply box is open
        db.session.commit()
        db.session.remove()
    page = owner.get(f"/inbox/c/{conv}").get_data(as_text=True)
    assert 'canned-insert" data-id="%d"' % cid in page and ">price</button>" in page
    text = owner.get(f"/inbox/c/{conv}/canned/{cid}").json["text"]
    # another tenant's SKU fills nothing: it isn't this business's product
    assert text == "Hi Cust-A, Prod-A is ₹799.00. Order ORD-1001: ₹799.00. ."
    assert browser("owner_b").get(f"/inbox/c/{world.b['conversation']}/canned/{cid}").status_code == 404


def test_canned_business_name_is_the_one_customers_know(world, app, browser):
    """The profile's name (what the AI calls the business), not the name given at sign-up."""
    with app.app_context():
        t = world.a.tenant_id
        db.session.scalar(select(BusinessProfile).where(BusinessProfile.tenant_id == t)).business_name = "Lotus Lamps"
        reply = CannedReply(tenant_id=t, shortcut="hello", body="Thanks for writing to {business_name}!")
        db.session.add(reply)
        db.session.commit()
        cid = reply.id
        db.session.remove()
    text = browser("staff_a").get(f"/inbox/c/{world.a['conversation']}/canned/{cid}").json["text"]
    assert text == "Thanks for writing to Lotus Lamps!"


# ------------------------------------------------------------------ roles and isolation


@pytest.mark.parametrize("user", ["owner_a", "staff_a", "agency", "admin"])
def test_every_role_has_the_inbox(world, browser, user):
    client = browser(user)
    page = client.get("/inbox/")
    assert page.status_code == 200 and 'id="inbox-list"' in page.get_data(as_text=True)
    assert 'src="/static/closer/inbox.js"' in page.get_data(as_text=True)
    assert client.get("/inbox/conversations.json").status_code == 200


def test_anonymous_gets_the_login_page(world, app):
    client = app.test_client()
    for path in ("/inbox/", "/inbox/conversations.json", f"/inbox/c/{world.a['conversation']}"):
        resp = client.get(path)
        assert resp.status_code == 302 and "/login" in resp.headers["Location"]


def test_another_tenants_ids_are_404_everywhere(world, app, browser, graph, run_jobs):
    theirs = world.b["conversation"]
    owner = browser("owner_a")
    for path in (f"/inbox/c/{theirs}", f"/inbox/c/{theirs}/messages.json", "/inbox/c/abc"):
        assert owner.get(path).status_code == 404, path
    token = owner.csrf(f"/inbox/c/{world.a['conversation']}")
    for action, data in (("reply", {"text": "hi"}), ("template", {"template_id": world.b["template"]}),
                         ("takeover", {}), ("handback", {}), ("resume", {}), ("assign", {"assignee_id": ""}),
                         ("status", {"action": "close"}), ("note", {"body": "x"}), ("tag", {"tag": "x"}),
                         ("untag", {"tag": "x"})):
        resp = owner.client.post(f"/inbox/c/{theirs}/{action}", data={**data, "csrf_token": token})
        assert resp.status_code == 404, action
    with app.app_context():
        note = ConversationNote(tenant_id=world.b.tenant_id, conversation_id=theirs, body="B's secret")
        reply_b = CannedReply(tenant_id=world.b.tenant_id, shortcut="b", body="B canned")
        db.session.add_all([note, reply_b])
        db.session.commit()
        note_id, canned_id = note.id, reply_b.id
        c = db.session.get(Conversation, theirs)
        assert (c.mode, c.status, c.customer.tags) == (ConversationMode.AI, ConversationStatus.OPEN, None)
        db.session.remove()
    assert owner.get(f"/conversationnoteview/show/{note_id}").status_code == 404
    assert "B&#39;s secret" not in owner.get("/conversationnoteview/list/").get_data(as_text=True)
    assert owner.get(f"/cannedreplyview/show/{canned_id}").status_code == 404
    assert owner.get(f"/inbox/c/{world.a['conversation']}/canned/{canned_id}").status_code == 404
    listed = owner.get("/inbox/conversations.json").get_data(as_text=True)
    assert "Cust-B" not in listed and "Msg-B" not in listed
    run_jobs()
    assert graph.sends() == []


def test_csrf_is_required_on_inbox_actions(world, browser):
    owner = browser("owner_a")
    resp = owner.client.post(f"/inbox/c/{world.a['conversation']}/takeover")
    assert resp.status_code == 400


def test_the_old_conversation_pages_link_to_the_inbox(world, browser):
    staff, conv, other = browser("staff_a"), world.a["conversation"], world.b["conversation"]
    show = staff.get(f"/conversationview/show/{conv}").get_data(as_text=True)
    link = show[show.index('id="open-in-inbox"'):][:200]
    assert f'href="/inbox/c/{conv}"' in link and "Open in inbox" in link
    listing = staff.get("/conversationview/list/").get_data(as_text=True)
    assert listing.count('class="btn btn-xs btn-primary open-in-inbox"') == 1  # one row, its button
    assert f'href="/inbox/c/{conv}"' in listing and f'href="/inbox/c/{other}"' not in listing
    assert staff.get(f"/inbox/c/{conv}").status_code == 200
    assert browser("owner_b").get(f"/conversationview/show/{conv}").status_code == 404
