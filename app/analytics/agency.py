"""One row per tenant of an agency: the figures an agency compares its clients by, and whether
each client's channels are alive."""
from __future__ import annotations

from datetime import date

from sqlalchemy import func, select

from app.analytics.filters import CH, Filters
from app.analytics.queries import summary
from app.extensions import db
from app.models import Tenant

T = Tenant.__table__
LIVE_PLATFORMS = ("messenger", "instagram", "whatsapp")


def channel_health(tenant_id: int) -> str:
    """The tenant's channels as the integrations page and its alarm judge them: "none" (no
    connected Meta channel), "error" (one is in error, its token no longer works, or Meta no
    longer sends it webhooks), "quiet" (one has heard nothing for longer than its own history
    makes usual, which is how an unsubscribed Page shows), else "ok"."""
    rows = db.session.execute(
        select(CH.c.status, CH.c.token_valid, CH.c.subscribed, CH.c.quiet_since)
        .where(CH.c.tenant_id == tenant_id, CH.c.platform.in_(LIVE_PLATFORMS), CH.c.status != "disabled")
    ).all()
    if not rows:
        return "none"
    if any(r.status == "error" or r.token_valid is False or r.subscribed is False for r in rows):
        return "error"
    return "quiet" if any(r.quiet_since is not None for r in rows) else "ok"


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
