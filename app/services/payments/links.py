"""An order's payment link: made once, put in the chat once.

A link is made through Razorpay with the order's `payment_reference` as `reference_id`, so a
retried job can't make a second one; in test mode it is our own page (app.payment_page).
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from flask import current_app
from sqlalchemy import select

from app.extensions import db
from app.jobs.queueing import queue_link
from app.models import Message, Order, OrderStatus, Sender, utcnow
from app.money import format_money
from app.services import checkout
from app.services.orders import OrderError
from app.services.payments.gateway import TEST_LINK_PREFIX, live, razorpay

S = OrderStatus
MIN_LINK_MINUTES = 16  # Razorpay wants expire_by at least 15 minutes ahead


def place_in_chat(tenant_id: int, customer_id: int, conversation_id: int,
                  lines: list[tuple[int, int]]) -> tuple[Order, bool]:
    """The salesperson places an order in the chat; its payment link follows there.

    (order, True) for a new order. (order, False) when the conversation already awaits payment
    for the very same order (checkout.payable_twin: a Buy tapped twice, a re-delivered
    postback): nothing is placed and that order's link is put in the chat again, after the
    reply that says so (the link job takes the conversation's lock). Committed either way,
    as placing is (with the caller's claim on the messages; and the conversation's row lock
    is not held while the agent goes on thinking)."""
    twin = checkout.payable_twin(tenant_id, conversation_id, lines)
    if twin is not None:
        twin.payment_link_sent_at = None  # sent again (or, not made yet, sent once as planned)
        checkout.note(twin, "Ordered again in the chat: pointed to this order's payment link",
                      source="agent")
        db.session.commit()
        queue_link(twin.id, twin.tenant_id)
        return twin, False
    order = checkout.place_order(tenant_id, customer_id, conversation_id, lines, source="agent")
    queue_link(order.id, order.tenant_id)
    return order, True


def replace_in_chat(order_id: int, tenant_id: int, lines: list[tuple[int, int]]) -> Order:
    """The salesperson changes a pending order: it is replaced (its link closed first) and the
    new order's link follows in the chat."""
    new = checkout.replace_order(order_id, tenant_id, lines, source="agent")
    queue_link(new.id, new.tenant_id)
    return new


def send_link(order: Order) -> None:
    """Staff send a pending order's payment link to the chat (made first if need be), in a job."""
    checkout.refuse_unless(order, S.PAID)
    if not order.items:
        raise OrderError(f"Order {order.number} has no items yet")
    queue_link(order.id, order.tenant_id)


def ensure_link(order_id: int, tenant_id: int) -> Order | None:
    """Give a pending order its payment link, once; returns the order if it has one now."""
    order = db.session.scalar(select(Order).where(Order.id == order_id, Order.tenant_id == tenant_id))
    if order is None or order.status != S.PENDING_PAYMENT:
        return None
    if not order.payment_link_id:
        minutes = max(int(current_app.config["PAYMENT_LINK_EXPIRY_MINUTES"]), MIN_LINK_MINUTES)
        expires = utcnow() + timedelta(minutes=minutes)
        if live():
            link = razorpay().create_payment_link(_link_request(order, expires))
            order.payment_link_id, order.payment_link_url = link["id"], link.get("short_url")
            expire_by = link.get("expire_by") or 0
            order.payment_link_expires_at = (datetime.fromtimestamp(expire_by, timezone.utc)
                                             if expire_by else expires)
        else:
            base = current_app.config["PUBLIC_BASE_URL"].rstrip("/")
            order.payment_link_id = f"{TEST_LINK_PREFIX}{order.payment_reference}"
            order.payment_link_url = f"{base}/pay/test/{order.payment_token}"
            order.payment_link_expires_at = expires
        checkout.note(order, f"Payment link {order.payment_link_id} created", source="system")
        db.session.commit()
    return order


def queue_link_message(order_id: int, tenant_id: int) -> int | None:
    """Put the link in the chat once (call under the conversation's lock); the message id."""
    order = db.session.scalar(select(Order).where(Order.id == order_id, Order.tenant_id == tenant_id)
                              .execution_options(populate_existing=True))
    if (order is None or order.status != S.PENDING_PAYMENT or not order.payment_link_url
            or order.payment_link_sent_at is not None or order.conversation is None):
        return None
    msg = tell_customer(order, link_message(order))
    order.payment_link_sent_at = utcnow()
    db.session.commit()
    return msg.id


def _link_request(order: Order, expires: datetime) -> dict:
    customer = order.customer
    person = {k: v for k, v in {"name": getattr(customer, "name", None),
                                "contact": getattr(customer, "phone", None),
                                "email": getattr(customer, "email", None)}.items() if v}
    data = {"amount": order.total_minor, "currency": order.currency, "accept_partial": False,
            "description": f"Order {order.number}: {checkout.summary(order, with_total=False)}"[:2048],
            "reference_id": order.payment_reference, "expire_by": int(expires.timestamp()),
            "notify": {"sms": False, "email": False}, "reminder_enable": False,
            "notes": {"order_number": order.number, "tenant_id": str(order.tenant_id)}}
    if person:
        data["customer"] = person
    return data


def link_message(order: Order) -> str:
    lines = "\n".join(f"• {i.quantity} × {i.name} — {format_money(i.line_total_minor, order.currency)}"
                      for i in order.items)
    test = "" if live() else "\n(Test mode: no money will move.)"
    return (f"Order {order.number}\n{lines}\nTotal: {format_money(order.total_minor, order.currency)}\n"
            f"Pay here: {order.payment_link_url}{test}")


def tell_customer(order: Order, text: str) -> Message:
    """Queue a message about the order in its conversation (the caller commits, then sends)."""
    from app.services.outbound import queue_message

    return queue_message(order.conversation, text, sender=Sender.SYSTEM,
                         payload={"order_id": order.id})
