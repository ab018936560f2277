"""Periodic maintenance, queued by every worker process's heartbeat (app.jobs.recovery)."""
from __future__ import annotations

from app.jobs.context import job
from app.jobs.queueing import queue_channel_checks
from app.services.sweep import sweep


@job
def periodic_sweep() -> dict:
    report = sweep()
    queue_channel_checks()
    return {"deliveries": report.deliveries, "inbound": report.inbound, "outbound": report.outbound}
