"""Jobs for checkout: make and send an order's payment link, apply a payment event.

Both are idempotent: the link is made once per order (Razorpay's reference_id guards a retry
that got as far as Razorpay) and put in the chat once; an event is applied once and its
transition happens once. Messages to the customer go out under the conversation's lock, so a
link never overtakes the salesperson's reply that announced it.
"""
from __future__ import annotations

import logging

from app.clients.graph import TransientGraphError
from app.clients.razorpay_client import PaymentRefused
from app.extensions import db
from app.jobs import HIGH_QUEUE, enqueue
from app.jobs.context import job
from app.models import Message, Order
from app.services import outbound, payments
from app.services.locks import conversation_lock

log = logging.getLogger(__name__)


def queue_link(order_id: int, tenant_id: int) -> None:
    """Enqueue the link job; a queue failure is logged (the sweep finds the order later)."""
    try:
        # No job id: a finished or failed job of the same id would block a retry for days;
        # making the link is idempotent (reference_id) and sending it is guarded by a lock.
        enqueue("app.jobs.payments.create_payment_link", order_id, tenant_id=tenant_id)
    except Exception:
        log.exception("could not enqueue the payment link of order %s; the sweep will", order_id)


def queue_event(event_id: int) -> None:
    try:
        enqueue("app.jobs.payments.apply_payment_event", event_id, job_id=f"payment-event-{event_id}",
                queue=HIGH_QUEUE)
    except Exception:
        log.exception("could not enqueue payment event %s; the sweep will", event_id)


def send(message_ids: list[int], tenant_id: int) -> None:
    """Send now under the conversation lock; a transient failure hands over to the
    retrying send job."""
    for message_id in message_ids:
        msg = db.session.get(Message, message_id)
        if msg is None:
            continue
        with conversation_lock(msg.conversation_id):
            _deliver_or_hand_over(message_id, tenant_id)


def _deliver_or_hand_over(message_id: int, tenant_id: int) -> None:
    """Send now (the caller holds the conversation lock); a transient failure hands over to
    the retrying send job."""
    try:
        outbound.deliver(message_id, tenant_id)
    except TransientGraphError:
        db.session.rollback()
        enqueue("app.jobs.outbound.send_outbound", message_id, tenant_id=tenant_id,
                job_id=f"send-{message_id}")


@job
def create_payment_link(order_id: int, tenant_id: int) -> dict:
    try:
        order = payments.ensure_link(order_id, tenant_id)
    except PaymentRefused as exc:  # not worth retrying: record why on the order for staff
        db.session.rollback()
        order = db.session.get(Order, order_id)
        if order is not None and order.tenant_id == tenant_id:
            order.payment_error = f"Payment link refused by Razorpay: {exc}"
            payments.checkout.note(order, order.payment_error, source="razorpay")
            db.session.commit()
        return {"status": "refused", "error": str(exc)}
    if order is None or order.conversation_id is None:
        return {"status": "no link needed" if order is None else "link made (no chat to send it to)"}
    with conversation_lock(order.conversation_id):
        message_id = payments.queue_link_message(order_id, tenant_id)
        if message_id is not None:
            _deliver_or_hand_over(message_id, tenant_id)
    return {"status": "ok", "link": order.payment_link_id, "sent": message_id is not None}


@job
def apply_payment_event(event_id: int) -> dict:
    applied = payments.apply_event(event_id)
    if applied.message_ids:
        order_tenant = db.session.get(Message, applied.message_ids[0]).tenant_id
        send(applied.message_ids, order_tenant)
    return {"status": applied.status}


@job
def reconcile_payment_link(order_id: int, tenant_id: int) -> dict:
    return {"status": payments.reconcile_link(order_id, tenant_id)}
