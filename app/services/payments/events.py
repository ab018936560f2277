"""Razorpay's events: stored once, read defensively, applied to the one order they name.

Events are resolved to an order by the identifiers Razorpay puts in them (link id, our
reference, Razorpay's order id, the payment id); ids pointing at two different orders are
refused, so an event can only ever touch the one order all its ids agree on, whichever tenant
owns it. What an event does to the order is a checkout transition (forward only, exactly once).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.channels import fields
from app.extensions import db
from app.models import PAID_STATUSES, Order, OrderStatus, PaymentEvent, as_utc, utcnow
from app.money import format_money
from app.services import checkout
from app.services.payments.links import tell_customer

log = logging.getLogger(__name__)

S = OrderStatus
PAID_EVENTS = {"payment_link.paid", "order.paid", "payment.captured"}
CLOSING_EVENTS = {"payment_link.expired": S.EXPIRED, "payment_link.cancelled": S.CANCELLED}


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


def refunded_so_far(already: int, payload: dict) -> int | None:
    """How much of the order's payment has been refunded once this refund is counted, or None
    when the event gives no amount that can be read (taken as a refund of the whole payment,
    as the admin's are). Razorpay's payment entity carries the running total
    (`amount_refunded`), which only grows, so a late, older event can't lower it. Without it
    the refund's own amount is added: each event is applied once (stored by its id)."""
    cumulative = _amount(_entity(payload, "payment").get("amount_refunded"))
    if cumulative:
        return max(already or 0, cumulative)
    this_one = _amount(_entity(payload, "refund").get("amount"))
    return None if this_one is None else (already or 0) + this_one


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
        refunded = refunded_so_far(order.refunded_minor, payload)
        if refunded is not None and refunded < order.total_minor:
            order.refunded_minor = refunded
            checkout.note(order, f"Partial refund {_id(refund, 'id')} processed: "
                                 f"{format_money(refunded, order.currency)} of "
                                 f"{format_money(order.total_minor, order.currency)} refunded so far",
                          source=source)
            outcome.status = "partial refund"
        else:
            order.refund_id = _id(refund, "id") or order.refund_id
            if checkout.transition(order, S.REFUNDED, source=source,
                                   note=f"Refund {order.refund_id} processed"):
                outcome.status = str(S.REFUNDED)
    event.processed_at = utcnow()
    db.session.commit()
    return outcome


def paid_time(event: PaymentEvent, order: Order) -> datetime:
    """When the customer paid: the event's own `created_at` (Razorpay stamps it when the payment
    is captured; in seconds, though any unit is read by its magnitude), not when we processed
    it, which Razorpay's retries can put a day later, on another day of the business's reports.
    Never after the event arrived, never before the order was placed; without a usable time,
    its arrival."""
    payload = event.payload if isinstance(event.payload, dict) else {}
    arrival = as_utc(event.received_at) or utcnow()
    moment = fields.event_time(payload.get("created_at"), arrival=arrival)
    placed = as_utc(order.created_at)
    return max(moment, placed) if placed is not None else moment


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
    if not checkout.transition(order, S.PAID, source=source, note=f"Payment {f.payment_id or ''} captured",
                               at=paid_time(event, order)):
        return Applied("already paid")
    # The payment that paid it (refunds go to this one), learnt only by the winning event: a
    # late event about another attempt must not replace it.
    order.razorpay_payment_id = f.payment_id or order.razorpay_payment_id
    order.payment_error = None
    out = Applied(str(S.PAID))
    if order.conversation is not None:
        msg = tell_customer(order, f"Payment received for order {order.number} "
                                  f"({format_money(order.total_minor, order.currency)}). Thank you! "
                                  "We'll let you know when it ships.")
        db.session.flush()
        out.message_ids.append(msg.id)
    return out
