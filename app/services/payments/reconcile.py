"""Catching up on Razorpay links whose `payment_link.expired` webhook never came."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from app.extensions import db
from app.models import Order, OrderStatus, utcnow
from app.services import checkout
from app.services.payments.gateway import TEST_LINK_PREFIX, live, razorpay

S = OrderStatus
RECONCILE_GRACE = timedelta(minutes=15)


def overdue_live_links() -> list[tuple[int, int]]:
    """Pending orders whose Razorpay link is past its expiry by a grace period: their
    `payment_link.expired` webhook never came (Razorpay disables a failing endpoint after a day)."""
    if not live():
        return []
    return db.session.execute(select(Order.id, Order.tenant_id).where(
        Order.status == S.PENDING_PAYMENT, Order.payment_link_id.is_not(None),
        ~Order.payment_link_id.startswith(TEST_LINK_PREFIX),
        Order.payment_link_expires_at < utcnow() - RECONCILE_GRACE).order_by(Order.id).limit(200)).all()


def reconcile_link(order_id: int, tenant_id: int) -> str:
    """Ask Razorpay what became of an overdue link and catch up: expired or cancelled releases
    the stock; a paid one is left for its events (only noted), which carry the payment."""
    order = checkout.locked(order_id, tenant_id)
    if order is None or order.status != S.PENDING_PAYMENT or not order.payment_link_id:
        return "nothing to do"
    link = razorpay().fetch_payment_link(order.payment_link_id)
    status = link.get("status")
    target = {"expired": S.EXPIRED, "cancelled": S.CANCELLED}.get(status)
    if target is not None:
        checkout.transition(order, target, source="system",
                            note=f"Razorpay says the link is {status} (its webhook never came)")
    elif status in ("paid", "partially_paid"):
        checkout.note(order, f"Razorpay says the link is {status}; waiting for its payment events",
                      source="system")
    db.session.commit()
    return str(status)
