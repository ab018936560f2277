"""Answering inbound messages: one considered reply per burst, in order, never twice.

`answer()` runs in a job for each stored inbound message. Under the conversation's lock it
claims every unanswered inbound message of the conversation; a job whose message is not the
newest one steps aside, so the newest fragment's job answers the whole burst. Claiming and
writing the reply (QUEUED) happen in one commit, and a reply is unique per inbound message, so
a re-run after a crash finds the work done.
"""
from __future__ import annotations

import logging
from datetime import timezone

from flask import current_app
from sqlalchemy import case, func, select, true
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from app.ai import agent, scoring, tools
from app.channels import adapter_for
from app.clients.graph import GraphError
from app.extensions import db
from app.models import (
    ChannelStatus,
    Conversation,
    ConversationMode,
    Direction,
    Message,
    Platform,
    Sender,
    Tenant,
    utcnow,
)
from app.jobs.queueing import queue_pause_end, queue_rating
from app.services import (
    automation,
    disclosure,
    optout,
    outbound,
    promises,
    takeover,
    tenant_content,
    workflow_events,
)
from app.services.locks import conversation_lock

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 3  # replies written for one burst that keeps growing; the last one goes out


def _pending(conv_id: int, tenant_id: int) -> list[Message]:
    # populate_existing: rows already in the session are overwritten with what the database
    # says now (another worker may have claimed them while we waited for the lock).
    return list(db.session.scalars(select(Message).where(
        Message.conversation_id == conv_id, Message.tenant_id == tenant_id,
        Message.direction == Direction.IN, Message.handled_at.is_(None),
    ).order_by(Message.created_at, Message.id).execution_options(populate_existing=True)))


def _conversation(conv_id: int) -> tuple[Conversation, str, int, int]:
    """In one query: the conversation with its customer and channel (every answer needs all
    three), its tenant's content stamp (is the cached content current?), and how many
    messages it has sent, and of them the AI."""
    sent = select(func.count(), func.count(case((Message.sender == Sender.AI, 1)))).where(
        Message.conversation_id == conv_id, Message.direction == Direction.OUT).subquery()
    return db.session.execute(select(Conversation, Tenant.content_stamp, *sent.c).join(
        Tenant, Tenant.id == Conversation.tenant_id).join(sent, true()).where(
        Conversation.id == conv_id).options(
        joinedload(Conversation.customer), joinedload(Conversation.channel))).one()


def answer(message_id: int, tenant_id: int, conversation_id: int | None = None) -> str:
    """Answer the burst this message belongs to; returns what happened (for logs and tests).

    `conversation_id`, when the caller knows it (it just stored the message), saves a
    transaction: the message is then looked for only among the conversation's unanswered
    ones, under the lock.

    No database connection is held while this waits: not for the conversation's lock, not
    for the Graph API or the model, not for the send. Each database phase ends with a commit
    (cheap with `expire_on_commit=False`), so a fleet of many worker threads needs only a
    small pool, and more worker machines can share one PostgreSQL.
    """
    if conversation_id is None:
        msg = db.session.scalar(select(Message).where(
            Message.id == message_id, Message.tenant_id == tenant_id))
        if msg is None or msg.direction != Direction.IN:
            return "missing"
        if msg.handled_at is not None:
            return "already handled"
        conversation_id = msg.conversation_id
        db.session.commit()  # the lock may take a while
    with conversation_lock(conversation_id):
        # what another worker committed while we waited: rows in the session are refreshed
        pending = _pending(conversation_id, tenant_id)
        if message_id not in {m.id for m in pending}:
            return "already handled"
        if pending[-1].id != message_id:
            return "deferred"  # a newer fragment's job answers the whole burst
        for attempt in range(1, MAX_ATTEMPTS + 1):
            # held until sent: the identity map is weak, and deliver() reuses these rows unread
            conv, stamp, sent, asked = _conversation(conversation_id)
            outcome, reply = _reply_to(conv, pending, tenant_content.get(conv.tenant_id, stamp),
                                       sent=sent, asked=asked, final=attempt == MAX_ATTEMPTS)
            if outcome != "superseded":
                break
            # The customer wrote again while the model was writing. If that message sorts
            # after ours, its job answers everything; if its timestamp is older (Meta's
            # deliveries can arrive out of order) its job defers to ours, so answer again,
            # now with the whole burst.
            pending = _pending(conversation_id, tenant_id)
            if not pending or pending[-1].id != message_id:
                return outcome
        if reply is None:
            return outcome
        outbound.send_or_retry_later([reply.id], tenant_id, fresh=True)
    if current_app.config.get("GROQ_API_KEY"):
        queue_rating(conversation_id, tenant_id)
    return "answered"


def _claim(pending: list[Message]) -> None:
    """Mark the burst handled. Never committed on its own: it goes out with the reply (or
    with the order the reply announces), so a crash in between leaves it to be answered."""
    now = utcnow()
    for m in pending:
        if m.handled_at is None:
            m.handled_at = now


def _reply_to(conv: Conversation, pending: list[Message], content, *, sent: int,
              asked: int, final: bool = False) -> tuple[str, Message | None]:
    """Decide and write the reply to `pending`: ("answered", the reply) or (why not, None).
    `sent`, `asked`: messages the conversation has sent so far, and of them the AI.
    `final`: this reply goes out even if the customer wrote again meanwhile."""
    # read under the lock, before the model: what the compare-and-set below checks against
    seen_seq = conv.takeover_seq or 0
    # STOP/START are heard in any mode; otherwise a conversation a person has (taken over or
    # paused) or an opted-out customer gets no automated answer.
    if optout.command_in(pending) is None and (takeover.steps_back(conv) or conv.customer.opted_out):
        _claim(pending)  # they wait for the person, who sees them in the inbox
        db.session.commit()
        if conv.mode != ConversationMode.HUMAN and takeover.paused(conv) and not conv.customer.opted_out:
            _after_pause(conv)
        return "no reply", None
    first = not sent
    # what the agent needs from the database, read with the conversation (one transaction)
    known = agent.prefetch(conv)
    db.session.commit()  # nothing written yet: end the read before the Graph API and the model
    _ensure_profile_name(conv)
    outcome = automation.run_rules(conv, pending, first, content)
    recent = None  # the customer's latest messages, once read
    if outcome.stop:
        reply = outcome.reply
    else:
        # an order the agent places is buying intent recognized: the order_intent rules the
        # classifier didn't run on this burst run for it, once the agent's reply is written
        reply = agent.respond(conv, pending, first=first, asked=asked, claim=lambda: _claim(pending),
                              placed=lambda order: workflow_events.agent_ordered(
                                  conv, order.id, pending[-1].id, content),
                              content=content, known=known)
        recent = scoring.recent_inbound(conv.id) if reply is not None else None
        if reply is not None and not final and _superseded(conv, pending, reply, recent):
            db.session.rollback()  # the newer fragment's job answers the whole burst
            return "superseded", None
        if reply is not None and outcome.lead:
            reply.text = "\n\n".join([*outcome.lead, reply.text] if reply.text else outcome.lead)
    _claim(pending)
    if reply is None:
        db.session.commit()
        return "no reply", None
    # scored before the reply is added: its queries would otherwise flush the conversation
    # once per change; this way every change to it goes out in one UPDATE at the commit
    # the orders read before the model still stand unless the reply placed or changed one
    scoring.update(conv, reply.meta, recent, None if _acted(reply) else known.statuses)
    last = pending[-1]
    payload = {"agent": reply.agent, **reply.meta, "takeover_seq": seen_seq}
    if reply.quick_replies:
        payload["quick_replies"] = reply.quick_replies
    automated = Sender.SYSTEM if reply.agent.startswith("rule:") else Sender.AI
    kind = reply.meta.get("kind", "text")
    # the AI's or a rule's (a welcome message): whichever speaks first says it is automated
    text = disclosure.opening(conv, reply.text, first=first, kind=kind,
                              notice=bool(reply.meta.get(optout.NOTICE)),
                              business=content.profile.business_name if content.profile else None)
    out = outbound.queue_message(conv, text, sender=automated, kind=kind, payload=payload,
                                 reply_to_id=last.id)
    created = last.created_at if last.created_at.tzinfo else last.created_at.replace(tzinfo=timezone.utc)
    out.latency_ms = int((utcnow() - created).total_seconds() * 1000)
    out.prompt_tokens = reply.meta.get("prompt_tokens")
    out.completion_tokens = reply.meta.get("completion_tokens")
    if not takeover.still_ours(conv.id, seen_seq):  # a person took over while the model wrote
        db.session.rollback()
        _claim(pending)
        db.session.commit()
        log.info("conversation %s: a person took over; the AI's reply is dropped", conv.id)
        return "taken over", None
    promises.record(conv, out, content)  # the promise log is written with the reply, or not at all
    try:
        db.session.commit()
    except IntegrityError:  # the reply to this message exists already (a re-run)
        db.session.rollback()
        return "already handled", None
    return "answered", out


def _after_pause(conv: Conversation) -> None:
    """Paused by a person: if none answers by the pause's end, the AI answers then
    (app.services.inbox.answer_after_pause)."""
    try:
        queue_pause_end(conv.id, conv.tenant_id, at=conv.paused_until)
    except Exception:
        log.exception("could not queue the end of conversation %s's pause", conv.id)


def _acted(reply) -> bool:
    """Did a tool with side effects (an order, a handover, an opt-out) run for this reply?"""
    return any(call.get("tool") in tools.SIDE_EFFECTS for call in reply.meta.get("tools") or ())


def _superseded(conv: Conversation, pending: list[Message], reply, recent: list) -> bool:
    """Did the customer write again while the model was thinking? Then this reply answers
    only part of what they said: drop it, and the newest fragment's job (waiting for this
    conversation's lock, or queued; or this job, if the new message sorts before ours)
    answers the whole burst. So fragments that arrive while a reply is being written merge
    as well as those inside the debounce window.

    Not after the reply acted (placed an order, handed over, opted out): that reply must go
    out. Not for a burst older than REPLY_BURST_MAX_SECONDS: someone who keeps typing still
    gets answered. `recent`: the conversation's latest inbound messages, read after the
    model answered (a straggler stamped before all of them is answered on its own).
    """
    if _acted(reply):
        return False
    first = pending[0].created_at
    first = first if first.tzinfo else first.replace(tzinfo=timezone.utc)
    if (utcnow() - first).total_seconds() > current_app.config.get("REPLY_BURST_MAX_SECONDS", 15):
        return False
    claimed = {m.id for m in pending}
    newer = next((row.id for row in recent if row.handled_at is None and row.id not in claimed), None)
    if newer is not None:
        log.info("conversation %s: message %s arrived while replying; one reply to the whole burst",
                 conv.id, newer)
    return newer is not None


def _ensure_profile_name(conv: Conversation) -> None:
    """Ask Messenger/Instagram once for the person's name (WhatsApp sends it with messages)."""
    customer, channel = conv.customer, conv.channel
    if customer.name or customer.profile_checked_at or channel.status != ChannelStatus.ACTIVE:
        return
    customer.profile_checked_at = utcnow()
    if channel.platform in (Platform.MESSENGER, Platform.INSTAGRAM):
        try:
            customer.name = adapter_for(channel.platform).profile_name(channel, customer.external_id)
        except GraphError as exc:
            log.info("profile of customer %s not available: %s", customer.id, exc)
    # not committed here: it goes out with the reply's next read, which ends before the model
