"""Jobs that turn stored webhook deliveries into messages, receipts and statuses."""
from __future__ import annotations

import logging

from app.jobs import HIGH_QUEUE, enqueue, inbound
from app.jobs.context import job
from app.services import webhook_events

log = logging.getLogger(__name__)

PROCESSORS = {"meta": "app.jobs.webhooks.process_meta_events"}


def queue_events(source: str, event_ids: list[int]) -> None:
    """One job for a batch of stored deliveries (raises if the queue is down: the sweep
    then picks them up, since they are stored already)."""
    enqueue(PROCESSORS[source], list(event_ids), queue=HIGH_QUEUE)


@job
def process_meta_event(event_id: int) -> dict:
    return webhook_events.process_meta(event_id)


@job
def process_meta_events(event_ids: list[int]) -> dict:
    """Process each delivery of a batch on its own; one that fails does not hold back the
    others, and the job then fails so RQ retries it (done ones are skipped the second time)."""
    failed = []
    # A delivery of one event, the usual case, answers its message right here (see answer_here)
    answer = inbound.answer_here if len(event_ids) == 1 else None
    for event_id in event_ids:
        try:
            webhook_events.process_meta(event_id, answer=answer)
        except Exception:
            log.exception("webhook event %s failed; the retry or the sweep will redo it", event_id)
            from app.extensions import db

            db.session.rollback()
            failed.append(event_id)
    if failed:
        raise RuntimeError(f"webhook events {failed} failed")
    return {"processed": len(event_ids)}
