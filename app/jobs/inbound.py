"""Jobs for inbound messages."""
from __future__ import annotations

import logging

from flask import current_app

from app.jobs import enqueue
from app.jobs.context import job
from app.services import replies

log = logging.getLogger(__name__)


def queue_answers(items: list[tuple[int, int]]) -> int:
    """Enqueue an answer job per stored inbound message (after the debounce window).

    A queue failure is logged, not raised: the messages are stored, and the sweep enqueues
    whatever was left behind. Returns how many were enqueued.
    """
    delay = current_app.config.get("REPLY_DEBOUNCE_SECONDS") or None
    done = 0
    for message_id, tenant_id in items:
        try:
            enqueue("app.jobs.inbound.handle_inbound", message_id, tenant_id=tenant_id,
                    job_id=f"inbound-{message_id}", delay=delay)
            done += 1
        except Exception:
            log.exception("could not enqueue message %s; the sweep will pick it up", message_id)
    return done


@job
def handle_inbound(message_id: int, tenant_id: int) -> str:
    return replies.answer(message_id, tenant_id)
