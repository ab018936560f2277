"""Customer segments: who matches a set of filters, saved segments, bulk tagging, CSV export.

Filters arrive from forms, query strings and JSON alike, so every value is read and checked
here (a wrong type or unit is a clear SegmentError, never a 500 or a silently wider audience).
Spend is in minor units like every amount; forms enter it in major units and convert with
`app.money`. Spend and order counts are the customer's paid orders now (refunds drop out), the
same figures the Customers list shows.
"""
from __future__ import annotations

import csv
import io
from dataclasses import asdict, dataclass
from datetime import timedelta

from sqlalchemy import and_, exists, func, select
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.models import Campaign, Conversation, Customer, Platform, Segment, utcnow

MAX_TAG = 40
MAX_DAYS = 3650
PAGE_SIZE = 100
MAX_INT = 2**31 - 1  # ids and amounts are 32-bit integer columns


class SegmentError(ValueError):
    """A filter or segment the user must correct; the message says what."""


@dataclass(frozen=True)
class Filters:
    platform: str | None = None
    campaign_id: int | None = None
    tag: str | None = None
    min_spend_minor: int | None = None
    max_spend_minor: int | None = None
    min_orders: int | None = None
    max_orders: int | None = None
    seen_within_days: int | None = None  # last seen at most this many days ago
    not_seen_for_days: int | None = None  # last seen at least this many days ago

    def to_dict(self) -> dict:
        return {k: v for k, v in asdict(self).items() if v is not None}

    def describe(self) -> str:
        return ", ".join(f"{k.replace('_', ' ')}: {v}" for k, v in self.to_dict().items()) or "all customers"


def _whole(raw, name: str, *, low: int = 0, high: int = MAX_INT) -> int | None:
    """A non-negative whole number from a form string, a JSON int or a whole float; else an error."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    if isinstance(raw, bool):
        raise SegmentError(f"{name} must be a whole number")
    if isinstance(raw, float) and raw.is_integer():
        raw = int(raw)
    if isinstance(raw, str) and raw.strip().isdigit():
        raw = int(raw.strip())
    if not isinstance(raw, int):
        raise SegmentError(f"{name} must be a whole number")
    if raw < low or raw > high:
        raise SegmentError(f"{name} must be between {low} and {high}")
    return raw


def normalize_tag(raw) -> str | None:
    if raw is None:
        return None
    if not isinstance(raw, str):
        raise SegmentError("tag must be text")
    tag = raw.strip().lower()
    if not tag:
        return None
    if "," in tag or len(tag) > MAX_TAG:
        raise SegmentError(f"a tag is one word or phrase of at most {MAX_TAG} characters, without commas")
    return tag


def parse_filters(tenant_id: int, data) -> Filters:
    """Filters from a mapping (form, query string or JSON); campaign must be the tenant's."""
    if data is None:
        data = {}
    if not hasattr(data, "get"):
        raise SegmentError("filters must be an object")
    platform = data.get("platform") or None
    if platform is not None:
        if not isinstance(platform, str) or platform not in {p.value for p in Platform}:
            raise SegmentError("platform must be one of messenger, instagram, whatsapp, playground")
    campaign_id = _whole(data.get("campaign_id"), "campaign", low=1)
    if campaign_id is not None and db.session.scalar(select(Campaign.id).where(
            Campaign.id == campaign_id, Campaign.tenant_id == tenant_id)) is None:
        raise SegmentError("no such campaign")
    filters = Filters(
        platform=platform, campaign_id=campaign_id, tag=normalize_tag(data.get("tag")),
        min_spend_minor=_whole(data.get("min_spend_minor"), "minimum spend"),
        max_spend_minor=_whole(data.get("max_spend_minor"), "maximum spend"),
        min_orders=_whole(data.get("min_orders"), "minimum orders"),
        max_orders=_whole(data.get("max_orders"), "maximum orders"),
        seen_within_days=_whole(data.get("seen_within_days"), "seen within (days)", high=MAX_DAYS),
        not_seen_for_days=_whole(data.get("not_seen_for_days"), "not seen for (days)", high=MAX_DAYS),
    )
    for low, high, what in ((filters.min_spend_minor, filters.max_spend_minor, "spend"),
                            (filters.min_orders, filters.max_orders, "orders")):
        if low is not None and high is not None and low > high:
            raise SegmentError(f"the minimum {what} is above the maximum")
    return filters


def _conditions(tenant_id: int, f: Filters) -> list:
    conds = [Customer.tenant_id == tenant_id]
    if f.platform:
        conds.append(Customer.platform == f.platform)
    if f.campaign_id is not None:
        conds.append(exists().where(Conversation.customer_id == Customer.id,
                                    Conversation.tenant_id == tenant_id,
                                    Conversation.campaign_id == f.campaign_id))
    if f.tag:
        # tags are stored comma-separated; match a whole tag, not a substring of another one
        padded = func.lower("," + func.replace(func.coalesce(Customer.tags, ""), ", ", ",") + ",")
        conds.append(padded.like(f"%,{f.tag},%"))
    if f.min_spend_minor is not None:
        conds.append(Customer.spend_minor >= f.min_spend_minor)
    if f.max_spend_minor is not None:
        conds.append(Customer.spend_minor <= f.max_spend_minor)
    if f.min_orders is not None:
        conds.append(Customer.orders_paid >= f.min_orders)
    if f.max_orders is not None:
        conds.append(Customer.orders_paid <= f.max_orders)
    now = utcnow()
    if f.seen_within_days is not None:
        conds.append(Customer.last_seen_at >= now - timedelta(days=f.seen_within_days))
    if f.not_seen_for_days is not None:
        conds.append(Customer.last_seen_at <= now - timedelta(days=f.not_seen_for_days))
    return conds


def members_query(tenant_id: int, f: Filters):
    return select(Customer).where(and_(*_conditions(tenant_id, f))).order_by(
        Customer.last_seen_at.desc(), Customer.id.desc())


def count(tenant_id: int, f: Filters) -> int:
    return db.session.scalar(select(func.count()).select_from(Customer).where(
        and_(*_conditions(tenant_id, f))))


def members(tenant_id: int, f: Filters, *, page: int = 0, page_size: int = PAGE_SIZE) -> list[Customer]:
    return list(db.session.scalars(members_query(tenant_id, f).limit(page_size).offset(page * page_size)))


def member_ids(tenant_id: int, f: Filters) -> list[int]:
    return list(db.session.scalars(select(Customer.id).where(and_(*_conditions(tenant_id, f)))
                                   .order_by(Customer.id)))


# ---------------------------------------------------------------------------- saved segments


def get(tenant_id: int, segment_id: int) -> Segment | None:
    return db.session.scalar(select(Segment).where(Segment.id == segment_id, Segment.tenant_id == tenant_id))


def list_saved(tenant_id: int) -> list[Segment]:
    return list(db.session.scalars(select(Segment).where(Segment.tenant_id == tenant_id).order_by(Segment.name)))


def filters_of(segment: Segment) -> Filters:
    """A saved segment's filters, re-checked (a campaign deleted since simply matches nobody)."""
    try:
        return parse_filters(segment.tenant_id, segment.filters or {})
    except SegmentError:
        return Filters(**{k: v for k, v in (segment.filters or {}).items() if k in Filters.__annotations__})


def save(tenant_id: int, name, f: Filters, *, segment_id: int | None = None) -> Segment:
    if not isinstance(name, str) or not name.strip():
        raise SegmentError("give the segment a name")
    name = name.strip()[:120]
    segment = get(tenant_id, segment_id) if segment_id else Segment(tenant_id=tenant_id)
    if segment is None:
        raise SegmentError("no such segment")
    segment.name, segment.filters = name, f.to_dict()
    db.session.add(segment)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise SegmentError(f"a segment named {name!r} exists already") from None
    return segment


def delete(tenant_id: int, segment_id: int) -> bool:
    segment = get(tenant_id, segment_id)
    if segment is None:
        return False
    db.session.delete(segment)
    db.session.commit()
    return True


# ---------------------------------------------------------------------------- bulk actions


def tags_of(customer: Customer) -> list[str]:
    return [t.strip() for t in (customer.tags or "").split(",") if t.strip()]


def bulk_tag(tenant_id: int, customer_ids: list[int], tag, *, remove: bool = False) -> int:
    """Add (or remove) one tag on the tenant's customers among `customer_ids`; ids of other
    tenants are ignored. Returns how many customers changed; running it twice changes nothing."""
    tag = normalize_tag(tag)
    if tag is None:
        raise SegmentError("type the tag to apply")
    ids = [i for i in customer_ids if isinstance(i, int)]
    changed = 0
    for customer in db.session.scalars(select(Customer).where(
            Customer.tenant_id == tenant_id, Customer.id.in_(ids))):
        tags = tags_of(customer)
        lowered = [t.lower() for t in tags]
        if remove and tag in lowered:
            tags = [t for t in tags if t.lower() != tag]
        elif not remove and tag not in lowered:
            tags.append(tag)
        else:
            continue
        joined = ", ".join(tags)
        if len(joined) > 500:
            raise SegmentError(f"{customer} has too many tags to add another")
        customer.tags = joined or None
        changed += 1
    db.session.commit()
    return changed


CSV_COLUMNS = ["id", "name", "platform", "external_id", "phone", "email", "tags",
               "paid_orders", "lifetime_spend_minor", "opted_out", "first_seen_at", "last_seen_at"]


def _cell(value) -> str:
    """Spreadsheet-safe text: a leading =, +, - or @ would run as a formula in Excel/Sheets."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def export_csv(tenant_id: int, f: Filters) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for c in db.session.scalars(members_query(tenant_id, f).execution_options(yield_per=500)):
        writer.writerow([_cell(v) for v in (
            c.id, c.name, c.platform, c.external_id, c.phone, c.email, c.tags,
            int(c.orders_paid or 0), int(c.spend_minor or 0), c.opted_out,
            c.first_seen_at.isoformat() if c.first_seen_at else "",
            c.last_seen_at.isoformat() if c.last_seen_at else "")])
    return out.getvalue()


__all__ = ["Filters", "SegmentError", "parse_filters", "members", "count", "member_ids", "save",
           "get", "delete", "list_saved", "filters_of", "bulk_tag", "export_csv"]
