"""What the dashboard and the analytics page show, decided from the analytics figures.

Filters come from the query string and are never trusted: dates must be real ISO dates in a
bounded range, the platform one we know, and the campaign one of the active tenant's (another
tenant's campaign id is "not found", exactly like a campaign that never existed, so an id
reveals nothing). Every figure comes from app.analytics, scoped by the tenant id passed in.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import select

from app import analytics
from app.analytics import Filters
from app.analytics.filters import MAX_RANGE_DAYS, could_be_id, out_of_calendar, zone_of  # one limit for the pages and the API
from app.extensions import db
from app.models import Campaign, CampaignStatus, Channel, Conversation, Customer, Platform, Tenant

DEFAULT_DAYS = 30
DASHBOARD_PERIODS = (7, 30, 90)
PLATFORMS = [p.value for p in Platform if p.name == p.value]
RECENT_CONVERSATIONS = 8

# Headline figures: (key, label, kind, higher_is_better); kind says how to show and compare.
HEADLINES = [
    ("revenue_minor", "Revenue", "money", True),
    ("orders_paid", "Orders paid", "count", True),
    ("conversations", "Conversations", "count", True),
    ("conversion_rate", "Conversion rate", "rate", True),
    ("messages_received", "Messages received", "count", True),
    ("average_order_minor", "Average order", "money", True),
    ("median_first_response_seconds", "Median first response", "seconds", False),
    ("ai_share", "Sales closed by AI", "rate", True),
]


_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


class FilterError(ValueError):
    """A filter that can't be used as given (the message is shown to the user)."""


class UnknownCampaign(LookupError):
    """The campaign named in the filters is not one of this tenant's."""


def tenant_today(tenant: Tenant) -> date:
    """Today in the tenant's zone, read as the figures read it (an unknown zone is the default)."""
    return datetime.now(zone_of(tenant.timezone)).date()


def _parse_day(raw: str, name: str) -> date:
    """A day written YYYY-MM-DD and nothing else: Python also reads "20261101" and week dates
    ("2026-W44-1"), which the message promises no one, and a form would show back changed."""
    try:
        if not _DAY.fullmatch(raw.strip()):
            raise ValueError(raw)
        day = date.fromisoformat(raw.strip())
    except (ValueError, AttributeError):
        raise FilterError(f"{name} must be a date as YYYY-MM-DD, got {str(raw)[:40]!r}") from None
    problem = out_of_calendar(day)
    if problem:
        raise FilterError(f"{name} {problem}")
    return day


def _one(args, name: str) -> str | None:
    """The single value of a filter; two different values (`?platform=a&platform=b`) are
    refused rather than one of them silently chosen."""
    values = args.getlist(name) if hasattr(args, "getlist") else [args.get(name)]
    if len({(v or "").strip() for v in values}) > 1:
        raise FilterError(f"{name} given more than once")
    return values[0] if values else None


def parse_range(args, today: date, default_days: int = DEFAULT_DAYS) -> tuple[date, date]:
    """start/end from request args (YYYY-MM-DD, inclusive); by default the last `default_days`
    days up to `today` (or up to the given end)."""
    raw_start, raw_end = _one(args, "start"), _one(args, "end")
    start = _parse_day(raw_start, "start") if raw_start else None
    end = _parse_day(raw_end, "end") if raw_end else today
    if start is None:
        start = end - timedelta(days=default_days - 1)
    if end < start:
        raise FilterError("end must not be before start")
    if (end - start).days + 1 > MAX_RANGE_DAYS:
        raise FilterError(f"the range can span at most {MAX_RANGE_DAYS} days")
    return start, end


def parse_filters(tenant: Tenant, args, default_days: int = DEFAULT_DAYS) -> Filters:
    """Filters from request args: start/end (YYYY-MM-DD, inclusive), platform, campaign_id."""
    return parse_tenant_filters(tenant.id, tenant_today(tenant), args, default_days)


def parse_tenant_filters(tenant_id: int, today: date, args, default_days: int = DEFAULT_DAYS) -> Filters:
    """parse_filters for a tenant known by id whose local `today` the caller has read (the
    JSON API): one reading of the filters for the pages, the export and the API.
    Raises FilterError (the caller's 400) or UnknownCampaign (404)."""
    start, end = parse_range(args, today, default_days)
    platform = (_one(args, "platform") or "").strip().lower() or None  # as the API reads it
    if platform is not None and platform not in PLATFORMS:
        raise FilterError(f"platform must be one of {', '.join(PLATFORMS)}")
    campaign_id = None
    raw_campaign = (_one(args, "campaign_id") or "").strip()
    if raw_campaign:
        try:
            campaign_id = int(raw_campaign)
        except ValueError:
            raise FilterError("campaign_id must be a whole number") from None
        owned = could_be_id(campaign_id) and db.session.scalar(select(Campaign.id).where(
            Campaign.id == campaign_id, Campaign.tenant_id == tenant_id))
        if not owned:
            raise UnknownCampaign(campaign_id)
    return Filters(tenant_id=tenant_id, start=start, end=end, platform=platform,
                   campaign_id=campaign_id)


def campaign_choices(tenant_id: int) -> list[tuple[int, str]]:
    return [(c.id, c.name) for c in db.session.scalars(
        select(Campaign).where(Campaign.tenant_id == tenant_id).order_by(Campaign.name))]


@dataclass
class Headline:
    key: str
    label: str
    kind: str
    value: float | int | None
    previous: float | int | None
    higher_is_better: bool
    has_base: bool = True  # the previous period had any activity to compare with

    @property
    def change(self) -> float | None:
        """Relative change for amounts, difference in points for rates; None without a base."""
        if not self.has_base or self.value is None or self.previous is None:
            return None
        if self.kind == "rate":
            return self.value - self.previous
        if not self.previous:
            return None
        return (self.value - self.previous) / self.previous

    @property
    def trend(self) -> str:
        """"good", "bad" or "flat", from the change and whether up is good for this figure."""
        change = self.change
        if not change:
            return "flat"
        return "good" if (change > 0) == self.higher_is_better else "bad"


def active(summary: dict) -> bool:
    """Anything happened: a message either way, a conversation, an order placed or one paid
    (an order placed before a period and paid in it is that period's revenue)."""
    return bool(summary.get("messages_received") or summary.get("messages_sent")
                or summary.get("conversations") or summary.get("orders_placed")
                or summary.get("orders_paid"))


# What a ratio headline divides by: without it the figure is "no data" (shown as a dash), not
# a real 0% or an average of nothing.
DIVIDES_BY = {
    "conversion_rate": lambda s: s.get("conversations"),
    "ai_share": lambda s: (s.get("ai_closed_sales") or 0) + (s.get("human_closed_sales") or 0),
    "average_order_minor": lambda s: s.get("orders_paid"),
}


def _shown(summary: dict, key: str):
    base = DIVIDES_BY.get(key)
    if base is not None and not base(summary):
        return None
    return summary.get(key)


def headlines(current: dict, previous: dict) -> list[Headline]:
    """The headline figures; a previous period with no activity at all is no base for a
    change (a conversion rate of 0% there is "no data", not a real 0%), and a ratio with
    nothing to divide by has no value."""
    base = active(previous)
    return [Headline(key, label, kind, _shown(current, key), _shown(previous, key), better, base)
            for key, label, kind, better in HEADLINES]


@dataclass
class Dashboard:
    filters: Filters
    currency: str
    summary: dict
    headlines: list[Headline]
    daily: list[dict]
    campaigns: list[dict] = field(default_factory=list)
    recent: list[dict] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        """Nothing happened in the period: no messages, no conversations, no orders."""
        return not active(self.summary)


def dashboard(tenant: Tenant, days: int = DEFAULT_DAYS) -> Dashboard:
    """The last `days` days (tenant-local, today included) against the days before them."""
    if days not in DASHBOARD_PERIODS:
        days = DEFAULT_DAYS
    end = tenant_today(tenant)
    f = Filters(tenant_id=tenant.id, start=end - timedelta(days=days - 1), end=end)
    daily = analytics.timeseries(f)  # first: the summary then adds up its quarter-hours
    current = analytics.summary(f)
    previous = analytics.summary(analytics.previous_period(f))
    return Dashboard(
        filters=f, currency=current.get("currency") or tenant.currency, summary=current,
        headlines=headlines(current, previous), daily=daily,
        campaigns=active_campaigns(f), recent=recent_conversations(tenant.id),
    )


def active_campaigns(f: Filters) -> list[dict]:
    """Active campaigns with their figures for the period (zeros when nothing happened yet)."""
    campaigns = db.session.scalars(select(Campaign).where(
        Campaign.tenant_id == f.tenant_id, Campaign.status == CampaignStatus.ACTIVE,
    ).order_by(Campaign.name)).all()
    if not campaigns:
        return []
    figures = {str(r["key"]): r for r in analytics.breakdown(f, "campaign")}
    out = []
    for c in campaigns:
        row = figures.get(str(c.id), {})
        out.append({"id": c.id, "name": c.name, "platform": c.target_platform.value,
                    "conversations": row.get("conversations", 0),
                    "orders_paid": row.get("orders_paid", 0),
                    "revenue_minor": row.get("revenue_minor", 0),
                    "conversion_rate": row.get("conversion_rate", 0.0)})
    return out


def recent_conversations(tenant_id: int, limit: int = RECENT_CONVERSATIONS) -> list[dict]:
    """The conversations with the latest messages (a conversation with none yet has nothing
    recent to show), newest first, read by the (tenant_id, last_message_at, id) index."""
    rows = db.session.execute(
        select(Conversation, Customer.name, Customer.external_id, Channel.platform)
        .join(Customer, Customer.id == Conversation.customer_id)
        .join(Channel, Channel.id == Conversation.channel_id)
        .where(Conversation.tenant_id == tenant_id, Conversation.last_message_at.is_not(None))
        .order_by(Conversation.last_message_at.desc(), Conversation.id.desc())
        .limit(limit)
    ).all()
    return [{"id": conv.id, "customer": name or external_id, "platform": platform.value,
             "status": conv.status.value, "mode": conv.mode.value,
             "last_message_at": conv.last_message_at}
            for conv, name, external_id, platform in rows]


@dataclass
class AnalyticsPage:
    filters: Filters
    currency: str
    summary: dict
    headlines: list[Headline]
    daily: list[dict]
    campaigns: list[dict]
    products: list[dict]
    platforms: list[dict]
    ads: list[dict]
    inbound_heatmap: list[dict]
    paid_heatmap: list[dict]
    funnel: dict
    distributions: dict


def analytics_page(f: Filters, currency: str) -> AnalyticsPage:
    daily = analytics.timeseries(f)  # first: the summary then adds up its quarter-hours
    current = analytics.summary(f)
    previous = analytics.summary(analytics.previous_period(f))
    return AnalyticsPage(
        filters=f, currency=current.get("currency") or currency, summary=current,
        headlines=headlines(current, previous), daily=daily,
        campaigns=analytics.breakdown(f, "campaign"), products=analytics.breakdown(f, "product"),
        platforms=analytics.breakdown(f, "platform"), ads=analytics.breakdown(f, "ad"),
        inbound_heatmap=analytics.heatmap(f, "inbound"), paid_heatmap=analytics.heatmap(f, "paid"),
        funnel=analytics.funnel(f), distributions=analytics.distributions(f),
    )
