"""The sweep: nothing stored is ever lost because a queue was down or a worker died.

It re-enqueues stored webhook deliveries not yet processed (parking those out of attempts),
inbound messages still unanswered, replies still QUEUED, payment events not yet applied,
orders whose payment link never reached the chat, follow-ups past due, no_reply checks
that came due and ended pauses with a customer still waiting, without their job having run,
after a grace period; and expires overdue
test-mode links. Job ids are derived from the row (or the quiet spell), so work whose job
still exists in RQ is not queued twice; the jobs themselves are idempotent besides.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from sqlalchemy import or_, select, update

from app.extensions import db
from app.jobs.queueing import (
    delivery_pending,
    queue_link,
    queue_reconcile,
    requeue_answer,
    requeue_delivery,
    requeue_payment_event,
    requeue_send,
)
from app.models import Direction, Message, MessageStatus, PaymentEvent, WebhookEvent, utcnow
from app.services import followups, inbox, workflow_events

log = logging.getLogger(__name__)
BATCH = 500


@dataclass
class SweepReport:
    deliveries: int = 0
    inbound: int = 0
    outbound: int = 0
    payment_events: int = 0
    payment_links: int = 0
    expired_orders: int = 0
    follow_ups: int = 0
    no_reply: int = 0
    pause_ends: int = 0


def sweep() -> SweepReport:
    cutoff = utcnow() - timedelta(seconds=current_app.config["SWEEP_AFTER_SECONDS"])
    report = SweepReport()
    report.deliveries = _requeue_deliveries(cutoff)
    unanswered = db.session.execute(select(Message.id, Message.tenant_id).where(
        Message.handled_at.is_(None), Message.direction == Direction.IN,
        Message.created_at < cutoff).order_by(Message.id).limit(BATCH)).all()
    for message_id, tenant_id in unanswered:
        report.inbound += requeue_answer(message_id, tenant_id)
    unsent = db.session.execute(select(Message.id, Message.tenant_id).where(
        Message.direction == Direction.OUT, Message.status == MessageStatus.QUEUED,
        Message.created_at < cutoff).order_by(Message.id).limit(BATCH)).all()
    for message_id, tenant_id in unsent:
        report.outbound += requeue_send(message_id, tenant_id)
    _sweep_payments(cutoff, report)
    report.follow_ups = followups.requeue_overdue(cutoff)
    report.no_reply = workflow_events.requeue_quiet_checks(cutoff)
    report.pause_ends = inbox.requeue_ended_pauses(cutoff)
    if report.deliveries or report.inbound or report.outbound:
        log.info("sweep re-queued %d deliveries, %d inbound and %d outbound messages",
                 report.deliveries, report.inbound, report.outbound)
    return report


def _requeue_deliveries(cutoff) -> int:
    """Stored webhook deliveries whose job never finished, those tried least first, so rows
    that keep failing never crowd out newer ones; each re-queue counts as an attempt, and a
    delivery out of attempts is parked instead (app.services.webhook_events)."""
    from app.services.webhook_events import count_attempts

    ids = db.session.scalars(select(WebhookEvent.id).where(
        WebhookEvent.processed_at.is_(None), WebhookEvent.received_at < cutoff,
    ).order_by(WebhookEvent.attempts, WebhookEvent.id).limit(BATCH)).all()
    idle = [i for i in ids if not delivery_pending(i)]
    parked = set(count_attempts(idle))
    queued = 0
    for event_id in idle:
        if event_id not in parked and requeue_delivery(event_id):
            queued += 1
    return queued


def _requeue_payment_events(cutoff, since) -> int:
    """Payment events stored but not applied, those re-queued least often first, so events
    that keep failing never crowd out newer ones."""
    ids = db.session.scalars(select(PaymentEvent.id).where(
        PaymentEvent.processed_at.is_(None), PaymentEvent.received_at < cutoff,
        PaymentEvent.received_at >= since,
    ).order_by(PaymentEvent.attempts, PaymentEvent.id).limit(BATCH)).all()
    if ids:
        db.session.execute(update(PaymentEvent).where(PaymentEvent.id.in_(ids))
                           .values(attempts=PaymentEvent.attempts + 1))
        db.session.commit()
    for event_id in ids:
        requeue_payment_event(event_id)
    return len(ids)


def _sweep_payments(cutoff, report: SweepReport) -> None:
    """Payment events stored but not applied, pending orders whose link was never made or
    never reached the chat (a queue outage, a crash between commit and enqueue), test-mode
    links past their expiry, and Razorpay links past theirs whose webhook never came."""
    from app.models import Order, OrderEvent, OrderStatus
    from app.services.payments.reconcile import overdue_live_links
    from app.services.payments.test_mode import expire_overdue_test_links

    # Razorpay retries for 24 h; an event still unapplicable after a day (a refund whose payment
    # never arrived) stays recorded with its reason instead of being retried forever.
    report.payment_events = _requeue_payment_events(cutoff, since=utcnow() - timedelta(days=1))
    # Orders the salesperson placed queue their link at once; staff send theirs by hand (an
    # order still being put together in the admin must not get a link behind their back).
    placed_in_chat = select(OrderEvent.id).where(
        OrderEvent.order_id == Order.id, OrderEvent.source == "agent").exists()
    unsent = db.session.execute(select(Order.id, Order.tenant_id).where(
        Order.status == OrderStatus.PENDING_PAYMENT, Order.created_at < cutoff,
        Order.conversation_id.is_not(None), Order.payment_link_sent_at.is_(None),
        Order.payment_error.is_(None), or_(Order.payment_link_id.is_not(None), placed_in_chat),
    ).order_by(Order.id).limit(BATCH)).all()
    for order_id, tenant_id in unsent:
        queue_link(order_id, tenant_id)
        report.payment_links += 1
    report.expired_orders = expire_overdue_test_links()
    for order_id, tenant_id in overdue_live_links():
        queue_reconcile(order_id, tenant_id)
