"""The conversations started in a period, with the facts their metrics need.

Conversation metrics (response rate, first response, funnel, conversion, score and sentiment
distributions) follow a cohort: the conversations *started* in the range, however long after
it their replies, orders or payments came. A period's conversion rate therefore counts an
order paid days after the conversation began, and a past period's figure can still rise while
its conversations are live.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, exists, func, select

from app.analytics.filters import C, M, O, Filters, conversation_where
from app.extensions import db
from app.models import PAID_STATUSES

SENT = ("sent", "delivered", "read")   # an outbound message the platform accepted
REPLY_SENDERS = ("ai", "agent")        # a reply: the agent or a person, not a system notice
# Orders whose money is with the business (a refunded order no longer converts its chat).
PAID = tuple(str(s) for s in PAID_STATUSES)


@dataclass(frozen=True)
class CohortRow:
    conversation_id: int
    lead_score: int
    sentiment: float | None
    first_in: datetime | None
    first_reply: datetime | None
    replied_again: bool
    ordered: bool
    paid: bool

    @property
    def first_response_seconds(self) -> float | None:
        if self.first_in is None or self.first_reply is None:
            return None
        return max((self.first_reply - self.first_in).total_seconds(), 0.0)


def cohort_query(f: Filters, lo: datetime, hi: datetime):
    tenant = f.tenant_id
    convs = (
        select(C.c.id, C.c.lead_score, C.c.sentiment)
        .where(*conversation_where(f), C.c.created_at >= lo, C.c.created_at < hi)
        .cte("cohort")
    )
    first_in = (
        select(M.c.conversation_id.label("cid"), func.min(M.c.created_at).label("at"))
        .where(M.c.tenant_id == tenant, M.c.direction == "in",
               M.c.conversation_id.in_(select(convs.c.id)))
        .group_by(M.c.conversation_id)
        .cte("first_in")
    )
    first_reply = (
        select(M.c.conversation_id.label("cid"), func.min(M.c.created_at).label("at"))
        .join(first_in, first_in.c.cid == M.c.conversation_id)
        .where(M.c.tenant_id == tenant, M.c.direction == "out",
               M.c.sender.in_(REPLY_SENDERS), M.c.status.in_(SENT),
               M.c.created_at >= first_in.c.at)
        .group_by(M.c.conversation_id)
        .cte("first_reply")
    )
    later = M.alias("later")
    replied_again = exists().where(
        later.c.tenant_id == tenant, later.c.conversation_id == convs.c.id,
        later.c.direction == "in", later.c.created_at > first_reply.c.at,
    )
    ordered = exists().where(O.c.tenant_id == tenant, O.c.conversation_id == convs.c.id)
    paid = exists().where(O.c.tenant_id == tenant, O.c.conversation_id == convs.c.id,
                          O.c.status.in_(PAID))
    return (
        select(
            convs.c.id, convs.c.lead_score, convs.c.sentiment,
            first_in.c.at.label("first_in"), first_reply.c.at.label("first_reply"),
            and_(first_reply.c.at.is_not(None), replied_again).label("replied_again"),
            ordered.label("ordered"), paid.label("paid"),
        )
        .select_from(convs)
        .outerjoin(first_in, first_in.c.cid == convs.c.id)
        .outerjoin(first_reply, first_reply.c.cid == convs.c.id)
    )


def cohort(f: Filters, lo: datetime, hi: datetime) -> list[CohortRow]:
    rows = db.session.execute(cohort_query(f, lo, hi)).all()
    return [
        CohortRow(r.id, r.lead_score or 0, r.sentiment, r.first_in, r.first_reply,
                  bool(r.replied_again), bool(r.ordered), bool(r.paid))
        for r in rows
    ]
