"""Analytics: tenant-scoped SQL aggregates over a range of the tenant's local days.

The one source of figures for the dashboard, the analytics page, Leo and the JSON API:

    from app.analytics import Filters, summary
    summary(Filters(tenant_id=3, start=date(2026, 11, 1), end=date(2026, 11, 30)))

Callers decide which tenant may be read (the request's active tenant, an agency's tenants);
these functions then read exactly that tenant.
"""
from app.analytics.agency import agency_overview, channel_health
from app.analytics.breakdowns import BREAKDOWNS, breakdown
from app.analytics.filters import Filters, previous_period
from app.analytics.queries import HEATMAP_KINDS, distributions, funnel, heatmap, summary, timeseries

__all__ = [
    "Filters", "previous_period", "summary", "timeseries", "breakdown", "heatmap", "funnel",
    "distributions", "agency_overview", "channel_health", "BREAKDOWNS", "HEATMAP_KINDS",
]
