"""Checkout: orders with reserved stock, payment links, Razorpay's events, the order lifecycle.

Razorpay and the Graph API are faked at the HTTP boundary (tests/razorpay_fake.py,
`graph`); everything else is real: the SDK, the webhook, the jobs, the database.
"""
from __future__ import annotations

import json
import re
import threading
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from app import analytics
from app.analytics import Filters
from app.extensions import db
from app.models import (
    Conversation,
    Customer,
    Message,
    Order,
    OrderEvent,
    OrderStatus,
    PaymentEvent,
    Product,
    as_utc,
    utcnow,
)
from app.services import checkout
from app.services.payments import events, gateway
from app.services.orders import OrderError
from app.webhooks.signatures import razorpay_signature_valid
from tests import meta_payloads as mp
from tests import razorpay_fake as rz
from tests.conftest import IS_POSTGRES

S = OrderStatus
HELD = 1  # the world's own pending order holds one unit of each tenant's product


def post_event(app, payload: dict, event_id: str, *, signature: str | None = None, raw: bytes | None = None):
    body = raw if raw is not None else json.dumps(payload, separators=(",", ":")).encode()
    return app.test_client().post("/webhooks/razorpay", data=body, headers={
        "Content-Type": "application/json", "X-Razorpay-Event-Id": event_id,
        "X-Razorpay-Signature": signature if signature is not None else rz.sign(body)})


def place(app, world, quantity=2, tenant="a"):
    rows = getattr(world, tenant)
    with app.app_context():
        conv = db.session.get(Conversation, rows["conversation"])
        conv.last_inbound_at = utcnow()  # the customer is chatting now (inside the 24 h window)
        db.session.commit()
        order = checkout.place_order(rows.tenant_id, conv.customer_id, conv.id,
                                     [(rows["product"], quantity)], source="agent")
        db.session.remove()
        return order.id


def state(app, order_id):
    """(order status, product stock, product reserved, confirmations sent, lifetime spend)."""
    with app.app_context():
        order = db.session.get(Order, order_id)
        product = db.session.get(Product, order.items[0].product_id)
        customer = db.session.get(Customer, order.customer_id)
        confirmations = db.session.scalar(select(func.count()).select_from(Message).where(
            Message.conversation_id == order.conversation_id, Message.text.like("Payment received%")))
        out = (order.status, product.stock, product.reserved, confirmations, customer.lifetime_spend_minor())
        db.session.remove()
        return out


def link_job(app, order_id, tenant_id):
    from app.jobs.payments import create_payment_link

    with app.app_context():
        return create_payment_link(order_id, tenant_id)


def order_row(app, order_id) -> Order:
    with app.app_context():
        order = db.session.get(Order, order_id)
        db.session.expunge(order)
        return order


def paid_order(app, world, run_jobs, quantity=2) -> Order:
    """An order placed in A's chat, its link made, paid through the webhook."""
    order_id = place(app, world, quantity=quantity)
    link_job(app, order_id, world.a.tenant_id)
    order = order_row(app, order_id)
    post_event(app, rz.paid_events(order.payment_link_id, order.payment_reference, order.total_minor)
               ["payment_link.paid"], f"evt_paid_{order_id}")
    run_jobs()
    return order_row(app, order_id)


# -------------------------------------------------------------------------- signatures


def test_a_known_hmac_sha256_vector_over_the_raw_bytes():
    body = b'{"entity":"event","event":"payment_link.paid"}'
    good = "c600833a3d34a6f0894ac53879874bbb8d6997ebc67d595fbb9501db9d575ee3"
    assert razorpay_signature_valid("test_webhook_secret", body, good)
    assert rz.sign(body) == good
    reserialized = json.dumps(json.loads(body)).encode()  # a space after ':' and ','
    assert reserialized != body and not razorpay_signature_valid("test_webhook_secret", reserialized, good)
    assert not razorpay_signature_valid("test_webhook_secret", body, None)
    assert not razorpay_signature_valid(None, body, good)


def test_wrong_signature_is_refused_and_changes_nothing(app, world, run_jobs):
    order_id = place(app, world)
    link = order_row(app, order_id)
    payload = rz.paid_events(link.payment_link_id or "plink_x", link.payment_reference, link.total_minor)["order.paid"]
    body = json.dumps(payload, separators=(",", ":")).encode()
    resp = post_event(app, payload, "evt_bad", signature=rz.sign(body, "another_secret"))
    assert resp.status_code == 400
    reserialized = json.dumps(payload).encode()
    assert post_event(app, payload, "evt_bad2", raw=reserialized, signature=rz.sign(body)).status_code == 400
    assert post_event(app, payload, "evt_bad3", signature="").status_code == 400
    run_jobs()
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(PaymentEvent)) == 0
        db.session.remove()
    assert state(app, order_id)[0] == S.PENDING_PAYMENT


def test_malformed_and_unknown_events_are_recorded_and_acknowledged(app, world, run_jobs):
    assert post_event(app, {}, "evt_junk", raw=b"not json", signature=rz.sign(b"not json")).status_code == 200
    stranger = rz.paid_events("plink_Nobody", "ORD-9999-deadbeef", 100)["payment_link.paid"]
    assert post_event(app, stranger, "evt_stranger").status_code == 200
    run_jobs()
    with app.app_context():
        event = db.session.scalar(select(PaymentEvent).where(PaymentEvent.event_id == "evt_stranger"))
        assert event.processed_at is not None and event.error == "no matching order"
        assert event.tenant_id is None and event.order_id is None
        db.session.remove()


# -------------------------------------------------------------------------- placing orders


def test_place_order_reserves_prices_from_catalog_and_credits_the_campaign(app, world):
    order_id = place(app, world, quantity=3)
    with app.app_context():
        order = db.session.get(Order, order_id)
        product = db.session.get(Product, world.a["product"])
        assert order.total_minor == 3 * product.price_minor and order.status == S.PENDING_PAYMENT
        assert order.number.startswith("ORD-") and order.campaign_id == world.a["campaign"]
        assert order.customer_id == world.a["customer"] and order.conversation_id == world.a["conversation"]
        assert (product.stock, product.reserved) == (10, 3 + HELD)
        assert [e.to_status for e in order.events] == ["pending_payment"]
        assert order.payment_reference and len(order.payment_reference) <= 40 and order.payment_token
        db.session.remove()


@pytest.mark.parametrize("lines, message", [
    ([], "at least one item"),
    ([("B", 1)], "not for sale"),
    (None, "available"),
    ([("A", 0)], "between 1 and"),
    ([("A", 101)], "between 1 and"),
    ([("A", "two")], "whole numbers"),
])
def test_invalid_orders_are_refused_and_reserve_nothing(app, world, lines, message):
    a, b = world.a["product"], world.b["product"]
    if lines is None:
        lines = [("A", 5), ("A", 6)]  # merged into 11 of a product with 10 on the shelf
    resolved = [(a if p == "A" else b, q) for p, q in lines]
    with app.app_context():
        with pytest.raises(OrderError, match=message):
            checkout.place_order(world.a.tenant_id, world.a["customer"], world.a["conversation"],
                                 resolved, source="admin")
        assert db.session.get(Product, a).reserved == HELD
        assert db.session.get(Product, b).reserved == HELD
        assert db.session.scalar(select(func.count()).select_from(Order)) == 3  # the world's own
        db.session.remove()


def test_orders_can_not_name_another_tenants_conversation_or_customer(app, world):
    with app.app_context():
        with pytest.raises(OrderError, match="No such conversation"):
            checkout.place_order(world.a.tenant_id, None, world.b["conversation"], [(world.a["product"], 1)],
                                 source="admin")
        with pytest.raises(OrderError, match="No such customer"):
            checkout.place_order(world.a.tenant_id, world.b["customer"], None, [(world.a["product"], 1)],
                                 source="admin")
        assert db.session.get(Product, world.a["product"]).reserved == HELD
        db.session.remove()


@pytest.mark.skipif(not IS_POSTGRES, reason="concurrency is a PostgreSQL property (CI runs it)")
def test_200_concurrent_orders_for_50_in_stock_create_exactly_50(app, world):
    with app.app_context():
        product = db.session.get(Product, world.a["product"])
        product.stock = 50 + HELD  # 50 on sale beside the world's own pending order
        db.session.commit()
        db.session.remove()
    results: list[str] = []
    barrier = threading.Barrier(20)

    def buyer(n: int):
        with app.app_context():
            barrier.wait()
            for _ in range(10):
                try:
                    checkout.place_order(world.a.tenant_id, world.a["customer"], None,
                                         [(world.a["product"], 1)], source="agent")
                    results.append("ok")
                except OrderError:
                    results.append("refused")
            db.session.remove()

    threads = [threading.Thread(target=buyer, args=(n,)) for n in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results.count("ok") == 50 and results.count("refused") == 150
    with app.app_context():
        product = db.session.get(Product, world.a["product"])
        assert (product.stock, product.reserved) == (50 + HELD, 50 + HELD)
        numbers = db.session.scalars(select(Order.number).where(
            Order.tenant_id == world.a.tenant_id, Order.conversation_id.is_(None))).all()
        assert len(numbers) == len(set(numbers)) == 50
        db.session.remove()


# -------------------------------------------------------------------------- payment links


def test_link_job_makes_one_link_and_sends_it_once(app, world, razorpay, graph):
    order_id = place(app, world)
    first = link_job(app, order_id, world.a.tenant_id)
    again = link_job(app, order_id, world.a.tenant_id)
    assert first["sent"] is True and again["sent"] is False
    assert len(razorpay.creates) == 1
    sent = razorpay.creates[0]
    order = order_row(app, order_id)
    assert sent["reference_id"] == order.payment_reference and sent["amount"] == order.total_minor
    assert sent["notify"] == {"sms": False, "email": False} and sent["expire_by"] > 0
    assert order.payment_link_id.startswith("plink_") and order.payment_link_url.startswith("https://rzp.io/")
    texts = [s["message"]["text"] for s in graph.sends()]
    assert len(texts) == 1 and order.payment_link_url in texts[0] and order.number in texts[0]
    assert "Test mode" not in texts[0]


def test_a_retried_link_job_recovers_the_link_its_first_attempt_made(app, world, razorpay, graph):
    order_id = place(app, world)
    razorpay.fail_next_create_after_storing = True  # Razorpay made the link; we saw a 504
    from app.clients.razorpay_client import TransientPaymentError

    with pytest.raises(TransientPaymentError):
        link_job(app, order_id, world.a.tenant_id)
    assert order_row(app, order_id).payment_link_id is None
    result = link_job(app, order_id, world.a.tenant_id)  # RQ's retry
    order = order_row(app, order_id)
    assert result["sent"] is True and len(razorpay.links) == 1
    assert order.payment_link_id == razorpay.links[order.payment_reference]["id"]
    assert len(graph.sends()) == 1


def test_link_expiry_is_configurable(app, world, razorpay):
    import time

    app.config["PAYMENT_LINK_EXPIRY_MINUTES"] = 30
    try:
        order_id = place(app, world)
        link_job(app, order_id, world.a.tenant_id)
    finally:
        app.config["PAYMENT_LINK_EXPIRY_MINUTES"] = 24 * 60
    assert abs(razorpay.creates[0]["expire_by"] - (time.time() + 30 * 60)) < 60


# -------------------------------------------------------------------------- payment events


@pytest.mark.parametrize("order_of_events", [
    ["payment_link.paid", "order.paid", "payment.captured", "payment.authorized"],
    ["payment.authorized", "payment.captured", "order.paid", "payment_link.paid"],
    ["order.paid", "payment.authorized", "payment_link.paid", "payment.captured"],
])
def test_paid_exactly_once_whatever_the_order_and_repeats(app, world, razorpay, graph, run_jobs, order_of_events):
    order_id = place(app, world)
    link_job(app, order_id, world.a.tenant_id)
    order = order_row(app, order_id)
    events = rz.paid_events(order.payment_link_id, order.payment_reference, order.total_minor)
    for round_ in range(2):  # every event delivered twice (Razorpay's at-least-once)
        for name in order_of_events:
            resp = post_event(app, events[name], f"evt_{name}")
            assert resp.status_code == 200
            assert resp.json["status"] == ("ok" if round_ == 0 else "duplicate")
        run_jobs()
    status, stock, reserved, confirmations, spend = state(app, order_id)
    assert (status, stock, reserved, confirmations) == (S.PAID, 8, HELD, 1)
    assert spend == order.total_minor  # revenue counted once
    order = order_row(app, order_id)
    assert order.razorpay_payment_id == "pay_Fake1" and order.razorpay_order_id == "order_Fake1"
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(OrderEvent).where(
            OrderEvent.order_id == order_id, OrderEvent.to_status == "paid")) == 1
        assert db.session.scalar(select(func.count()).select_from(PaymentEvent)) == 4
        db.session.remove()
    confirmations_sent = [s for s in graph.sends() if "Payment received" in s["message"]["text"]]
    assert len(confirmations_sent) == 1


def test_each_paid_event_alone_marks_the_order_paid(app, world, razorpay, run_jobs):
    for name in ("payment_link.paid", "order.paid", "payment.captured"):
        order_id = place(app, world, quantity=1)
        link_job(app, order_id, world.a.tenant_id)
        order = order_row(app, order_id)
        events = rz.paid_events(order.payment_link_id, order.payment_reference, order.total_minor,
                                rzp_order=f"order_{name}", payment_id=f"pay_{name}")
        post_event(app, events[name], f"evt_alone_{name}")
        run_jobs()
        assert state(app, order_id)[0] == S.PAID, name


def test_failed_payment_is_recorded_but_not_final(app, world, razorpay, run_jobs):
    order_id = place(app, world)
    link_job(app, order_id, world.a.tenant_id)
    order = order_row(app, order_id)
    failed = rz.event("payment.failed", payment={
        "id": "pay_Fake1", "status": "failed", "amount": order.total_minor, "order_id": "order_Fake1",
        "description": "#" + order.payment_link_id.removeprefix("plink_"), "error_code": "BAD_REQUEST_ERROR",
        "error_description": "Payment was cancelled by the customer", "error_reason": "payment_cancelled"})
    post_event(app, failed, "evt_failed")
    run_jobs()
    order = order_row(app, order_id)
    assert order.status == S.PENDING_PAYMENT and "cancelled by the customer" in order.payment_error
    events = rz.paid_events(order.payment_link_id, order.payment_reference, order.total_minor)
    post_event(app, events["payment.captured"], "evt_late_capture")  # late authorisation
    post_event(app, failed, "evt_failed_again_later")  # a stale failure after the capture
    run_jobs()
    assert state(app, order_id)[:3] == (S.PAID, 8, HELD)


def test_expiry_releases_stock_and_a_late_payment_does_not_revive_the_order(app, world, razorpay, run_jobs):
    order_id = place(app, world, quantity=4)
    link_job(app, order_id, world.a.tenant_id)
    order = order_row(app, order_id)
    assert state(app, order_id)[1:3] == (10, 4 + HELD)
    expired = rz.event("payment_link.expired", link={"id": order.payment_link_id, "status": "expired",
                                                     "reference_id": order.payment_reference,
                                                     "expired_at": 1767225600})
    post_event(app, expired, "evt_exp")
    post_event(app, expired, "evt_exp_again")
    run_jobs()
    assert state(app, order_id)[:3] == (S.EXPIRED, 10, HELD)
    events = rz.paid_events(order.payment_link_id, order.payment_reference, order.total_minor)
    post_event(app, events["payment_link.paid"], "evt_after_expiry")
    run_jobs()
    status, stock, reserved, confirmations, spend = state(app, order_id)
    assert (status, stock, reserved, confirmations, spend) == (S.EXPIRED, 10, HELD, 0, 0)
    with app.app_context():
        event = db.session.scalar(select(PaymentEvent).where(PaymentEvent.event_id == "evt_after_expiry"))
        assert "refund it" in event.error
        db.session.remove()


def test_refund_processed_marks_refunded_and_spend_drops(app, world, razorpay, run_jobs):
    order = paid_order(app, world, run_jobs)
    order_id = order.id
    assert state(app, order_id)[4] == order.total_minor
    refund = rz.event("refund.processed", refund={"id": "rfnd_Fake9", "status": "processed",
                                                  "payment_id": "pay_Fake1", "amount": order.total_minor},
                      payment={"id": "pay_Fake1", "status": "refunded", "amount": order.total_minor,
                               "order_id": "order_Fake1", "refund_status": "full"})
    post_event(app, refund, "evt_refund")
    post_event(app, refund, "evt_refund")
    run_jobs()
    status, stock, reserved, _, spend = state(app, order_id)
    assert (status, stock, reserved, spend) == (S.REFUNDED, 8, HELD, 0)
    assert order_row(app, order_id).refund_id == "rfnd_Fake9"


def test_underpayment_is_not_paid(app, world, razorpay, run_jobs):
    order_id = place(app, world)
    link_job(app, order_id, world.a.tenant_id)
    order = order_row(app, order_id)
    post_event(app, rz.paid_events(order.payment_link_id, order.payment_reference, 100)["payment.captured"],
               "evt_short")
    run_jobs()
    assert state(app, order_id)[0] == S.PENDING_PAYMENT


# -------------------------------------------------------------------------- tenant isolation


def test_an_event_only_ever_touches_the_order_all_its_ids_agree_on(app, world, razorpay, run_jobs):
    a_id, b_id = place(app, world, tenant="a"), place(app, world, tenant="b")
    link_job(app, a_id, world.a.tenant_id)
    link_job(app, b_id, world.b.tenant_id)
    a, b = order_row(app, a_id), order_row(app, b_id)
    # A's link id with B's reference: refused, neither order moves
    mixed = rz.paid_events(a.payment_link_id, b.payment_reference, b.total_minor)["payment_link.paid"]
    post_event(app, mixed, "evt_mixed")
    run_jobs()
    assert state(app, a_id)[0] == state(app, b_id)[0] == S.PENDING_PAYMENT
    with app.app_context():
        event = db.session.scalar(select(PaymentEvent).where(PaymentEvent.event_id == "evt_mixed"))
        assert "different orders" in event.error and event.order_id is None
        db.session.remove()
    # B's own event moves B only
    post_event(app, rz.paid_events(b.payment_link_id, b.payment_reference, b.total_minor,
                                   rzp_order="order_B", payment_id="pay_B")["payment_link.paid"], "evt_b")
    run_jobs()
    assert state(app, b_id)[0] == S.PAID and state(app, a_id)[0] == S.PENDING_PAYMENT
    with app.app_context():
        event = db.session.scalar(select(PaymentEvent).where(PaymentEvent.event_id == "evt_b"))
        assert (event.tenant_id, event.order_id) == (world.b.tenant_id, b_id)
        db.session.remove()


@pytest.mark.parametrize("name", ["mark_fulfilled", "mark_shipped", "mark_delivered", "cancel_order",
                                  "refund_order", "send_link"])
def test_lifecycle_actions_on_another_tenants_order_are_404(app, world, browser, name):
    b_id = place(app, world, tenant="b")
    before = order_row(app, b_id)
    client = browser("owner_a")
    resp = client.post("/orderview/action_post", data={"action": name, "rowid": [str(b_id)]})
    assert resp.status_code == 404
    resp = client.post(f"/orderview/action/{name}/{b_id}")
    assert resp.status_code == 404
    after = order_row(app, b_id)
    assert (after.status, after.payment_link_id) == (before.status, before.payment_link_id)


# -------------------------------------------------------------------------- admin lifecycle


def test_admin_lifecycle_forward_only_with_history_and_messages(app, world, browser, razorpay, graph, run_jobs):
    order_id = place(app, world)
    link_job(app, order_id, world.a.tenant_id)
    order = order_row(app, order_id)
    client = browser("staff_a")

    def act(name):
        return client.post("/orderview/action_post", data={"action": name, "rowid": [str(order_id)]},
                           follow_redirects=True).get_data(as_text=True)

    assert "can&#39;t become fulfilled" in act("mark_fulfilled") or "can't become fulfilled" in act("mark_fulfilled")
    post_event(app, rz.paid_events(order.payment_link_id, order.payment_reference, order.total_minor)
               ["payment_link.paid"], "evt_paid")
    run_jobs()
    assert "tracking number" in act("mark_shipped")
    assert order_row(app, order_id).status == S.PAID
    with app.app_context():
        db.session.get(Order, order_id).tracking_number = "AWB123456"
        db.session.commit()
        db.session.remove()
    act("mark_fulfilled")
    act("mark_shipped")
    run_jobs()
    act("mark_delivered")
    assert "can&#39;t become cancelled" in act("cancel_order")
    order = order_row(app, order_id)
    assert order.status == S.DELIVERED and order.shipped_at and order.delivered_at
    with app.app_context():
        history = [(e.from_status, e.to_status, e.source, e.actor.username if e.actor else None)
                   for e in db.session.scalars(select(OrderEvent).where(
                       OrderEvent.order_id == order_id, OrderEvent.to_status.is_not(None))
                       .order_by(OrderEvent.id))]
        db.session.remove()
    assert history == [(None, "pending_payment", "agent", None),
                       ("pending_payment", "paid", "razorpay", None),
                       ("paid", "fulfilled", "admin", "staff_a"),
                       ("fulfilled", "shipped", "admin", "staff_a"),
                       ("shipped", "delivered", "admin", "staff_a")]
    shipped = [s for s in graph.sends() if "has shipped" in s["message"]["text"]]
    assert len(shipped) == 1 and "AWB123456" in shipped[0]["message"]["text"]
    page = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", client.get(f"/orderview/show/{order_id}").get_data(as_text=True)))
    assert "Tracking Number AWB123456" in page
    assert "fulfilled shipped admin" in page and "shipped delivered admin" in page  # the history tab


def test_cancel_releases_stock_and_cancels_the_link(app, world, browser, razorpay, graph, run_jobs):
    order_id = place(app, world, quantity=3)
    link_job(app, order_id, world.a.tenant_id)
    link_id = order_row(app, order_id).payment_link_id
    browser("owner_a").post("/orderview/action_post", data={"action": "cancel_order", "rowid": [str(order_id)]})
    run_jobs()
    assert state(app, order_id)[:3] == (S.CANCELLED, 10, HELD)
    assert razorpay.cancels == [link_id]
    assert any("has been cancelled" in s["message"]["text"] for s in graph.sends())


def test_refund_through_razorpay_then_its_webhook(app, world, browser, razorpay, run_jobs):
    order = paid_order(app, world, run_jobs)
    order_id = order.id
    browser("owner_a").post("/orderview/action_post", data={"action": "refund_order", "rowid": [str(order_id)]})
    assert razorpay.refunds == [("pay_Fake1", {"amount": order.total_minor, "speed": "normal",
                                               "notes": {"order_number": order.number}},
                                 f"refund-{order.payment_reference}")]
    assert order_row(app, order_id).status == S.PAID  # requested, not yet processed
    post_event(app, rz.event("refund.processed", refund={"id": "rfnd_Fake1", "status": "processed",
                                                         "payment_id": "pay_Fake1"}), "evt_rf")
    run_jobs()
    assert state(app, order_id)[0] == S.REFUNDED


def test_customer_view_shows_lifetime_spend_from_paid_orders(app, world, browser, razorpay, run_jobs):
    order_id = place(app, world)
    link_job(app, order_id, world.a.tenant_id)
    order = order_row(app, order_id)
    client = browser("owner_a")
    page = client.get(f"/customerview/show/{world.a['customer']}").get_data(as_text=True)
    assert "Lifetime spend" in page and "₹0.00" in page
    post_event(app, rz.paid_events(order.payment_link_id, order.payment_reference, order.total_minor)
               ["payment_link.paid"], "evt_paid")
    run_jobs()
    page = client.get(f"/customerview/show/{world.a['customer']}").get_data(as_text=True)
    assert "₹1,598.00" in page
    listing = client.get("/customerview/list/").get_data(as_text=True)
    assert "₹1,598.00" in listing


def test_admin_order_lines_reserve_and_release_stock(app, world, api):
    client = api("owner_a")
    created = client.post("/api/v1/orders/", json={"customer": world.a["customer"], "notes": "phone order"})
    assert created.status_code == 201, created.get_data(as_text=True)
    order_id = created.json["id"]
    line = client.post("/api/v1/order_items/", json={"order": order_id, "product": world.a["product"],
                                                     "quantity": 4})
    assert line.status_code == 201, line.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Product, world.a["product"]).reserved == 4 + HELD
        db.session.remove()
    too_many = client.put(f"/api/v1/order_items/{line.json['id']}", json={"quantity": 11})
    assert too_many.status_code == 422 and "available" in too_many.get_data(as_text=True)
    assert client.put(f"/api/v1/order_items/{line.json['id']}", json={"quantity": 2}).status_code == 200
    with app.app_context():
        assert db.session.get(Product, world.a["product"]).reserved == 2 + HELD
        assert db.session.get(Order, order_id).total_minor == 2 * 79900
        db.session.remove()
    assert client.delete(f"/api/v1/order_items/{line.json['id']}").status_code == 200
    with app.app_context():
        assert db.session.get(Product, world.a["product"]).reserved == HELD
        db.session.remove()


# -------------------------------------------------------------------------- test mode and the chat


def test_test_mode_page_completes_a_payment_without_keys(app, world, graph, run_jobs, browser):
    order_id = place(app, world)
    link_job(app, order_id, world.a.tenant_id)
    order = order_row(app, order_id)
    url = f"/pay/test/{order.payment_token}"
    assert order.payment_link_url.endswith(url)
    assert "Test mode" in graph.sends()[0]["message"]["text"]
    customer = browser(None)  # anonymous: the customer opening the link from the chat
    page = customer.get(url)
    assert page.status_code == 200 and "TEST MODE" in page.get_data(as_text=True)
    assert customer.get("/pay/test/not-a-token").status_code == 404
    customer.post(url, data={"outcome": "failed"}, token_from=url)
    assert order_row(app, order_id).status == S.PENDING_PAYMENT
    assert "Test payment failed" in customer.get(url).get_data(as_text=True)
    token = customer.csrf(url)
    for _ in range(2):  # a double click
        customer.client.post(url, data={"outcome": "paid", "csrf_token": token})
    run_jobs()
    assert state(app, order_id)[:4] == (S.PAID, 8, HELD, 1)
    assert "Status: <strong>paid" in customer.get(url).get_data(as_text=True)


def test_test_mode_page_is_gone_when_razorpay_is_configured(app, world, razorpay):
    order_id = place(app, world)
    order = order_row(app, order_id)
    assert app.test_client().get(f"/pay/test/{order.payment_token}").status_code == 404


def test_chat_path_end_to_end(app, world, post_meta, run_jobs, graph, razorpay):
    """Message -> agent -> order -> link sent -> webhook -> paid -> confirmation sent."""
    post_meta(mp.messenger("page-A", mp.text("psid-A", "page-A", "m_buy", "I'll take 2 of Prod-A")))
    run_jobs()
    run_jobs()
    texts = [s["message"]["text"] for s in graph.sends()]
    assert len(texts) == 2, texts
    with app.app_context():
        order = db.session.scalar(select(Order).where(Order.tenant_id == world.a.tenant_id,
                                                      Order.payment_link_id.is_not(None)))
        db.session.expunge(order)
    assert order.number in texts[0] and order.payment_link_url in texts[1]  # reply first, then the link
    assert order.total_minor == 2 * 79900 and order.conversation_id == world.a["conversation"]
    post_event(app, rz.paid_events(order.payment_link_id, order.payment_reference, order.total_minor)
               ["payment_link.paid"], "evt_chat_paid")
    run_jobs()
    texts = [s["message"]["text"] for s in graph.sends()]
    assert texts[-1].startswith(f"Payment received for order {order.number}")
    assert state(app, order.id)[:4] == (S.PAID, 8, HELD, 1)


def test_sweep_applies_stranded_events_sends_stranded_links_and_expires_test_links(app, world, graph, run_jobs):
    """Redis was down: an order's link job and a payment event's job were never queued."""

    from app.services.sweep import sweep

    order_id = place(app, world)  # its link job was never enqueued (place() doesn't)
    stale = place(app, world, quantity=1)
    link_job(app, stale, world.a.tenant_id)
    with app.app_context():
        db.session.get(Order, stale).payment_link_expires_at = utcnow() - timedelta(minutes=1)
        events.record_event(gateway.RAZORPAY, "evt_stranded", "payment.authorized",
                              rz.event("payment.authorized", payment={"id": "pay_x", "status": "authorized"}))
        db.session.commit()
        db.session.remove()
    app.config["SWEEP_AFTER_SECONDS"] = 0
    try:
        with app.app_context():
            report = sweep()
            db.session.remove()
    finally:
        app.config["SWEEP_AFTER_SECONDS"] = 30
    assert (report.payment_events, report.payment_links, report.expired_orders) == (1, 1, 1)
    run_jobs()
    assert state(app, stale)[0] == S.EXPIRED
    assert order_row(app, order_id).payment_link_sent_at is not None
    with app.app_context():
        assert db.session.scalar(select(PaymentEvent.processed_at).where(
            PaymentEvent.event_id == "evt_stranded")) is not None
        db.session.remove()


def test_expiry_after_payment_changes_nothing(app, world, razorpay, run_jobs):
    order = paid_order(app, world, run_jobs)
    post_event(app, rz.event("payment_link.expired", link={"id": order.payment_link_id, "status": "expired",
                                                          "reference_id": order.payment_reference}), "evt_late_exp")
    run_jobs()
    assert state(app, order.id)[:4] == (S.PAID, 8, HELD, 1)


def test_a_refund_that_overtakes_its_payment_is_applied_after_it(app, world, razorpay, run_jobs):
    from app.services.sweep import sweep

    second = place(app, world, quantity=1)
    link_job(app, second, world.a.tenant_id)
    other = order_row(app, second)
    refund = rz.event("refund.processed", refund={"id": "rfnd_Two", "status": "processed", "payment_id": "pay_Two"},
                      payment={"id": "pay_Two", "status": "refunded", "order_id": "order_Two",
                               "description": "#" + other.payment_link_id.removeprefix("plink_")})
    post_event(app, refund, "evt_refund_first")
    run_jobs()
    assert state(app, second)[0] == S.PENDING_PAYMENT
    post_event(app, rz.paid_events(other.payment_link_id, other.payment_reference, other.total_minor,
                                   rzp_order="order_Two", payment_id="pay_Two")["payment_link.paid"], "evt_two_paid")
    run_jobs()
    assert state(app, second)[0] == S.PAID
    app.config["SWEEP_AFTER_SECONDS"] = 0
    try:
        with app.app_context():
            assert sweep().payment_events == 1  # the waiting refund
            db.session.remove()
    finally:
        app.config["SWEEP_AFTER_SECONDS"] = 30
    run_jobs()
    assert state(app, second)[0] == S.REFUNDED


def test_paid_orders_and_their_lines_can_not_be_deleted(app, world, razorpay, run_jobs, api, browser):
    order = paid_order(app, world, run_jobs)
    with app.app_context():
        item_id = db.session.get(Order, order.id).items[0].id
        db.session.remove()
    client = api("owner_a")
    line = client.delete(f"/api/v1/order_items/{item_id}")
    assert line.status_code == 422 and "can't change" in line.get_data(as_text=True)
    whole = client.delete(f"/api/v1/orders/{order.id}")
    assert whole.status_code == 422 and "cancel or refund" in whole.get_data(as_text=True)
    page = browser("owner_a").post(f"/orderview/delete/{order.id}", follow_redirects=True)
    assert "cancel or refund" in page.get_data(as_text=True)
    assert state(app, order.id)[:3] == (S.PAID, 8, HELD)


def test_deleting_a_pending_order_gives_its_stock_back(app, world, api):
    order_id = place(app, world, quantity=3)
    assert state(app, order_id)[2] == 3 + HELD
    resp = api("owner_a").delete(f"/api/v1/orders/{order_id}")
    assert resp.status_code == 200, resp.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Product, world.a["product"]).reserved == HELD
        db.session.remove()


def test_staff_build_an_order_in_the_admin_and_send_its_link(app, world, api, browser, graph, run_jobs):
    with app.app_context():
        db.session.get(Conversation, world.a["conversation"]).last_inbound_at = utcnow()
        db.session.commit()
        db.session.remove()
    client = api("owner_a")
    created = client.post("/api/v1/orders/", json={"customer": world.a["customer"],
                                                   "conversation": world.a["conversation"]})
    order_id = created.json["id"]
    page = browser("owner_a").post("/orderview/action_post", data={"action": "send_link", "rowid": [str(order_id)]},
                                   follow_redirects=True).get_data(as_text=True)
    assert "has no items yet" in page
    client.post("/api/v1/order_items/", json={"order": order_id, "product": world.a["product"], "quantity": 1})
    browser("owner_a").post("/orderview/action_post", data={"action": "send_link", "rowid": [str(order_id)]})
    run_jobs()
    order = order_row(app, order_id)
    assert order.payment_link_url and order.payment_link_sent_at
    assert order.payment_link_url in graph.sends()[-1]["message"]["text"]


def test_a_link_razorpay_refuses_is_recorded_for_staff_not_retried(app, world, razorpay):
    order_id = place(app, world)
    razorpay.refuse_creates = "The amount must be at least INR 1.00"
    with app.app_context():
        from app.jobs.payments import create_payment_link

        result = create_payment_link(order_id, world.a.tenant_id)
        db.session.remove()
    assert result["status"] == "refused"
    order = order_row(app, order_id)
    assert "at least INR 1.00" in order.payment_error and order.payment_link_id is None


# -------------------------------------------------------------------------- found in review


def test_an_order_refused_for_stock_still_leaves_the_customers_message_answered(app, world, post_meta,
                                                                                 run_jobs, graph):
    """A refused order must not roll back the answer job's claim (else the sweep re-answers)."""
    from app.services.sweep import sweep

    with app.app_context():
        product = db.session.get(Product, world.a["product"])
        product.reserved = product.stock  # sold out
        db.session.commit()
        db.session.remove()
    post_meta(mp.messenger("page-A", mp.text("psid-A", "page-A", "m_sold_out", "I'll take 2 of Prod-A")))
    run_jobs()
    assert len(graph.sends()) == 1 and "don't have 2" in graph.sends()[0]["message"]["text"]
    with app.app_context():
        handled = db.session.scalar(select(Message.handled_at).where(Message.external_id == "m_sold_out"))
        assert handled is not None
        assert db.session.get(Product, world.a["product"]).reserved == 10
        app.config["SWEEP_AFTER_SECONDS"] = 0
        try:
            assert sweep().inbound == 0
        finally:
            app.config["SWEEP_AFTER_SECONDS"] = 30
        db.session.remove()


def test_a_late_failure_of_another_attempt_does_not_touch_a_paid_order(app, world, razorpay, run_jobs):
    order = paid_order(app, world, run_jobs)  # paid by pay_Fake1
    late = rz.event("payment.failed", payment={
        "id": "pay_Earlier", "status": "failed", "amount": order.total_minor, "order_id": "order_Fake1",
        "description": "#" + order.payment_link_id.removeprefix("plink_"),
        "error_description": "Card declined", "error_reason": "payment_failed"})
    post_event(app, late, "evt_late_failure")
    run_jobs()
    after = order_row(app, order.id)
    assert (after.status, after.razorpay_payment_id, after.payment_error) == (S.PAID, "pay_Fake1", None)


def test_razorpay_refusing_a_refund_is_shown_to_staff_not_a_500(app, world, browser, razorpay, run_jobs):
    order = paid_order(app, world, run_jobs)
    razorpay.refuse_refunds = "The payment has been fully refunded already"
    resp = browser("owner_a").post("/orderview/action_post", data={"action": "refund_order",
                                                                    "rowid": [str(order.id)]},
                                   follow_redirects=True)
    assert resp.status_code == 200 and "fully refunded already" in resp.get_data(as_text=True)
    assert order_row(app, order.id).status == S.PAID


def test_once_a_link_exists_the_lines_are_fixed_and_delete_is_refused(app, world, api):
    order_id = place(app, world)
    link_job(app, order_id, world.a.tenant_id)  # test mode: the link exists now
    client = api("owner_a")
    with app.app_context():
        item_id = db.session.get(Order, order_id).items[0].id
        db.session.remove()
    changed = client.put(f"/api/v1/order_items/{item_id}", json={"quantity": 1})
    assert changed.status_code == 422 and "already has a payment link" in changed.get_data(as_text=True)
    added = client.post("/api/v1/order_items/", json={"order": order_id, "product": world.a["product"],
                                                      "quantity": 1})
    assert added.status_code == 422
    assert client.delete(f"/api/v1/order_items/{item_id}").status_code == 422
    deleted = client.delete(f"/api/v1/orders/{order_id}")
    assert deleted.status_code == 422 and "cancel it instead" in deleted.get_data(as_text=True)
    assert state(app, order_id)[:3] == (S.PENDING_PAYMENT, 10, 2 + HELD)


def test_a_partial_refund_is_noted_but_the_order_stays_paid(app, world, razorpay, run_jobs):
    order = paid_order(app, world, run_jobs)
    partial = rz.event("refund.processed", refund={"id": "rfnd_Part", "status": "processed",
                                                   "payment_id": "pay_Fake1", "amount": 100},
                       payment={"id": "pay_Fake1", "status": "captured", "amount": order.total_minor,
                                "amount_refunded": 100, "order_id": "order_Fake1"})
    post_event(app, partial, "evt_partial")
    run_jobs()
    assert state(app, order.id)[0] == S.PAID
    with app.app_context():
        notes = [e.note for e in db.session.scalars(select(OrderEvent).where(OrderEvent.order_id == order.id))]
        db.session.remove()
    assert any("Partial refund rfnd_Part" in (n or "") for n in notes)


def test_an_expired_link_whose_webhook_never_came_is_reconciled_by_the_sweep(app, world, razorpay, run_jobs):

    from app.services.sweep import sweep

    order_id = place(app, world, quantity=3)
    link_job(app, order_id, world.a.tenant_id)
    order = order_row(app, order_id)
    razorpay.links[order.payment_reference]["status"] = "expired"  # Razorpay expired it; no webhook
    with app.app_context():
        db.session.get(Order, order_id).payment_link_expires_at = utcnow() - timedelta(hours=1)
        db.session.commit()
        sweep()
        db.session.remove()
    run_jobs()
    assert state(app, order_id)[:3] == (S.EXPIRED, 10, HELD)


# ------------------------------------------------------------------------------ payment time


def _late_payment(app, world, run_jobs, created_at):
    """An order placed two days ago, its payment event stamped `created_at` by Razorpay and
    delivered only now (Razorpay retries for a day); returns (paid_at, when it was placed)."""
    order_id = place(app, world)
    link_job(app, order_id, world.a.tenant_id)
    with app.app_context():
        order = db.session.get(Order, order_id)
        order.created_at = utcnow() - timedelta(days=2)
        db.session.commit()
        placed = order.created_at
    order = order_row(app, order_id)
    payload = rz.paid_events(order.payment_link_id, order.payment_reference, order.total_minor)["payment_link.paid"]
    post_event(app, {**payload, "created_at": created_at}, f"evt_late_{order_id}")
    run_jobs()
    with app.app_context():
        paid_at = db.session.get(Order, order_id).paid_at
    return as_utc(paid_at), as_utc(placed)


@pytest.mark.parametrize("unit", [1, 1000, "str"])
def test_a_payment_is_paid_when_razorpay_says_not_when_its_event_arrived(app, world, razorpay, run_jobs, unit):
    """23:55 IST yesterday, delivered after midnight: yesterday's revenue, in seconds,
    milliseconds or a string of seconds alike."""
    ist = ZoneInfo("Asia/Kolkata")
    yesterday = datetime.now(ist).date() - timedelta(days=1)
    moment = datetime.combine(yesterday, datetime.min.time(), tzinfo=ist).replace(hour=23, minute=55)
    stamp = int(moment.timestamp())
    paid_at, _ = _late_payment(app, world, run_jobs, str(stamp) if unit == "str" else stamp * unit)
    assert paid_at == moment.astimezone(timezone.utc)
    with app.app_context():
        days = {d: analytics.summary(Filters(tenant_id=world.a.tenant_id, start=d, end=d))["orders_paid"]
                for d in (yesterday, yesterday + timedelta(days=1))}
    assert days == {yesterday: 1, yesterday + timedelta(days=1): 0}


@pytest.mark.parametrize("created_at, expected", [
    ("soon", "arrival"), (None, "arrival"), (-5, "arrival"), (10**30, "arrival"), (True, "arrival"),
    (lambda: int((utcnow() + timedelta(days=3)).timestamp()), "arrival"),       # ahead of its arrival
    (lambda: int((utcnow() - timedelta(days=30)).timestamp()), "placed"),       # before the order
])
def test_a_payment_time_that_cannot_be_right_is_bounded(app, world, razorpay, run_jobs, created_at, expected):
    """Garbage or missing: when it arrived. Ahead of the arrival: the arrival. Before the order
    was placed: its placing."""
    before = utcnow()
    paid_at, placed = _late_payment(app, world, run_jobs, created_at() if callable(created_at) else created_at)
    if expected == "placed":
        assert paid_at == placed
    else:
        assert before - timedelta(seconds=1) <= paid_at <= utcnow()
