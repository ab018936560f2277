"""Rules fired by events rather than by a message: an order paid or shipped, a customer who
went quiet.

Order events are queued by app.services.order_triggers once their transaction commits. A quiet spell is
watched by a job queued, for each `no_reply` rule, N hours after the customer's last message;
it does nothing if they wrote since. Each run is recorded per rule, conversation and event,
so a repeated job does nothing twice.
"""
from __future__ import annotations

import logging
from datetime import datetime, timezone

from sqlalchemy import select

from app.extensions import db
from app.jobs.queueing import queue_rule_event
from app.models import Conversation, Order, RuleTrigger, Sender
from app.services import outbound, rule_actions, tenant_content
from app.services.locks import conversation_lock
from app.services.order_triggers import REACHED
from app.services.rule_match import Facts, conditions_hold, tags_of

log = logging.getLogger(__name__)

MAX_QUIET_HOURS = 24 * 30


def _epoch(moment: datetime | None) -> int:
    if moment is None:
        return 0
    return int((moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)).timestamp())


def watch_quiet(conv: Conversation, incoming: list, content, facts: Facts) -> None:
    """For each no_reply rule that applies here: a check N hours after this burst."""
    if not incoming:
        return
    basis = _epoch(incoming[-1].created_at)
    for rule in content.rules:
        if rule.trigger != RuleTrigger.NO_REPLY or not conditions_hold(rule, facts):
            continue
        try:
            hours = float(rule.match)
        except (TypeError, ValueError):
            continue
        if not 0 < hours <= MAX_QUIET_HOURS:
            continue
        try:
            queue_rule_event(conv.id, conv.tenant_id, str(RuleTrigger.NO_REPLY), f"quiet-{basis}",
                             rule_id=rule.id, delay=hours * 3600)
        except Exception:
            log.exception("could not queue the no_reply check of conversation %s", conv.id)


def _still_applies(conv: Conversation, trigger: str, event_key: str, order_id: int | None) -> str | None:
    """Why the event no longer fires its rules, or None."""
    if trigger == RuleTrigger.NO_REPLY:
        basis = int(event_key.rsplit("-", 1)[-1])
        if _epoch(conv.last_inbound_at) > basis:
            return "the customer wrote since"
        return None
    order = db.session.scalar(select(Order).where(Order.id == order_id, Order.tenant_id == conv.tenant_id))
    if order is None:
        return "the order no longer exists"
    if order.status not in REACHED.get(RuleTrigger(trigger), set()):
        return f"the order is {order.status}"
    return None


def run_event(conversation_id: int, tenant_id: int, trigger: str, event_key: str, *,
              order_id: int | None = None, rule_id: int | None = None) -> str:
    """Run the rules of `trigger` for this event on the conversation; what happened."""
    with conversation_lock(conversation_id):
        conv = db.session.scalar(select(Conversation).where(
            Conversation.id == conversation_id, Conversation.tenant_id == tenant_id)
            .execution_options(populate_existing=True))
        if conv is None:
            return "missing"
        why_not = _still_applies(conv, trigger, event_key, order_id)
        if why_not:
            db.session.commit()
            return f"skipped: {why_not}"
        content = tenant_content.get(tenant_id)
        facts = Facts(texts=[], platform=str(conv.channel.platform), campaign_id=conv.campaign_id,
                      tags=tags_of(conv.customer), zone=content.tenant.timezone)
        rules = [r for r in content.rules if r.trigger == trigger and (rule_id is None or r.id == rule_id)
                 and conditions_hold(r, facts)]
        run = rule_actions.Run(conv=conv, content=content, facts=facts, order_id=order_id)
        for rule in rules:
            if run.apply(rule, event=event_key):
                break
        reply = run.reply()
        msg = None
        if reply is not None:
            msg = outbound.queue_message(conv, reply.text, sender=Sender.SYSTEM,
                                         kind=reply.meta.get("kind", "text"),
                                         payload={"agent": reply.agent, **reply.meta})
        db.session.commit()
        if msg is not None:
            outbound.send_or_retry_later([msg.id], tenant_id)
    return f"ran {len(run.runs)} rules" if run.runs else "no rule"
