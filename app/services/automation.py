"""Workflow rules, run in the reply job before the agent.

A rule is a trigger, optional conditions (platform, campaign, customer tag, time of day) and
one or more actions (app.services.rule_actions). Rules run in priority order: every matching
rule runs its actions and is recorded on the conversation (RuleRun); the first one whose
actions answer the customer (a reply, the catalog, an order, a handoff, an assignment, an
opt-out, or handing the answer to the agent) ends the evaluation. Rules that only tag or
schedule let the evaluation go on, and the agent answers if no rule did.

Message triggers are decided here: `keyword`, `new_conversation`, `order_intent`,
`outside_hours`. The others come from events (app.services.workflow_events): `order_paid`,
`order_shipped`, `no_reply`, and `order_intent` again when the agent itself places an order
the classifier didn't see coming ("I'll take 2 of those"). STOP/START are not rules:
app.services.optout handles them before any rule, on every channel.
"""
from __future__ import annotations

from datetime import datetime
from types import SimpleNamespace

from app.models import Conversation, Message, RuleAction, RuleTrigger, utcnow
from app.services import optout, rule_actions, tenant_content, workflow_events
from app.services.optout import OPT_OUT_TEXT
from app.services.rule_actions import HANDOFF_TEXT, Outcome
from app.services.rule_match import BUY_PAYLOAD, Facts, matching, tags_of
from app.services.tenant_content import Content

__all__ = ["HANDOFF_TEXT", "OPT_OUT_TEXT", "Outcome", "run_rules", "preview"]

# The built-in rule behind the catalog's Buy buttons.
BUY_BUTTON = SimpleNamespace(id=None, name="Buy button", trigger=RuleTrigger.ORDER_INTENT,
                             action=RuleAction.CREATE_ORDER, response=None, template=None,
                             template_id=None, steps=())


def facts_for(conv: Conversation, incoming: list[Message], first: bool, content: Content) -> Facts:
    payloads = [str((m.payload or {}).get("payload") or "") for m in incoming
                if isinstance(m.payload, dict)]
    facts = Facts(texts=[m.text or "" for m in incoming], payloads=[p for p in payloads if p],
                  first=first, platform=str(conv.channel.platform), campaign_id=conv.campaign_id,
                  tags=tags_of(conv.customer), zone=content.tenant.timezone)
    if any(r.trigger == RuleTrigger.ORDER_INTENT for r in content.rules):
        facts.products = rule_actions.active_products(conv.tenant_id)
    return facts


def run_rules(conv: Conversation, incoming: list[Message], first: bool,
              content: Content | None = None) -> Outcome:
    """Decide what the rules say to this burst (the caller commits with the reply).

    `content`: the tenant's, whose rules are its active ones in priority order."""
    content = content or tenant_content.get(conv.tenant_id)
    said = optout.command_in(incoming)
    if said is not None:
        return Outcome(optout.respond(conv, said, content), stop=True)
    facts = facts_for(conv, incoming, first, content)
    run = rule_actions.Run(conv=conv, content=content, facts=facts, incoming=incoming,
                           claim=lambda: _claim(incoming))
    event = f"message-{incoming[-1].id}" if incoming else "message"
    message_id = incoming[-1].id if incoming else None
    answered = False
    for rule in matching(content.rules, facts):
        answered = run.apply(rule, event=event, message_id=message_id)
        if answered:
            break
    if not answered and any(p.upper().startswith(BUY_PAYLOAD) for p in facts.payloads):
        # A catalog's Buy button buys, with or without an order_intent rule of the tenant's own.
        run.apply(BUY_BUTTON, event=event, message_id=message_id)
    workflow_events.watch_quiet(conv, incoming, content, facts)
    return run.outcome()


def _claim(incoming: list[Message]) -> None:
    """Mark the burst handled in the transaction that places a rule's order (a re-run then
    finds it answered instead of ordering twice)."""
    now = utcnow()
    for m in incoming:
        if m.handled_at is None:
            m.handled_at = now


def preview(content: Content, text: str, *, platform: str = "messenger", first: bool = False,
            tags: str = "", campaign_id: int | None = None, now: datetime | None = None) -> list[dict]:
    """The try-it box: which rules a sample message would fire and what each would do, without
    doing any of it. A STOP/START phrase is reported as what it is."""
    said = optout.command(text)
    if said is not None:
        return [{"rule": "Opt-out" if said == optout.STOP else "Opt-in", "trigger": said,
                 "actions": [f"{said}: the customer is opted {'out' if said == optout.STOP else 'back in'}"
                             " and gets the confirmation once"]}]
    facts = Facts(texts=[text], payloads=[text] if text.upper().startswith(BUY_PAYLOAD) else [],
                  first=first, platform=platform, campaign_id=campaign_id,
                  tags={t.strip().lower() for t in tags.split(",") if t.strip()},
                  now=now or utcnow(), zone=content.tenant.timezone)
    if any(r.trigger == RuleTrigger.ORDER_INTENT for r in content.rules):
        facts.products = rule_actions.active_products(content.tenant.id)
    fired = []
    for rule in matching(content.rules, facts):
        specs = [rule, *rule.steps]
        fired.append({"rule": rule.name, "rule_id": rule.id, "trigger": str(rule.trigger),
                      "actions": [rule_actions.describe(s, rule) for s in specs]})
        if any(rule_actions.answers(s.action) for s in specs):
            break
    return fired

