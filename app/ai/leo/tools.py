"""Leo's tools: the analytics functions, bound to one tenant on the server.

The tenant is fixed when the context is made (from the request's active tenant) and is never
an argument: whatever the question or the model says, every figure is this tenant's. A
campaign id that isn't this tenant's is "not found". Both answerers (the Groq model and the
offline one) go through `call()`, which records each call with its result: those results are
the figures an answer shows.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select

from app import analytics
from app.analytics.filters import out_of_calendar
from app.ai.leo import figures as fig
from app.ai.leo.periods import MAX_DAYS, Period, default_period, parse_period
from app.extensions import db
from app.models import Campaign, Product, Tenant
from app.services import promises

log = logging.getLogger(__name__)
PLATFORMS = ("messenger", "instagram", "whatsapp", "playground")
BREAKDOWNS = ("campaign", "platform", "product", "ad")
MAX_ROWS = 10  # breakdown rows handed to the model (the best ones, by revenue)


class ToolError(ValueError):
    """An argument the tool can't use: answered to the model as {"error": ...}."""


@dataclass
class LeoContext:
    tenant_id: int
    today: date
    currency: str
    name: str
    zone: ZoneInfo
    calls: list[dict] = field(default_factory=list)


def context_for(tenant_id: int, now: datetime | None = None) -> LeoContext:
    tenant = db.session.scalar(select(Tenant).where(Tenant.id == tenant_id))
    if tenant is None:
        raise LookupError("tenant not found")
    try:
        zone = ZoneInfo(tenant.timezone or "Asia/Kolkata")
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("Asia/Kolkata")
    today = (now or datetime.now(timezone.utc)).astimezone(zone).date()
    return LeoContext(tenant_id, today, tenant.currency or "INR", tenant.name, zone)


def own_campaigns(ctx: LeoContext) -> list[tuple[int, str]]:
    return [tuple(r) for r in db.session.execute(select(Campaign.id, Campaign.name).where(
        Campaign.tenant_id == ctx.tenant_id).order_by(Campaign.id)).all()]


def own_products(ctx: LeoContext) -> list[tuple[int, str]]:
    return [tuple(r) for r in db.session.execute(select(Product.id, Product.name).where(
        Product.tenant_id == ctx.tenant_id).order_by(Product.id)).all()]


# ---------------------------------------------------------------------------- arguments


def period_from(ctx: LeoContext, args: dict) -> Period:
    """`period` in words ("this month"), or `start`/`end` ISO dates, else the default."""
    words = args.get("period")
    if isinstance(words, str) and words.strip():
        found = parse_period(words, ctx.today)
        if found is not None:
            return found
    start, end = args.get("start"), args.get("end")
    if start or end:
        try:
            lo = date.fromisoformat(str(start)) if start else None
            hi = date.fromisoformat(str(end)) if end else ctx.today
        except ValueError:
            raise ToolError("start and end must be dates as YYYY-MM-DD") from None
        lo = lo or hi
        for day in (lo, hi):  # year 1 or 9999 would overflow the range's bounds
            problem = out_of_calendar(day)
            if problem:
                raise ToolError(f"{day.isoformat()}: dates {problem}")
        if hi < lo:
            raise ToolError("end is before start")
        if (hi - lo).days >= MAX_DAYS:
            raise ToolError(f"at most {MAX_DAYS} days at a time")
        return Period(lo, hi, f"{lo.isoformat()} to {hi.isoformat()}")
    return default_period(ctx.today)


def platform_from(args: dict) -> str | None:
    value = args.get("platform")
    if value in (None, "", "all"):
        return None
    value = str(value).lower()
    if value not in PLATFORMS:
        raise ToolError(f"platform must be one of {', '.join(PLATFORMS)}")
    return value


def campaign_from(ctx: LeoContext, args: dict) -> int | None:
    value = args.get("campaign_id")
    if value in (None, ""):
        return None
    if isinstance(value, bool) or isinstance(value, float) and not value.is_integer():
        raise ToolError("campaign_id must be an integer")  # int() would make 1.5 or true campaign 1
    try:
        cid = int(value)
    except (TypeError, ValueError, OverflowError):
        raise ToolError("campaign_id must be an integer") from None
    if cid not in {c for c, _ in own_campaigns(ctx)}:
        raise ToolError("campaign not found")
    return cid


def _filters(ctx: LeoContext, period: Period, platform=None, campaign_id=None) -> analytics.Filters:
    return analytics.Filters(tenant_id=ctx.tenant_id, start=period.start, end=period.end,
                             platform=platform, campaign_id=campaign_id)


# ---------------------------------------------------------------------------- the tools


def summary(ctx: LeoContext, args: dict) -> dict:
    period = period_from(ctx, args)
    return {"period": period.as_dict(), **analytics.summary(
        _filters(ctx, period, platform_from(args), campaign_from(ctx, args)))}


def compare(ctx: LeoContext, args: dict) -> dict:
    period = period_from(ctx, args)
    f = _filters(ctx, period, platform_from(args), campaign_from(ctx, args))
    before = analytics.previous_period(f)
    return {"period": period.as_dict(), "current": analytics.summary(f),
            "previous_period": {"start": before.start.isoformat(), "end": before.end.isoformat()},
            "previous": analytics.summary(before)}


def breakdown(ctx: LeoContext, args: dict) -> dict:
    by = args.get("by")
    if by not in BREAKDOWNS:
        raise ToolError(f"by must be one of {', '.join(BREAKDOWNS)}")
    period = period_from(ctx, args)
    rows = analytics.breakdown(_filters(ctx, period, platform_from(args), campaign_from(ctx, args)), by)
    rows = sorted(rows, key=lambda r: (r.get("revenue_minor") or 0, r.get("orders_paid") or 0,
                                       r.get("conversations") or 0), reverse=True)
    return {"period": period.as_dict(), "by": by, "rows": rows[:MAX_ROWS], "row_count": len(rows)}


def timeseries(ctx: LeoContext, args: dict) -> dict:
    period = period_from(ctx, args)
    return {"period": period.as_dict(),
            "days": analytics.timeseries(_filters(ctx, period, platform_from(args), campaign_from(ctx, args)))}


def funnel(ctx: LeoContext, args: dict) -> dict:
    period = period_from(ctx, args)
    return {"period": period.as_dict(),
            **analytics.funnel(_filters(ctx, period, platform_from(args), campaign_from(ctx, args)))}


def heatmap(ctx: LeoContext, args: dict) -> dict:
    kind = args.get("kind") or "inbound"
    if kind not in ("inbound", "paid"):
        raise ToolError("kind must be inbound or paid")
    period = period_from(ctx, args)
    cells = analytics.heatmap(_filters(ctx, period, platform_from(args), campaign_from(ctx, args)), kind)
    busiest = sorted((c for c in cells if c["count"]), key=lambda c: -c["count"])[:5]
    return {"period": period.as_dict(), "kind": kind, "busiest": busiest,
            "total": sum(c["count"] for c in cells)}


def ai_promises(ctx: LeoContext, args: dict) -> dict:
    period = period_from(ctx, args)
    lo = datetime.combine(period.start, datetime.min.time(), tzinfo=ctx.zone).astimezone(timezone.utc)
    hi = datetime.combine(period.end + timedelta(days=1), datetime.min.time(),
                          tzinfo=ctx.zone).astimezone(timezone.utc)
    return {"period": period.as_dict(), **promises.summary(ctx.tenant_id, lo, hi)}


TOOLS = {"summary": summary, "compare_periods": compare, "breakdown": breakdown,
         "timeseries": timeseries, "funnel": funnel, "heatmap": heatmap, "ai_promises": ai_promises}


def call(ctx: LeoContext, name: str, args: dict) -> dict:
    """Run one tool; a bad argument or an unknown tool is an {"error": ...} result."""
    tool = TOOLS.get(name)
    if tool is None:
        result = {"error": f"unknown tool {name}"}
    else:
        try:
            result = fig.jsonable(tool(ctx, args if isinstance(args, dict) else {}))
        except ToolError as exc:
            result = {"error": str(exc)}
    ctx.calls.append({"tool": name, "args": fig.jsonable(args), "result": result})
    return result


# ---------------------------------------------------------------------------- for the model

_PERIOD_ARGS = {
    "period": {"type": "string", "description": "in words: today, yesterday, this week, last week, "
               "this month, last month, last 7 days, last 90 days, this year"},
    "start": {"type": "string", "description": "YYYY-MM-DD (instead of period)"},
    "end": {"type": "string", "description": "YYYY-MM-DD (instead of period)"},
    "platform": {"type": "string", "enum": list(PLATFORMS)},
    "campaign_id": {"type": "integer"},
}


def _schema(name: str, description: str, extra: dict | None = None, required=None) -> dict:
    return {"type": "function", "function": {"name": name, "description": description, "parameters": {
        "type": "object", "properties": {**_PERIOD_ARGS, **(extra or {})}, "required": required or []}}}


TOOL_SCHEMAS = [
    _schema("summary", "Headline figures for a period: messages, conversations, response rate, median "
            "first response, orders placed and paid, revenue and refunds (minor units), average order, "
            "conversion rate (0-1), AI vs staff closed sales."),
    _schema("compare_periods", "The summary for a period and for the same number of days just before it."),
    _schema("breakdown", "Per campaign, platform, product or ad: conversations, paid orders, revenue "
            "(minor units), conversion rate (and quantity sold for products), best first.",
            {"by": {"type": "string", "enum": list(BREAKDOWNS)}}, ["by"]),
    _schema("timeseries", "One row per day: messages, conversations, paid orders, revenue."),
    _schema("funnel", "Conversations, engaged (wrote again after our reply), ordered, paid."),
    _schema("heatmap", "When customers write (kind=inbound) or pay (kind=paid): the busiest weekday "
            "(0=Monday) and hour (0-23, the business's time) cells with their counts.",
            {"kind": {"type": "string", "enum": ["inbound", "paid"]}}),
    _schema("ai_promises", "What automated replies promised customers (prices, discounts, delivery, order "
            "numbers) and which contradict the catalog, offers or policies."),
]
