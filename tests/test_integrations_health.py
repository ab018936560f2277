"""Channel health: the periodic token and subscription check, the quiet alarm, the last send
error, one-click resubscribe, disconnect, and tenant isolation of every per-channel action."""
from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone

import pytest
import responses
from sqlalchemy import select

from app.extensions import db
from app.models import Channel, ChannelStatus, Conversation, Direction, Message, Platform, Sender, utcnow
from tests import meta_fake
from tests import meta_payloads as mp
from tests.meta_fake import FakePage


@pytest.fixture
def meta(app):
    app.config.update(META_APP_ID=meta_fake.APP_ID)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield meta_fake.install(rsps)
    app.config.update(META_APP_ID=None)


def connected_page(app, tenant_id, page_id="1040001", token="page-tok-1", **kw) -> int:
    with app.app_context():
        ch = Channel(tenant_id=tenant_id, platform=Platform.MESSENGER, external_id=page_id,
                     name=f"Page {page_id}", access_token=token, connected_via="facebook_login",
                     page_id=page_id, **kw)
        db.session.add(ch)
        db.session.commit()
        return ch.id


def load(app, channel_id) -> Channel:
    with app.app_context():
        ch = db.session.get(Channel, channel_id)
        db.session.remove()
        return ch


def test_periodic_check_records_token_and_subscription(world, app, meta, run_jobs):
    meta.pages = [FakePage("1040001", "Good", "page-tok-1"), FakePage("1040002", "Dropped", "page-tok-2"),
                  FakePage("1040003", "Revoked", "page-tok-3")]
    meta.subscriptions = {"1040001": {meta_fake.APP_ID}, "1040002": {"someone-else"}}
    meta.bad_tokens = {"page-tok-3"}
    good = connected_page(app, world.a.tenant_id, "1040001", "page-tok-1")
    dropped = connected_page(app, world.a.tenant_id, "1040002", "page-tok-2")
    revoked = connected_page(app, world.a.tenant_id, "1040003", "page-tok-3")
    with app.app_context():
        from app.jobs.queueing import queue_channel_checks

        queue_channel_checks()
        queue_channel_checks()  # the same period: one job
    run_jobs()
    assert len(meta.requests("/1040001/subscribed_apps")) == 1
    g, d, r = load(app, good), load(app, dropped), load(app, revoked)
    assert (g.token_valid, g.subscribed, g.status) == (True, True, ChannelStatus.ACTIVE)
    assert (d.token_valid, d.subscribed) == (True, False)
    assert (r.token_valid, r.status) == (False, ChannelStatus.ERROR)
    assert r.last_error.startswith("Reconnect needed") and g.token_checked_at is not None
    # checked channels are not due again for CHANNEL_CHECK_MINUTES
    before = len(meta.rsps.calls)
    with app.app_context():
        from app.services.integrations import health

        assert health.check_due() == 0
    assert len(meta.rsps.calls) == before
    # the token works again: the channel recovers on the next check
    meta.bad_tokens = set()
    with app.app_context():
        health.check(revoked)
    r = load(app, revoked)
    assert (r.token_valid, r.status, r.last_error) == (True, ChannelStatus.ACTIVE, None)


def test_the_check_is_part_of_the_periodic_sweep(world, app, meta, run_jobs):
    meta.pages = [FakePage("1040001", "Good", "page-tok-1")]
    channel = connected_page(app, world.a.tenant_id)
    with app.app_context():
        from app.jobs.maintenance import periodic_sweep

        periodic_sweep()
    run_jobs()
    assert load(app, channel).token_checked_at is not None


def test_resubscribe_is_one_click(world, app, meta, browser):
    meta.pages = [FakePage("1040001", "Good", "page-tok-1")]
    channel = connected_page(app, world.a.tenant_id, subscribed=False, token_valid=True)
    owner = browser("owner_a")
    page = owner.get("/integrations/").get_data(as_text=True)
    assert "not subscribed" in page and "Needs attention" in page and "page-tok-1" not in page
    done = owner.post(f"/integrations/{channel}/resubscribe", {}, token_from="/integrations/",
                      follow_redirects=True).get_data(as_text=True)
    assert "will send its messages to Closer again" in done
    assert meta.subscriptions["1040001"] == {meta_fake.APP_ID}
    assert load(app, channel).subscribed is True
    assert "Healthy" in owner.get("/integrations/").get_data(as_text=True) or "No messages yet" in done


def test_resubscribe_refused_says_why(world, app, meta, browser):
    meta.pages = [FakePage("1040001", "Good", "page-tok-1")]
    meta.refuse_subscribe = True
    channel = connected_page(app, world.a.tenant_id, subscribed=False)
    page = browser("owner_a").post(f"/integrations/{channel}/resubscribe", {}, token_from="/integrations/",
                                   follow_redirects=True).get_data(as_text=True)
    assert "Meta refused to resubscribe" in page and "Permissions error" in page
    assert load(app, channel).subscribed is False


def test_disconnect_unsubscribes_and_stops_automation(world, app, meta, browser, post_meta, run_jobs):
    meta.pages = [FakePage("1040001", "Good", "page-tok-1")]
    meta.subscriptions = {"1040001": {meta_fake.APP_ID}}
    channel = connected_page(app, world.a.tenant_id, subscribed=True)
    page = browser("owner_a").post(f"/integrations/{channel}/disconnect", {}, token_from="/integrations/",
                                   follow_redirects=True).get_data(as_text=True)
    assert "is disconnected" in page and "Disconnected" in page
    assert meta.subscriptions["1040001"] == set()
    assert meta.tokens_used("/1040001/subscribed_apps") == ["page-tok-1"]
    ch = load(app, channel)
    assert (ch.status, ch.access_token, ch.subscribed) == (ChannelStatus.DISABLED, None, False)
    # its webhooks are acknowledged and dropped: nothing stored, nothing answered
    resp = post_meta(mp.messenger("1040001", mp.text("psid-x", "1040001", "m_after", "hello?")))
    assert resp.status_code == 200 and resp.stored == 0
    run_jobs()
    with app.app_context():
        assert db.session.scalar(select(Message).where(Message.external_id == "m_after")) is None


def test_last_send_error_is_recorded_and_shown(world, app, browser):
    from app.services.outbound import deliver, queue_message

    with app.app_context():
        conv = db.session.get(Conversation, world.a["conversation"])
        conv.last_inbound_at = utcnow()
        msg = queue_message(conv, "Your order is ready", sender=Sender.AI)
        db.session.commit()
        msg_id = msg.id
    body = {"error": {"message": "(#551) This person isn't available right now.", "code": 551,
                      "type": "OAuthException"}}
    with responses.RequestsMock() as rsps:
        rsps.add(responses.POST, re.compile(r"http://graph\.test/v25\.0/.+/messages"), json=body, status=400)
        with app.app_context():
            assert deliver(msg_id, world.a.tenant_id) == "failed"
    ch = load(app, world.a["channel"])
    assert "isn't available" in ch.last_send_error and ch.last_send_error_at is not None
    page = browser("owner_a").get("/integrations/").get_data(as_text=True)
    assert "isn&#39;t available right now" in page or "isn't available right now" in page


def _inbound(app, channel_id, tenant_id, times):
    """Inbound messages at the given UTC times on the world's conversation of that channel."""
    with app.app_context():
        conv = db.session.scalar(select(Conversation).where(Conversation.channel_id == channel_id))
        db.session.add_all([Message(tenant_id=tenant_id, conversation_id=conv.id, channel_id=channel_id,
                                    direction=Direction.IN, sender=Sender.CUSTOMER, text="hi",
                                    external_id=f"q-{channel_id}-{at.timestamp()}-{i}", created_at=at, handled_at=at)
                            for i, at in enumerate(times)])
        db.session.commit()


def test_quiet_alarm_when_a_busy_channel_goes_silent(world, app, browser):
    from app.services.integrations import health

    now = datetime.now(timezone.utc).replace(minute=30, second=0, microsecond=0)
    busy, thin = world.a["channel"], world.b["channel"]
    # two weeks of traffic: 4 messages an hour, around the clock, until 6 hours ago
    last = now - timedelta(hours=6)
    _inbound(app, busy, world.a.tenant_id, [last - timedelta(minutes=15 * i) for i in range(14 * 24 * 4)])
    with app.app_context():  # the world's own message on the busy channel came before the silence too
        db.session.get(Message, world.a["message"]).created_at = last - timedelta(minutes=5)
        db.session.commit()
    # a channel with a handful of messages says too little to call its silence unusual
    _inbound(app, thin, world.b.tenant_id, [last - timedelta(hours=i * 7) for i in range(8)])
    with app.app_context():
        a = health.assess(db.session.get(Channel, busy), last, now)
        b = health.assess(db.session.get(Channel, thin), last, now)
        fresh = health.assess(db.session.get(Channel, busy), last, last + timedelta(minutes=20))
        # six hours of this channel's traffic is ~24 messages: nothing came, so it is quiet
        assert a.state == "quiet" and 20 <= a.expected <= 28 and "No message for 6 h" in a.problems[0]
        assert b.state == "ok" and b.expected == 0.0
        assert fresh.state == "ok"  # twenty minutes of silence is nothing
    page = browser("owner_a").get("/integrations/").get_data(as_text=True)
    assert "Unusually quiet" in page and "check that the channel is still subscribed" in page


def test_quiet_alarm_follows_the_hours_a_channel_is_busy(world, app):
    """A shop that hears from customers only in the daytime is not quiet at night."""
    from app.services.integrations import health

    day = datetime.now(timezone.utc).replace(hour=21, minute=0, second=0, microsecond=0) - timedelta(days=1)
    times = [day - timedelta(days=d, hours=h, minutes=m) for d in range(14) for h in range(12)
             for m in (0, 20, 40)]  # 09:00-21:00 every day
    _inbound(app, world.a["channel"], world.a.tenant_id, times)
    with app.app_context():
        ch = db.session.get(Channel, world.a["channel"])
        night = health.assess(ch, day, day + timedelta(hours=10))  # 21:00 to 07:00
        morning = health.assess(ch, day, day + timedelta(hours=15))  # and on to noon
    assert night.state == "ok" and night.expected < 5
    assert morning.state == "quiet" and morning.expected >= 5


def test_instagram_login_token_is_refreshed_before_it_lapses(world, app, meta):
    from app.services.integrations import health

    meta.ig_codes = {"x": meta.ig_long}  # the refresh endpoint accepts the current long token
    with app.app_context():
        ch = Channel(tenant_id=world.a.tenant_id, platform=Platform.INSTAGRAM, external_id="17841400000000001",
                     name="@shop_ig", access_token=meta.ig_long, connected_via="instagram_login",
                     token_expires_at=utcnow() + timedelta(days=3))
        db.session.add(ch)
        db.session.commit()
        channel_id = ch.id

    def refresh(request):
        return 200, {}, json.dumps({"access_token": meta.ig_long, "token_type": "bearer", "expires_in": 5183944})

    meta.rsps.add_callback(responses.GET, re.compile(r"http://graph\.instagram\.test/v25\.0/refresh_access_token"),
                           callback=refresh)
    with app.app_context():
        health.check(channel_id)
    ch = load(app, channel_id)
    assert ch.token_valid is True and ch.token_expires_at.replace(tzinfo=timezone.utc) > utcnow() + timedelta(days=50)
    assert len(meta.requests("refresh_access_token")) == 1


def test_channel_actions_of_another_tenant_are_404(world, app, meta, browser):
    foreign = connected_page(app, world.b.tenant_id, "1040009", "page-tok-b")
    owner = browser("owner_a")
    for action in ("resubscribe", "disconnect", "check"):
        resp = owner.post(f"/integrations/{foreign}/{action}", {}, token_from="/integrations/")
        assert resp.status_code == 404, action
    assert load(app, foreign).status == ChannelStatus.ACTIVE
    assert meta.rsps.calls == [] or all("1040009" not in c.request.url for c in meta.rsps.calls)
    listing = owner.get("/integrations/").get_data(as_text=True)
    assert "Chan-A" in listing and "Chan-B" not in listing and "1040009" not in listing
    # an agency admin reaches B's channel only with B active
    agency = browser("agency")
    assert agency.post(f"/integrations/{foreign}/check", {}, token_from="/integrations/").status_code == 404
    agency.post("/tenant/switch", {"tenant_id": world.b.tenant_id})
    assert agency.post(f"/integrations/{foreign}/check", {}, token_from="/integrations/").status_code == 302


def test_actions_need_csrf(world, app, browser):
    owner = browser("owner_a")
    resp = owner.client.post(f"/integrations/{world.a['channel']}/disconnect", data={})
    assert resp.status_code == 400
    assert load(app, world.a["channel"]).status == ChannelStatus.ACTIVE


def test_the_check_fetches_templates_approved_since(world, app, meta):
    from app.models import Template, TemplateStatus
    from app.services.integrations import health

    meta.phones = {"106540352242922": {"display": "+91 98200 12345", "name": "Kurta House",
                                       "waba": "102290129340398"}}
    meta.subscriptions = {"102290129340398": {meta_fake.APP_ID}}
    with app.app_context():
        ch = Channel(tenant_id=world.a.tenant_id, platform=Platform.WHATSAPP, external_id="106540352242922",
                     name="Kurta House", access_token=meta.wa_token, connected_via="whatsapp",
                     waba_id="102290129340398")
        db.session.add(ch)
        db.session.add(Template(tenant_id=world.a.tenant_id, platform="whatsapp", name="old_promo",
                                language="en", body="Sale", status=TemplateStatus.APPROVED, external_id="t9"))
        db.session.commit()
        channel_id = ch.id
    meta.templates = [
        {"id": "t1", "name": "back_in_stock", "language": "en", "status": "APPROVED", "category": "MARKETING",
         "components": [{"type": "BODY", "text": "{{1}} is back"}]},
        {"id": "t9", "name": "old_promo", "language": "en", "status": "PAUSED", "category": "MARKETING",
         "components": [{"type": "BODY", "text": "Sale"}]},
    ]
    with app.app_context():
        health.check(channel_id)
        rows = {t.name: (t.status, t.variable_count) for t in db.session.scalars(
            select(Template).where(Template.tenant_id == world.a.tenant_id, Template.platform == "whatsapp"))}
    assert rows == {"back_in_stock": (TemplateStatus.APPROVED, 1), "old_promo": (TemplateStatus.REJECTED, 0)}
    ch = load(app, channel_id)
    assert (ch.token_valid, ch.subscribed) == (True, True)


def test_quiet_and_broken_channels_raise_the_navbar_alarm(world, app, browser, run_jobs):
    from app.services.integrations import health

    owner, staff = browser("owner_a"), browser("staff_a")
    assert 'id="channel-alarm"' not in owner.get("/").get_data(as_text=True)
    now = datetime.now(timezone.utc)
    last = now - timedelta(hours=6)
    _inbound(app, world.a["channel"], world.a.tenant_id,
             [last - timedelta(minutes=15 * i) for i in range(7 * 24 * 4)])
    with app.app_context():
        db.session.get(Message, world.a["message"]).created_at = last - timedelta(minutes=5)
        db.session.get(Channel, world.a["channel"]).last_webhook_at = last
        db.session.commit()
        from app.jobs.queueing import queue_channel_checks

        queue_channel_checks()
    run_jobs()  # the periodic check marks it quiet
    assert load(app, world.a["channel"]).quiet_since is not None
    html = owner.get("/").get_data(as_text=True)
    assert 'id="channel-alarm"' in html and "1 channel needs attention" in html
    assert 'id="channel-alarm"' not in staff.get("/").get_data(as_text=True)  # staff can't act on it
    assert 'id="channel-alarm"' not in browser("owner_b").get("/").get_data(as_text=True)
    with app.app_context():  # a message arrives: the next check lifts the alarm
        _inbound(app, world.a["channel"], world.a.tenant_id, [utcnow()])
        db.session.get(Channel, world.a["channel"]).last_webhook_at = utcnow()
        db.session.commit()
        assert health.refresh_quiet() == 0
        # a channel Meta stopped sending for counts too
        db.session.get(Channel, world.a["channel"]).subscribed = False
        db.session.commit()
        assert health.alarm_count(world.a.tenant_id) == 1 and health.alarm_count(world.b.tenant_id) == 0
