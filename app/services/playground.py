"""The Playground: a staff member chats as a customer through the real ingest and reply path.

Each staff member is their own test customer on the tenant's Playground channel; what they
type becomes an InboundEvent exactly like a webhook's, and the reply is "sent" by the
Playground adapter into the database.
"""
from __future__ import annotations

import uuid

from sqlalchemy import select

from app.channels.base import EventKind, InboundEvent
from app.extensions import db
from app.models import (
    Channel,
    Conversation,
    ConversationStatus,
    Customer,
    Message,
    Platform,
    utcnow,
)
from app.jobs.queueing import queue_answers
from app.services import ingest

MAX_TEXT = 2000


class PlaygroundError(ValueError):
    """Nothing to chat with (no Playground channel) or nothing typed."""


def channel_for(tenant_id: int) -> Channel:
    channel = db.session.scalar(select(Channel).where(
        Channel.tenant_id == tenant_id, Channel.platform == Platform.PLAYGROUND).order_by(Channel.id))
    if channel is None:
        raise PlaygroundError("This store has no Playground channel")
    return channel


def visitor_id(user_id: int) -> str:
    return f"playground-user-{user_id}"


def customer_writes(tenant_id: int, user, text: str) -> int:
    """The staff member's test customer writes `text`: ingested and answered in a job, as a
    webhook delivery would be. Returns how many messages were queued to be answered."""
    return queue_answers(customer_says(tenant_id, user, text))


def customer_says(tenant_id: int, user, text: str) -> list[tuple[int, int]]:
    """Ingest `text` as the staff member's test customer; returns the messages to answer."""
    text = (text or "").strip()
    if not text:
        raise PlaygroundError("Type a message first")
    channel = channel_for(tenant_id)
    event = InboundEvent(
        platform=str(Platform.PLAYGROUND), kind=EventKind.MESSAGE, account_id=channel.external_id,
        customer_id=visitor_id(user.id), timestamp=utcnow(), message_id=f"pg-in-{uuid.uuid4().hex}",
        text=text[:MAX_TEXT], customer_name=f"Playground ({user.username})",
    )
    return ingest.ingest([event]).to_answer


def current_conversation(tenant_id: int, user_id: int) -> Conversation | None:
    channel = channel_for(tenant_id)
    return db.session.scalar(select(Conversation).join(Customer).where(
        Conversation.tenant_id == tenant_id, Conversation.channel_id == channel.id,
        Customer.external_id == visitor_id(user_id),
    ).order_by(Conversation.id.desc()).limit(1))


def transcript(tenant_id: int, user_id: int, after_id: int = 0) -> list[dict]:
    conv = current_conversation(tenant_id, user_id)
    if conv is None or conv.status == ConversationStatus.CLOSED:
        return []
    rows = db.session.scalars(select(Message).where(
        Message.tenant_id == tenant_id, Message.conversation_id == conv.id, Message.id > after_id,
    ).order_by(Message.created_at, Message.id))
    return [{"id": m.id, "direction": str(m.direction), "sender": str(m.sender), "text": m.text,
             "status": str(m.status), "error": m.error} for m in rows]


def start_over(tenant_id: int, user_id: int) -> None:
    """Close the test conversation so the next message starts a fresh one (greeting again)."""
    conv = current_conversation(tenant_id, user_id)
    if conv is not None:
        conv.status = ConversationStatus.CLOSED
        db.session.commit()
