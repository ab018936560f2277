"""Revenue attribution from end to end: a customer comes from an ad on each platform (Meta's
own referral payloads), the AI answers, the order is placed and paid through Razorpay's
webhook, and the ad, the campaign, the platform and the AI each get that order's revenue;
the staff inbox says where the customer came from. Only Meta and Razorpay are faked, at
their HTTP boundaries."""
from __future__ import annotations

import csv
import io
import json
from datetime import timedelta

import pytest
from sqlalchemy import select

from app import analytics
from app.extensions import db
from app.models import Campaign, Channel, Conversation, Customer, Order, Platform, Product, Tenant
from app.services import checkout, reporting
from tests import meta_payloads as mp
from tests import razorpay_fake as rz

PAGE, IG, WA = "page-chain", "17841400000000777", "wa-chain-1"
MESSENGER_AD = {"ref": "kurta-ad", "ad_id": "6123", "source": "ADS", "type": "OPEN_THREAD",
                "ads_context_data": {"ad_title": "Kurta sale", "photo_url": "https://scontent.example/ad.jpg"}}
INSTAGRAM_AD = {"ad_id": 6000, "source": "ADS", "type": "OPEN_THREAD",
                "ads_context_data": {"ad_title": "Reel: festive kurtas"}}
CTWA = {"source_url": "https://fb.me/3cr4Wqqkf", "source_id": "120212345678", "source_type": "ad",
        "headline": "Silk sarees, 20% off", "body": "Tap to chat", "media_type": "image",
        "ctwa_clid": "ARAkLkA8rmlFeiCktEJQ-QTwRiyYHAFDLMNDBH0CD3qpjd0HR4irJ6LEkR7JwFF4XvnO2E4Nx0"}


@pytest.fixture
def shop(app, world):
    with app.app_context():
        t = world.a.tenant_id
        db.session.add_all([
            Channel(tenant_id=t, platform=Platform.MESSENGER, external_id=PAGE, name="Chain page", access_token="t1"),
            Channel(tenant_id=t, platform=Platform.INSTAGRAM, external_id=IG, name="Chain IG", access_token="t2"),
            Channel(tenant_id=t, platform=Platform.WHATSAPP, external_id=WA, name="Chain WA", access_token="t3"),
        ])
        kurtas = Campaign(tenant_id=t, name="Kurta ads", ad_ids="6000, 6123")
        sarees = Campaign(tenant_id=t, name="Saree CTWA", ad_ids="120212345678")
        product = Product(tenant_id=t, sku="CH-1", name="Chain kurta", price_minor=100000, stock=20)
        db.session.add_all([kurtas, sarees, product])
        db.session.commit()
        return {"tenant": t, "kurtas": kurtas.id, "sarees": sarees.id, "product": product.id}


def conversation_of(external_id: str) -> Conversation:
    return db.session.scalar(select(Conversation).join(Customer).where(Customer.external_id == external_id))


def post_paid(app, order: Order) -> None:
    events = rz.paid_events(order.payment_link_id, order.payment_reference, order.total_minor,
                            rzp_order=f"order_Chain{order.id}", payment_id=f"pay_Chain{order.id}")
    body = json.dumps(events["payment_link.paid"], separators=(",", ":")).encode()
    resp = app.test_client().post("/webhooks/razorpay", data=body, headers={
        "Content-Type": "application/json", "X-Razorpay-Event-Id": f"evt_chain_{order.id}",
        "X-Razorpay-Signature": rz.sign(body)})
    assert resp.status_code == 200


def test_an_ad_on_each_platform_to_its_revenue(app, world, shop, post_meta, run_jobs, razorpay, graph, browser, api):
    from app.jobs.payments import create_payment_link

    post_meta(mp.messenger(PAGE, mp.text("psid-chain", PAGE, "m_chain1", "Price of the kurta?",
                                         referral=MESSENGER_AD)))
    post_meta(mp.messenger(IG, mp.text("igsid-chain", IG, "ig_chain1", "hi, is this available?",
                                       referral=INSTAGRAM_AD), obj="instagram"))
    post_meta(mp.whatsapp(WA, messages=[{"from": "919876500777", "id": "wamid.CHAIN1",
                                         "timestamp": str(mp.now_ms() // 1000), "type": "text",
                                         "text": {"body": "Is this available?"}, "referral": CTWA}],
                          contacts=[mp.wa_contact("919876500777", "Asha")]))
    run_jobs()  # the AI answers each of them

    quantities = {"psid-chain": 1, "igsid-chain": 2, "919876500777": 3}
    with app.app_context():
        for customer, quantity in quantities.items():
            conv = conversation_of(customer)
            order = checkout.place_order(shop["tenant"], conv.customer_id, conv.id,
                                         [(shop["product"], quantity)], source="agent")
            create_payment_link(order.id, shop["tenant"])
            db.session.expire_all()
            post_paid(app, db.session.get(Order, order.id))
        run_jobs()
        db.session.expire_all()

        convs = {c: conversation_of(c) for c in quantities}
        assert convs["psid-chain"].campaign_id == convs["igsid-chain"].campaign_id == shop["kurtas"]
        assert convs["919876500777"].campaign_id == shop["sarees"]
        orders = db.session.scalars(select(Order).where(Order.tenant_id == shop["tenant"],
                                                        Order.conversation_id.in_([c.id for c in convs.values()]))).all()
        assert sorted(str(o.status) for o in orders) == ["paid"] * 3
        assert {o.campaign_id for o in orders} == {shop["kurtas"], shop["sarees"]}  # credited on the order
        assert {o.closed_by_sender for o in orders} == {"ai"}  # the AI's reply was the last turn

        today = reporting.tenant_today(db.session.get(Tenant, shop["tenant"]))
        f = analytics.Filters(tenant_id=shop["tenant"], start=today - timedelta(days=1), end=today + timedelta(days=1))
        ads = {r["key"]: r for r in analytics.breakdown(f, "ad")}
        assert (ads["6123"]["label"], ads["6123"]["orders_paid"], ads["6123"]["revenue_minor"]) == (
            "Kurta sale (6123)", 1, 100000)
        assert (ads["6000"]["conversations"], ads["6000"]["revenue_minor"]) == (1, 200000)
        assert ads["120212345678"]["label"] == "Silk sarees, 20% off (120212345678)"
        assert (ads["120212345678"]["revenue_minor"], ads["120212345678"]["conversion_rate"]) == (300000, 1.0)
        campaigns = {r["key"]: r for r in analytics.breakdown(f, "campaign")}
        assert (campaigns[shop["kurtas"]]["conversations"], campaigns[shop["kurtas"]]["revenue_minor"]) == (2, 300000)
        assert (campaigns[shop["sarees"]]["conversations"], campaigns[shop["sarees"]]["revenue_minor"]) == (1, 300000)
        platforms = {r["key"]: r["revenue_minor"] for r in analytics.breakdown(f, "platform")}
        assert (platforms["messenger"], platforms["instagram"], platforms["whatsapp"]) == (100000, 200000, 300000)
        s = analytics.summary(f)
        assert (s["ai_closed_sales"], s["ai_closed_revenue_minor"]) >= (3, 600000)
        conv_ids = {c: convs[c].id for c in convs}
        start, end = f.start.isoformat(), f.end.isoformat()

    # the API and the export give the same per-ad revenue; another tenant sees none of it
    body = api("owner_a").get(f"/api/v1/analytics/breakdown?by=ad&start={start}&end={end}").json
    assert {r["key"]: r["revenue_minor"] for r in body["result"] if r["key"]} == {
        "6123": 100000, "6000": 200000, "120212345678": 300000}
    other = api("owner_b").get(f"/api/v1/analytics/breakdown?by=ad&start={start}&end={end}").json
    assert all(r["key"] is None for r in other["result"])
    owner = browser("owner_a")
    exported = owner.get(f"/analytics/export.csv?start={start}&end={end}").get_data(as_text=True)
    ad_revenue = {r["key"]: r["value"] for r in csv.DictReader(io.StringIO(exported))
                  if r["section"] == "ad" and r["metric"] == "revenue_minor"}
    assert ad_revenue["120212345678"] == "300000" and ad_revenue["6123"] == "100000"

    # the staff inbox shows where each customer came from, and only to the tenant's own people
    page = owner.get(f"/inbox/c/{conv_ids['919876500777']}").get_data(as_text=True)
    assert "Came from" in page and "Silk sarees, 20% off" in page and "120212345678" in page
    assert "Saree CTWA" in page
    page = owner.get(f"/inbox/c/{conv_ids['psid-chain']}").get_data(as_text=True)
    assert "Kurta sale" in page and "6123" in page and "kurta-ad" in page
    stranger = browser("owner_b").get(f"/inbox/c/{conv_ids['psid-chain']}")
    assert stranger.status_code in (302, 403, 404) and "Kurta sale" not in stranger.get_data(as_text=True)


def test_a_conversation_begins_when_the_customer_wrote_not_when_we_heard(app, world, shop, post_meta):
    """A message written at 23:50 IST and delivered (or processed) later counts, with its
    conversation, on the customer's day; the next message still joins that conversation, even
    though a conversation made before it (and closed since) began later."""
    from datetime import datetime, timezone
    from zoneinfo import ZoneInfo

    from app.models import ConversationStatus

    now = datetime.now(timezone.utc)
    written = datetime.combine((now - timedelta(days=2)).date(), datetime.min.time(), tzinfo=timezone.utc) \
        + timedelta(hours=18, minutes=20)  # 23:50 IST, two days ago
    day = written.astimezone(ZoneInfo("Asia/Kolkata")).date()
    offset = (written - now).total_seconds()
    post_meta(mp.messenger(PAGE, mp.text("psid-late", PAGE, "m_late_2", "still there?", offset_s=offset + 60)))
    with app.app_context():  # a first conversation, begun just after; closed
        first = conversation_of("psid-late")
        first.status = ConversationStatus.CLOSED
        db.session.commit()
    post_meta(mp.messenger(PAGE, mp.text("psid-late", PAGE, "m_late_1", "hello?", offset_s=offset)))  # late
    post_meta(mp.messenger(PAGE, mp.text("psid-late", PAGE, "m_late_3", "anyone?")))
    with app.app_context():
        convs = db.session.scalars(select(Conversation).join(Customer).where(
            Customer.external_id == "psid-late").order_by(Conversation.id)).all()
        assert len(convs) == 2 and [len(c.messages) for c in convs] == [1, 2]
        assert convs[1].status != ConversationStatus.CLOSED
        f = analytics.Filters(tenant_id=shop["tenant"], start=day, end=day)
        s = analytics.summary(f)
        assert (s["conversations"], s["messages_received"]) == (2, 2)
        after = analytics.summary(analytics.Filters(tenant_id=shop["tenant"], start=day + timedelta(days=1),
                                                    end=day + timedelta(days=1)))
        assert (after["conversations"], after["messages_received"]) == (0, 0)  # not the day we heard
