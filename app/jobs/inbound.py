"""Jobs for inbound messages."""
from __future__ import annotations

import logging
import time
from datetime import datetime, timezone

from flask import current_app

from app.jobs import enqueue
from app.jobs.context import job
from app.services import replies

log = logging.getLogger(__name__)


def queue_answers(items: list[tuple[int, int]], received_at: datetime | None = None) -> int:
    """Enqueue an answer job per stored inbound message, to start when the debounce window
    has passed since the message reached our webhook (`received_at`; now if not given).

    Counting from arrival rather than from ingest means time spent queued for ingest is not
    added on top of the window. A queue failure is logged, not raised: the messages are
    stored, and the sweep enqueues whatever was left behind. Returns how many were enqueued.
    """
    debounce = current_app.config.get("REPLY_DEBOUNCE_SECONDS") or 0
    arrived = (received_at.replace(tzinfo=received_at.tzinfo or timezone.utc).timestamp()
               if received_at is not None else time.time())
    not_before = arrived + debounce if debounce else None
    done = 0
    for message_id, tenant_id in items:
        try:
            enqueue("app.jobs.inbound.handle_inbound", message_id, tenant_id=tenant_id,
                    job_id=f"inbound-{message_id}", not_before=not_before)
            done += 1
        except Exception:
            log.exception("could not enqueue message %s; the sweep will pick it up", message_id)
    return done


@job
def handle_inbound(message_id: int, tenant_id: int) -> str:
    return replies.answer(message_id, tenant_id)
