"""Test mode: what stands in for Razorpay when no keys are set (development, testing, the demo).

The test-mode page (app.payment_page) raises the very events Razorpay would, applied through
the same code (app.services.payments.events), and our own links expire here since no Razorpay
announces it. Never in production: `gateway.live()` is always true there.
"""
from __future__ import annotations

from datetime import timezone

from sqlalchemy import select

from app.extensions import db
from app.jobs.queueing import queue_send
from app.models import Order, OrderStatus, utcnow
from app.services import checkout
from app.services.payments.events import apply_event, record_event
from app.services.payments.gateway import TEST_LINK_PREFIX, TEST_MODE, live

S = OrderStatus


def payable_in_test_mode(order: Order) -> bool:
    """Whether the test-mode page may take a payment for this order now: as on a Razorpay
    link, only while the order awaits payment and its (test) link exists and hasn't expired."""
    if live() or order.status != S.PENDING_PAYMENT:
        return False
    if not (order.payment_link_id or "").startswith(TEST_LINK_PREFIX):
        return False
    expires = order.payment_link_expires_at
    if expires is not None and expires.tzinfo is None:  # SQLite hands back naive UTC
        expires = expires.replace(tzinfo=timezone.utc)
    return expires is None or expires > utcnow()


def pay_in_test_mode(order: Order, outcome: str) -> None:
    """What the test-mode page's buttons do: record and apply the event Razorpay would send for
    a paid or failed attempt, then send what it tells the customer (in jobs)."""
    event_id, _ = record_event(TEST_MODE, f"test_{order.id}_{outcome}_{order.payment_reference}",
                               *test_event(order, outcome))
    for message_id in apply_event(event_id).message_ids:
        queue_send(message_id, order.tenant_id)


def test_event(order: Order, outcome: str) -> tuple[str, dict]:
    """The event Razorpay would send for a paid or failed attempt on this order's link,
    shaped like theirs (the webhook payloads Razorpay documents), for the test-mode page."""
    link_id = order.payment_link_id or f"{TEST_LINK_PREFIX}{order.payment_reference}"
    payment = {"id": f"pay_test_{order.payment_reference}", "entity": "payment",
               "amount": order.total_minor, "currency": order.currency, "method": "upi",
               "description": "#" + link_id.removeprefix("plink_"), "notes": []}
    if outcome == "paid":
        payment.update(status="captured", captured=True)
        return "payment_link.paid", {
            "entity": "event", "account_id": "acc_test_mode", "event": "payment_link.paid",
            "contains": ["payment_link", "payment"], "created_at": int(utcnow().timestamp()),
            "payload": {"payment_link": {"entity": {
                "id": link_id, "status": "paid", "amount": order.total_minor,
                "amount_paid": order.total_minor, "reference_id": order.payment_reference}},
                "payment": {"entity": payment}}}
    payment.update(status="failed", captured=False, error_code="BAD_REQUEST_ERROR",
                   error_description="Test payment failed (chosen on the test page)",
                   error_reason="payment_failed")
    return "payment.failed", {
        "entity": "event", "account_id": "acc_test_mode", "event": "payment.failed",
        "contains": ["payment"], "created_at": int(utcnow().timestamp()),
        "payload": {"payment": {"entity": payment}}}


def expire_overdue_test_links() -> int:
    """Test mode has no Razorpay to announce expiry: expire our own overdue links here."""
    if live():
        return 0
    now = utcnow()
    count = 0
    for order in db.session.scalars(select(Order).where(
            Order.status == S.PENDING_PAYMENT, Order.payment_link_expires_at.is_not(None),
            Order.payment_link_expires_at < now)):
        if checkout.transition(order, S.EXPIRED, source=TEST_MODE, note="Test payment link expired"):
            count += 1
    db.session.commit()
    return count
