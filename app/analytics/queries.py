"""Tenant-scoped aggregates over a range of the tenant's days: the figures every dashboard,
the analytics page, Leo and the API share.

Every statement names its tenant explicitly (Core SQL, which the request's ORM guard does not
see) and bounds its time column by the UTC instants of the tenant's local midnights. The
definitions of each figure are in the README's analytics section.
"""
from __future__ import annotations

from collections import Counter
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import case, func, select

from app.analytics import buckets
from app.analytics.memo import peek, per_request
from app.analytics.cohort import LEAD_BUCKETS, PAID, RESPONSE_BUCKETS, SENT, SENTIMENT_BUCKETS, cohort
from app.analytics.filters import (
    M,
    O,
    C,
    Filters,
    conversation_where,
    message_where,
    order_where,
    tenant_facts,
    utc_bounds,
)
from app.extensions import db
REFUNDED = "refunded"


def _sum_if(condition):
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _count_if(condition):
    """count(*) FILTER (WHERE ...): no CASE to evaluate and sum per row (SQLite has it too)."""
    return func.count().filter(condition)


# What a still-paid order brings in: its total less what was refunded of it so far.
NET = O.c.total_minor - O.c.refunded_minor


def _money_if(condition, amount=NET):
    return func.coalesce(func.sum(case((condition, amount), else_=0)), 0)


def ratio(part: int | float, whole: int | float) -> float:
    """part / whole as a 0-1 fraction (0.0 when there is nothing to divide by)."""
    return round(part / whole, 4) if whole else 0.0


def per_order(amount_minor: int, orders: int) -> int:
    """amount / orders in whole minor units, halves rounded up as a calculator or spreadsheet
    does: Python's round() takes 50066.5 to 50066, one minor unit off what the owner gets by
    dividing the revenue card by the orders card. 0 when there is no order."""
    if not orders:
        return 0
    return int((Decimal(amount_minor) / orders).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _message_figures():
    """received, sent, sent by the AI, sent by staff: the columns of both message reads."""
    sent = (M.c.direction == "out") & M.c.status.in_(SENT)
    return (_count_if(M.c.direction == "in"), _count_if(sent), _count_if(sent & (M.c.sender == "ai")),
            _count_if(sent & (M.c.sender == "agent")))


def message_quarters(f: Filters, lo, hi) -> list[tuple[int, int, int, int, int]]:
    """(quarter-hour, received, sent, sent by the AI, sent by staff) over the range: the one
    scan of the tenant's messages that the summary, the time series and the inbound heatmap
    of a page share."""
    def compute():
        q = buckets.quarter_hour(M.c.created_at)
        return [(buckets.number(q_), int(r), int(s_), int(a), int(st)) for q_, r, s_, a, st in db.session.execute(
            select(buckets.quarter_start(q), *_message_figures())
            .where(*message_where(f), M.c.created_at >= lo, M.c.created_at < hi).group_by(q)).all()]
    return per_request(("messages", f, lo, hi), compute)


def paid_quarters(f: Filters, lo, hi) -> list[tuple[int, int, int]]:
    """(quarter-hour, orders paid, revenue) of orders still paid, by payment time (revenue net
    of their partial refunds)."""
    def compute():
        q = buckets.quarter_hour(O.c.paid_at)
        return [(buckets.number(q_), int(n), int(revenue or 0)) for q_, n, revenue in db.session.execute(
            select(buckets.quarter_start(q), func.count(), func.coalesce(func.sum(NET), 0))
            .where(*order_where(f), O.c.status.in_(PAID), O.c.paid_at >= lo, O.c.paid_at < hi)
            .group_by(q)).all()]
    return per_request(("paid", f, lo, hi), compute)


def message_counts(f: Filters, lo, hi) -> dict:
    """The range's message totals: added up from the quarter-hours when this request has
    already read them (a page draws them), else counted outright, which skips the grouping
    (the previous period of a page, the summary API)."""
    quarters = peek(("messages", f, lo, hi))
    if quarters is not None:
        received = sent = ai = staff = 0
        for _, r, s_, a, st in quarters:
            received, sent, ai, staff = received + r, sent + s_, ai + a, staff + st
    else:
        received, sent, ai, staff = (int(v or 0) for v in db.session.execute(
            select(*_message_figures()).where(*message_where(f), M.c.created_at >= lo, M.c.created_at < hi)
        ).one())
    return {"messages_received": received, "messages_sent": sent,
            "messages_sent_ai": ai, "messages_sent_staff": staff}


def order_figures(f: Filters, lo, hi) -> dict:
    """Orders placed in the range, and orders *paid* in the range with their money: revenue
    is what is still with the business (a later refund takes the order out of its payment
    day's revenue, a partial one takes its amount off), refunds what went back of them."""
    placed = db.session.scalar(
        select(func.count()).select_from(O).where(*order_where(f), O.c.created_at >= lo, O.c.created_at < hi)
    )
    paid_now = O.c.status.in_(PAID)
    row = db.session.execute(
        select(
            _sum_if(paid_now).label("paid"),
            _money_if(paid_now).label("revenue"),
            (_money_if(O.c.status == REFUNDED, O.c.total_minor)
             + _money_if(paid_now, O.c.refunded_minor)).label("refunds"),
            _sum_if(paid_now & (O.c.closed_by_sender == "ai")).label("ai"),
            _sum_if(paid_now & (O.c.closed_by_sender == "agent")).label("human"),
            _money_if(paid_now & (O.c.closed_by_sender == "ai")).label("ai_revenue"),
            _money_if(paid_now & (O.c.closed_by_sender == "agent")).label("human_revenue"),
        ).where(*order_where(f), O.c.paid_at >= lo, O.c.paid_at < hi)
    ).one()
    paid, revenue = int(row.paid), int(row.revenue)
    ai, human = int(row.ai), int(row.human)
    return {
        "orders_placed": int(placed or 0),
        "orders_paid": paid,
        "revenue_minor": revenue,
        "refunds_minor": int(row.refunds),
        "average_order_minor": per_order(revenue, paid),
        "ai_closed_sales": ai,
        "human_closed_sales": human,
        "ai_share": ratio(ai, ai + human),
        "ai_closed_revenue_minor": int(row.ai_revenue),
        "human_closed_revenue_minor": int(row.human_revenue),
    }


def summary(f: Filters) -> dict:
    zone, currency, _ = tenant_facts(f.tenant_id)
    lo, hi = utc_bounds(f.start, f.end, zone)
    c = cohort(f, lo, hi)
    return {
        "start": f.start.isoformat(), "end": f.end.isoformat(), "currency": currency,
        **message_counts(f, lo, hi),
        "conversations": c.conversations,
        "response_rate": ratio(c.engaged, c.replied),
        "median_first_response_seconds": None if c.median_response_seconds is None else round(c.median_response_seconds, 1),
        **order_figures(f, lo, hi),
        "conversion_rate": ratio(c.paid, c.conversations),
    }


def funnel(f: Filters) -> dict:
    zone, _, _ = tenant_facts(f.tenant_id)
    c = cohort(f, *utc_bounds(f.start, f.end, zone))
    return {"conversations": c.conversations, "engaged": c.engaged, "ordered": c.ordered, "paid": c.paid}


def timeseries(f: Filters) -> list[dict]:
    zone, _, _ = tenant_facts(f.tenant_id)
    lo, hi = utc_bounds(f.start, f.end, zone)
    days = {}
    day = f.start
    while day <= f.end:
        days[day] = {"day": day, "messages_received": 0, "messages_sent": 0, "conversations": 0,
                     "orders_paid": 0, "revenue_minor": 0}
        day += timedelta(days=1)
    # Each quarter-hour's row from a table made once per range (thousands of rows to place).
    clock = buckets.DayFinder(f.start, f.end, zone)
    first, day_rows = clock.first, list(days.values())
    rows = [day_rows[i] for i, _ in clock.quarters(zone)]
    n = len(rows)
    for bucket, received, sent, _, _ in message_quarters(f, lo, hi):
        if 0 <= bucket - first < n:
            row = rows[bucket - first]
            row["messages_received"] += received
            row["messages_sent"] += sent
    q = buckets.quarter_hour(C.c.created_at)
    for start, count in db.session.execute(
        select(buckets.quarter_start(q), func.count()).where(*conversation_where(f), C.c.created_at >= lo, C.c.created_at < hi)
        .group_by(q)
    ).all():
        bucket = buckets.number(start)
        if 0 <= bucket - first < n:
            rows[bucket - first]["conversations"] += int(count)
    for bucket, count, revenue in paid_quarters(f, lo, hi):
        if 0 <= bucket - first < n:
            row = rows[bucket - first]
            row["orders_paid"] += count
            row["revenue_minor"] += revenue
    return list(days.values())


HEATMAP_KINDS = ("inbound", "paid")


def heatmap(f: Filters, kind: str) -> list[dict]:
    """Every weekday (0 = Monday) x hour cell of the tenant's local week, zeros included."""
    if kind not in HEATMAP_KINDS:
        raise ValueError(f"kind must be one of {', '.join(HEATMAP_KINDS)}")
    zone, _, _ = tenant_facts(f.tenant_id)
    lo, hi = utc_bounds(f.start, f.end, zone)
    if kind == "inbound":
        counts = [(bucket, received) for bucket, received, *_ in message_quarters(f, lo, hi) if received]
    else:
        counts = [(bucket, paid) for bucket, paid, _ in paid_quarters(f, lo, hi)]
    clock = buckets.DayFinder(f.start, f.end, zone)
    first, weekdays = clock.first, [day.weekday() for day in clock.days]
    table = clock.quarters(zone)
    cells = Counter()
    for bucket, count in counts:
        if 0 <= bucket - first < len(table):
            day, hour = table[bucket - first]
            cells[(weekdays[day], hour)] += count
    return [{"weekday": wd, "hour": h, "count": cells[(wd, h)]} for wd in range(7) for h in range(24)]


def _rows(counts: list[int], bounds) -> list[dict]:
    return [{"bucket": label, "count": n} for n, (_, _, label) in zip(counts, bounds)]


def distributions(f: Filters) -> dict:
    """Lead score, sentiment and first-response time over the conversations started in range."""
    zone, _, _ = tenant_facts(f.tenant_id)
    c = cohort(f, *utc_bounds(f.start, f.end, zone))
    return {
        "lead_score": _rows(c.lead_scores, LEAD_BUCKETS),
        "sentiment": _rows(c.sentiments, SENTIMENT_BUCKETS) + [{"bucket": "unknown", "count": c.sentiment_unknown}],
        "first_response": _rows(c.response_times, RESPONSE_BUCKETS),
    }


__all__ = ["summary", "funnel", "timeseries", "heatmap", "distributions", "ratio"]
