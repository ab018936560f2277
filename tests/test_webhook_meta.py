"""/webhooks/meta: handshake, signatures, parsing every event kind, dedupe, the reply loop."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import (
    Channel, Conversation, Customer, Message, MessageStatus, Platform,
)
from tests import meta_payloads as mp

PAGE = "page-A"


def messages(app, **filters):
    with app.app_context():
        rows = db.session.scalars(select(Message).filter_by(**filters).order_by(Message.id)).all()
        out = [(r.direction, r.sender, r.kind, r.text, r.status, r.external_id) for r in rows]
        db.session.remove()
        return out


def add_channel(app, tenant_id, platform, external_id, name):
    with app.app_context():
        ch = Channel(tenant_id=tenant_id, platform=platform, external_id=external_id,
                     name=name, access_token=f"tok-{external_id}")
        db.session.add(ch)
        db.session.commit()
        return ch.id


# ------------------------------------------------------------------ handshake and signatures

def test_verification_handshake(app):
    client = app.test_client()
    ok = client.get("/webhooks/meta?hub.mode=subscribe&hub.challenge=CHALLENGE_ACCEPTED"
                    "&hub.verify_token=test_verify_token")
    assert ok.status_code == 200 and ok.get_data(as_text=True) == "CHALLENGE_ACCEPTED"
    bad = client.get("/webhooks/meta?hub.mode=subscribe&hub.challenge=x&hub.verify_token=nope")
    assert bad.status_code == 403
    assert client.get("/webhooks/meta?hub.mode=unsubscribe&hub.challenge=x"
                      "&hub.verify_token=test_verify_token").status_code == 403


def test_the_webhook_app_reads_the_admin_apps_settings_as_they_change(app, monkeypatch):
    client = app.test_client()
    url = "/webhooks/meta?hub.mode=subscribe&hub.challenge=7&hub.verify_token=rotated"
    assert client.get(url).status_code == 403
    monkeypatch.setitem(app.config, "META_VERIFY_TOKEN", "rotated")
    assert client.get(url).status_code == 200


def test_a_known_hmac_sha256_signature_is_accepted():
    from app.webhooks.signatures import meta_signature_valid

    body = b'{"object":"page","entry":[]}'
    assert meta_signature_valid("test_app_secret", body,
                                "sha256=5da47c9c7409e70d7a1851f0cfd9bc27786bd99587a9bf1dd5b51e23a2de03cf")


@pytest.mark.parametrize("signature", [None, "sha256=deadbeef", "sha1=eb935a8cb91fd3b72ab4cd92acd4498e6e688bb0"])
def test_unsigned_or_wrongly_signed_is_refused_and_nothing_stored(world, app, post_meta, signature):
    before = len(messages(app))
    payload = mp.messenger(PAGE, mp.text("psid-new", PAGE, "m_unsigned", "hi"))
    assert post_meta(payload, signature=signature).status_code == 403
    assert len(messages(app)) == before


def test_resigned_body_must_match_bytes(world, app, post_meta):
    payload = mp.messenger(PAGE, mp.text("psid-new", PAGE, "m_bytes", "h\u00e9llo"))
    body = mp.encode(payload)
    tampered = body.replace(b"h\\u00e9llo", b"hello")
    assert post_meta(None, signature=mp.sign(body), raw=tampered).status_code == 403


def test_csrf_exempt_and_size_limited(world, app, post_meta):
    huge = b'{"object":"page","entry":[' + b" " * (4 * 1024 * 1024) + b"]}"
    assert post_meta(None, raw=huge).status_code == 413


def test_malformed_json_and_unknown_objects_are_acknowledged(world, app, post_meta):
    assert post_meta(None, raw=b"{not json").status_code == 200
    assert post_meta({"object": "permissions", "entry": []}).status_code == 200
    assert post_meta({"object": "page", "entry": [{"id": PAGE, "messaging": [{"weird": 1}]}]}).status_code == 200


def test_unknown_account_is_acknowledged_and_dropped(world, app, post_meta):
    before = len(messages(app))
    resp = post_meta(mp.messenger("no-such-page", mp.text("p", "no-such-page", "m_x", "hi")))
    assert resp.status_code == 200 and len(messages(app)) == before


# ------------------------------------------------------------------ the loop, Messenger

def test_messenger_message_is_stored_answered_and_sent(world, app, post_meta, run_jobs, graph):
    resp = post_meta(mp.messenger(PAGE, mp.text("psid-new", PAGE, "m_1", "Hi, is the kurta in stock?")))
    assert resp.status_code == 200 and resp.stored == 1
    run_jobs()
    with app.app_context():
        customer = db.session.scalar(select(Customer).filter_by(external_id="psid-new"))
        conv = db.session.scalar(select(Conversation).filter_by(customer_id=customer.id))
        assert conv.campaign.name == "Camp-A" and conv.last_inbound_at is not None
        msgs = db.session.scalars(select(Message).filter_by(conversation_id=conv.id).order_by(Message.id)).all()
        assert [m.direction for m in msgs] == ["in", "out"]
        assert msgs[0].handled_at is not None
        reply = msgs[1]
        assert reply.text == "Hello from A" and reply.status == MessageStatus.SENT
        assert reply.external_id.startswith("m_out_") and reply.reply_to_id == msgs[0].id
    sends = graph.sends()
    assert len(sends) == 1
    assert sends[0]["recipient"] == {"id": "psid-new"} and sends[0]["messaging_type"] == "RESPONSE"
    assert sends[0]["message"]["text"] == "Hello from A"
    call = [c for c in graph.calls if c.request.url.split("?")[0].endswith("/messages")][-1]
    assert call.request.url.startswith("http://graph.test/v25.0/page-A/messages")
    assert call.request.headers["Authorization"] == "Bearer secret-token-A"


def test_duplicate_delivery_is_stored_and_answered_once(world, app, post_meta, run_jobs, graph):
    payload = mp.messenger(PAGE, mp.text("psid-dup", PAGE, "m_dup", "hello"))
    for _ in range(3):
        assert post_meta(payload).status_code == 200
    run_jobs()
    assert post_meta(payload).duplicates == 1
    run_jobs()
    assert len([m for m in messages(app) if m[5] == "m_dup"]) == 1
    assert len(graph.sends()) == 1


def test_batched_entries_and_events_out_of_order(world, app, post_meta, run_jobs, graph):
    later = mp.text("psid-batch", PAGE, "m_b2", "second", offset_s=-1)
    earlier = mp.text("psid-batch", PAGE, "m_b1", "first", offset_s=-2)
    payload = {"object": "page", "entry": [
        {"id": PAGE, "time": mp.now_ms(), "messaging": [later]},
        {"id": PAGE, "time": mp.now_ms(), "messaging": [earlier]},
    ]}
    assert post_meta(payload).stored == 2
    run_jobs()
    with app.app_context():
        conv = db.session.scalar(select(Conversation).join(Customer).filter(Customer.external_id == "psid-batch"))
        texts = [m.text for m in sorted(conv.messages, key=lambda m: (m.created_at, m.id))]
        assert texts[:2] == ["first", "second"]
        replies = [m for m in conv.messages if m.direction == "out"]
        assert len(replies) == 1  # one considered reply for the burst
    assert len(graph.sends()) == 1


def test_every_messenger_event_kind(world, app, post_meta, run_jobs, graph):
    post_meta(mp.messenger(PAGE,
        mp.attachment("psid-k", PAGE, "m_img", "image"),
        mp.attachment("psid-k", PAGE, "m_aud", "audio"),
        mp.attachment("psid-k", PAGE, "m_vid", "video"),
        mp.attachment("psid-k", PAGE, "m_file", "file"),
        mp.attachment("psid-k", PAGE, "m_stk", "sticker", {"sticker_id": 369239263222822}),
        mp.attachment("psid-k", PAGE, "m_loc", "location", {"coordinates": {"lat": 19.07, "long": 72.87}}),
        mp.text("psid-k", PAGE, "m_qr", "Size M", quick_reply={"payload": "SIZE_M"}),
        mp.postback("psid-k", PAGE, "m_pb", "Buy now", "BUY:SKU-A"),
    ))
    kinds = {m[5]: (m[2], m[3]) for m in messages(app) if m[5] and m[5].startswith("m_")}
    assert kinds["m_img"] == ("image", "[image]") and kinds["m_aud"][0] == "audio"
    assert kinds["m_vid"][0] == "video" and kinds["m_file"][0] == "file"
    assert kinds["m_stk"][0] == "sticker" and kinds["m_loc"] == ("location", "[location 19.07,72.87]")
    assert kinds["m_qr"] == ("quick_reply", "Size M") and kinds["m_pb"] == ("postback", "Buy now")
    with app.app_context():
        pb = db.session.scalar(select(Message).filter_by(external_id="m_pb"))
        assert pb.payload["payload"] == "BUY:SKU-A"
    run_jobs()
    out = graph.sends()
    assert len(out) == 1  # one reply to the whole burst
    mid = "m_out_1"
    # reactions, receipts and echoes
    wm = mp.now_ms(60)
    post_meta(mp.messenger(PAGE,
        mp.reaction("psid-k", PAGE, mid),
        mp.delivery("psid-k", PAGE, [mid], wm),
        mp.read("psid-k", PAGE, wm),
        mp.echo("psid-k", PAGE, "m_echo_other", "Sent from Business Suite", app_id="777"),
        mp.echo("psid-k", PAGE, mid, "our own echo", app_id="777"),
    ))
    with app.app_context():
        ours = db.session.scalar(select(Message).filter_by(external_id=mid))
        assert ours.status == MessageStatus.READ and ours.payload["reaction"] == "\u2764\ufe0f"
        agent = db.session.scalar(select(Message).filter_by(external_id="m_echo_other"))
        assert (agent.direction, agent.sender, agent.handled_at is not None) == ("out", "agent", True)
        assert db.session.query(Message).filter_by(external_id=mid).count() == 1
    run_jobs()
    assert len(graph.sends()) == 1  # echoes, receipts and reactions are never answered


def test_instagram_story_reply_mention_and_unsend(world, app, post_meta, run_jobs, graph):
    ig = "17841405822304914"
    add_channel(app, world.a.tenant_id, Platform.INSTAGRAM, ig, "IG-A")
    story = mp.text("igsid-1", ig, "ig_m1", "Price of this?",
                    reply_to={"story": {"id": "1801", "url": "https://lookaside.fbsbx.com/x"}})
    mention = {"sender": {"id": "igsid-1"}, "recipient": {"id": ig}, "timestamp": mp.now_ms(),
               "message": {"mid": "ig_m2", "attachments": [{"type": "story_mention", "payload": {"url": "u"}}]}}
    test_button = {"object": "instagram", "entry": [{"id": "0", "changes": [{"field": "messages", "value": {}}]}]}
    assert post_meta(test_button).status_code == 200
    assert post_meta(mp.messenger(ig, story, mention, obj="instagram")).stored == 2
    kinds = {m[5]: m[2] for m in messages(app)}
    assert kinds["ig_m1"] == "story_reply" and kinds["ig_m2"] == "story_mention"
    unsend = {"sender": {"id": "igsid-1"}, "recipient": {"id": ig}, "timestamp": mp.now_ms(),
              "message": {"mid": "ig_m1", "is_deleted": True}}
    post_meta(mp.messenger(ig, unsend, obj="instagram"))
    with app.app_context():
        assert db.session.scalar(select(Message).filter_by(external_id="ig_m1")).deleted_at is not None
    run_jobs()
    sends = graph.sends()
    assert len(sends) == 1 and sends[0]["recipient"] == {"id": "igsid-1"}
    assert any(c.request.url.startswith("http://graph.test/v25.0/me/messages") for c in graph.calls)


# ------------------------------------------------------------------ WhatsApp

def test_whatsapp_messages_kinds_contacts_and_statuses(world, app, post_meta, run_jobs, graph):
    pnid = "106540352242922"
    add_channel(app, world.a.tenant_id, Platform.WHATSAPP, pnid, "WA-A")
    wa = "919876543210"
    payload = mp.whatsapp(pnid, contacts=[mp.wa_contact(wa, "Asha Rao")], messages=[
        mp.wa_text(wa, "wamid.IN1", "2 x T-shirt M?"),
        mp.wa_message(wa, "wamid.IN2", "image", {"id": "654", "mime_type": "image/jpeg", "caption": "this one"}),
        mp.wa_message(wa, "wamid.IN3", "interactive", {"type": "button_reply", "button_reply": {"id": "CONFIRM:1", "title": "Confirm"}}),
        mp.wa_message(wa, "wamid.IN4", "interactive", {"type": "list_reply", "list_reply": {"id": "SKU-A", "title": "Blue kurta"}}),
        mp.wa_message(wa, "wamid.IN5", "button", {"payload": "MORE_INFO", "text": "More info"}),
        mp.wa_message(wa, "wamid.IN6", "location", {"latitude": 19.07, "longitude": 72.87, "name": "Shop"}),
    ])
    assert post_meta(payload).stored == 6
    with app.app_context():
        customer = db.session.scalar(select(Customer).filter_by(external_id=wa))
        assert customer.name == "Asha Rao" and customer.phone == wa
        rows = {m.external_id: m for m in db.session.scalars(select(Message).filter(Message.external_id.like("wamid.IN%")))}
        assert rows["wamid.IN2"].text == "this one" and rows["wamid.IN2"].kind == "image"
        assert rows["wamid.IN3"].kind == "button_reply" and rows["wamid.IN3"].payload["payload"] == "CONFIRM:1"
        assert rows["wamid.IN4"].kind == "list_reply" and rows["wamid.IN5"].payload["payload"] == "MORE_INFO"
        assert rows["wamid.IN6"].kind == "location"
    run_jobs()
    sends = graph.sends()
    assert len(sends) == 1 and sends[0]["to"] == wa and sends[0]["type"] == "text"
    out_id = "wamid.OUT1"
    # statuses arrive late and out of order: never move back
    post_meta(mp.whatsapp(pnid, statuses=[mp.wa_status(out_id, "read", wa)]))
    post_meta(mp.whatsapp(pnid, statuses=[mp.wa_status(out_id, "delivered", wa)]))
    with app.app_context():
        assert db.session.scalar(select(Message).filter_by(external_id=out_id)).status == MessageStatus.READ
    # a failed status is recorded with its error
    post_meta(mp.whatsapp(pnid, messages=[mp.wa_text(wa, "wamid.IN7", "and?")]))
    run_jobs()
    post_meta(mp.whatsapp(pnid, statuses=[mp.wa_status("wamid.OUT2", "failed", wa, errors=[
        {"code": 131047, "title": "Re-engagement message",
         "error_data": {"details": "More than 24 hours have passed"}}])]))
    with app.app_context():
        failed = db.session.scalar(select(Message).filter_by(external_id="wamid.OUT2"))
        assert failed.status == MessageStatus.FAILED and "131047" in failed.error


def test_whatsapp_reaction_attaches_to_our_message(world, app, post_meta, run_jobs, graph):
    pnid = "106540352242923"
    add_channel(app, world.a.tenant_id, Platform.WHATSAPP, pnid, "WA-A2")
    wa = "919800000001"
    post_meta(mp.whatsapp(pnid, messages=[mp.wa_text(wa, "wamid.R1", "hi")]))
    run_jobs()
    post_meta(mp.whatsapp(pnid, messages=[mp.wa_message(wa, "wamid.R2", "reaction",
                                                        {"message_id": "wamid.OUT1", "emoji": "\U0001F44D"})]))
    with app.app_context():
        assert db.session.scalar(select(Message).filter_by(external_id="wamid.OUT1")).payload["reaction"] == "\U0001F44D"
        assert db.session.query(Message).filter_by(external_id="wamid.R2").count() == 0


def test_paused_tenant_webhooks_are_acknowledged_and_dropped(world, app, post_meta):
    from app.models import Tenant

    with app.app_context():
        db.session.get(Tenant, world.a.tenant_id).active = False
        db.session.commit()
    resp = post_meta(mp.messenger(PAGE, mp.text("psid-paused", PAGE, "m_paused", "hi")))
    assert resp.status_code == 200 and resp.stored == 0


def test_delivery_is_processed_by_its_job(world, app, post_meta, run_jobs, graph):
    """The real path: the webhook stores the raw delivery, a job ingests it, another answers."""
    from app.models import WebhookEvent

    resp = post_meta(mp.messenger(PAGE, mp.text("psid-q", PAGE, "m_q1", "hello")), process=False)
    assert resp.status_code == 200
    run_jobs()
    with app.app_context():
        event = db.session.scalars(select(WebhookEvent).order_by(WebhookEvent.id.desc())).first()
        assert event.processed_at is not None and '"m_q1"' in event.body
        assert db.session.scalar(select(Message).filter_by(external_id="m_q1")).handled_at is not None
    assert len(graph.sends()) == 1
