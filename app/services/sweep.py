"""The sweep: nothing stored is ever lost because a queue was down or a worker died.

It re-enqueues stored webhook deliveries not yet processed, inbound messages still
unanswered, replies still QUEUED, payment events not yet applied and orders whose payment
link never reached the chat, after a grace period; and expires overdue test-mode links. Job
ids are derived from the row's id, so a row whose job still exists in RQ is not queued twice;
the jobs themselves are idempotent besides.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from sqlalchemy import or_, select

from app.extensions import db
from app.jobs import HIGH_QUEUE, enqueue
from app.models import Direction, Message, MessageStatus, WebhookEvent, utcnow

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


def sweep() -> SweepReport:
    cutoff = utcnow() - timedelta(seconds=current_app.config["SWEEP_AFTER_SECONDS"])
    report = SweepReport()
    report.deliveries = _requeue_unprocessed(WebhookEvent, cutoff, "app.jobs.webhooks.process_meta_event",
                                             "meta-event")
    unanswered = db.session.execute(select(Message.id, Message.tenant_id).where(
        Message.handled_at.is_(None), Message.direction == Direction.IN,
        Message.created_at < cutoff).order_by(Message.id).limit(BATCH)).all()
    for message_id, tenant_id in unanswered:
        enqueue("app.jobs.inbound.handle_inbound", message_id, tenant_id=tenant_id,
                job_id=f"inbound-{message_id}", queue=HIGH_QUEUE)
        report.inbound += 1
    unsent = db.session.execute(select(Message.id, Message.tenant_id).where(
        Message.direction == Direction.OUT, Message.status == MessageStatus.QUEUED,
        Message.created_at < cutoff).order_by(Message.id).limit(BATCH)).all()
    for message_id, tenant_id in unsent:
        enqueue("app.jobs.outbound.send_outbound", message_id, tenant_id=tenant_id,
                job_id=f"send-{message_id}")
        report.outbound += 1
    _sweep_payments(cutoff, report)
    if report.deliveries or report.inbound or report.outbound:
        log.info("sweep re-queued %d deliveries, %d inbound and %d outbound messages",
                 report.deliveries, report.inbound, report.outbound)
    return report


def _requeue_unprocessed(model, cutoff, job: str, prefix: str | None, since=None) -> int:
    """Stored events (webhook deliveries, payment events) whose job never finished."""
    query = select(model.id).where(model.processed_at.is_(None), model.received_at < cutoff)
    if since is not None:
        query = query.where(model.received_at >= since)
    ids = db.session.scalars(query.order_by(model.id).limit(BATCH)).all()
    for event_id in ids:
        enqueue(job, event_id, job_id=f"{prefix}-{event_id}" if prefix else None, queue=HIGH_QUEUE)
    return len(ids)


def _sweep_payments(cutoff, report: SweepReport) -> None:
    """Payment events stored but not applied, pending orders whose link was never made or
    never reached the chat (a queue outage, a crash between commit and enqueue), test-mode
    links past their expiry, and Razorpay links past theirs whose webhook never came."""
    from app.models import Order, OrderEvent, OrderStatus, PaymentEvent
    from app.jobs.payments import queue_link
    from app.services.payments import expire_overdue_test_links, overdue_live_links

    # Razorpay retries for 24 h; an event still unapplicable after a day (a refund whose payment
    # never arrived) stays recorded with its reason instead of being retried forever. No job id:
    # a deferred event's finished job would block its re-queue, and applying is idempotent.
    report.payment_events = _requeue_unprocessed(PaymentEvent, cutoff, "app.jobs.payments.apply_payment_event",
                                                 None, since=utcnow() - timedelta(days=1))
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
        enqueue("app.jobs.payments.reconcile_payment_link", order_id, tenant_id=tenant_id)
