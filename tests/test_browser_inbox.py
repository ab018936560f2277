"""A person in a real browser works a Messenger conversation from the inbox: it appears in the
live list, the thread shows the customer and the AI, they take over, insert a canned reply,
send it, and the reply is stored as theirs and sent to the (local, faked) Graph API."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Channel, Conversation, ConversationMode, Message, MessageStatus, Platform
from app.models.inbox import CannedReply
from tests import meta_payloads as mp
from tests.conftest import watched_page
from tests.graph_stub import GraphStub
from tests.test_browser_csp import REPORT_VIOLATIONS
from tests.test_inbox_media import PNG
from tests.test_browser import login, server  # noqa: F401  (server is a fixture)

PAGE_ID = "page-A"


@pytest.fixture
def graph_stub(app, monkeypatch):
    """The Graph API as a local server: the worker process, if any, reaches it too."""
    with GraphStub() as stub:
        monkeypatch.setenv("GRAPH_API_BASE", stub.base_url)
        monkeypatch.setitem(app.config, "GRAPH_API_BASE", stub.base_url)
        yield stub


@pytest.fixture
def live(graph_stub, server):  # noqa: F811  (the stub must be up before the worker starts)
    return server


def test_take_over_and_reply_from_the_inbox(live, page, graph_stub, app, world, post_meta):  # noqa: F811
    with app.app_context():
        db.session.add(CannedReply(tenant_id=world.a.tenant_id, shortcut="thanks",
                                   body="Thanks {first_name}! {product:SKU-A} is {price:SKU-A}."))
        db.session.commit()
        db.session.remove()
    post_meta(mp.messenger(PAGE_ID, mp.text("psid-browser", PAGE_ID, "m_b1", "Hi, is the kurta in stock?")))

    login(page, live, "staff_a")
    page.goto(live + "/inbox/")
    row = page.locator(".inbox-row", has_text=re.compile(r"Stub Person|psid-browser"))
    row.wait_for(timeout=15_000)
    row.click()
    page.wait_for_selector(".msg-in:has-text('Hi, is the kurta in stock?')")
    page.wait_for_selector(".msg-ai:has-text('Hello from A')", timeout=30_000)  # the AI greeted

    page.click("#take-over")
    page.wait_for_selector("#mode-label:has-text('A person is handling this chat')")
    page.click(".canned-insert:has-text('thanks')")
    page.wait_for_function("() => document.getElementById('reply-text').value.includes('₹799.00')")
    assert page.input_value("#reply-text") == "Thanks Stub! Prod-A is ₹799.00."
    page.click("#send-reply")
    page.wait_for_selector(".alert:has-text('Reply queued')")
    mine = page.locator(".msg-agent", has_text="Thanks Stub! Prod-A is ₹799.00.")
    mine.wait_for(timeout=15_000)
    page.wait_for_selector(".msg-agent .tick-sent", timeout=30_000)  # the tick follows the send
    assert "staff_a" in mine.inner_text()

    sent = [s["message"]["text"] for s in graph_stub.sends if "message" in s]
    assert sent == ["Hello from A", "Thanks Stub! Prod-A is ₹799.00."]
    with app.app_context():
        msg = db.session.scalar(select(Message).filter_by(text="Thanks Stub! Prod-A is ₹799.00."))
        assert msg.sender == "agent" and msg.author.username == "staff_a" and msg.status == MessageStatus.SENT
        assert db.session.get(Conversation, msg.conversation_id).mode == ConversationMode.HUMAN
        db.session.remove()
    assert not page.console_errors, page.console_errors


def test_a_customers_whatsapp_image_shows_in_the_thread(live, graph_stub, app, world, post_meta, monkeypatch):
    """The image comes through our origin (fetched from the faked Graph API with the channel's
    token) and renders: no CSP violation, no console error, nothing loaded from elsewhere. An
    image Meta no longer has is a placeholder saying so."""
    pnid = "106540352249999"
    with app.app_context():
        db.session.add(Channel(tenant_id=world.a.tenant_id, platform=Platform.WHATSAPP, external_id=pnid,
                               name="WhatsApp A", access_token="wa-browser-token"))
        db.session.commit()
        db.session.remove()
    graph_stub.media["5550001"] = PNG
    # Meta's CDN is this local stub here: its exact origin joins the allow-list
    monkeypatch.setitem(app.config, "META_MEDIA_SOURCES",
                        (*app.config["META_MEDIA_SOURCES"], graph_stub.root_url))
    graph_stub.media_gone.add("5550002")
    post_meta(mp.whatsapp(pnid, contacts=[mp.wa_contact("919876500002", "Meera")], messages=[
        mp.wa_message("919876500002", "wamid.BROWSERIMG", "image",
                      {"id": "5550001", "mime_type": "image/png", "sha256": "x", "caption": "this one"}),
        mp.wa_message("919876500002", "wamid.BROWSERGONE", "image",
                      {"id": "5550002", "mime_type": "image/png", "sha256": "y", "caption": "an old one"})]))
    with app.app_context():
        conv_id = db.session.scalar(select(Message.conversation_id).filter_by(external_id="wamid.BROWSERIMG"))
        gone_id = db.session.scalar(select(Message.id).filter_by(external_id="wamid.BROWSERGONE"))
        db.session.remove()

    with watched_page(init_script=REPORT_VIOLATIONS, fail_on=("outside", "page_errors")) as page:
        login(page, live, "staff_a")
        page.goto(f"{live}/inbox/c/{conv_id}")
        page.wait_for_selector(".msg-in:has-text('this one') img.msg-image")
        page.wait_for_function("""() => {
            const img = document.querySelector('.msg-in img.msg-image');
            return img && img.complete && img.naturalWidth > 0; }""", timeout=15_000)
        # the one Meta no longer has: a placeholder that says so, in place of a broken image
        page.wait_for_selector(".msg-in:has-text('an old one') .msg-media-missing:has-text('expired')")
        assert page.locator(".msg-media-missing").count() == 1
        # its 404 is the only error the page saw: no CSP violation, no script error
        assert {p.split(": ", 1)[-1] for p in page.problems} <= {
            f"404 {live}/inbox/media/{gone_id}/0",
            "Failed to load resource: the server responded with a status of 404 (NOT FOUND)"}, page.problems
    assert graph_stub.media_auth == ["Bearer wa-browser-token"]


def test_the_thread_shows_times_in_the_business_timezone(live, page, graph_stub, app, world, post_meta):  # noqa: F811
    """As the rest of the admin does, whatever the browser's own zone (UTC+14 is no one's)."""
    from datetime import timezone as tz
    from zoneinfo import ZoneInfo

    from app.models import Tenant

    zone = "Pacific/Kiritimati"
    with app.app_context():
        db.session.get(Tenant, world.a.tenant_id).timezone = zone
        db.session.commit()
        db.session.remove()
    post_meta(mp.messenger(PAGE_ID, mp.text("psid-zone", PAGE_ID, "m_z1", "what time is it there?")))
    with app.app_context():
        msg = db.session.scalar(select(Message).where(Message.external_id == "m_z1"))
        conv_id, created = msg.conversation_id, msg.created_at
        db.session.remove()
    local = (created if created.tzinfo else created.replace(tzinfo=tz.utc)).astimezone(ZoneInfo(zone))
    login(page, live, "staff_a")
    page.goto(f"{live}/inbox/c/{conv_id}")
    meta = page.locator(".msg-in .small").first
    meta.wait_for(timeout=15_000)
    text = meta.inner_text()
    assert f"{local.hour % 12 or 12:02d}:{local.minute:02d}" in text or f"{local:%H:%M}" in text, text
