"""The agent steps back when a person speaks.

A person writing in a conversation (a reply from our inbox, or an echo of a message sent from
the Page inbox, the Instagram app or the WhatsApp Business app) pauses the agent there for the
tenant's `human_pause_minutes`; "take over" hands the chat to people until handed back. Each of
these bumps `Conversation.takeover_seq`, which the reply job reads under the conversation's lock
before it asks the model and compares-and-sets when it writes the answer: a person who takes over
while the model is thinking wins, and the customer gets no AI reply over them.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select, update

from app.extensions import db
from app.models import Conversation, ConversationMode, Message, Sender, Tenant, utcnow, as_utc

DEFAULT_PAUSE_MINUTES = 30


def paused(conv: Conversation, now: datetime | None = None) -> bool:
    until = as_utc(conv.paused_until)
    return until is not None and until > (now or utcnow())


def steps_back(conv: Conversation, now: datetime | None = None) -> str | None:
    """Why the agent must not answer in this conversation now (None: it may)."""
    if conv.mode == ConversationMode.HUMAN:
        return "a person is handling this chat"
    if paused(conv, now):
        return "paused: a person wrote here"
    return None


def _bump(conv: Conversation) -> None:
    """The compare-and-set's counter, incremented in SQL (`takeover_seq + 1` at the flush) so
    two concurrent takeovers never collapse into one."""
    if conv.id is None:  # a conversation this very delivery opens
        conv.takeover_seq = 1
    else:
        conv.takeover_seq = Conversation.takeover_seq + 1


def person_spoke(conv: Conversation, at: datetime | None = None, *,
                 pause_minutes: int | None = None, by: int | None = None) -> None:
    """A person (`by`, a user id; None when written from the platform's own app) wrote in
    this chat at `at`: pause the agent for the tenant's time from then (never shortening a
    longer pause). The caller commits."""
    at = as_utc(at) or utcnow()
    minutes = pause_minutes if pause_minutes is not None else _pause_minutes(conv)
    until = at + timedelta(minutes=max(0, minutes))
    if as_utc(conv.paused_until) is None or as_utc(conv.paused_until) < until:
        conv.paused_until = until
    _taken(conv, at, by)
    conv.last_staff_at = max(as_utc(conv.last_staff_at) or at, at)
    _bump(conv)


def take_over(conv: Conversation, by: int | None = None) -> None:
    """People handle this chat until someone hands it back."""
    conv.mode = ConversationMode.HUMAN
    conv.taken_over_at, conv.taken_over_by_id = utcnow(), by
    _bump(conv)


def hand_over(conv: Conversation) -> None:
    """The automation (a workflow's assign or handoff, the agent's handoff tool) gives the chat
    to people: nobody in particular took it. No compare-and-set bump: this runs inside the
    reply job, whose own answer (the handoff message) must still go out."""
    conv.mode = ConversationMode.HUMAN
    conv.taken_over_at, conv.taken_over_by_id = utcnow(), None


def pause(conv: Conversation, minutes: int, by: int | None = None) -> None:
    """A person asks the agent to wait `minutes` from now without writing anything (a pause
    set this way replaces the current one, shorter or longer: it is what they asked for)."""
    now = utcnow()
    conv.paused_until = now + timedelta(minutes=minutes)
    conv.taken_over_at, conv.taken_over_by_id = now, by
    _bump(conv)


def _taken(conv: Conversation, at: datetime, by: int | None) -> None:
    """The latest person to step in, and when (an older echo delivered late changes neither)."""
    if as_utc(conv.taken_over_at) is None or as_utc(conv.taken_over_at) <= at:
        conv.taken_over_at, conv.taken_over_by_id = at, by


def hand_back(conv: Conversation) -> None:
    """The agent answers again from the customer's next message (pause lifted as well)."""
    conv.mode = ConversationMode.AI
    conv.paused_until = None


def resume(conv: Conversation) -> None:
    """Lift a pause early; a chat in human mode stays with people."""
    conv.paused_until = None


def still_ours(conv_id: int, seen_seq: int) -> bool:
    """Compare-and-set, in the transaction that writes the AI's reply: true only if no person
    took over since the job read `seen_seq`. On PostgreSQL the UPDATE waits for a concurrent
    takeover's commit and then re-checks the row, so exactly one of the two wins."""
    result = db.session.execute(update(Conversation).where(
        Conversation.id == conv_id, Conversation.takeover_seq == seen_seq,
    ).values(takeover_seq=seen_seq).execution_options(synchronize_session=False))
    return result.rowcount == 1


def overtaken(msg: Message) -> bool:
    """An AI message written before a person took over must not go out after them. Read from
    the database, not the session: the takeover may have been committed a moment ago."""
    if msg.sender != Sender.AI:
        return False
    seq = (msg.payload or {}).get("takeover_seq")
    if not isinstance(seq, int):
        return False
    current = db.session.scalar(select(Conversation.takeover_seq).where(
        Conversation.id == msg.conversation_id))
    return current is not None and current != seq


def _pause_minutes(conv: Conversation) -> int:
    tenant = db.session.get(Tenant, conv.tenant_id)  # usually in the session already
    value = getattr(tenant, "human_pause_minutes", None)
    return DEFAULT_PAUSE_MINUTES if value is None else int(value)
