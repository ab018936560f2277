"""Periodic maintenance run by the workers' scheduler."""
from __future__ import annotations

from app.jobs.context import job
from app.jobs.queueing import queue_channel_checks, queue_sweep
from app.services.sweep import sweep


@job
def periodic_sweep() -> dict:
    report = sweep()
    queue_channel_checks()
    queue_sweep()
    return {"deliveries": report.deliveries, "inbound": report.inbound, "outbound": report.outbound}
