"""Payments: the link for an order, Razorpay's events applied to orders, cancellations, refunds.

In production, and wherever Razorpay keys are configured, links are Razorpay payment links
made through the SDK with the order's `payment_reference` as `reference_id` (a retried job can't
make a second one). In development and testing without keys (the embedded default) an order
gets a clearly-labelled *test-mode* page of our own (/pay/test/<token>) whose buttons raise the
same events Razorpay would, through the same code, so the demo completes a sale end to end.
Test mode never runs in production, keys or not: it marks orders paid without any money.

Events are resolved to an order by the identifiers Razorpay puts in them (link id, our
reference, Razorpay's order id, the payment id); ids pointing at two different orders are
refused, so an event can only ever touch the one order all its ids agree on, whichever tenant
owns it. What an event does to the order is a checkout transition (forward only, exactly once).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.channels import fields
from app.clients.razorpay_client import PaymentRefused, client_for
from app.extensions import db
from app.models import (
    PAID_STATUSES,
    Message,
    Order,
    OrderStatus,
    PaymentEvent,
    Sender,
    utcnow,
)
from app.money import format_money
from app.jobs.queueing import queue_link, queue_send
from app.services import checkout
from app.services.orders import OrderError

log = logging.getLogger(__name__)

S = OrderStatus
RAZORPAY = "razorpay"
TEST_MODE = "test-mode"
PAID_EVENTS = {"payment_link.paid", "order.paid", "payment.captured"}
CLOSING_EVENTS = {"payment_link.expired": S.EXPIRED, "payment_link.cancelled": S.CANCELLED}
TEST_LINK_PREFIX = "plink_test_"  # shaped like Razorpay's ids, so events resolve the same way
MIN_LINK_MINUTES = 16  # Razorpay wants expire_by at least 15 minutes ahead


def live(config=None) -> bool:
    """Whether payments go through Razorpay: always in production (a config that doesn't say
    otherwise is production), elsewhere once its keys are set. Test mode is the opposite."""
    cfg = config if config is not None else current_app.config
    if cfg.get("PRODUCTION", True):
        return True
    return bool(cfg.get("RAZORPAY_KEY_ID") and cfg.get("RAZORPAY_KEY_SECRET"))


def razorpay():
    cfg = current_app.config
    if not (cfg.get("RAZORPAY_KEY_ID") and cfg.get("RAZORPAY_KEY_SECRET")):
        # Production refuses to start without them (config.Config.validate); this is the
        # last line should a misconfigured app get this far: no link rather than a free one.
        raise PaymentRefused("Razorpay keys are not configured")
    return client_for(cfg["RAZORPAY_KEY_ID"], cfg["RAZORPAY_KEY_SECRET"], cfg["RAZORPAY_API_BASE"])


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


# ------------------------------------------------------------------------------ the link


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


def send_link(order: Order) -> None:
    """Staff send a pending order's payment link to the chat (made first if need be), in a job."""
    checkout.refuse_unless(order, S.PAID)
    if not order.items:
        raise OrderError(f"Order {order.number} has no items yet")
    queue_link(order.id, order.tenant_id)


def place_in_chat(tenant_id: int, customer_id: int, conversation_id: int,
                  lines: list[tuple[int, int]]) -> Order:
    """The salesperson places an order in the chat; its payment link follows there."""
    order = checkout.place_order(tenant_id, customer_id, conversation_id, lines, source="agent")
    queue_link(order.id, order.tenant_id)
    return order


def replace_in_chat(order_id: int, tenant_id: int, lines: list[tuple[int, int]]) -> Order:
    """The salesperson changes a pending order: it is replaced (its link closed first) and the
    new order's link follows in the chat."""
    new = checkout.replace_order(order_id, tenant_id, lines, source="agent", close_link=close_link)
    queue_link(new.id, new.tenant_id)
    return new


def queue_link_message(order_id: int, tenant_id: int) -> int | None:
    """Put the link in the chat once (call under the conversation's lock); the message id."""
    order = db.session.scalar(select(Order).where(Order.id == order_id, Order.tenant_id == tenant_id)
                              .execution_options(populate_existing=True))
    if (order is None or order.status != S.PENDING_PAYMENT or not order.payment_link_url
            or order.payment_link_sent_at is not None or order.conversation is None):
        return None
    msg = _to_customer(order, link_message(order))
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


def _to_customer(order: Order, text: str) -> Message:
    """Queue a message in the order's conversation (the caller commits, then sends)."""
    from app.services.outbound import queue_message

    return queue_message(order.conversation, text, sender=Sender.SYSTEM,
                         payload={"order_id": order.id})


# ------------------------------------------------------------------------------ events


def record_event(provider: str, event_id: str, event_type: str, payload: dict) -> tuple[int | None, bool]:
    """Store an event once: (its id, True) the first time, (existing id, False) for a repeat."""
    event = PaymentEvent(provider=provider, event_id=event_id[:128], event_type=event_type[:64],
                         payload=payload, received_at=utcnow())
    db.session.add(event)
    try:
        db.session.commit()
        return event.id, True
    except IntegrityError:
        db.session.rollback()
        existing = db.session.scalar(select(PaymentEvent.id).where(
            PaymentEvent.provider == provider, PaymentEvent.event_id == event_id[:128]))
        return existing, False


def _entity(payload: dict, name: str) -> dict:
    return fields.optional_obj(fields.optional_obj(fields.optional_obj(payload, "payload"), name), "entity")


def _id(entity: dict, key: str) -> str | None:
    """An identifier from an event, or None when it is not one (ids are compared in SQL)."""
    try:
        return fields.ident(entity, key, limit=64)
    except fields.Malformed:
        return None


def _amount(value) -> int | None:
    """Paise, whether sent as an integer, a whole float or a string of digits."""
    if isinstance(value, bool):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, str) and value.strip().isdigit() and len(value) < 16:
        value = int(value)
    return value if isinstance(value, int) and 0 <= value < 10**15 else None


@dataclass
class EventFacts:
    link_id: str | None
    reference: str | None
    razorpay_order_id: str | None
    payment_id: str | None
    amount_paid: int | None
    error: str | None


def facts(payload: dict) -> EventFacts:
    """What an event says, read defensively (Razorpay's shapes vary: {}, [] and null occur, and
    a signed body can hold anything: every value is checked for type before it reaches SQL)."""
    link, payment = _entity(payload, "payment_link"), _entity(payload, "payment")
    rzp_order, refund = _entity(payload, "order"), _entity(payload, "refund")
    link_id = _id(link, "id")
    description = fields.label(payment, "description", limit=64) or ""
    if not link_id and description.startswith("#") and len(description) > 1:
        link_id = "plink_" + description[1:].strip()  # a link's payment says "#<link id>"
    amount = (_amount(link.get("amount_paid")) or _amount(rzp_order.get("amount_paid"))
              or (_amount(payment.get("amount")) if payment.get("status") == "captured" else None))
    error = None
    if payment.get("status") == "failed":
        error = " / ".join(x for x in (fields.label(payment, "error_description", limit=300),
                                       fields.label(payment, "error_reason", limit=100)) if x) or "payment failed"
    return EventFacts(link_id=link_id or None,
                      reference=_id(link, "reference_id") or _id(rzp_order, "receipt"),
                      razorpay_order_id=_id(payment, "order_id") or _id(link, "order_id"),
                      payment_id=_id(payment, "id") or _id(refund, "payment_id"),
                      amount_paid=amount, error=error)


def resolve(f: EventFacts) -> tuple[Order | None, str | None]:
    """The one order every identifier in the event agrees on, or why there is none."""
    lookups = [(Order.payment_link_id, f.link_id), (Order.payment_reference, f.reference),
               (Order.razorpay_order_id, f.razorpay_order_id), (Order.razorpay_payment_id, f.payment_id)]
    found: dict[int, Order] = {}
    for column, value in lookups:
        if not value:
            continue
        for order in db.session.scalars(select(Order).where(column == value)):
            found[order.id] = order
    if not found:
        return None, "no matching order"
    if len(found) > 1:
        return None, "identifiers point at different orders: " + ", ".join(
            f"{o.number} (tenant {o.tenant_id})" for o in found.values())
    return next(iter(found.values())), None


@dataclass
class Applied:
    status: str
    message_ids: list[int] = field(default_factory=list)


def apply_event(event_id: int) -> Applied:
    """Apply a stored event to its order: idempotent, forward only, committed."""
    event = db.session.get(PaymentEvent, event_id)
    if event is None or event.processed_at is not None:
        return Applied("skipped")
    payload = event.payload if isinstance(event.payload, dict) else {}
    f = facts(payload)
    found, problem = resolve(f)
    if found is None:
        event.processed_at, event.error = utcnow(), problem
        db.session.commit()
        log.info("payment event %s (%s): %s", event.event_id, event.event_type, problem)
        return Applied("unmatched")
    order = checkout.locked(found.id, found.tenant_id)
    if order is None:  # deleted since it was resolved
        event.processed_at, event.error = utcnow(), "the order no longer exists"
        db.session.commit()
        return Applied("unmatched")
    event.tenant_id, event.order_id, event.error = order.tenant_id, order.id, None
    source = event.provider
    order.razorpay_order_id = order.razorpay_order_id or f.razorpay_order_id
    outcome = Applied("recorded")
    kind = event.event_type
    if kind in PAID_EVENTS:
        outcome = _paid(order, f, source, event)
    elif kind == "payment.failed":
        if order.status == S.PENDING_PAYMENT:  # a stale failure must not mark a paid order
            order.payment_error = f.error
        checkout.note(order, f"Payment attempt {f.payment_id or ''} failed: {f.error}", source=source)
        outcome.status = "payment failed (not final)"
    elif kind in CLOSING_EVENTS:
        target = CLOSING_EVENTS[kind]
        if checkout.transition(order, target, source=source, note=f"Razorpay: {kind}"):
            outcome.status = str(target)
    elif kind == "refund.processed":
        refund = _entity(payload, "refund")
        if order.status == S.PENDING_PAYMENT:
            # It overtook the payment's own events: keep it unapplied; the sweep brings it back
            # once the payment has been applied (events come in any order).
            event.error = "refund before the payment was applied: waiting"
            db.session.commit()
            return Applied("deferred")
        refunded = _amount(_entity(payload, "payment").get("amount_refunded")) or _amount(refund.get("amount"))
        if refunded is not None and refunded < order.total_minor:
            checkout.note(order, f"Partial refund {_id(refund, 'id')} of "
                                 f"{format_money(refunded, order.currency)} processed", source=source)
            outcome.status = "partial refund"
        else:
            order.refund_id = _id(refund, "id") or order.refund_id
            if checkout.transition(order, S.REFUNDED, source=source,
                                   note=f"Refund {order.refund_id} processed"):
                outcome.status = str(S.REFUNDED)
    event.processed_at = utcnow()
    db.session.commit()
    return outcome


def _paid(order: Order, f: EventFacts, source: str, event: PaymentEvent) -> Applied:
    if order.status in PAID_STATUSES or order.status == S.REFUNDED:
        return Applied("already paid")
    if f.amount_paid is not None and f.amount_paid < order.total_minor:
        event.error = f"paid {f.amount_paid} of {order.total_minor}: not marked paid"
        checkout.note(order, f"Payment of {format_money(f.amount_paid, order.currency)} is less than "
                             f"the total; not marked paid", source=source)
        return Applied("underpaid")
    if order.status != S.PENDING_PAYMENT:
        event.error = f"payment received for a {order.status} order: refund it"
        checkout.note(order, f"Payment {f.payment_id or ''} arrived after the order was {order.status}: "
                             "refund it", source=source)
        return Applied("paid after close")
    if not checkout.transition(order, S.PAID, source=source, note=f"Payment {f.payment_id or ''} captured"):
        return Applied("already paid")
    # The payment that paid it (refunds go to this one), learnt only by the winning event: a
    # late event about another attempt must not replace it.
    order.razorpay_payment_id = f.payment_id or order.razorpay_payment_id
    order.payment_error = None
    out = Applied(str(S.PAID))
    if order.conversation is not None:
        msg = _to_customer(order, f"Payment received for order {order.number} "
                                  f"({format_money(order.total_minor, order.currency)}). Thank you! "
                                  "We'll let you know when it ships.")
        db.session.flush()
        out.message_ids.append(msg.id)
    return out


def pay_in_test_mode(order: Order, outcome: str) -> None:
    """What the test-mode page's buttons do: record and apply the event Razorpay would send for
    a paid or failed attempt, then send what it tells the customer (in jobs)."""
    event_id, _ = record_event(TEST_MODE, f"test_{order.id}_{outcome}_{order.payment_reference}",
                               *test_event(order, outcome))
    for message_id in apply_event(event_id).message_ids:
        queue_send(message_id, order.tenant_id)


def test_event(order: Order, outcome: str) -> tuple[str, dict]:
    """The event Razorpay would send for a paid or failed attempt on this order's link,
    shaped like theirs (../shared/notes/razorpay-groq.md R4), for the test-mode page."""
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


# ------------------------------------------------------------------------------ staff actions


def close_link(order: Order) -> None:
    """Cancel the order's Razorpay link before the order stops standing (a cancel, a
    replacement): a link paid meanwhile refuses, with OrderError, rather than taking money for
    an order that no longer stands. Test-mode links need nothing: their page checks the order."""
    link = order.payment_link_id
    if not live() or not link or link.startswith(TEST_LINK_PREFIX):
        return
    try:
        razorpay().cancel_payment_link(link)
    except PaymentRefused as exc:
        raise OrderError(f"Razorpay would not cancel order {order.number}'s payment link ({exc}); "
                         "it may have just been paid") from exc


def cancel(order: Order, *, actor_id: int | None, source: str = "admin") -> list[int]:
    """Cancel a pending order: its link is cancelled at Razorpay first (if that fails because
    the link was just paid, the cancel is refused), then the stock goes back."""
    checkout.refuse_unless(order, S.CANCELLED)
    close_link(order)
    if not checkout.transition(order, S.CANCELLED, source=source, actor_id=actor_id, note="Cancelled"):
        raise OrderError(f"Order {order.number} changed meanwhile; reload and try again")
    ids = []
    if order.conversation is not None:
        msg = _to_customer(order, f"Your order {order.number} has been cancelled.")
        db.session.flush()
        ids.append(msg.id)
    db.session.commit()
    return ids


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
    """Ask Razorpay for a full refund; the order becomes refunded when `refund.processed`
    arrives (at once in test mode, where no money moved). Only for those who may refund
    (app.security.permissions.CAN_REFUND): the views and the API check it."""
    checkout.refuse_unless(order, S.REFUNDED)
    if live():
        if not order.razorpay_payment_id:
            raise OrderError(f"Order {order.number} has no Razorpay payment to refund")
        answer = razorpay().refund(order.razorpay_payment_id, order.total_minor,
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


def advance(order: Order, target: OrderStatus, *, actor_id: int | None) -> list[int]:
    """Fulfilled, shipped (needs the tracking number) or delivered; the customer hears of
    shipping."""
    checkout.refuse_unless(order, target)
    if target == S.SHIPPED and not (order.tracking_number or "").strip():
        raise OrderError(f"Enter order {order.number}'s tracking number (Edit) before marking it shipped")
    if not checkout.transition(order, target, source="admin", actor_id=actor_id):
        raise OrderError(f"Order {order.number} changed meanwhile; reload and try again")
    ids = []
    if target == S.SHIPPED and order.conversation is not None:
        msg = _to_customer(order, f"Good news: order {order.number} has shipped. "
                                  f"Tracking number: {order.tracking_number}.")
        db.session.flush()
        ids.append(msg.id)
    db.session.commit()
    return ids


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
