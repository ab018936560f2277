"""Channel health checks and Meta's data-deletion requests."""
from __future__ import annotations

from app.jobs.context import job
from app.services.integrations import health, privacy


@job
def check_channels() -> dict:
    return {"checked": health.check_due(), "quiet": health.refresh_quiet(),
            "deletions_requeued": privacy.requeue_stale()}


@job
def delete_person_data(request_id: int) -> dict:
    request = privacy.run_deletion(request_id)
    if request is None:
        return {"missing": request_id}
    return {"status": request.status, "customers": request.customers, "tenants": request.tenants}
