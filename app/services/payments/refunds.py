"""Refunds: staff ask for one, an owner executes it (app.security.permissions.CAN_REFUND)."""
from __future__ import annotations

from app.extensions import db
from app.models import Order, OrderStatus, utcnow
from app.services import checkout
from app.services.orders import OrderError
from app.services.payments.gateway import live, razorpay

S = OrderStatus
MAX_REASON = 500


def request_refund(order: Order, *, actor_id: int | None, reason: str | None = None,
                   source: str = "admin") -> None:
    """Ask for a refund without executing it (staff may ask; only an owner refunds): the
    request is kept on the order and in its history for the owner to act on. Nothing moves
    at Razorpay."""
    checkout.refuse_unless(order, S.REFUNDED)
    if order.refund_id:
        raise OrderError(f"Order {order.number}'s refund {order.refund_id} is already under way")
    if order.refund_requested_at is not None:
        raise OrderError(f"A refund of order {order.number} has already been requested")
    reason = " ".join((reason or "").split())[:MAX_REASON] or None
    order.refund_requested_at, order.refund_requested_by_id = utcnow(), actor_id
    order.refund_request_reason = reason
    checkout.note(order, "Refund requested" + (f": {reason}" if reason else ""), source=source,
                  actor_id=actor_id)
    db.session.commit()


def refund(order: Order, *, actor_id: int | None, source: str = "admin") -> str:
    """Ask Razorpay to refund what is left of the payment (all of it unless part was refunded
    already); the order becomes refunded when `refund.processed` arrives (at once in test mode,
    where no money moved). Only for those who may refund (app.security.permissions.CAN_REFUND):
    the views and the API check it."""
    checkout.refuse_unless(order, S.REFUNDED)
    if live():
        if not order.razorpay_payment_id:
            raise OrderError(f"Order {order.number} has no Razorpay payment to refund")
        answer = razorpay().refund(order.razorpay_payment_id, order.total_minor - (order.refunded_minor or 0),
                                   idempotency_key=f"refund-{order.payment_reference}",
                                   notes={"order_number": order.number})
        order.refund_id = answer.get("id")
        checkout.note(order, f"Refund {order.refund_id} requested ({answer.get('status')})",
                      source=source, actor_id=actor_id)
        if answer.get("status") == "processed":
            checkout.transition(order, S.REFUNDED, source=source, actor_id=actor_id,
                                note=f"Refund {order.refund_id} processed")
        db.session.commit()
        return "refund requested" if order.status != S.REFUNDED else "refunded"
    checkout.transition(order, S.REFUNDED, source=source, actor_id=actor_id,
                        note="Refunded (test mode: no money moved)")
    db.session.commit()
    return "refunded"
