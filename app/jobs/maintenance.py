"""Periodic maintenance, queued by every worker process's heartbeat (app.jobs.recovery)."""
from __future__ import annotations

from app.jobs.context import job
from app.services.sweep import sweep


@job
def periodic_sweep() -> dict:
    report = sweep()
    return {"deliveries": report.deliveries, "inbound": report.inbound, "outbound": report.outbound}
