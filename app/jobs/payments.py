"""Jobs for checkout: make and send an order's payment link, apply a payment event.

Both are idempotent: the link is made once per order (Razorpay's reference_id guards a retry
that got as far as Razorpay) and put in the chat once; an event is applied once and its
transition happens once. Messages to the customer go out under the conversation's lock, so a
link never overtakes the salesperson's reply that announced it.
"""
from __future__ import annotations

import logging

from app.clients.razorpay_client import PaymentRefused
from app.extensions import db
from app.jobs.context import job
from app.models import Message, Order
from app.services import checkout, outbound
from app.services.payments import events, links, reconcile
from app.services.locks import conversation_lock

log = logging.getLogger(__name__)


def send(message_ids: list[int], tenant_id: int) -> None:
    """Send each message under its conversation's lock, so it never overtakes a reply."""
    for message_id in message_ids:
        msg = db.session.get(Message, message_id)
        if msg is None:
            continue
        with conversation_lock(msg.conversation_id):
            outbound.send_or_retry_later([message_id], tenant_id)


@job
def create_payment_link(order_id: int, tenant_id: int) -> dict:
    try:
        order = links.ensure_link(order_id, tenant_id)
    except PaymentRefused as exc:  # not worth retrying: record why on the order for staff
        db.session.rollback()
        order = db.session.get(Order, order_id)
        if order is not None and order.tenant_id == tenant_id:
            order.payment_error = f"Payment link refused by Razorpay: {exc}"
            checkout.note(order, order.payment_error, source="razorpay")
            db.session.commit()
        return {"status": "refused", "error": str(exc)}
    if order is None or order.conversation_id is None:
        return {"status": "no link needed" if order is None else "link made (no chat to send it to)"}
    with conversation_lock(order.conversation_id):
        message_id = links.queue_link_message(order_id, tenant_id)
        if message_id is not None:
            outbound.send_or_retry_later([message_id], tenant_id)
    return {"status": "ok", "link": order.payment_link_id, "sent": message_id is not None}


@job
def apply_payment_event(event_id: int) -> dict:
    applied = events.apply_event(event_id)
    if applied.message_ids:
        order_tenant = db.session.get(Message, applied.message_ids[0]).tenant_id
        send(applied.message_ids, order_tenant)
    return {"status": applied.status}


@job
def reconcile_payment_link(order_id: int, tenant_id: int) -> dict:
    return {"status": reconcile.reconcile_link(order_id, tenant_id)}
