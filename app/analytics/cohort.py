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

from sqlalchemy import Float, case, cast, func, select

from app.analytics.filters import C, O, Filters, conversation_where
from app.analytics.memo import per_request
from app.extensions import db
from app.models import PAID_STATUSES

SENT = ("sent", "delivered", "read")   # an outbound message the platform accepted
REPLY_SENDERS = ("ai", "agent")        # a reply: the agent or a person, not a system notice
# Orders whose money is with the business (a refunded order no longer converts its chat).
PAID = tuple(str(s) for s in PAID_STATUSES)


@dataclass
class Cohort:
    """What the metrics need of the conversations started in a range, aggregated in one pass
    (tens of thousands of conversations: plain lists, no object per conversation)."""

    conversations: int = 0
    replied: int = 0           # got a reply from the agent or a person
    engaged: int = 0           # the customer wrote again after that first reply
    ordered: int = 0           # placed an order (any status)
    paid: int = 0              # has an order whose money is with the business
    response_seconds: list[float] = field(default_factory=list)  # first reply - first message
    lead_scores: list[int] = field(default_factory=list)
    sentiments: list[float | None] = field(default_factory=list)


def seconds_between(later, earlier):
    """SQL: seconds from `earlier` to `later` (both timestamps), per dialect, as a float
    (PostgreSQL's extract gives numeric, which arrives as a Decimal per row)."""
    if db.engine.dialect.name == "postgresql":
        return cast(func.extract("epoch", later - earlier), Float)
    return (func.julianday(later) - func.julianday(earlier)) * 86400.0


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
    return select(
        C.c.lead_score, C.c.sentiment,
        seconds_between(C.c.first_reply_at, C.c.first_inbound_at).label("response_seconds"),
        C.c.engaged_at.is_not(None).label("replied_again"),
        orders.c.conversation_id.is_not(None).label("ordered"),
        func.coalesce(orders.c.paid, 0).label("paid"),
    ).select_from(C.outerjoin(orders, orders.c.conversation_id == C.c.id)).where(
        *conversation_where(f), C.c.created_at >= lo, C.c.created_at < hi)


def cohort(f: Filters, lo: datetime, hi: datetime) -> Cohort:
    """The cohort, computed once per request (a page asks the summary, the funnel and the
    distributions of the same filters: they share one query). Outside a request (jobs,
    scripts, tests that change rows between calls) every call reads afresh."""
    return per_request(("cohort", f, lo, hi), lambda: _compute(f, lo, hi))


def _compute(f: Filters, lo: datetime, hi: datetime) -> Cohort:
    """Column by column with builtins: a 90-day cohort is some 25,000 rows, and a branch per
    row cost more than the query."""
    rows = db.session.execute(cohort_query(f, lo, hi)).all()
    if not rows:
        return Cohort()
    # Plain tuples first: zip reads a plain tuple twelve times faster than a result Row.
    leads, moods, seconds, again, ordered, paid = zip(*map(tuple, rows))
    response = [float(s) if s > 0 else 0.0 for s in seconds if s is not None]
    return Cohort(conversations=len(rows), replied=len(response), engaged=sum(map(bool, again)),
                  ordered=sum(map(bool, ordered)), paid=sum(map(bool, paid)), response_seconds=response,
                  lead_scores=[lead or 0 for lead in leads], sentiments=list(moods))
