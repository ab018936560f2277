"""The analytics API's figures worked out by hand on a small shop built through the real
webhooks: Meta's signed deliveries (a Messenger ad click at 23:50 IST, an ig.me link at 00:10
IST the next day with its timestamp in seconds, a click-to-WhatsApp ad), each re-delivered;
orders paid through Razorpay's webhook days after their conversation (every paid event of a
link, and the same event twice), one of them refunded a week after its payment. Only Meta and
Razorpay are faked, at their HTTP boundaries."""
from __future__ import annotations

import json
from datetime import datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Campaign, Channel, Conversation, Customer, Order, Platform, Product
from app.services import checkout
from tests import meta_payloads as mp
from tests import razorpay_fake as rz

IST = ZoneInfo("Asia/Kolkata")
PAGE, IG, WA = "page-fig", "17841400000000888", "wa-fig-1"
MESSENGER_AD = {"ref": "kurta-ad", "ad_id": "6123", "source": "ADS", "type": "OPEN_THREAD",
                "ads_context_data": {"ad_title": "Kurta sale"}}
IG_LINK = {"ref": "DIWALI-link", "source": "SHORTLINK", "type": "OPEN_THREAD"}
CTWA = {"source_url": "https://fb.me/3cr4Wqqkf", "source_id": "120212345678", "source_type": "ad",
        "headline": "Silk sarees, 20% off", "ctwa_clid": "ARAkLkA8rmlFeiCktEJQ"}


def at_ist(day, hour, minute) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=IST).astimezone(timezone.utc)


def offset(moment: datetime) -> float:
    return (moment - datetime.now(timezone.utc)).total_seconds()


def conversation_of(external_id: str) -> Conversation:
    return db.session.scalar(select(Conversation).join(Customer).where(Customer.external_id == external_id))


def post_razorpay(app, payload: dict, event_id: str):
    body = json.dumps(payload, separators=(",", ":")).encode()
    resp = app.test_client().post("/webhooks/razorpay", data=body, headers={
        "Content-Type": "application/json", "X-Razorpay-Event-Id": event_id,
        "X-Razorpay-Signature": rz.sign(body)})
    assert resp.status_code == 200, resp.get_data(as_text=True)


@pytest.fixture
def shop(app, world, post_meta, run_jobs, razorpay, graph):
    """Day D (nine local days ago) and D+1 hold the three conversations; the orders come today,
    except the Instagram one, placed and paid on D+1 and refunded today."""
    from app.jobs.payments import create_payment_link

    today = datetime.now(IST).date()
    d = today - timedelta(days=9)
    with app.app_context():
        t = world.a.tenant_id
        db.session.add_all([
            Channel(tenant_id=t, platform=Platform.MESSENGER, external_id=PAGE, name="Fig page", access_token="t1"),
            Channel(tenant_id=t, platform=Platform.INSTAGRAM, external_id=IG, name="Fig IG", access_token="t2"),
            Channel(tenant_id=t, platform=Platform.WHATSAPP, external_id=WA, name="Fig WA", access_token="t3"),
        ])
        kurtas = Campaign(tenant_id=t, name="Kurta ads", ad_ids="6123")
        link = Campaign(tenant_id=t, name="Diwali link", ref="diwali-LINK")
        sarees = Campaign(tenant_id=t, name="Saree CTWA", ad_ids="120212345678")
        product = Product(tenant_id=t, sku="FIG-1", name="Fig kurta", price_minor=100000, stock=20)
        db.session.add_all([kurtas, link, sarees, product])
        db.session.commit()
        ids = {"tenant": t, "kurtas": kurtas.id, "link": link.id, "sarees": sarees.id, "product": product.id}

    messenger = mp.messenger(PAGE, mp.text("psid-fig", PAGE, "m_fig1", "Price of the kurta?",
                                           offset_s=offset(at_ist(d, 23, 50)), referral=MESSENGER_AD))
    instagram = mp.messenger(IG, {"sender": {"id": "igsid-fig"}, "recipient": {"id": IG},
                                  "timestamp": int(at_ist(d + timedelta(days=1), 0, 10).timestamp()),  # seconds
                                  "message": {"mid": "ig_fig1", "text": "is this available?",
                                              "referral": IG_LINK}}, obj="instagram")
    wa_moment = int(at_ist(d + timedelta(days=1), 12, 0).timestamp())
    whatsapp = mp.whatsapp(WA, messages=[{"from": "919876500888", "id": "wamid.FIG1", "timestamp": str(wa_moment),
                                          "type": "text", "text": {"body": "Saree price?"}, "referral": CTWA}],
                           contacts=[mp.wa_contact("919876500888", "Asha")])
    for payload in (messenger, instagram, whatsapp):
        assert post_meta(payload).stored == 1
        assert post_meta(payload).stored == 0  # Meta delivers it again
    whatsapp["entry"][0]["changes"][0]["value"]["messages"][0]["timestamp"] = str(wa_moment * 1000)  # in ms
    assert post_meta(whatsapp).stored == 0
    run_jobs()

    with app.app_context():
        from app.models import User  # the owner places the WhatsApp order in the admin

        owner_id = db.session.scalar(select(User.id).where(User.username == "owner_a"))
        orders = {}
        for customer, quantity, source, actor in (("psid-fig", 1, "agent", None), ("igsid-fig", 2, "agent", None),
                                                  ("919876500888", 3, "admin", owner_id)):
            conv = conversation_of(customer)
            order = checkout.place_order(t, conv.customer_id, conv.id, [(ids["product"], quantity)],
                                         source=source, actor_id=actor)
            create_payment_link(order.id, t)
            orders[customer] = order.id
        db.session.expire_all()
        for n, customer in enumerate(orders, 1):
            order = db.session.get(Order, orders[customer])
            events = rz.paid_events(order.payment_link_id, order.payment_reference, order.total_minor,
                                    rzp_order=f"order_Fig{n}", payment_id=f"pay_Fig{n}")
            for name, event in events.items():  # every event of a paid link, one of them twice
                post_razorpay(app, event, f"evt_fig_{n}_{name}")
            post_razorpay(app, events["payment_link.paid"], f"evt_fig_{n}_payment_link.paid")
        run_jobs()
        # The Instagram order was placed and paid on D+1 (its rows say so) ...
        ig_order = db.session.get(Order, orders["igsid-fig"])
        ig_order.created_at = at_ist(d + timedelta(days=1), 14, 0)
        ig_order.paid_at = at_ist(d + timedelta(days=1), 15, 0)
        db.session.commit()
    # ... and refunded a week later, today
    post_razorpay(app, rz.event("refund.processed",
                                refund={"id": "rfnd_Fig2", "status": "processed", "payment_id": "pay_Fig2",
                                        "amount": 200000},
                                payment={"id": "pay_Fig2", "status": "captured", "amount": 200000,
                                         "amount_refunded": 200000, "order_id": "order_Fig2"}), "evt_fig_refund")
    run_jobs()
    with app.app_context():
        statuses = {c: str(db.session.get(Order, o).status) for c, o in orders.items()}
        senders = {c: db.session.get(Order, o).closed_by_sender for c, o in orders.items()}
    assert statuses == {"psid-fig": "paid", "igsid-fig": "refunded", "919876500888": "paid"}
    assert senders == {"psid-fig": "ai", "igsid-fig": "ai", "919876500888": "agent"}
    return {**ids, "d": d, "today": today, "world_campaign": world.a["campaign"]}


def figures(api, what: str, start, end, user="owner_a", **extra):
    query = "&".join([f"start={start.isoformat()}", f"end={end.isoformat()}"] + [f"{k}={v}" for k, v in extra.items()])
    sep = "&" if "?" in what else "?"
    resp = api(user).get(f"/api/v1/analytics/{what}{sep}{query}")
    assert resp.status_code == 200, resp.get_data(as_text=True)
    return resp.json["result"]


def test_the_day_of_the_2350_message(shop, api):
    d = shop["d"]
    s = figures(api, "summary", d, d)
    assert (s["conversations"], s["messages_received"]) == (1, 1)  # delivered twice, counted once
    assert (s["orders_placed"], s["orders_paid"], s["revenue_minor"]) == (0, 0, 0)
    assert s["conversion_rate"] == 1.0  # its order was paid nine days later


def test_the_day_after_the_refunded_order_and_the_0010_message(shop, api):
    d1 = shop["d"] + timedelta(days=1)
    s = figures(api, "summary", d1, d1)
    assert (s["conversations"], s["messages_received"]) == (2, 2)
    assert (s["orders_placed"], s["orders_paid"], s["revenue_minor"], s["refunds_minor"]) == (1, 0, 0, 200000)
    assert (s["ai_closed_sales"], s["human_closed_sales"]) == (0, 0)
    assert s["conversion_rate"] == 0.5  # the WhatsApp chat's order is paid; the refunded one no longer counts
    assert figures(api, "funnel", d1, d1) == {"conversations": 2, "engaged": 0, "ordered": 2, "paid": 1}


def test_the_whole_period_and_today(shop, api):
    d, today = shop["d"], shop["today"]
    s = figures(api, "summary", d, today)
    # plus the world's own chat of today (one message, its pending order)
    assert (s["conversations"], s["messages_received"], s["messages_sent_ai"]) == (4, 4, 0)
    assert (s["orders_placed"], s["orders_paid"], s["revenue_minor"], s["refunds_minor"]) == (4, 2, 400000, 200000)
    assert (s["average_order_minor"], s["conversion_rate"]) == (200000, 0.5)
    assert (s["ai_closed_sales"], s["ai_closed_revenue_minor"]) == (1, 100000)
    assert (s["human_closed_sales"], s["human_closed_revenue_minor"], s["ai_share"]) == (1, 300000, 0.5)
    t = figures(api, "summary", today, today)
    assert (t["conversations"], t["orders_paid"], t["revenue_minor"], t["refunds_minor"]) == (1, 2, 400000, 0)
    days = {r["day"]: r for r in figures(api, "timeseries", d, today)}
    assert [days[x.isoformat()]["conversations"] for x in (d, d + timedelta(days=1))] == [1, 2]
    assert days[today.isoformat()]["revenue_minor"] == 400000
    assert sum(r["revenue_minor"] for r in days.values()) == 400000
    paid_cells = [c for c in figures(api, "heatmap", d, today, kind="paid") if c["count"]]
    assert sum(c["count"] for c in paid_cells) == 2 and {c["weekday"] for c in paid_cells} == {today.weekday()}


def test_breakdowns_by_ad_campaign_and_platform(shop, api):
    d, today = shop["d"], shop["today"]

    def rows(by):
        return {r["key"]: (r["conversations"], r["conversion_rate"], r["orders_paid"], r["revenue_minor"])
                for r in figures(api, "breakdown", d, today, by=by)}

    assert rows("ad") == {"6123": (1, 1.0, 1, 100000), "120212345678": (1, 1.0, 1, 300000),
                          None: (2, 0.0, 0, 0)}  # the Instagram link, the world's chat
    assert rows("campaign") == {shop["kurtas"]: (1, 1.0, 1, 100000), shop["link"]: (1, 0.0, 0, 0),
                                shop["sarees"]: (1, 1.0, 1, 300000), shop["world_campaign"]: (1, 0.0, 0, 0)}
    assert rows("platform") == {"messenger": (2, 0.5, 1, 100000), "instagram": (1, 0.0, 0, 0),
                                "whatsapp": (1, 1.0, 1, 300000)}
    # the agency admin naming the tenant sees the same; another agency's is refused
    agency = figures(api, "breakdown", d, today, user="agency", by="ad", tenant_id=shop["tenant"])
    assert {r["key"]: r["revenue_minor"] for r in agency}["6123"] == 100000
    refused = api("agency_y").get(f"/api/v1/analytics/breakdown?by=ad&tenant_id={shop['tenant']}")
    assert refused.status_code == 403
