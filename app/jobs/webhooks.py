"""Jobs that turn stored webhook deliveries into messages, receipts and statuses."""
from __future__ import annotations

import logging

from app.jobs import inbound
from app.jobs.context import job
from app.services import webhook_events

log = logging.getLogger(__name__)


@job
def process_meta_event(event_id: int) -> dict:
    """The sweep's job: one delivery it found still pending."""
    return _process([event_id])


@job
def process_meta_events(event_ids: list[int]) -> dict:
    return _process(event_ids)


def _process(event_ids: list[int]) -> dict:
    """Process each delivery of a batch on its own; one that fails does not hold back the
    others. A failure is counted on its delivery (parked at the limit); the job then fails so
    RQ retries the rest (done ones are skipped the second time)."""
    from app.extensions import db

    failed = []
    # A delivery of one event, the usual case, answers its message right here (see answer_here)
    here = len(event_ids) == 1
    for event_id in event_ids:
        try:
            processed = webhook_events.process_meta(event_id, answer_later=not here)
            if here and processed.to_answer:
                inbound.answer_here(processed.to_answer, processed.received_at, processed.conversations)
        except Exception as exc:
            log.exception("webhook event %s failed; the retry or the sweep will redo it", event_id)
            db.session.rollback()
            try:
                if webhook_events.record_failure(event_id, exc):
                    continue  # parked: retrying it again would only fail again
            except Exception:  # the database itself is down: nothing to count it in
                db.session.rollback()
                log.warning("could not record the failure of webhook event %s", event_id)
            failed.append(event_id)
    if failed:
        raise RuntimeError(f"webhook events {failed} failed")
    return {"processed": len(event_ids)}
