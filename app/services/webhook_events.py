"""Processing a stored Meta delivery: parse, ingest, queue the answers, mark it done.

Idempotent: ingest skips messages it already has and statuses only move forward, so a
delivery processed twice (a retried job, a sweep) changes nothing the second time.
"""
from __future__ import annotations

import json
import logging

from sqlalchemy import select

from app.channels import WEBHOOK_OBJECTS
from app.extensions import db
from app.models import WebhookEvent, utcnow
from app.services import ingest

log = logging.getLogger(__name__)


def process_meta(event_id: int, answer=None) -> dict:
    """`answer(to_answer, received_at, conversations)` takes the stored messages that need a
    reply once the delivery is committed; by default they are queued
    (`app.jobs.inbound.queue_answers`)."""
    from app.jobs.inbound import queue_answers

    event = db.session.scalar(select(WebhookEvent).where(WebhookEvent.id == event_id))
    if event is None or event.processed_at is not None:
        return {"status": "skipped"}
    payload = json.loads(event.body)
    adapter = WEBHOOK_OBJECTS.get(payload.get("object"))
    events = adapter.parse(payload) if adapter else []
    received_at = event.received_at

    def mark_processed(result: ingest.IngestResult) -> None:
        """In the ingest's own transaction: stored and processed commit together."""
        done = db.session.get(WebhookEvent, event_id)
        done.processed_at = utcnow()
        if result.unknown_accounts:
            done.error = "unknown accounts: " + ", ".join(sorted(result.unknown_accounts))

    result = ingest.ingest(events, before_commit=mark_processed)  # commits
    (answer or queue_answers)(result.to_answer, received_at, result.conversations)
    return {"status": "processed", "stored": result.stored, "duplicates": result.duplicates}
