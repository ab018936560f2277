"""Connecting channels: Facebook Login (one Page, several Pages and the chooser, refusals of
every kind), Instagram Login, and WhatsApp numbers verified with Meta before saving.

Meta is faked at the HTTP boundary (tests/meta_fake.py); the app runs for real: the views,
the signed state, Redis, the database, the encrypted token column."""
from __future__ import annotations

import logging
import re
import time
from urllib.parse import parse_qs, urlparse

import pytest
import responses
from sqlalchemy import select, text

from app.extensions import db
from app.models import Channel, ChannelStatus, Platform, Template, TemplateStatus
from tests import meta_fake
from tests.meta_fake import FakePage

PAGE_TOKEN = "page-token-SECRET-1"
PAGE2_TOKEN = "page-token-SECRET-2"


@pytest.fixture
def meta(app):
    app.config.update(META_APP_ID=meta_fake.APP_ID, PUBLIC_BASE_URL="https://closer.example")
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield meta_fake.install(rsps)
    app.config.update(META_APP_ID=None, PUBLIC_BASE_URL="http://127.0.0.1:5000")


def start(owner, path="/integrations/facebook/connect") -> dict:
    resp = owner.get(path)
    assert resp.status_code == 302, resp.get_data(as_text=True)[:300]
    return {"url": resp.headers["Location"],
            "query": {k: v[0] for k, v in parse_qs(urlparse(resp.headers["Location"]).query).items()}}


def callback(owner, provider="facebook", **params):
    return owner.get(f"/integrations/{provider}/callback", query_string=params, follow_redirects=True)


def channels(app, tenant_id=None):
    with app.app_context():
        stmt = select(Channel).order_by(Channel.id)
        if tenant_id is not None:
            stmt = stmt.where(Channel.tenant_id == tenant_id)
        rows = db.session.scalars(stmt).all()
        db.session.remove()
        return rows


def new_channels(app, world):
    return [c for c in channels(app) if c.connected_via is not None]


def one_page(meta, **kw):
    meta.pages = [FakePage("1040001", "Kurta House", PAGE_TOKEN, instagram_id="17841400000000077",
                           instagram_username="kurtahouse", **kw)]


# ------------------------------------------------------------------ Facebook Login


def test_connect_redirects_to_the_dialog_with_a_signed_state(world, browser, meta):
    owner = browser("owner_a")
    dialog = start(owner)
    assert dialog["url"].startswith("http://facebook.test/v25.0/dialog/oauth?")
    q = dialog["query"]
    assert q["client_id"] == meta_fake.APP_ID and q["response_type"] == "code"
    assert q["redirect_uri"] == "https://closer.example/integrations/facebook/callback"
    assert {"pages_messaging", "pages_manage_metadata", "pages_show_list"} <= set(q["scope"].split(","))
    assert len(q["state"]) > 40


def test_one_page_connects_at_once_with_its_instagram(world, browser, meta, app, caplog):
    caplog.set_level(logging.DEBUG)
    one_page(meta)
    owner = browser("owner_a")
    state = start(owner)["query"]["state"]
    page = callback(owner, code="good-code", state=state)
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Connected: Kurta House, @kurtahouse" in html
    made = {c.platform: c for c in new_channels(app, world)}
    fb, ig = made[Platform.MESSENGER], made[Platform.INSTAGRAM]
    assert (fb.tenant_id, fb.external_id, fb.access_token, fb.status) == (
        world.a.tenant_id, "1040001", PAGE_TOKEN, ChannelStatus.ACTIVE)
    assert (ig.external_id, ig.page_id, ig.access_token) == ("17841400000000077", "1040001", PAGE_TOKEN)
    assert fb.subscribed is True and fb.token_valid is True and fb.connected_meta_user_id == meta.user_id
    assert fb.connected_via == "facebook_login" and fb.connected_by_id is not None
    # the code was exchanged, then swapped for the long-lived token, with our app's secret
    exchanges = meta.requests("/oauth/access_token")
    assert [parse_qs(urlparse(r.url).query).get("grant_type", ["code"])[0] for r in exchanges] == [
        "code", "fb_exchange_token"]
    sub = meta.requests("/1040001/subscribed_apps")[0]
    assert sub.method == "POST" and "messages" in parse_qs(urlparse(sub.url).query)["subscribed_fields"][0]
    assert meta.tokens_used("/1040001/subscribed_apps") == [PAGE_TOKEN]
    # the token is stored encrypted, and shows nowhere: pages, logs
    with app.app_context():
        raw = db.session.execute(text("SELECT access_token FROM channel WHERE external_id = '1040001'")).scalar()
    assert raw and PAGE_TOKEN not in raw
    listing = owner.get("/integrations/").get_data(as_text=True)
    assert "Kurta House" in listing and "@kurtahouse" in listing
    for secret in (PAGE_TOKEN, meta.long_token, "short-user-token"):
        assert secret not in html and secret not in listing and secret not in caplog.text


def test_several_pages_wait_for_the_chooser(world, browser, meta, app):
    meta.pages = [FakePage("1040001", "Kurta House", PAGE_TOKEN),
                  FakePage("1040002", "Saree Studio", PAGE2_TOKEN, instagram_id="17841400000000088",
                           instagram_username="sareestudio")]
    owner = browser("owner_a")
    state = start(owner)["query"]["state"]
    resp = owner.get("/integrations/facebook/callback", query_string={"code": "good-code", "state": state})
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/integrations/facebook/choose")
    assert new_channels(app, world) == []  # nothing connected until a Page is chosen
    chooser = owner.get("/integrations/facebook/choose").get_data(as_text=True)
    assert "Kurta House" in chooser and "Saree Studio" in chooser and "sareestudio" in chooser
    assert PAGE_TOKEN not in chooser and PAGE2_TOKEN not in chooser
    # a Page that was not offered is refused
    bad = owner.post("/integrations/facebook/choose", {"page_id": "999"}, token_from="/integrations/facebook/choose",
                     follow_redirects=True)
    assert "not in the list" in bad.get_data(as_text=True) and new_channels(app, world) == []
    done = owner.post("/integrations/facebook/choose", {"page_id": "1040002"},
                      token_from="/integrations/facebook/choose", follow_redirects=True)
    assert "Connected: Saree Studio, @sareestudio" in done.get_data(as_text=True)
    assert sorted(c.external_id for c in new_channels(app, world)) == ["1040002", "17841400000000088"]
    assert all(c.access_token == PAGE2_TOKEN for c in new_channels(app, world))
    # the list is used up
    again = owner.get("/integrations/facebook/choose", follow_redirects=True).get_data(as_text=True)
    assert "expired" in again


def test_the_chooser_list_belongs_to_its_user(world, browser, meta, app):
    from app.services.integrations import ConnectError, facebook

    meta.pages = [FakePage("1040001", "Kurta House", PAGE_TOKEN), FakePage("1040002", "Saree", PAGE2_TOKEN)]
    owner = browser("owner_a")
    owner.get("/integrations/facebook/callback",
              query_string={"code": "good-code", "state": start(owner)["query"]["state"]})
    with owner.client.session_transaction() as sess:
        key = sess["connect_pending"]
    other = browser("owner_b")  # its own session has no pending list
    resp = other.get("/integrations/facebook/choose", follow_redirects=True).get_data(as_text=True)
    assert "expired" in resp and "Kurta House" not in resp
    with app.app_context():
        owner_a = db.session.scalar(text("SELECT id FROM ab_user WHERE username = 'owner_a'"))
        owner_b = db.session.scalar(text("SELECT id FROM ab_user WHERE username = 'owner_b'"))
        assert facebook.pending_tenant(key, owner_a) == world.a.tenant_id
        with pytest.raises(ConnectError):
            facebook.pending_tenant(key, owner_b)  # someone else holding the key gets nothing
        with pytest.raises(ConnectError):
            facebook.choose(key, "1040001", world.b.tenant_id, owner_a)  # nor another tenant
        # stored encrypted: the page tokens are not readable in Redis
        raw = app.extensions["redis"].get(f"connect-pending:{key}")
        assert raw and PAGE_TOKEN.encode() not in raw
    assert new_channels(app, world) == []


def test_denied_permission_connects_nothing(world, browser, meta, app):
    one_page(meta)
    owner = browser("owner_a")
    denied = callback(owner, state=start(owner)["query"]["state"], error="access_denied",
                      error_reason="user_denied", error_description="Permissions error")
    assert "did not allow Closer" in denied.get_data(as_text=True)
    meta.declined = {"pages_messaging"}
    partial = callback(owner, code="good-code", state=start(owner)["query"]["state"])
    assert "You declined pages_messaging" in partial.get_data(as_text=True)
    assert new_channels(app, world) == []


def test_expired_code_is_a_clear_message(world, browser, meta, app):
    one_page(meta)
    owner = browser("owner_a")
    page = callback(owner, code="stale-code", state=start(owner)["query"]["state"])
    assert "code expires after a few minutes" in page.get_data(as_text=True)
    assert new_channels(app, world) == []


def test_missing_tampered_replayed_and_foreign_state_are_refused(world, browser, meta, app):
    one_page(meta)
    owner = browser("owner_a")
    assert "without its security code" in callback(owner, code="good-code").get_data(as_text=True)
    state = start(owner)["query"]["state"]
    tampered = state[:-3] + ("AAA" if not state.endswith("AAA") else "BBB")
    assert "invalid security code" in callback(owner, code="good-code", state=tampered).get_data(as_text=True)
    # another user's state (owner_b started it) is not owner_a's
    other = browser("owner_b")
    foreign = start(other)["query"]["state"]
    assert "started by someone else" in callback(owner, code="good-code", state=foreign).get_data(as_text=True)
    assert new_channels(app, world) == []
    # the good one works once; the same state again is refused
    assert "Connected: Kurta House" in callback(owner, code="good-code", state=state).get_data(as_text=True)
    replay = callback(owner, code="good-code", state=state).get_data(as_text=True)
    assert "already used" in replay


def test_expired_state_is_refused(world, browser, meta, app):
    one_page(meta)
    owner = browser("owner_a")
    state = start(owner)["query"]["state"]
    app.config["CONNECT_STATE_MAX_AGE"] = 0
    try:
        time.sleep(1.1)  # itsdangerous counts whole seconds: the state must be older than its age
        page = callback(owner, code="good-code", state=state).get_data(as_text=True)
    finally:
        app.config["CONNECT_STATE_MAX_AGE"] = 600
    assert "expired" in page and new_channels(app, world) == []


def test_a_page_of_another_tenant_is_refused(world, browser, meta, app):
    one_page(meta)
    owner_b = browser("owner_b")
    assert "Connected" in callback(owner_b, code="good-code", state=start(owner_b)["query"]["state"]).get_data(as_text=True)
    owner_a = browser("owner_a")
    page = callback(owner_a, code="good-code", state=start(owner_a)["query"]["state"]).get_data(as_text=True)
    assert "already connected to another Closer store" in page and "Tenant B" not in page
    assert {c.tenant_id for c in new_channels(app, world)} == {world.b.tenant_id}


def test_reconnect_refreshes_the_token(world, browser, meta, app):
    one_page(meta)
    owner = browser("owner_a")
    callback(owner, code="good-code", state=start(owner)["query"]["state"])
    meta.pages[0].token = "page-token-REFRESHED"
    with app.app_context():
        ch = db.session.scalar(select(Channel).where(Channel.external_id == "1040001"))
        ch.status, ch.token_valid, ch.last_error = ChannelStatus.ERROR, False, "Reconnect needed: expired"
        db.session.commit()
    callback(owner, code="good-code", state=start(owner)["query"]["state"])
    fb = [c for c in new_channels(app, world) if c.external_id == "1040001"]
    assert len(fb) == 1
    assert (fb[0].access_token, fb[0].status, fb[0].token_valid, fb[0].last_error) == (
        "page-token-REFRESHED", ChannelStatus.ACTIVE, True, None)


def test_subscription_refused_leaves_the_channel_flagged(world, browser, meta, app):
    one_page(meta)
    meta.refuse_subscribe = True
    owner = browser("owner_a")
    page = callback(owner, code="good-code", state=start(owner)["query"]["state"]).get_data(as_text=True)
    assert "Meta refused to send us its messages" in page and "Resubscribe" in page
    fb = [c for c in new_channels(app, world) if c.platform == Platform.MESSENGER][0]
    assert fb.subscribed is False


def test_staff_cannot_connect(world, browser, meta, app):
    staff = browser("staff_a")
    resp = staff.get("/integrations/facebook/connect")
    assert resp.status_code in (302, 403) and "facebook.test" not in resp.headers.get("Location", "")
    assert staff.get("/integrations/").status_code in (302, 403)


def test_unconfigured_app_says_so(world, browser, meta, app):
    app.config["META_APP_ID"] = None
    page = browser("owner_a").get("/integrations/facebook/connect", follow_redirects=True)
    assert "Facebook Login is not configured" in page.get_data(as_text=True)


# ------------------------------------------------------------------ Instagram Login


def test_instagram_login_connects_the_account_by_its_webhook_id(world, browser, meta, app):
    owner = browser("owner_a")
    dialog = start(owner, "/integrations/instagram/connect")
    assert dialog["url"].startswith("http://instagram.test/oauth/authorize?")
    assert dialog["query"]["scope"] == "instagram_business_basic,instagram_business_manage_messages"
    assert dialog["query"]["redirect_uri"] == "https://closer.example/integrations/instagram/callback"
    page = callback(owner, "instagram", code="ig-code", state=dialog["query"]["state"]).get_data(as_text=True)
    assert "Connected: @shop_ig" in page and meta.ig_long not in page
    (ig,) = new_channels(app, world)
    assert (ig.platform, ig.external_id, ig.connected_via, ig.access_token) == (
        Platform.INSTAGRAM, "17841400000000001", "instagram_login", meta.ig_long)
    assert ig.token_expires_at is not None and ig.subscribed is True
    assert ig.connected_meta_user_id == "9990001"  # whom Instagram's deauthorize callback names
    # a Facebook state is no Instagram state
    fb_state = start(owner)["query"]["state"]
    assert "for something else" in callback(owner, "instagram", code="ig-code", state=fb_state).get_data(as_text=True)


def test_instagram_login_channel_sends_through_instagrams_host(world, browser, meta, app):
    from app.channels.base import graph_for

    owner = browser("owner_a")
    callback(owner, "instagram", code="ig-code", state=start(owner, "/integrations/instagram/connect")["query"]["state"])
    with app.app_context():
        ig = db.session.scalar(select(Channel).where(Channel.external_id == "17841400000000001"))
        client = graph_for(ig)
    assert client.base_url == meta_fake.IG_API and client.token == meta.ig_long


def test_instagram_login_bad_code(world, browser, meta, app):
    owner = browser("owner_a")
    state = start(owner, "/integrations/instagram/connect")["query"]["state"]
    assert "code expires" in callback(owner, "instagram", code="nope", state=state).get_data(as_text=True)
    assert new_channels(app, world) == []


# ------------------------------------------------------------------ WhatsApp


def wa_setup(meta):
    meta.phones = {"106540352242922": {"display": "+91 98200 12345", "name": "Kurta House", "waba": "102290129340398"}}
    meta.templates = [
        {"id": "t1", "name": "order_update", "language": "en", "status": "APPROVED", "category": "UTILITY",
         "components": [{"type": "BODY", "text": "Hi {{1}}, order {{2}} is on its way"}]},
        {"id": "t2", "name": "order_update", "language": "hi", "status": "APPROVED", "category": "UTILITY",
         "components": [{"type": "HEADER", "format": "TEXT", "text": "Namaste {{1}}"},
                        {"type": "BODY", "text": "Order {{1}} raste mein hai"}]},
        {"id": "t3", "name": "diwali_sale", "language": "en", "status": "REJECTED", "category": "MARKETING",
         "components": [{"type": "BODY", "text": "50% off"}]},
        {"id": "t4", "name": "cart_reminder", "language": "en", "status": "APPROVED", "category": "MARKETING",
         "components": [{"type": "BODY", "text": "{{name}}, your {{product}} waits"}]},
    ]


def wa_post(owner, **fields):
    data = {"waba_id": "102290129340398", "phone_number_id": "106540352242922",
            "access_token": "wa-permanent-token", **fields}
    return owner.post("/integrations/whatsapp/connect", data, token_from="/integrations/whatsapp/connect",
                      follow_redirects=True)


def test_whatsapp_number_verified_subscribed_and_templates_fetched(world, browser, meta, app):
    wa_setup(meta)
    owner = browser("owner_a")
    page = wa_post(owner).get_data(as_text=True)
    assert "Connected Kurta House (+91 98200 12345); 3 approved templates fetched" in page
    assert "wa-permanent-token" not in page
    (wa,) = new_channels(app, world)
    assert (wa.platform, wa.external_id, wa.waba_id, wa.subscribed, wa.access_token) == (
        Platform.WHATSAPP, "106540352242922", "102290129340398", True, "wa-permanent-token")
    assert meta.subscriptions["102290129340398"] == {meta_fake.APP_ID}
    with app.app_context():
        rows = db.session.scalars(select(Template).where(Template.tenant_id == world.a.tenant_id,
                                                         Template.platform == "whatsapp")
                                  .order_by(Template.name, Template.language)).all()
        got = [(t.name, t.language, t.status, t.variable_count, t.category) for t in rows]
    assert got == [("cart_reminder", "en", TemplateStatus.APPROVED, 2, "marketing"),
                   ("order_update", "en", TemplateStatus.APPROVED, 2, "utility"),
                   ("order_update", "hi", TemplateStatus.APPROVED, 2, "utility")]


@pytest.mark.parametrize("fields, message", [
    ({"access_token": "wrong-token"}, "Meta refused the token"),
    ({"phone_number_id": "106540352240000"}, "did not recognise these ids"),
    ({"waba_id": "102290129349999"}, "does not belong to WhatsApp Business Account"),
    ({"waba_id": "12ab"}, "digits only"),
    ({"access_token": "two words"}, "as one line"),
])
def test_whatsapp_bad_details_save_nothing(world, browser, meta, app, fields, message):
    wa_setup(meta)
    page = wa_post(browser("owner_a"), **fields).get_data(as_text=True)
    assert message in page
    assert new_channels(app, world) == []
    assert 'value="106540352242922"' in page or fields.get("phone_number_id")  # the form keeps its input


def test_whatsapp_number_of_another_tenant_is_refused(world, browser, meta, app):
    wa_setup(meta)
    wa_post(browser("owner_b"))
    page = wa_post(browser("owner_a")).get_data(as_text=True)
    assert "already connected to another Closer store" in page
    assert {c.tenant_id for c in new_channels(app, world)} == {world.b.tenant_id}


def test_no_token_in_job_arguments(world, browser, meta, app, run_jobs):
    """Nothing queued while connecting carries a token (jobs take ids)."""
    from rq.registry import ScheduledJobRegistry

    wa_setup(meta)
    one_page(meta)
    owner = browser("owner_a")
    wa_post(owner)
    callback(owner, code="good-code", state=start(owner)["query"]["state"])
    with app.app_context():
        from app.jobs.queueing import queue_channel_checks

        queue_channel_checks()
    jobs = []
    for queue in app.extensions["job_queues"].values():
        jobs += queue.get_jobs()
        jobs += [queue.fetch_job(i) for i in ScheduledJobRegistry(queue=queue).get_job_ids()]
    assert jobs
    for job in jobs:
        blob = repr((job.args, job.kwargs, job.func_name))
        for secret in (PAGE_TOKEN, "wa-permanent-token", meta.long_token):
            assert secret not in blob


def test_channel_api_answers_health_and_never_the_token(world, browser, meta, app, api):
    one_page(meta)
    owner = browser("owner_a")
    callback(owner, code="good-code", state=start(owner)["query"]["state"])
    resp = api("owner_a").get("/api/v1/channels/?q=(page_size:100)")
    assert resp.status_code == 200
    body = resp.get_data(as_text=True)
    assert PAGE_TOKEN not in body and "secret-token-A" not in body and "secret-token-B" not in body
    rows = {r["external_id"]: r for r in resp.json["result"]}
    assert rows["1040001"]["subscribed"] is True and rows["1040001"]["token_valid"] is True
    assert rows["1040001"]["connected_via"] == "facebook_login"
    assert "page-B" not in rows


def test_instagram_login_deliveries_may_be_signed_with_instagrams_secret(world, app, post_meta):
    from tests import meta_payloads as mp

    with app.app_context():
        db.session.add(Channel(tenant_id=world.a.tenant_id, platform=Platform.INSTAGRAM,
                               external_id="17841400000000001", name="@shop_ig", access_token="ig-tok",
                               connected_via="instagram_login"))
        db.session.commit()
    payload = mp.messenger("17841400000000001", mp.text("igsid-9", "17841400000000001", "ig_m9", "hi"),
                           obj="instagram")
    signature = mp.sign(mp.encode(payload), "instagram-app-secret")
    assert post_meta(payload, signature=signature).status_code == 403  # not configured: refused
    app.config["INSTAGRAM_APP_SECRET"] = "instagram-app-secret"
    try:
        resp = post_meta(payload, signature=signature)
        forged = post_meta(payload, signature=mp.sign(mp.encode(payload), "someone-else"))
    finally:
        app.config["INSTAGRAM_APP_SECRET"] = None
    assert resp.status_code == 200 and resp.stored == 1
    assert forged.status_code == 403
