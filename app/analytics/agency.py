"""One row per tenant of an agency: the figures an agency compares its clients by, and whether
each client's channels are alive."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from sqlalchemy import func, select

from app.analytics.filters import CH, Filters
from app.analytics.queries import summary
from app.extensions import db
from app.models import Tenant

T = Tenant.__table__
# A channel that has heard nothing from Meta for this long is "quiet": Meta unsubscribes a
# Page after an hour of failed deliveries and it then goes silent rather than erroring.
QUIET_AFTER = timedelta(hours=72)
LIVE_PLATFORMS = ("messenger", "instagram", "whatsapp")


def channel_health(tenant_id: int, now: datetime | None = None) -> str:
    """"none" (no connected Meta channel), "error" (one is in error), "quiet" (none has
    received a webhook for QUIET_AFTER), else "ok"."""
    now = now or datetime.now(timezone.utc)
    rows = db.session.execute(
        select(CH.c.status, CH.c.last_webhook_at)
        .where(CH.c.tenant_id == tenant_id, CH.c.platform.in_(LIVE_PLATFORMS), CH.c.status != "disabled")
    ).all()
    if not rows:
        return "none"
    if any(r.status == "error" for r in rows):
        return "error"
    seen = [r.last_webhook_at for r in rows if r.last_webhook_at is not None]
    if not seen:
        return "quiet"
    latest = max(seen)
    if latest.tzinfo is None:  # SQLite hands back naive UTC
        latest = latest.replace(tzinfo=timezone.utc)
    return "quiet" if now - latest > QUIET_AFTER else "ok"


def agency_overview(agency_ids: list[int], start: date, end: date) -> list[dict]:
    """Every tenant of these agencies (the caller has checked the agencies are its own)."""
    if not agency_ids:
        return []
    tenants = db.session.execute(
        select(T.c.id, T.c.name).where(T.c.agency_id.in_(list(agency_ids))).order_by(func.lower(T.c.name), T.c.id)
    ).all()
    rows = []
    for tenant_id, name in tenants:
        s = summary(Filters(tenant_id=tenant_id, start=start, end=end))
        rows.append({
            "tenant_id": tenant_id, "name": name, "currency": s["currency"],
            "revenue_minor": s["revenue_minor"], "orders_paid": s["orders_paid"],
            "conversations": s["conversations"], "conversion_rate": s["conversion_rate"],
            "median_first_response_seconds": s["median_first_response_seconds"],
            "channel_health": channel_health(tenant_id),
        })
    return rows
