"""Periodic maintenance run by the workers' scheduler."""
from __future__ import annotations

import time

from app.jobs import enqueue
from app.jobs.context import job
from app.services.sweep import sweep

SWEEP_EVERY_SECONDS = 60


def schedule_sweep(delay: float = SWEEP_EVERY_SECONDS) -> None:
    """One sweep per minute across every worker: the job id names the minute it runs in."""
    due = int((time.time() + delay) // SWEEP_EVERY_SECONDS)
    enqueue("app.jobs.maintenance.periodic_sweep", job_id=f"sweep-{due}", delay=delay, retry=False)


@job
def periodic_sweep() -> dict:
    report = sweep()
    schedule_sweep()
    return {"deliveries": report.deliveries, "inbound": report.inbound, "outbound": report.outbound}
