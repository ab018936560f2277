"""The sweep: nothing stored is ever lost because a queue was down or a worker died.

It re-enqueues stored webhook deliveries not yet processed, inbound messages still
unanswered and replies still QUEUED after a grace period. Job ids are derived from the message id, so a message whose job still exists in RQ is
not queued twice; the jobs themselves are idempotent besides.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from sqlalchemy import select

from app.extensions import db
from app.jobs import enqueue
from app.models import Direction, Message, MessageStatus, WebhookEvent, utcnow

log = logging.getLogger(__name__)
BATCH = 500


@dataclass
class SweepReport:
    deliveries: int = 0
    inbound: int = 0
    outbound: int = 0


def sweep() -> SweepReport:
    cutoff = utcnow() - timedelta(seconds=current_app.config["SWEEP_AFTER_SECONDS"])
    report = SweepReport()
    stored = db.session.scalars(select(WebhookEvent.id).where(
        WebhookEvent.processed_at.is_(None), WebhookEvent.received_at < cutoff,
    ).order_by(WebhookEvent.id).limit(BATCH)).all()
    for event_id in stored:
        enqueue("app.jobs.webhooks.process_meta_event", event_id, job_id=f"meta-event-{event_id}")
        report.deliveries += 1
    unanswered = db.session.execute(select(Message.id, Message.tenant_id).where(
        Message.handled_at.is_(None), Message.direction == Direction.IN,
        Message.created_at < cutoff).order_by(Message.id).limit(BATCH)).all()
    for message_id, tenant_id in unanswered:
        enqueue("app.jobs.inbound.handle_inbound", message_id, tenant_id=tenant_id,
                job_id=f"inbound-{message_id}")
        report.inbound += 1
    unsent = db.session.execute(select(Message.id, Message.tenant_id).where(
        Message.direction == Direction.OUT, Message.status == MessageStatus.QUEUED,
        Message.created_at < cutoff).order_by(Message.id).limit(BATCH)).all()
    for message_id, tenant_id in unsent:
        enqueue("app.jobs.outbound.send_outbound", message_id, tenant_id=tenant_id,
                job_id=f"send-{message_id}")
        report.outbound += 1
    if report.deliveries or report.inbound or report.outbound:
        log.info("sweep re-queued %d deliveries, %d inbound and %d outbound messages",
                 report.deliveries, report.inbound, report.outbound)
    return report
