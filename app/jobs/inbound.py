"""Jobs for inbound messages."""
from __future__ import annotations

import logging
from datetime import datetime

from flask import current_app

from app.extensions import db
from app.jobs.context import job, wait_until
from app.jobs.queueing import arrived as _arrived
from app.jobs.queueing import queue_answers
from app.services import inbox, replies

log = logging.getLogger(__name__)


def answer_here(items: list[tuple[int, int]], received_at: datetime | None = None,
                conversations: dict[int, int] | None = None) -> None:
    """Answer a delivery's one stored message in the job that stored it, once the debounce
    window has passed, instead of queueing an answer job for it.

    Under load this is a whole job per message less (RQ's own bookkeeping cost a worker more
    CPU than ingesting the message did). The reply is the same: `replies.answer` takes the
    conversation's lock and lets the newest fragment's job answer a burst, whichever job that
    is. If answering raises, the message goes to an answer job with its retries; if the
    worker dies, the sweep finds the message unanswered. Several messages get an answer job
    each.
    """
    if len(items) != 1:
        queue_answers(items, received_at, conversations)
        return
    message_id, tenant_id = items[0]
    # a fresh session: the answer must see the conversation as it is after the wait
    db.session.remove()
    debounce = current_app.config.get("REPLY_DEBOUNCE_SECONDS") or 0
    if debounce:
        wait_until(_arrived(received_at) + debounce, current_app.config["JOB_TIMEOUT"] / 4)
    try:
        replies.answer(message_id, tenant_id, (conversations or {}).get(message_id))
    except Exception:
        log.exception("answering message %s failed; it goes to an answer job", message_id)
        db.session.rollback()
        queue_answers(items, conversations=conversations)


@job
def handle_inbound(message_id: int, conversation_id: int | None = None, *, tenant_id: int) -> str:
    return replies.answer(message_id, tenant_id, conversation_id)


@job
def answer_after_pause(conversation_id: int, *, tenant_id: int) -> str:
    return inbox.answer_after_pause(conversation_id, tenant_id)
