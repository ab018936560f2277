"""Sending to customers. `deliver()` is the one function that sends a message to a customer.

Outbound messages are written QUEUED first (so a crash can't lose or double-create them), then
delivered through the channel's adapter inside the platform's messaging window:
- Messenger/Instagram: 24 h after the customer's last message; after that only a human agent's
  reply, tagged HUMAN_AGENT, for up to 7 days. The AI never uses the tag.
- WhatsApp: 24 h; after that only an approved template.
Errors: rate limits and 5xx raise TransientGraphError for the job to retry with backoff; a bad
token marks the channel `error` (shown in the admin) and stops; an unreachable person or a
refused message marks the message failed with the reason.
"""
from __future__ import annotations

import logging
from datetime import timedelta, timezone

from sqlalchemy import select

from app.channels import adapter_for
from app.clients.graph import (
    ChannelAuthError,
    GraphError,
    MessageRejected,
    RateLimited,
    RecipientUnavailable,
    TransientGraphError,
    WindowClosed,
)
from app.extensions import db
from app.jobs.queueing import SEND_RETRY_DELAY_SECONDS, SEND_RETRY_SOON_SECONDS, queue_send
from app.services import takeover
from app.models import (
    Channel,
    ChannelStatus,
    Conversation,
    Direction,
    Message,
    MessageStatus,
    Platform,
    Sender,
    utcnow,
)
from app.services import optout

log = logging.getLogger(__name__)

STANDARD_WINDOW = timedelta(hours=24)
# Senders that are not a person: the agent, rules, follow-ups, broadcasts.
AUTOMATED = (Sender.AI, Sender.SYSTEM)
HUMAN_AGENT_WINDOW = timedelta(days=7)


def queue_message(conv: Conversation, text: str, *, sender: Sender, kind: str = "text",
                  payload: dict | None = None, reply_to_id: int | None = None,
                  author_id: int | None = None) -> Message:
    """Write an outbound message QUEUED (the caller commits, then calls deliver)."""
    now = utcnow()
    msg = Message(tenant_id=conv.tenant_id, conversation_id=conv.id, channel_id=conv.channel_id,
                  direction=Direction.OUT, sender=sender, kind=kind, text=text, payload=payload,
                  status=MessageStatus.QUEUED, reply_to_id=reply_to_id, author_id=author_id,
                  created_at=now, handled_at=now)
    db.session.add(msg)
    conv.last_message_at = now
    return msg


def window_refusal(conv: Conversation, msg: Message, now) -> tuple[str | None, str | None]:
    """(reason it may not be sent, tag to send it with)."""
    platform = Platform(conv.channel.platform)
    if platform == Platform.PLAYGROUND:
        return None, None
    last = conv.last_inbound_at
    if last is not None and last.tzinfo is None:
        last = last.replace(tzinfo=timezone.utc)
    age = now - last if last else None
    if age is not None and age <= STANDARD_WINDOW:
        return None, None
    if platform == Platform.WHATSAPP:
        if msg.kind == "template":
            return None, None
        return ("Outside WhatsApp's 24-hour window: only an approved template can be sent", None)
    if msg.sender == Sender.AGENT and age is not None and age <= HUMAN_AGENT_WINDOW:
        return None, "HUMAN_AGENT"
    if msg.sender == Sender.AGENT:
        return ("More than 7 days since the customer's last message: it can't be answered", None)
    return ("Outside the 24-hour messaging window: automated replies can't be sent; "
            "a person can still reply (HUMAN_AGENT, up to 7 days)", None)


def _fail(msg: Message, reason: str) -> None:
    msg.status, msg.error = MessageStatus.FAILED, reason
    db.session.commit()
    log.info("message %s not sent: %s", msg.id, reason)


def _note_send_error(channel: Channel, exc: GraphError) -> None:
    """The channel's last refused send, for its health on the integrations page."""
    channel.last_send_error, channel.last_send_error_at = exc.describe()[:1000], utcnow()


def deliver(message_id: int, tenant_id: int, *, fresh: bool = False) -> str:
    """Send one QUEUED outbound message; returns its new status. Idempotent: anything not
    QUEUED is left alone. Raises TransientGraphError when the caller should retry later.
    `fresh`: the reply job's own message, just committed under a compare-and-set that ruled
    out a takeover (so no second look at the conversation is needed before sending)."""
    msg = db.session.get(Message, message_id)  # the reply job's own row costs no query
    if msg is None or msg.tenant_id != tenant_id:
        return "missing"
    if msg.direction != Direction.OUT or msg.status != MessageStatus.QUEUED:
        return str(msg.status)
    conv = msg.conversation
    channel: Channel = conv.channel
    customer = conv.customer
    if channel.status != ChannelStatus.ACTIVE:
        _fail(msg, f"Channel {channel.name} is {channel.status}: {channel.last_error or 'reconnect it'}")
        return str(msg.status)
    if customer.opted_out and msg.sender in AUTOMATED and not optout.exempt(msg):
        _fail(msg, "The customer opted out of automated messages")
        return str(msg.status)
    if not fresh and takeover.overtaken(msg):
        _fail(msg, "Not sent: a person took over the conversation before it went out")
        return str(msg.status)
    now = utcnow()
    reason, tag = window_refusal(conv, msg, now)
    if reason:
        _fail(msg, reason)
        return str(msg.status)
    adapter = adapter_for(channel.platform)
    db.session.commit()  # nothing written: no connection is held while the platform answers
    try:
        result = adapter.send(channel, customer.external_id, msg, tag=tag)
    except TransientGraphError:
        raise
    except ChannelAuthError as exc:
        channel.status, channel.last_error = ChannelStatus.ERROR, f"Reconnect needed: {exc.describe()}"
        channel.token_valid = False
        _note_send_error(channel, exc)
        _fail(msg, f"Channel needs reconnecting: {exc.describe()}")
        return str(msg.status)
    except (RecipientUnavailable, WindowClosed, MessageRejected, GraphError) as exc:
        _note_send_error(channel, exc)
        _fail(msg, exc.describe())
        return str(msg.status)
    msg.status, msg.external_id, msg.sent_at = MessageStatus.SENT, result.external_id, utcnow()
    if tag:
        msg.payload = {**(msg.payload or {}), "tag": tag}
    db.session.commit()
    return str(msg.status)


def send_or_retry_later(message_ids: list[int], tenant_id: int, *, fresh: bool = False) -> None:
    """Deliver each message now (the caller holds its conversation's lock, so nothing
    overtakes it); one the platform can't take right now (a rate limit, a 5xx) goes to the
    send job, which retries it with backoff."""
    for message_id in message_ids:
        try:
            deliver(message_id, tenant_id, fresh=fresh)
        except TransientGraphError as exc:
            db.session.rollback()
            log.info("message %s: transient send failure (%s); retrying in a job", message_id, exc)
            # a throttled sender backs off; a one-off 5xx or network error is tried again soon
            queue_send(message_id, tenant_id, delay=SEND_RETRY_DELAY_SECONDS if isinstance(
                exc, RateLimited) else SEND_RETRY_SOON_SECONDS)


def send_later(message_ids: list[int], tenant_id: int) -> None:
    """Hand committed QUEUED messages to the send job (a request never waits on the platform)."""
    for message_id in message_ids:
        queue_send(message_id, tenant_id)


def give_up(message_id: int, tenant_id: int, reason: str) -> None:
    """After the last retry: the message failed and says why."""
    msg = db.session.scalar(select(Message).where(
        Message.id == message_id, Message.tenant_id == tenant_id))
    if msg is not None and msg.status == MessageStatus.QUEUED:
        _fail(msg, reason)
