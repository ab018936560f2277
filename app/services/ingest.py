"""Ingest normalized channel events: one transaction per webhook delivery.

Resolves the Channel by (platform, account id), upserts the Customer, opens or reuses the
Conversation and inserts the Message; a platform message id already stored is skipped, so a
delivery Meta repeats is stored once (and therefore answered once). Receipts and statuses move
our outbound messages forward only. Returns the inbound message ids that need an answer.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.exc import DataError, IntegrityError, ProgrammingError

from app.channels.base import EventKind, InboundEvent
from app.extensions import db
from app.services import attribution, takeover, tenant_content
from app.models import (
    as_utc,
    Channel,
    ChannelStatus,
    Conversation,
    ConversationStatus,
    Customer,
    Direction,
    Message,
    MessageStatus,
    Sender,
    Tenant,
    utcnow,
)

log = logging.getLogger(__name__)

# Forward-only order of an outbound message's status; FAILED may replace only QUEUED/SENT.
STATUS_RANK = {MessageStatus.QUEUED: 0, MessageStatus.SENT: 1, MessageStatus.DELIVERED: 2,
               MessageStatus.READ: 3}
WEBHOOK_TOUCH_INTERVAL = timedelta(minutes=1)


@dataclass
class IngestResult:
    to_answer: list[tuple[int, int]] = field(default_factory=list)  # (message id, tenant id)
    conversations: dict[int, int] = field(default_factory=dict)  # message id -> conversation id
    stored: int = 0
    duplicates: int = 0
    unknown_accounts: set[str] = field(default_factory=set)
    skipped: list[str] = field(default_factory=list)  # events the database refused, with why

# What an event's own data can make storing it raise (a value its column refuses or its
# driver can't adapt, a shape a handler did not foresee). A database that is down raises something else, which fails the
# whole delivery so it is retried: an outage must never be mistaken for a bad event.
EVENT_ERRORS = (DataError, IntegrityError, ProgrammingError, TypeError, ValueError, AttributeError, KeyError)


def ingest(events: list[InboundEvent], before_commit=None) -> IngestResult:
    """Store every event in one transaction (retried once if a concurrent delivery raced us).

    `before_commit(result)` may add its own changes to that transaction (e.g. marking the
    delivery processed), saving a second commit per delivery; they are flushed with the new
    rows, in one go. `result.to_answer` is filled in after the commit (ids come with it).
    If the batch fails for something in an event itself, each event is stored on its own
    (`_ingest_each`) so the one at fault is skipped and recorded and the others still land.
    """
    for attempt in (1, 2):
        try:
            result, stored = _ingest(events)
            if before_commit is not None:
                before_commit(result)
            db.session.commit()  # one flush for everything: the new rows and the caller's
            return _answerable(result, stored)
        except IntegrityError:
            db.session.rollback()
            if attempt == 2:
                break
            log.info("ingest: concurrent duplicate delivery, retrying once")
        except EVENT_ERRORS:
            db.session.rollback()
            log.warning("ingest: a batch of %d events failed; storing them one by one",
                        len(events), exc_info=True)
            break
    return _ingest_each(events, before_commit)


def _answerable(result: IngestResult, stored: list[Message]) -> IngestResult:
    # their ids are known after the commit (kept: expire_on_commit is off)
    result.to_answer = [(m.id, m.tenant_id) for m in stored]
    result.conversations = {m.id: m.conversation_id for m in stored}
    return result


def _ingest_each(events: list[InboundEvent], before_commit) -> IngestResult:
    """The slow path: each event in its own savepoint, one that fails skipped with the reason."""
    total, stored = IngestResult(), []
    for event in events:
        try:
            with db.session.begin_nested():
                one, rows = _ingest([event])
                db.session.flush()
        except IntegrityError:  # stored meanwhile by a concurrent delivery
            total.duplicates += 1
            continue
        except EVENT_ERRORS as exc:
            where = f"{event.kind} {event.message_id or ''}".strip()
            total.skipped.append(f"{where}: the database refused it ({type(exc).__name__}: "
                                 f"{str(exc).splitlines()[0][:200]})")
            log.warning("ingest: %s event %s skipped", event.platform, where, exc_info=True)
            continue
        total.stored += one.stored
        total.duplicates += one.duplicates
        total.unknown_accounts |= one.unknown_accounts
        stored.extend(rows)
    if before_commit is not None:
        before_commit(total)
    db.session.commit()
    return _answerable(total, stored)


class _Batch:
    """Per-delivery caches so a batch of N events doesn't look the same rows up N times."""

    def __init__(self):
        self.channels: dict[tuple[str, str], Channel | None] = {}
        self.stamps: dict[int, str] = {}  # tenant id -> content stamp, read with the channel
        self.customers: dict[tuple[int, str], Customer] = {}
        self.conversations: dict[tuple[int, int], Conversation] = {}
        self.to_answer: list[Message] = []
        self.message_ids: set[tuple[int, str]] = set()  # (channel id, platform message id)

    def channel(self, platform: str, account: str) -> Channel | None:
        key = (platform, account)
        if key not in self.channels:
            # A paused tenant's channels, and disconnected ones, are acknowledged and dropped
            # like unknown ones.
            row = db.session.execute(
                select(Channel, Tenant.content_stamp).join(Tenant, Tenant.id == Channel.tenant_id)
                .where(Channel.platform == platform, Channel.external_id == account,
                       Tenant.active.is_(True), Channel.status != ChannelStatus.DISABLED)
            ).first()
            self.channels[key] = row[0] if row else None
            if row:
                self.stamps[row[0].tenant_id] = row[1]
        return self.channels[key]

    def content(self, channel: Channel) -> tenant_content.Content:
        return tenant_content.get(channel.tenant_id, self.stamps.get(channel.tenant_id))


def _ingest(events: list[InboundEvent]) -> tuple[IngestResult, list[Message]]:
    """Add every event's rows to the session (unflushed) and return the result so far, with
    the new inbound messages that need an answer (their ids come with the commit)."""
    result = IngestResult()
    batch = _Batch()
    now = utcnow()
    for event in sorted(events, key=lambda e: e.timestamp or now):  # Meta doesn't keep order
        channel = batch.channel(event.platform, event.account_id)
        if channel is None:
            result.unknown_accounts.add(f"{event.platform}:{event.account_id}")
            continue
        _touch_channel(channel, now)
        handler = HANDLERS.get(event.kind)
        if handler is not None:
            handler(batch, channel, event, result, now)
    for account in result.unknown_accounts:
        log.warning("webhook for unknown account %s acknowledged and dropped", account)
    return result, batch.to_answer


def _touch_channel(channel: Channel, now: datetime) -> None:
    last = as_utc(channel.last_webhook_at)
    if last is None or now - last > WEBHOOK_TOUCH_INTERVAL:
        channel.last_webhook_at = now


def _customer(batch: _Batch, channel: Channel, event: InboundEvent, now) -> Customer:
    key = (channel.tenant_id, event.customer_id)
    customer = batch.customers.get(key)
    if customer is None:
        customer = db.session.scalar(select(Customer).where(
            Customer.tenant_id == channel.tenant_id, Customer.platform == channel.platform,
            Customer.external_id == event.customer_id))
        if customer is None:
            customer = Customer(tenant_id=channel.tenant_id, platform=channel.platform,
                                external_id=event.customer_id, first_seen_at=now, last_seen_at=now)
            db.session.add(customer)
        batch.customers[key] = customer
    if event.customer_name and not customer.name:
        customer.name = event.customer_name
    if event.customer_phone and not customer.phone:
        customer.phone = event.customer_phone
    customer.last_seen_at = max(as_utc(customer.last_seen_at) or now, event.timestamp or now)
    return customer


def conversation_for(batch: _Batch, channel: Channel, customer: Customer,
                     inbound_at: datetime | None = None, opened_at: datetime | None = None) -> Conversation:
    """The customer's latest conversation on this channel unless closed; else a new one
    (opened with `inbound_at` as its start and last inbound time, so the INSERT needs no UPDATE;
    an event that is no message, such as an ad click, gives only its start, `opened_at`).

    Nothing is flushed here: a customer new in this batch has no conversation to look up,
    and the new rows go out together at the batch's one flush, linked by relationship."""
    key = (channel.id, id(customer))
    conv = batch.conversations.get(key)
    if conv is None:
        if customer.id is not None:  # an existing customer: find their conversation
            conv = db.session.scalar(select(Conversation).where(
                Conversation.channel_id == channel.id, Conversation.customer_id == customer.id,
            ).order_by(Conversation.id.desc()).limit(1))  # the newest made, whenever it began
        if conv is None or conv.status == ConversationStatus.CLOSED:
            campaign = batch.content(channel).default_campaign(str(channel.platform))
            conv = Conversation(tenant_id=channel.tenant_id, channel_id=channel.id, customer=customer,
                                campaign_id=campaign.id if campaign else None,
                                last_inbound_at=inbound_at, last_message_at=inbound_at)
            if (inbound_at or opened_at) is not None:  # it began when the customer wrote or
                conv.created_at = inbound_at or opened_at  # clicked, not when we heard: the
                # analytics count it on that (local) day
            db.session.add(conv)
        batch.conversations[key] = conv
    return conv


def _stored(channel: Channel, external_id: str | None) -> Message | None:
    if not external_id:
        return None
    return db.session.scalar(select(Message).where(
        Message.channel_id == channel.id, Message.external_id == external_id))


def _on_message(batch, channel, event: InboundEvent, result: IngestResult, now) -> None:
    if not event.customer_id:
        return
    customer = _customer(batch, channel, event, now)
    # A customer new to us has no stored messages to repeat: no lookup for their first one.
    seen = (channel.id, event.message_id)
    if event.message_id and (seen in batch.message_ids or (
            customer.id is not None and _stored(channel, event.message_id) is not None)):
        result.duplicates += 1
        return
    batch.message_ids.add(seen)
    at = event.timestamp or now
    conv = conversation_for(batch, channel, customer, inbound_at=at)
    if conv.status == ConversationStatus.CONVERTED:
        # a customer who bought writes again ("where is my order?"): the chat is open again,
        # in the inbox's default list and, if people have it, under "needs a person"
        conv.status = ConversationStatus.OPEN
    msg = Message(tenant_id=channel.tenant_id, conversation=conv, channel_id=channel.id,
                  direction=Direction.IN, sender=Sender.CUSTOMER, kind=event.message_kind,
                  text=event.text, external_id=event.message_id, status=MessageStatus.RECEIVED,
                  created_at=at, payload=_payload(event))
    db.session.add(msg)
    conv.last_inbound_at = max(as_utc(conv.last_inbound_at) or at, at)
    conv.last_message_at = max(as_utc(conv.last_message_at) or at, at)
    if event.referral:
        attribution.record_referral(conv, str(channel.platform), event.referral, at, message=msg)
    result.stored += 1
    batch.to_answer.append(msg)  # its id is known after the batch's flush


def _payload(event: InboundEvent) -> dict:
    data = {"raw": event.raw}
    if event.payload:
        data["payload"] = event.payload
    if event.referral:
        data["referral"] = event.referral
    return data


def _on_echo(batch, channel, event: InboundEvent, result, now) -> None:
    """What the business sent: ours is already stored (by mid); another app's is an agent's."""
    if _stored(channel, event.message_id) is not None:
        result.duplicates += 1
        return
    if event.app_id and event.app_id == str(current_app.config.get("META_APP_ID") or ""):
        return  # our own send, echoed before its response was recorded: not a new message
    customer = _customer(batch, channel, event, now)
    conv = conversation_for(batch, channel, customer)
    at = event.timestamp or now
    db.session.add(Message(
        tenant_id=channel.tenant_id, conversation=conv, channel_id=channel.id,
        direction=Direction.OUT, sender=Sender.AGENT, kind=event.message_kind, text=event.text,
        external_id=event.message_id, status=MessageStatus.SENT, created_at=at, sent_at=at,
        handled_at=at, payload={"raw": event.raw, "app_id": event.app_id}))
    conv.last_message_at = max(as_utc(conv.last_message_at) or at, at)
    takeover.person_spoke(conv, at)  # a person wrote from the platform's own app: AI waits
    result.stored += 1


def _on_edit(batch, channel, event, result, now) -> None:
    msg = _stored(channel, event.message_id)
    if msg is not None:
        msg.text, msg.edited_at = event.text, event.timestamp or now


def _on_delete(batch, channel, event, result, now) -> None:
    msg = _stored(channel, event.message_id)
    if msg is not None:
        msg.deleted_at = event.timestamp or now


def _on_reaction(batch, channel, event, result, now) -> None:
    msg = _stored(channel, event.message_id)
    if msg is not None:
        msg.payload = {**(msg.payload or {}), "reaction": event.text}


def advance(msg: Message, status: str, error: str | None = None) -> None:
    """Move an outbound message's status forward only (late or skipped statuses are fine)."""
    new = MessageStatus(status)
    if new == MessageStatus.FAILED:
        if msg.status in (MessageStatus.QUEUED, MessageStatus.SENT):
            msg.status, msg.error = MessageStatus.FAILED, error or "failed"
        return
    if msg.status == MessageStatus.FAILED:
        return
    if STATUS_RANK.get(new, -1) > STATUS_RANK.get(msg.status, -1):
        msg.status = new


def _on_receipt(batch, channel, event: InboundEvent, result, now) -> None:
    status = event.status or ("read" if event.kind == EventKind.READ else "delivered")
    for mid in event.mids:
        msg = _stored(channel, mid)
        if msg is not None and msg.direction == Direction.OUT:
            advance(msg, status)
    if event.watermark and event.customer_id:
        customer = db.session.scalar(select(Customer.id).where(
            Customer.tenant_id == channel.tenant_id, Customer.platform == channel.platform,
            Customer.external_id == event.customer_id))
        if customer is None:
            return
        convs = select(Conversation.id).where(Conversation.channel_id == channel.id,
                                              Conversation.customer_id == customer)
        ranks = [s for s, r in STATUS_RANK.items() if 0 < r < STATUS_RANK[MessageStatus(status)]]
        db.session.execute(update(Message).where(
            Message.conversation_id.in_(convs), Message.direction == Direction.OUT,
            Message.created_at <= event.watermark, Message.status.in_(ranks),
        ).values(status=MessageStatus(status)).execution_options(synchronize_session=False))


def _on_status(batch, channel, event: InboundEvent, result, now) -> None:
    msg = _stored(channel, event.message_id)
    if msg is None or not event.status:
        return
    if event.status in ("sent", "delivered", "read", "failed"):
        advance(msg, event.status, event.error)
    elif event.status == "played":
        advance(msg, "read")


def _on_referral(batch, channel, event: InboundEvent, result, now) -> None:
    """An ad or link click opens the thread: the lead shows up before their first message."""
    if event.customer_id:
        at = event.timestamp or now
        conv = conversation_for(batch, channel, _customer(batch, channel, event, now), opened_at=at)
        if event.referral:
            attribution.record_referral(conv, str(channel.platform), event.referral, at)


def _on_preference(batch, channel, event: InboundEvent, result, now) -> None:
    """The customer stopped or resumed marketing messages in WhatsApp's settings: recorded on
    them for broadcasts (app.services.broadcasts); a marketing-only stop, so the chat and the
    AI go on. The newest choice wins, whatever order Meta delivers them in; a re-delivery
    changes nothing."""
    if not event.customer_id:
        return
    customer = _customer(batch, channel, event, now)
    at, last = event.timestamp or now, as_utc(customer.marketing_pref_at)
    if last is not None and at < last:
        log.info("customer %s: a marketing preference older than the one recorded is ignored", customer.id)
        return
    customer.marketing_opted_out = event.status == "stop"
    customer.marketing_pref_at = at


HANDLERS = {
    EventKind.MESSAGE: _on_message,
    EventKind.ECHO: _on_echo,
    EventKind.EDIT: _on_edit,
    EventKind.DELETE: _on_delete,
    EventKind.REACTION: _on_reaction,
    EventKind.DELIVERY: _on_receipt,
    EventKind.READ: _on_receipt,
    EventKind.STATUS: _on_status,
    EventKind.REFERRAL: _on_referral,
    EventKind.PREFERENCE: _on_preference,
}
