"""Figures per campaign, platform, product or ad, for comparison charts and "top" lists.

Conversations (and their conversion) follow the cohort started in the range; orders and
revenue follow the payment day, as in the summary. A row with key None holds what has no
campaign / no ad (organic conversations), so the rows add up to the summary's totals.
"""
from __future__ import annotations

from sqlalchemy import case, exists, func, select

from app.analytics.filters import C, CH, O, Filters, conversation_where, order_where, tenant_facts, utc_bounds
from app.analytics.queries import PAID, ratio
from app.extensions import db
from app.models import Campaign, OrderItem, Product, Referral

BREAKDOWNS = ("campaign", "platform", "product", "ad")
CAMP = Campaign.__table__
OI = OrderItem.__table__
P = Product.__table__
R = Referral.__table__


def _paid_exists(tenant_id):
    return exists().where(O.c.tenant_id == tenant_id, O.c.conversation_id == C.c.id, O.c.status.in_(PAID))


def _grouped(f: Filters, lo, hi, conv_key, order_key, conv_from=None, order_from=None) -> dict:
    """{key: {conversations, converted, orders_paid, revenue_minor}} for one grouping."""
    out: dict = {}

    def slot(key):
        return out.setdefault(key, {"conversations": 0, "converted": 0, "orders_paid": 0, "revenue_minor": 0})

    stmt = (select(conv_key.label("k"), func.count(), func.coalesce(
        func.sum(case((_paid_exists(f.tenant_id), 1), else_=0)), 0))
        .where(*conversation_where(f), C.c.created_at >= lo, C.c.created_at < hi)
        .group_by(conv_key))
    if conv_from is not None:
        stmt = stmt.select_from(conv_from)
    for key, count, converted in db.session.execute(stmt).all():
        row = slot(key)
        row["conversations"] += int(count)
        row["converted"] += int(converted)
    stmt = (select(order_key.label("k"), func.count(), func.coalesce(func.sum(O.c.total_minor), 0))
            .where(*order_where(f), O.c.status.in_(PAID), O.c.paid_at >= lo, O.c.paid_at < hi)
            .group_by(order_key))
    if order_from is not None:
        stmt = stmt.select_from(order_from)
    for key, count, revenue in db.session.execute(stmt).all():
        row = slot(key)
        row["orders_paid"] += int(count)
        row["revenue_minor"] += int(revenue)
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
    grouped = _grouped(f, lo, hi, C.c.campaign_id, O.c.campaign_id)
    ids = [k for k in grouped if k is not None]
    labels = dict(db.session.execute(
        select(CAMP.c.id, CAMP.c.name).where(CAMP.c.tenant_id == f.tenant_id, CAMP.c.id.in_(ids))).all()) if ids else {}
    return _rows(grouped, labels, "No campaign")


def _by_platform(f, lo, hi):
    conv_platform = CH.c.platform
    order_conv = O.outerjoin(C, (C.c.id == O.c.conversation_id) & (C.c.tenant_id == f.tenant_id)) \
        .outerjoin(CH, CH.c.id == C.c.channel_id)
    grouped = _grouped(f, lo, hi, conv_platform, CH.c.platform,
                       conv_from=C.join(CH, CH.c.id == C.c.channel_id), order_from=order_conv)
    return _rows(grouped, {}, "No conversation")


def _by_ad(f, lo, hi):
    order_conv = O.outerjoin(C, (C.c.id == O.c.conversation_id) & (C.c.tenant_id == f.tenant_id))
    grouped = _grouped(f, lo, hi, C.c.ad_id, C.c.ad_id, order_from=order_conv)
    ids = [k for k in grouped if k is not None]
    labels = {}
    if ids:
        labels = {ad: f"{title} ({ad})" for ad, title in db.session.execute(
            select(R.c.ad_id, func.max(R.c.headline)).where(R.c.tenant_id == f.tenant_id, R.c.ad_id.in_(ids))
            .group_by(R.c.ad_id)).all() if title}
    return _rows(grouped, labels, "No ad (organic)")


def _by_product(f, lo, hi):
    """Per product: units, paid orders and revenue by payment day; `conversations` are those
    (started in range) whose orders included it, converted when one of those orders was paid."""
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
               C.c.created_at >= lo, C.c.created_at < hi)
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
