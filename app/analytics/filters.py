"""What a figure is asked for: one tenant, a range of its local days, optionally one platform
and one campaign; and the predicates that hold every query to exactly that.

Days are the tenant's own: a range is bounded by the tenant's local midnights converted to UTC
(the database stores UTC), so "today" in Mumbai starts at 18:30 UTC the day before.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select, text

from app.extensions import db
from app.models import MAX_ID, Channel, Conversation, Message, Order, Tenant

DEFAULT_TIMEZONE = "Asia/Kolkata"
PLATFORMS = ("messenger", "instagram", "whatsapp", "playground")

C = Conversation.__table__
M = Message.__table__
O = Order.__table__  # noqa: E741
CH = Channel.__table__

# The longest range any analytics view or API answers for: a year (with its leap day).
MAX_RANGE_DAYS = 366
# The days a range may name: before any chat sale could have happened and long after, yet far
# from the calendar's ends, so the period before a range and the midnight after it still exist
# (year 1 or 9999 would overflow the date arithmetic instead of being refused).
FIRST_DAY = date(2000, 1, 1)
LAST_DAY = date(2999, 12, 31)


def out_of_calendar(day: date) -> str | None:
    """Why a requested day can't be used, or None when it can."""
    if FIRST_DAY <= day <= LAST_DAY:
        return None
    return f"must be between {FIRST_DAY.isoformat()} and {LAST_DAY.isoformat()}"


def could_be_id(value: int) -> bool:
    """Whether `value` is a number a row id can have (else it is simply not found)."""
    return 0 < value <= MAX_ID


@dataclass(frozen=True)
class Filters:
    tenant_id: int
    start: date
    end: date
    platform: str | None = None
    campaign_id: int | None = None


def previous_period(f: Filters) -> Filters:
    """The same number of days, ending the day before `f.start` (for "change vs before")."""
    days = (f.end - f.start).days + 1
    return replace(f, start=f.start - timedelta(days=days), end=f.start - timedelta(days=1))


def zone_of(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or DEFAULT_TIMEZONE)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(DEFAULT_TIMEZONE)


def without_jit() -> None:
    """Switch PostgreSQL's JIT off for the rest of this transaction. The aggregates are index
    lookups of tens of milliseconds whose cost estimates still cross jit_above_cost, and
    compiling them took longer (150-250 ms measured) than running them."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("SET LOCAL jit = off"))


def tenant_facts(tenant_id: int) -> tuple[ZoneInfo, str, str]:
    """(timezone, currency, name) of a tenant, read without the request's tenant guard: the
    caller has already decided this tenant may be read. Every public analytics function
    starts here, so this also readies the transaction for the aggregates (`without_jit`)."""
    without_jit()
    row = db.session.execute(
        select(Tenant.__table__.c.timezone, Tenant.__table__.c.currency, Tenant.__table__.c.name)
        .where(Tenant.__table__.c.id == tenant_id)
    ).first()
    if row is None:
        return zone_of(None), "INR", ""
    return zone_of(row.timezone), row.currency or "INR", row.name


def utc_bounds(start: date, end: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """[local midnight of start, local midnight after end) as naive-free UTC datetimes."""
    lo = datetime.combine(start, time.min, tzinfo=zone).astimezone(timezone.utc)
    hi = datetime.combine(end + timedelta(days=1), time.min, tzinfo=zone).astimezone(timezone.utc)
    return lo, hi


def channel_ids(f: Filters):
    """The tenant's channels on the filtered platform (a subquery)."""
    return select(CH.c.id).where(CH.c.tenant_id == f.tenant_id, CH.c.platform == f.platform)


def conversation_where(f: Filters) -> list:
    """Conversation rows of this tenant on the filtered platform and campaign (no time bound)."""
    where = [C.c.tenant_id == f.tenant_id]
    if f.platform:
        where.append(C.c.channel_id.in_(channel_ids(f)))
    if f.campaign_id is not None:
        where.append(C.c.campaign_id == f.campaign_id)
    return where


def message_where(f: Filters) -> list:
    where = [M.c.tenant_id == f.tenant_id]
    if f.platform:
        where.append(M.c.channel_id.in_(channel_ids(f)))
    if f.campaign_id is not None:
        where.append(M.c.conversation_id.in_(
            select(C.c.id).where(C.c.tenant_id == f.tenant_id, C.c.campaign_id == f.campaign_id)))
    return where


def order_where(f: Filters) -> list:
    """Orders of this tenant; the platform is the one their conversation came in on, the
    campaign the one credited on the order when it was placed."""
    where = [O.c.tenant_id == f.tenant_id]
    if f.platform:
        where.append(O.c.conversation_id.in_(
            select(C.c.id).where(C.c.tenant_id == f.tenant_id, C.c.channel_id.in_(channel_ids(f)))))
    if f.campaign_id is not None:
        where.append(O.c.campaign_id == f.campaign_id)
    return where
