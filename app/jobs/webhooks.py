"""Jobs that turn stored webhook deliveries into messages, receipts and statuses."""
from __future__ import annotations

import logging

from app.jobs import enqueue
from app.jobs.context import job
from app.services import webhook_events

log = logging.getLogger(__name__)


def queue_event(event_id: int) -> bool:
    """Enqueue processing; a queue failure is logged (the sweep picks the event up later)."""
    try:
        enqueue("app.jobs.webhooks.process_meta_event", event_id, job_id=f"meta-event-{event_id}")
        return True
    except Exception:
        log.exception("could not enqueue webhook event %s; the sweep will pick it up", event_id)
        return False


@job
def process_meta_event(event_id: int) -> dict:
    return webhook_events.process_meta(event_id)
