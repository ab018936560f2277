"""Follow-ups: a message scheduled for later that is sent only if it still makes sense then.

A follow-up is a row (status scheduled|sent|dropped, with the reason when dropped) and a job
queued at its due time with RQ's scheduler (kept in Redis, so it survives worker restarts).
When it comes due it re-checks, under the conversation's lock: the customer hasn't written
since, hasn't paid (the order it is about, or any order of the conversation since), hasn't
opted out, and no person has taken the conversation over or just written in it (the AI's
pause). Then it picks the legal path: free text inside the 24-hour window; outside it, on
WhatsApp, an approved template with its variables filled in; on Messenger and Instagram
nothing (the HUMAN_AGENT tag is for people).
Whatever it can't send is dropped with the reason, never retried into a closed window.
"""
from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import select, update

from app.extensions import db
from app.jobs.queueing import queue_follow_up, requeue_follow_up
from app.models import (
    as_utc,
    PAID_STATUSES,
    ChannelStatus,
    Conversation,
    ConversationMode,
    FollowUp,
    FollowUpStatus,
    Order,
    OrderStatus,
    Platform,
    Sender,
    TemplateStatus,
    utcnow,
)
from app.money import format_money
from app.services import outbound, takeover, templates
from app.services.locks import conversation_lock

log = logging.getLogger(__name__)

# What a template's {{1}}, {{2}}, ... are filled with, in this order.
VARIABLES = ("the customer's name", "the order number", "the order total", "the payment link")
NAMED = {"name": 0, "first_name": 0, "customer_name": 0, "order_number": 1, "order": 1, "number": 1,
         "total": 2, "order_total": 2, "amount": 2, "payment_link": 3, "link": 3, "pay_link": 3}
MAX_HOURS = 24 * 30


def schedule(conv: Conversation, *, rule_id: int | None, hours: float, text: str | None = None,
             template_id: int | None = None, order_id: int | None = None) -> FollowUp:
    """Write the follow-up and queue its job at the due time (the caller commits; a job whose
    row was rolled back finds nothing and does nothing)."""
    hours = min(max(float(hours or 0), 0.0), MAX_HOURS)
    row = FollowUp(tenant_id=conv.tenant_id, conversation_id=conv.id, rule_id=rule_id, order_id=order_id,
                   text=text, template_id=template_id, status=FollowUpStatus.SCHEDULED,
                   basis_at=conv.last_inbound_at, due_at=utcnow() + timedelta(hours=hours))
    db.session.add(row)
    db.session.flush()
    queue_follow_up(row.id, conv.tenant_id, delay=hours * 3600)
    return row


def requeue_overdue(cutoff, limit: int = 500) -> int:
    """Follow-ups still scheduled though due before `cutoff` get their job again (the sweep):
    the job re-checks everything, so a late one is sent only if it still makes sense."""
    due = db.session.execute(select(FollowUp.id, FollowUp.tenant_id).where(
        FollowUp.status == FollowUpStatus.SCHEDULED, FollowUp.due_at < cutoff)
        .order_by(FollowUp.due_at).limit(limit)).all()
    return sum(1 for follow_up_id, tenant_id in due if requeue_follow_up(follow_up_id, tenant_id))


def _drop(row: FollowUp, reason: str) -> str:
    row.status, row.reason, row.done_at = FollowUpStatus.DROPPED, reason, utcnow()
    db.session.commit()
    log.info("follow-up %s dropped: %s", row.id, reason)
    return "dropped"


def still_wanted(row: FollowUp, conv: Conversation) -> str | None:
    """Why the follow-up no longer makes sense, or None if it still does."""
    if conv.customer.opted_out:
        return "The customer opted out"
    if conv.channel.status != ChannelStatus.ACTIVE:
        return f"The channel {conv.channel.name} is {conv.channel.status}"
    if conv.mode == ConversationMode.HUMAN:
        return "A person is handling the conversation"
    if takeover.paused(conv):  # a person wrote there moments ago: no automated nudge over them
        return "A person is replying in the conversation (the AI is paused)"
    basis, last = as_utc(row.basis_at), as_utc(conv.last_inbound_at)
    if last is not None and (basis is None or last > basis):
        return "The customer replied"
    if row.order_id is not None:
        order = db.session.get(Order, row.order_id)
        if order is None or order.tenant_id != row.tenant_id:
            return "The order no longer exists"
        if order.status != OrderStatus.PENDING_PAYMENT:
            return f"Order {order.number} is {order.status}"
    else:
        paid = db.session.scalar(select(Order.number).where(
            Order.tenant_id == row.tenant_id, Order.conversation_id == conv.id,
            Order.status.in_(PAID_STATUSES), Order.paid_at >= row.created_at).limit(1))
        if paid is not None:
            return f"The customer paid (order {paid})"
    return None


def values(row: FollowUp, conv: Conversation) -> list[str | None]:
    """{{1}}..{{4}}: the order is the follow-up's own, else the conversation's latest one
    awaiting payment (the agent may have placed it after the follow-up was scheduled)."""
    order = db.session.get(Order, row.order_id) if row.order_id else db.session.scalar(
        select(Order).where(Order.tenant_id == row.tenant_id, Order.conversation_id == conv.id,
                            Order.status == OrderStatus.PENDING_PAYMENT).order_by(Order.id.desc()).limit(1))
    name = (conv.customer.name or "").split(" ")[0] or "there"
    return [name, order.number if order else None,
            format_money(order.total_minor, order.currency) if order else None,
            order.payment_link_url if order else None]


def fill(text: str, known: list[str | None]) -> tuple[str, list[str]] | None:
    """The text with its variables filled in and their values in send order, or None if one
    isn't known (WhatsApp takes every variable, in order, none empty). Numbered variables
    are the customer's name, order number, order total, payment link ({{1}}..{{4}}); named
    ones are looked up by their name."""
    wanted = templates.placeholders(text)
    used = []
    for name in wanted:
        index = int(name) - 1 if name.isdigit() else NAMED.get(name.lower())
        value = known[index] if index is not None and 0 <= index < len(known) else None
        if not value:
            return None
        used.append(value)
    return templates.render(text, used), used


def _within_window(conv: Conversation, now) -> bool:
    last = as_utc(conv.last_inbound_at)
    return last is not None and now - last <= outbound.STANDARD_WINDOW


def compose(row: FollowUp, conv: Conversation) -> tuple[dict | None, str | None]:
    """({text, kind, payload} to queue, None) or (None, why it can't be sent legally)."""
    platform = Platform(conv.channel.platform)
    known = values(row, conv)
    template = row.template
    if platform == Platform.PLAYGROUND or _within_window(conv, utcnow()):
        body = row.text or (template.body if template else None)
        if not body:
            return None, "Nothing to send: the follow-up has no text or template"
        filled = fill(body, known)
        if filled is None:
            return None, "The text needs a value this conversation doesn't have (an order?)"
        return {"text": filled[0], "kind": "text", "payload": {"follow_up_id": row.id}}, None
    if platform != Platform.WHATSAPP:
        return None, ("Outside the 24-hour window: Messenger and Instagram allow no automated "
                      "message (the HUMAN_AGENT tag is for people only)")
    if (template is None or template.status != TemplateStatus.APPROVED
            or str(template.platform) not in ("whatsapp", "all")):
        return None, "Outside WhatsApp's 24-hour window and no approved WhatsApp template is set"
    if templates.is_marketing(template) and conv.customer.marketing_opted_out:
        return None, ("The customer stopped marketing messages in WhatsApp's settings, and the template "
                      f"{template.name} is a marketing one")
    filled = fill(template.body, known)
    if filled is None:
        needed = templates.placeholder_count(template.body)
        return None, (f"Template {template.name} needs {needed} variables ({', '.join(VARIABLES[:needed])}); "
                      "this conversation lacks one")
    text, used = filled
    spec = templates.whatsapp_template(template.name, template.language, used, template.body)
    return {"text": text, "kind": "template", "payload": {"follow_up_id": row.id, "template": spec}}, None


def run(follow_up_id: int, tenant_id: int) -> str:
    """The follow-up job: re-check, choose the path, send or drop; returns what happened."""
    conv_id = db.session.scalar(select(FollowUp.conversation_id).where(
        FollowUp.id == follow_up_id, FollowUp.tenant_id == tenant_id))
    if conv_id is None:
        return "missing"
    db.session.commit()
    with conversation_lock(conv_id):
        row = db.session.scalar(select(FollowUp).where(FollowUp.id == follow_up_id)
                                .execution_options(populate_existing=True))
        if row.status != FollowUpStatus.SCHEDULED:
            return str(row.status)
        conv = db.session.scalar(select(Conversation).where(Conversation.id == conv_id)
                                 .execution_options(populate_existing=True))
        db.session.refresh(conv.customer)
        reason = still_wanted(row, conv)
        if reason:
            return _drop(row, reason)
        message, reason = compose(row, conv)
        if reason:
            return _drop(row, reason)
        msg = outbound.queue_message(conv, message["text"], sender=Sender.SYSTEM, kind=message["kind"],
                                     payload=message["payload"])
        db.session.flush()
        won = db.session.execute(
            update(FollowUp).where(FollowUp.id == row.id, FollowUp.status == FollowUpStatus.SCHEDULED)
            .values(status=FollowUpStatus.SENT, message_id=msg.id, done_at=utcnow())
            .execution_options(synchronize_session=False)).rowcount == 1
        if not won:
            db.session.rollback()
            return "already done"
        db.session.commit()
        outbound.send_or_retry_later([msg.id], tenant_id)
    return "sent"
