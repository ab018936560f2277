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

from sqlalchemy import and_, exists, func, select

from app.analytics.filters import C, M, O, Filters, conversation_where
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
    """SQL: seconds from `earlier` to `later` (both timestamps), per dialect."""
    if db.engine.dialect.name == "postgresql":
        return func.extract("epoch", later - earlier)
    return (func.julianday(later) - func.julianday(earlier)) * 86400.0


def _materialized(stmt, name: str):
    """A CTE PostgreSQL computes once: inlined, each later reference to `first_in` would
    repeat its lookup per conversation."""
    return stmt.cte(name).prefix_with("MATERIALIZED", dialect="postgresql")


def cohort_query(f: Filters, lo: datetime, hi: datetime):
    """One row per conversation started in [lo, hi). Each fact is a correlated lookup on the
    conversation's own messages (conversation_id, created_at), ordered and cut at the first
    match: a handful of index entries per conversation however many the tenant has."""
    tenant = f.tenant_id
    convs = (
        select(C.c.id, C.c.lead_score, C.c.sentiment)
        .where(*conversation_where(f), C.c.created_at >= lo, C.c.created_at < hi)
        .subquery("cohort")
    )
    m1 = M.alias("m1")
    first_in = (
        select(m1.c.created_at)
        .where(m1.c.conversation_id == convs.c.id, m1.c.tenant_id == tenant, m1.c.direction == "in")
        .order_by(m1.c.created_at).limit(1)
        .scalar_subquery()
    )
    step1 = _materialized(select(convs.c.id, convs.c.lead_score, convs.c.sentiment,
                                 first_in.label("first_in")), "step1")
    m2 = M.alias("m2")
    first_reply = (
        select(m2.c.created_at)
        .where(m2.c.conversation_id == step1.c.id, m2.c.tenant_id == tenant, m2.c.direction == "out",
               m2.c.sender.in_(REPLY_SENDERS), m2.c.status.in_(SENT), m2.c.created_at >= step1.c.first_in)
        .order_by(m2.c.created_at).limit(1)
        .scalar_subquery()
    )
    step2 = _materialized(select(step1, first_reply.label("first_reply")), "step2")
    m3 = M.alias("m3")
    replied_again = exists().where(
        m3.c.conversation_id == step2.c.id, m3.c.tenant_id == tenant, m3.c.direction == "in",
        m3.c.created_at > step2.c.first_reply,
    )
    # An order is placed in a conversation that already exists, so none of the cohort's can
    # predate `lo`: the bound keeps the lookup to the range's orders, not the tenant's all.
    since = (O.c.tenant_id == tenant, O.c.created_at >= lo, O.c.conversation_id == step2.c.id)
    ordered = exists().where(*since)
    paid = exists().where(*since, O.c.status.in_(PAID))
    return select(
        step2.c.lead_score, step2.c.sentiment,
        seconds_between(step2.c.first_reply, step2.c.first_in).label("response_seconds"),
        and_(step2.c.first_reply.is_not(None), replied_again).label("replied_again"),
        ordered.label("ordered"), paid.label("paid"),
    )


def cohort(f: Filters, lo: datetime, hi: datetime) -> Cohort:
    """The cohort, computed once per request (a page asks the summary, the funnel and the
    distributions of the same filters: they share one query). Outside a request (jobs,
    scripts, tests that change rows between calls) every call reads afresh."""
    return per_request(("cohort", f, lo, hi), lambda: _compute(f, lo, hi))


def _compute(f: Filters, lo: datetime, hi: datetime) -> Cohort:
    c = Cohort()
    for lead, mood, seconds, again, ordered, paid in db.session.execute(cohort_query(f, lo, hi)):
        c.conversations += 1
        c.lead_scores.append(lead or 0)
        c.sentiments.append(mood)
        if seconds is not None:
            c.replied += 1
            c.response_seconds.append(max(float(seconds), 0.0))
        c.engaged += bool(again)
        c.ordered += bool(ordered)
        c.paid += bool(paid)
    return c
