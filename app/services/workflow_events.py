"""Rules fired by events rather than by a message's words: an order paid or shipped, an order
the agent placed, a customer who went quiet.

Order events are queued by app.services.order_triggers once their transaction commits. An
order the agent places while answering counts as buying intent recognized: the order_intent
rules run for it (`agent_ordered`), unless the classifier already ran them on that burst. A
quiet spell is watched by a job queued, for each `no_reply` rule, N hours after the
customer's last message; it does nothing if they wrote since. That job lives in the queue,
which the embedded in-memory Redis loses on a restart, so the sweep also derives due quiet
spells from the database (`requeue_quiet_checks`) and queues the same job for any that never
ran. Each run is recorded per rule, conversation and event, so a repeated job, or the
scheduled job and the sweep's both, does nothing twice.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from app.extensions import db
from app.jobs.queueing import queue_rule_event, requeue_rule_event
from app.models import (
    as_utc,
    AutomationRule,
    Channel,
    Conversation,
    Direction,
    Message,
    MessageStatus,
    Order,
    Platform,
    RuleRun,
    RuleTrigger,
    Sender,
    TargetPlatform,
    Tenant,
    utcnow,
)
from app.services import outbound, rule_actions, takeover, tenant_content
from app.services.locks import conversation_lock
from app.services.order_triggers import REACHED
from app.services.rule_match import Facts, conditions_hold, tags_of

log = logging.getLogger(__name__)

MAX_QUIET_HOURS = 24 * 30
# A quiet spell's check that never ran is made up by the sweep only if it came due this
# recently: a nudge days late is no nudge (and free text is refused 24 h after their message).
CATCH_UP = timedelta(hours=24)
ORDER_NEWS = {RuleTrigger.ORDER_PAID, RuleTrigger.ORDER_SHIPPED}


def _epoch(moment: datetime | None) -> int:
    if moment is None:
        return 0
    return int(as_utc(moment).timestamp())


def quiet_event(last_inbound_at: datetime | None) -> str:
    """The event a quiet spell is recorded under: the customer's last message, to the second
    (the scheduled check and the sweep's name the same spell alike)."""
    return f"quiet-{_epoch(last_inbound_at)}"


def quiet_hours(match) -> float | None:
    """A no_reply rule's hours of quiet, or None if they aren't usable."""
    try:
        hours = float(match)
    except (TypeError, ValueError):
        return None
    return hours if 0 < hours <= MAX_QUIET_HOURS else None


def watch_quiet(conv: Conversation, incoming: list, content, facts: Facts) -> None:
    """For each no_reply rule that applies here: a check N hours after this burst."""
    if not incoming:
        return
    event = quiet_event(incoming[-1].created_at)
    for rule in content.rules:
        if rule.trigger != RuleTrigger.NO_REPLY or not conditions_hold(rule, facts):
            continue
        hours = quiet_hours(rule.match)
        if hours is None:
            continue
        try:
            queue_rule_event(conv.id, conv.tenant_id, str(RuleTrigger.NO_REPLY), event,
                             rule_id=rule.id, delay=hours * 3600)
        except Exception:
            log.exception("could not queue the no_reply check of conversation %s", conv.id)


def agent_ordered(conv: Conversation, order_id: int, message_id: int, content) -> None:
    """The agent placed an order while answering the burst that ends with `message_id`.

    That is buying intent recognized (the classifier, which runs before the agent, may not
    have seen it: "I'll take 2 of those"), so the conversation's order_intent rules run for
    it, in a job: queued now that the order is committed, it runs under the conversation's
    lock, so after the agent's reply is written. The event is the burst's, the one the
    classifier's own run is recorded under: rules it already ran there don't run again."""
    if not any(r.trigger == RuleTrigger.ORDER_INTENT for r in content.rules):
        return
    try:
        queue_rule_event(conv.id, conv.tenant_id, str(RuleTrigger.ORDER_INTENT), f"message-{message_id}",
                         order_id=order_id)
    except Exception:
        log.exception("could not queue the order_intent rules of order %s", order_id)


def _still_applies(conv: Conversation, trigger: str, event_key: str, order_id: int | None) -> str | None:
    """Why the event no longer fires its rules, or None."""
    if trigger == RuleTrigger.NO_REPLY:
        basis = int(event_key.rsplit("-", 1)[-1])
        if _epoch(conv.last_inbound_at) > basis:
            return "the customer wrote since"
        return takeover.steps_back(conv)  # a nudge never talks over a person (None: it may)
    order = db.session.scalar(select(Order).where(Order.id == order_id, Order.tenant_id == conv.tenant_id,
                                                  Order.conversation_id == conv.id))
    if order is None:
        return "the order no longer exists"
    if trigger == RuleTrigger.ORDER_INTENT:
        # The classifier recognized the burst's intent itself: its run was the one. (A re-run
        # of this job finds its own records here too.)
        ran = db.session.scalar(select(RuleRun.id).where(
            RuleRun.conversation_id == conv.id, RuleRun.trigger == str(RuleTrigger.ORDER_INTENT),
            RuleRun.event == event_key).limit(1))
        return "the order_intent rules ran on this message already" if ran is not None else None
    if order.status not in REACHED.get(RuleTrigger(trigger), set()):
        return f"the order is {order.status}"
    return None


def _message_of(conv: Conversation, event_key: str) -> int | None:
    """The inbound message a `message-<id>` event names, if it is still this conversation's."""
    head, _, tail = event_key.partition("-")
    if head != "message" or not tail.isdigit():
        return None
    return db.session.scalar(select(Message.id).where(Message.id == int(tail), Message.conversation_id == conv.id))


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
        after_agent = trigger == RuleTrigger.ORDER_INTENT
        # the agent's reply went out; a person who has the chat since is not talked over
        held = takeover.steps_back(conv) if after_agent else None
        message_id = _message_of(conv, event_key) if after_agent else None
        run = rule_actions.Run(conv=conv, content=content, facts=facts, order_id=order_id,
                               agent_answered=after_agent)
        for rule in rules:
            if run.apply(rule, event=event_key, message_id=message_id):
                break
        reply = run.reply()
        if reply is not None and held:
            for record in run.runs:
                record.actions = [*record.actions, f"not sent: {held}"]
            reply = None
        msg = None
        if reply is not None:
            msg = outbound.queue_message(conv, reply.text, sender=Sender.SYSTEM,
                                         kind=reply.meta.get("kind", "text"),
                                         payload={"agent": reply.agent, **reply.meta})
        db.session.commit()
        if msg is not None:
            earlier = _order_news(conv, order_id, msg.id) if trigger in ORDER_NEWS else []
            outbound.send_or_retry_later([*earlier, msg.id], tenant_id)
    return f"ran {len(run.runs)} rules" if run.runs else "no rule"


def _order_news(conv: Conversation, order_id: int | None, before_id: int) -> list[int]:
    """The order's own messages still waiting to go out ("Payment received for order ...",
    "... has shipped"), written with the change that fired this rule: they go first.

    Their job (the payment event's) sends them under this conversation's lock too, so
    whichever comes first sends each once; without this the rule's thanks could reach the
    customer before the confirmation it follows."""
    if order_id is None:
        return []
    rows = db.session.execute(select(Message.id, Message.payload).where(
        Message.conversation_id == conv.id, Message.tenant_id == conv.tenant_id,
        Message.direction == Direction.OUT, Message.status == MessageStatus.QUEUED,
        Message.id < before_id).order_by(Message.id)).all()
    return [mid for mid, payload in rows if isinstance(payload, dict) and payload.get("order_id") == order_id]


def requeue_quiet_checks(cutoff: datetime, limit: int = 500) -> int:
    """The sweep: queue each no_reply check that came due before `cutoff` and never ran.

    A spell is the time since the customer's last message: due once it has lasted a rule's
    hours, made up if it came due within CATCH_UP and began after the rule was made (a new
    rule nudges no one who went quiet before it existed, as its scheduled checks would not
    have). Only spells the rule's conditions hold for, with no run recorded, are queued, under
    the scheduled check's own job id: a check still waiting in the queue is not doubled, and
    the job itself runs each spell once. Returns how many were queued."""
    now = utcnow()
    rules = db.session.scalars(select(AutomationRule).where(
        AutomationRule.trigger == RuleTrigger.NO_REPLY, AutomationRule.active.is_(True))
        .order_by(AutomationRule.tenant_id, AutomationRule.priority, AutomationRule.id)).all()
    queued = 0
    for rule in rules:
        hours = quiet_hours(rule.match)
        if hours is None or rule.created_at is None or queued >= limit:
            continue
        latest = cutoff - timedelta(hours=hours)  # spells that began by then are due
        earliest = max(now - CATCH_UP - timedelta(hours=hours), as_utc(rule.created_at))
        if earliest >= latest:
            continue
        queued += _requeue_spells(rule, earliest, latest, limit - queued)
    if queued:
        log.info("sweep queued %d no_reply checks whose jobs were lost", queued)
    return queued


def _requeue_spells(rule: AutomationRule, earliest: datetime, latest: datetime, limit: int) -> int:
    """Queue the checks of `rule`'s spells begun between `earliest` and `latest` that have no
    run. A run of the rule recorded since the customer's last message can only be this
    spell's (an earlier spell's check runs before they write again, or finds they did and
    records nothing), which keeps the test in SQL; platform and campaign are narrowed there
    too, the rest of the conditions checked here."""
    ran = select(RuleRun.id).where(RuleRun.rule_id == rule.id, RuleRun.conversation_id == Conversation.id,
                                   RuleRun.created_at >= Conversation.last_inbound_at).exists()
    query = select(Conversation).join(Channel, Channel.id == Conversation.channel_id).where(
        Conversation.tenant_id == rule.tenant_id,
        Conversation.last_message_at >= earliest,  # never before last_inbound_at: its index narrows
        Conversation.last_inbound_at >= earliest, Conversation.last_inbound_at <= latest, ~ran)
    if rule.platform and rule.platform != TargetPlatform.ALL:
        query = query.where(Channel.platform.in_([str(rule.platform), Platform.PLAYGROUND]))
    if rule.campaign_id:
        query = query.where(Conversation.campaign_id == rule.campaign_id)
    convs = db.session.scalars(query.options(joinedload(Conversation.channel), joinedload(Conversation.customer))
                               .order_by(Conversation.last_inbound_at).limit(limit)).all()
    if not convs:
        return 0
    zone = db.session.scalar(select(Tenant.timezone).where(Tenant.id == rule.tenant_id))
    queued = 0
    for conv in convs:
        facts = Facts(texts=[], platform=str(conv.channel.platform), campaign_id=conv.campaign_id,
                      tags=tags_of(conv.customer), zone=zone)
        if conditions_hold(rule, facts):
            queued += requeue_rule_event(conv.id, conv.tenant_id, str(RuleTrigger.NO_REPLY),
                                         quiet_event(conv.last_inbound_at), rule_id=rule.id)
    return queued
