"""The conversations started in a period, with the facts their metrics need.

Conversation metrics (response rate, first response, funnel, conversion, score and sentiment
distributions) follow a cohort: the conversations *started* in the range, however long after
it their replies, orders or payments came. A period's conversion rate therefore counts an
order paid days after the conversation began, and a past period's figure can still rise while
its conversations are live.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Float, and_, case, func, literal, select

from app.analytics.filters import C, O, Filters, conversation_where
from app.analytics.memo import per_request
from app.extensions import db
from app.models import PAID_STATUSES

SENT = ("sent", "delivered", "read")   # an outbound message the platform accepted
REPLY_SENDERS = ("ai", "agent")        # a reply: the agent or a person, not a system notice
# Orders whose money is with the business (a refunded order no longer converts its chat).
PAID = tuple(str(s) for s in PAID_STATUSES)

# The distributions' buckets, [low, high): a value outside every bucket is not counted.
LEAD_BUCKETS = ((0, 20, "0-19"), (20, 40, "20-39"), (40, 60, "40-59"), (60, 80, "60-79"), (80, 101, "80-100"))
SENTIMENT_BUCKETS = ((-1.01, -0.5, "very negative"), (-0.5, -0.05, "negative"), (-0.05, 0.05, "neutral"),
                     (0.05, 0.5, "positive"), (0.5, 1.01, "very positive"))
RESPONSE_BUCKETS = ((0, 60, "under 1 min"), (60, 300, "1-5 min"), (300, 900, "5-15 min"),
                    (900, 3600, "15-60 min"), (3600, 14400, "1-4 h"), (14400, float("inf"), "over 4 h"))


@dataclass
class Cohort:
    """What the metrics need of the conversations started in a range: counts, the median
    first response and the distributions' bucket counts, all aggregated by the database."""

    conversations: int = 0
    replied: int = 0           # got a reply from the agent or a person
    engaged: int = 0           # the customer wrote again after that first reply
    ordered: int = 0           # placed an order (any status)
    paid: int = 0              # has an order whose money is with the business
    median_response_seconds: float | None = None   # first reply - first message
    lead_scores: list[int] = field(default_factory=lambda: [0] * len(LEAD_BUCKETS))
    sentiments: list[int] = field(default_factory=lambda: [0] * len(SENTIMENT_BUCKETS))
    sentiment_unknown: int = 0
    response_times: list[int] = field(default_factory=lambda: [0] * len(RESPONSE_BUCKETS))


def seconds_between(later, earlier):
    """SQL: seconds from `earlier` to `later` (both timestamps), per dialect, as a float
    (PostgreSQL's date_part is double precision; extract's numeric is many times slower to
    compare and sum). SQLite's day fractions are rounded to the millisecond: a reply a minute
    later is 60 s, not 59.99999."""
    if db.engine.dialect.name == "postgresql":
        return func.date_part("epoch", later - earlier, type_=Float)
    return func.round((func.julianday(later) - func.julianday(earlier)) * 86400.0, 3)


def cohort_query(f: Filters, lo: datetime, hi: datetime):
    """One row per conversation started in [lo, hi), from the conversation rows alone: the
    first inbound message, the first reply and the customer's return are stored on each
    conversation (app.services.conversation_facts keeps them as messages arrive, late ones
    included), so the (tenant_id, created_at) index that carries them answers the range."""
    # An order is placed in a conversation that already exists, so none of the cohort's can
    # predate `lo`: the bound keeps the read to the range's orders, not the tenant's all; one
    # pass over them says which conversations ordered and which paid.
    orders = (select(O.c.conversation_id, func.max(case((O.c.status.in_(PAID), 1), else_=0)).label("paid"))
              .where(O.c.tenant_id == f.tenant_id, O.c.created_at >= lo, O.c.conversation_id.is_not(None))
              .group_by(O.c.conversation_id).subquery("conversation_orders"))
    waited = seconds_between(C.c.first_reply_at, C.c.first_inbound_at)
    # A reply stamped before the message it answers (clocks of two senders) waited no time.
    response = case((waited > 0, waited), (waited.is_not(None), literal(0.0)), else_=None)
    return select(
        func.coalesce(C.c.lead_score, 0).label("lead_score"), C.c.sentiment,
        response.label("response_seconds"),
        C.c.engaged_at.is_not(None).label("replied_again"),
        orders.c.conversation_id.is_not(None).label("ordered"),
        func.coalesce(orders.c.paid, 0).label("paid"),
    ).select_from(C.outerjoin(orders, orders.c.conversation_id == C.c.id)).where(
        *conversation_where(f), C.c.created_at >= lo, C.c.created_at < hi)


def _in_buckets(column, bounds) -> list:
    return [func.count().filter(and_(column >= low, column < high) if high != float("inf") else column >= low)
            for low, high, _ in bounds]


def cohort(f: Filters, lo: datetime, hi: datetime) -> Cohort:
    """The cohort, computed once per request (a page asks the summary, the funnel and the
    distributions of the same filters: they share one query). Outside a request (jobs,
    scripts, tests that change rows between calls) every call reads afresh."""
    return per_request(("cohort", f, lo, hi), lambda: _compute(f, lo, hi))


def _compute(f: Filters, lo: datetime, hi: datetime) -> Cohort:
    """One aggregate row: a 90-day cohort is tens of thousands of conversations, and handing
    each to Python cost more than the query."""
    postgres = db.engine.dialect.name == "postgresql"
    # Materialized: each row's facts are worked out once, not again inside every count below
    # (PostgreSQL would otherwise inline them; the hint is PostgreSQL's to need).
    rows = cohort_query(f, lo, hi).cte("cohort")
    if postgres:
        rows = rows.prefix_with("MATERIALIZED")
    seconds = rows.c.response_seconds
    median = func.percentile_cont(0.5).within_group(seconds) if postgres else literal(None)
    lead, mood, wait = (_in_buckets(rows.c.lead_score, LEAD_BUCKETS), _in_buckets(rows.c.sentiment, SENTIMENT_BUCKETS),
                        _in_buckets(seconds, RESPONSE_BUCKETS))
    row = db.session.execute(select(
        func.count(), func.count(seconds), func.count().filter(rows.c.replied_again),
        func.count().filter(rows.c.ordered), func.count().filter(rows.c.paid > 0), median,
        func.count().filter(rows.c.sentiment.is_(None)), *lead, *mood, *wait)).one()
    conversations, replied, engaged, ordered, paid, median_value, unknown = row[:7]
    counts = [int(n) for n in row[7:]]
    if not postgres and replied:
        median_value = _median_sqlite(seconds, rows, int(replied))
    a, b = len(LEAD_BUCKETS), len(LEAD_BUCKETS) + len(SENTIMENT_BUCKETS)
    return Cohort(conversations=int(conversations), replied=int(replied), engaged=int(engaged),
                  ordered=int(ordered), paid=int(paid),
                  median_response_seconds=None if median_value is None else float(median_value),
                  lead_scores=counts[:a], sentiments=counts[a:b], sentiment_unknown=int(unknown),
                  response_times=counts[b:])


def _median_sqlite(seconds, rows, n: int) -> float:
    """SQLite has no percentile: the middle one or two values, by order (the embedded
    database's tenants are small)."""
    middle = db.session.scalars(select(seconds).where(seconds.is_not(None)).order_by(seconds)
                                .limit(2 - n % 2).offset((n - 1) // 2)).all()
    return sum(float(v) for v in middle) / len(middle)
