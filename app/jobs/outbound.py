"""Jobs that deliver outbound messages (retried with backoff on transient failures)."""
from __future__ import annotations

from rq import get_current_job

from app.clients.graph import TransientGraphError
from app.jobs.context import job
from app.services import outbound


@job
def send_outbound(message_id: int, tenant_id: int) -> str:
    try:
        return outbound.deliver(message_id, tenant_id)
    except TransientGraphError as exc:
        current = get_current_job()
        if current is None or not current.retries_left:
            outbound.give_up(message_id, tenant_id, f"Gave up after retries: {exc.describe()}")
            return "failed"
        raise  # RQ retries with the Retry's backoff
