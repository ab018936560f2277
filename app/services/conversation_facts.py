"""When a conversation's customer first wrote, when they first got a reply and when they wrote
again after it, stored on the conversation.

The analytics cohort (first-response time, response rate, the funnel's "engaged") needs these
three moments for every conversation started in a range. Looked up in the messages, that is
three index lookups per conversation: 50,000 conversations' worth (a 90-day page and the 90
days before it) was the largest part of the analytics page's time. Stored, it is one read of
the conversation rows the cohort reads anyway.

They are derived, never set by hand: every flush that adds, removes or changes a message in a
way that can move them (its direction, sender, status, time or conversation) recomputes them
for that message's conversation from its messages as they then stand. So late and re-delivered
events leave them right: an inbound message stamped before the ones already stored, an echo of
a reply sent from another app, a reply that fails after it was counted. Core UPDATEs of
messages elsewhere change nothing they read (read receipts move a reply between sent,
delivered and read, all "sent"; erasure blanks text); anything that changes messages in bulk
calls `refresh` itself.
"""
from __future__ import annotations

from collections.abc import Iterable
from functools import cache

from sqlalchemy import event, inspect, select, update
from sqlalchemy.orm import Session

from app.analytics.cohort import REPLY_SENDERS, SENT
from app.models import Conversation, Message

C = Conversation.__table__
M = Message.__table__
FACTS = ("first_inbound_at", "first_reply_at", "engaged_at")
WATCHED = ("conversation_id", "direction", "sender", "status", "created_at")
CHUNK = 500
_PENDING = "conversation_facts_refreshed"


def _first(where):
    """SQL: the earliest created_at of the updated conversation's messages matching `where`,
    read in (conversation_id, created_at) order and cut at the first match. The conversation
    alone scopes them (a tenant_id term, however redundant, let a planner with stale
    statistics intersect the tenant's whole message index per conversation). Correlated to the
    conversation explicitly: nested in another fact's subquery, it would otherwise select
    from a second, unrelated copy of the conversation table."""
    m = M.alias()
    return (select(m.c.created_at)
            .where(m.c.conversation_id == C.c.id, *where(m))
            .order_by(m.c.created_at).limit(1).correlate(C).scalar_subquery())


@cache
def fact_values() -> dict:
    """The three facts as correlated SQL for an UPDATE of conversation. Each one builds on the
    one before (a reply counts from the first inbound message on; engagement from the first
    reply on), so one statement computes all three from the messages alone. Built once: SQL
    constructs are immutable, and building the aliases' columns anew cost a millisecond per
    flush."""
    first_in = _first(lambda m: (m.c.direction == "in",))
    first_reply = _first(lambda m: (m.c.direction == "out", m.c.sender.in_(REPLY_SENDERS),
                                    m.c.status.in_(SENT), m.c.created_at >= first_in))
    engaged = _first(lambda m: (m.c.direction == "in", m.c.created_at > first_reply))
    return {"first_inbound_at": first_in, "first_reply_at": first_reply, "engaged_at": engaged}


def refresh(connection, conversation_ids: Iterable[int]) -> None:
    """Recompute the facts of these conversations. On PostgreSQL their rows are locked first
    (in id order) and the UPDATE, a later statement, reads the messages committed meanwhile:
    two transactions adding messages to one conversation at once cannot leave it with facts
    computed from only one of them."""
    ids = sorted({int(i) for i in conversation_ids if i is not None})
    postgres = connection.dialect.name == "postgresql"
    for n in range(0, len(ids), CHUNK):
        chunk = ids[n:n + CHUNK]
        if postgres:
            connection.execute(select(C.c.id).where(C.c.id.in_(chunk)).order_by(C.c.id).with_for_update())
        connection.execute(update(C).where(C.c.id.in_(chunk)).values(**fact_values()))


def refresh_all(connection, tenant_id: int | None = None) -> None:
    """Every conversation (of one tenant): the migration's backfill and bulk-loaded data."""
    stmt = update(C).values(**fact_values())
    if tenant_id is not None:
        stmt = stmt.where(C.c.tenant_id == tenant_id)
    connection.execute(stmt)


def _status_moves(history) -> bool:
    """A status change matters only when it crosses between "sent" and not (queued -> sent,
    sent -> failed); sent -> delivered -> read leaves every fact where it was."""
    old = {str(v) in SENT for v in history.deleted if v is not None}
    new = {str(v) in SENT for v in history.added if v is not None}
    return old != new


def touched(session: Session) -> set[int]:
    """Conversations whose facts this flush may have moved."""
    ids: set[int] = set()
    for obj in session.new:
        if isinstance(obj, Message) and (str(obj.direction) == "in" or str(obj.status) in SENT):
            ids.add(obj.conversation_id)
    for obj in session.deleted:
        if isinstance(obj, Message):
            ids.add(obj.conversation_id)
    for obj in session.dirty:
        if not isinstance(obj, Message) or obj in session.deleted:
            continue
        attrs = inspect(obj).attrs
        if any(attrs[k].history.has_changes() for k in WATCHED if k != "status") \
                or _status_moves(attrs.status.history):
            ids.add(obj.conversation_id)
            ids.update(attrs.conversation_id.history.deleted or ())
    ids.discard(None)
    return ids


def _after_flush(session: Session, flush_context) -> None:
    """Recompute in the flush's own transaction (straight on its connection, so no second
    flush starts), and remember which conversations to expire once the flush is done."""
    ids = touched(session)
    if ids:
        refresh(session.connection(), ids)
        session.info.setdefault(_PENDING, set()).update(ids)


def _after_flush_postexec(session: Session, flush_context) -> None:
    """Loaded conversations read their new facts on next access, not the ones they loaded."""
    ids = session.info.pop(_PENDING, None)
    if not ids:
        return
    for obj in list(session.identity_map.values()):
        if isinstance(obj, Conversation) and obj.id in ids:
            session.expire(obj, list(FACTS))


def init_conversation_facts() -> None:
    """Keep the facts on every session's flush (once per process; later calls add nothing)."""
    if not event.contains(Session, "after_flush", _after_flush):
        event.listen(Session, "after_flush", _after_flush)
        event.listen(Session, "after_flush_postexec", _after_flush_postexec)
