"""Figures per campaign, platform, product or ad, for comparison charts and "top" lists.

Conversations (and their conversion) follow the cohort started in the range; orders and
revenue follow the payment day, as in the summary. A row with key None holds what has no
campaign / no ad (organic conversations), so the rows add up to the summary's totals.
"""
from __future__ import annotations

import enum

from sqlalchemy import case, exists, func, select

from app.analytics.filters import C, CH, O, Filters, conversation_where, order_where, tenant_facts, utc_bounds
from app.analytics.memo import per_request
from app.analytics.queries import NET, PAID, ratio
from app.extensions import db
from app.models import Campaign, OrderItem, Product, Referral

BREAKDOWNS = ("campaign", "platform", "product", "ad")
CAMP = Campaign.__table__
OI = OrderItem.__table__
P = Product.__table__
R = Referral.__table__


def _paid_exists(tenant_id, lo):
    """The conversation has a paid order. Its orders were placed after it started, so for a
    conversation started since `lo` only orders placed since `lo` are looked at."""
    return exists().where(O.c.tenant_id == tenant_id, O.c.created_at >= lo, O.c.conversation_id == C.c.id,
                          O.c.status.in_(PAID))


def _facts(f: Filters, lo, hi) -> tuple[list, list]:
    """Conversations (count, converted) and paid orders (count, revenue) grouped by campaign,
    platform and ad at once: the campaign, platform and ad breakdowns of a page roll these few
    rows up instead of each reading the range again."""
    def compute():
        converted = func.coalesce(func.sum(case((_paid_exists(f.tenant_id, lo), 1), else_=0)), 0)
        convs = db.session.execute(
            select(C.c.campaign_id, CH.c.platform, C.c.ad_id, func.count(), converted)
            .select_from(C.join(CH, CH.c.id == C.c.channel_id))
            .where(*conversation_where(f), C.c.created_at >= lo, C.c.created_at < hi)
            .group_by(C.c.campaign_id, CH.c.platform, C.c.ad_id)).all()
        orders = db.session.execute(
            select(O.c.campaign_id, CH.c.platform, C.c.ad_id, func.count(),
                   func.coalesce(func.sum(NET), 0))
            .select_from(O.outerjoin(C, (C.c.id == O.c.conversation_id) & (C.c.tenant_id == f.tenant_id))
                         .outerjoin(CH, CH.c.id == C.c.channel_id))
            .where(*order_where(f), O.c.status.in_(PAID), O.c.paid_at >= lo, O.c.paid_at < hi)
            .group_by(O.c.campaign_id, CH.c.platform, C.c.ad_id)).all()
        return convs, orders
    return per_request(("breakdown", f, lo, hi), compute)


def _key(value):
    """A plain value for JSON (the platform column reads as an enum member)."""
    return str(value) if isinstance(value, enum.Enum) else value


def _grouped(f: Filters, lo, hi, dimension: int) -> dict:
    """{key: {conversations, converted, orders_paid, revenue_minor}} for one dimension
    (0 campaign, 1 platform, 2 ad)."""
    out: dict = {}

    def slot(key):
        return out.setdefault(key, {"conversations": 0, "converted": 0, "orders_paid": 0, "revenue_minor": 0})

    convs, orders = _facts(f, lo, hi)
    for row in convs:
        entry = slot(_key(row[dimension]))
        entry["conversations"] += int(row[3])
        entry["converted"] += int(row[4])
    for row in orders:
        entry = slot(_key(row[dimension]))
        entry["orders_paid"] += int(row[3])
        entry["revenue_minor"] += int(row[4])
    return out


def _rows(grouped: dict, labels: dict, none_label: str) -> list[dict]:
    rows = []
    for key, v in grouped.items():
        label = labels.get(key) or (none_label if key is None else str(key))
        rows.append({"key": key, "label": label, "conversations": v["conversations"],
                     "orders_paid": v["orders_paid"], "revenue_minor": v["revenue_minor"],
                     "conversion_rate": ratio(v["converted"], v["conversations"])})
    rows.sort(key=lambda r: (-r["revenue_minor"], -r["conversations"], str(r["label"])))
    return rows


def _by_campaign(f, lo, hi):
    grouped = _grouped(f, lo, hi, 0)
    ids = [k for k in grouped if k is not None]
    labels = dict(db.session.execute(
        select(CAMP.c.id, CAMP.c.name).where(CAMP.c.tenant_id == f.tenant_id, CAMP.c.id.in_(ids))).all()) if ids else {}
    return _rows(grouped, labels, "No campaign")


def _by_platform(f, lo, hi):
    return _rows(_grouped(f, lo, hi, 1), {}, "No conversation")


def _by_ad(f, lo, hi):
    grouped = _grouped(f, lo, hi, 2)
    ids = [k for k in grouped if k is not None]
    labels = {}
    if ids:
        labels = {ad: f"{title} ({ad})" for ad, title in db.session.execute(
            select(R.c.ad_id, func.max(R.c.headline)).where(R.c.tenant_id == f.tenant_id, R.c.ad_id.in_(ids))
            .group_by(R.c.ad_id)).all() if title}
    return _rows(grouped, labels, "No ad (organic)")


def _by_product(f, lo, hi):
    """Per product: units, paid orders and revenue by payment day; `conversations` are those
    (started in range) whose orders included it, converted when one of those orders was paid.
    Revenue here is the lines' value: a partial refund names no line, so it is not taken off
    any product (the summary's revenue does take it off)."""
    key = OI.c.product_id
    paid = db.session.execute(
        select(key, func.max(OI.c.name), func.coalesce(func.sum(OI.c.quantity), 0),
               func.count(func.distinct(O.c.id)),
               func.coalesce(func.sum(OI.c.quantity * OI.c.unit_price_minor), 0))
        .select_from(OI.join(O, O.c.id == OI.c.order_id))
        .where(OI.c.tenant_id == f.tenant_id, *order_where(f), O.c.status.in_(PAID),
               O.c.paid_at >= lo, O.c.paid_at < hi)
        .group_by(key)).all()
    convs = db.session.execute(
        select(key, func.count(func.distinct(C.c.id)),
               func.count(func.distinct(case((O.c.status.in_(PAID), C.c.id)))))
        .select_from(OI.join(O, O.c.id == OI.c.order_id).join(C, C.c.id == O.c.conversation_id))
        .where(OI.c.tenant_id == f.tenant_id, O.c.tenant_id == f.tenant_id, *conversation_where(f),
               C.c.created_at >= lo, C.c.created_at < hi, O.c.created_at >= lo)  # placed after it began
        .group_by(key)).all()
    rows: dict = {}
    for pid, name, qty, orders, revenue in paid:
        rows[pid] = {"key": pid, "label": name, "quantity": int(qty), "orders_paid": int(orders),
                     "revenue_minor": int(revenue), "conversations": 0, "conversion_rate": 0.0}
    for pid, count, converted in convs:
        row = rows.setdefault(pid, {"key": pid, "label": None, "quantity": 0, "orders_paid": 0,
                                    "revenue_minor": 0, "conversations": 0, "conversion_rate": 0.0})
        row["conversations"] = int(count)
        row["conversion_rate"] = ratio(int(converted), int(count))
    ids = [k for k in rows if k is not None]
    names = dict(db.session.execute(
        select(P.c.id, P.c.name).where(P.c.tenant_id == f.tenant_id, P.c.id.in_(ids))).all()) if ids else {}
    for pid, row in rows.items():
        row["label"] = names.get(pid) or row["label"] or "Deleted product"
    return sorted(rows.values(), key=lambda r: (-r["revenue_minor"], -r["quantity"], str(r["label"])))


def breakdown(f: Filters, by: str) -> list[dict]:
    if by not in BREAKDOWNS:
        raise ValueError(f"by must be one of {', '.join(BREAKDOWNS)}")
    zone, _, _ = tenant_facts(f.tenant_id)
    lo, hi = utc_bounds(f.start, f.end, zone)
    return {"campaign": _by_campaign, "platform": _by_platform, "ad": _by_ad,
            "product": _by_product}[by](f, lo, hi)


__all__ = ["breakdown", "BREAKDOWNS"]
