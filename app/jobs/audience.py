"""Audience jobs: broadcasts go out batch by batch."""
from app.jobs.context import job
from app.services import broadcasts


@job
def send_broadcast_batch(broadcast_id: int, tenant_id: int) -> int:
    """One throttled batch of a broadcast (it queues the next one itself)."""
    return broadcasts.send_batch(broadcast_id, tenant_id)
