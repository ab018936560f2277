"""The salesperson: builds the context, runs the agent, checks the reply, records why.

The offline agent answers when no GROQ_API_KEY is set (the embedded default). Whatever the
agent, the reply passes the guardrails before it is sent; a reply that fails them is replaced
by a safe answer and the event is recorded on the message.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

from flask import current_app
from sqlalchemy import func, select

import groq

from app.ai import guardrails
from app.ai.groq_agent import GroqAgent
from app.ai.offline import OfflineAgent
from app.ai.prompt import history, system_prompt
from app.ai.reply import Reply
from app.ai.tools import ToolContext
from app.clients.groq_client import make_client
from app.extensions import db
from app.models import Conversation, Direction, Message, Order, Sender
from app.services import tenant_content
from app.services.tenant_content import Content

log = logging.getLogger(__name__)
OFFLINE_MEMORY_TURNS = 12
OFFLINE_MEMORY_TOKENS = 1000
SAFE_REPLY = ("Let me double-check that for you — someone from our team will confirm here "
              "shortly.")


@dataclass
class Known:
    """What a reply reads from the database about its conversation before the model is asked.

    The reply job reads it in the same transaction as the conversation itself (`prefetch`),
    before it waits on the Graph API for the customer's name, instead of opening another
    transaction for it afterwards."""

    orders: set[str]  # the customer's order numbers: the only ones a reply may mention
    statuses: set = field(default_factory=set)  # of this conversation's orders (the lead score)
    # the chat so far: all the model's budget for the model, the last few turns for the
    # offline agent (where "it" and "make that 3" are looked up)
    turns: list[dict] | None = None


def prefetch(conv: Conversation) -> Known:
    rows = db.session.execute(select(Order.number, Order.status, Order.conversation_id).where(
        Order.tenant_id == conv.tenant_id, Order.customer_id == conv.customer_id)).all()
    turns = (history(conv) if current_app.config.get("GROQ_API_KEY")
             else history(conv, OFFLINE_MEMORY_TOKENS, limit=OFFLINE_MEMORY_TURNS))
    return Known(orders={r.number for r in rows},
                 statuses={r.status for r in rows if r.conversation_id == conv.id}, turns=turns)


def respond(conv: Conversation, incoming: list[Message], *, first: bool, asked: int | None = None,
            claim=None, placed=None, content: Content | None = None, known: Known | None = None) -> Reply:
    """`asked`: how many AI replies the conversation has had (counted here if not given).
    `claim()` marks the incoming messages handled; a tool that commits an action (an order)
    calls it first, so the action and the claim are committed together. `placed(order)` is
    told of each order the agent places, once committed (ToolContext.placed). `content`: the
    tenant's (read here if not given). `known`: `prefetch(conv)`, read here if not given."""
    started = time.monotonic()
    content = content or tenant_content.get(conv.tenant_id)
    ctx = ToolContext(tenant_id=conv.tenant_id, conversation_id=conv.id,
                      customer_id=conv.customer_id, currency=content.tenant.currency, claim=claim,
                      placed=placed)
    profile = content.profile
    campaign = content.campaign(conv.campaign_id)
    business = profile.business_name if profile else content.tenant.name
    text = "\n".join(m.text for m in incoming if m.text)
    if asked is None:
        asked = db.session.scalar(select(func.count()).select_from(Message).where(
            Message.conversation_id == conv.id, Message.direction == Direction.OUT,
            Message.sender == Sender.AI)) or 0
    known = known or prefetch(conv)
    rules = dict(allowed_links=_links(profile), discount_allowed=_discounts(campaign),
                 known_orders=known.orders, vocabulary=_vocabulary(conv, content))
    extra: dict = {}
    reply = None
    if current_app.config.get("GROQ_API_KEY"):
        try:
            turns = known.turns if known.turns is not None else history(conv)
            reply, extra = _with_groq(conv, ctx, text, rules, content, turns)
        except groq.APIError as exc:  # after the SDK's own retries: answer offline instead
            log.warning("groq unavailable for conversation %s (%s); offline agent answers", conv.id, exc)
            extra["fallback"] = f"{type(exc).__name__}: {exc}"[:300]
    if reply is None:
        reply = OfflineAgent().reply(ctx, text=text, campaign=campaign, business=business,
                                     asked_questions=max(asked - 1, 0), first=first,
                                     history=known.turns)
    verdict = guardrails.check(reply.text, ctx, **rules)
    meta = {**{k: v for k, v in reply.meta.items() if not k.startswith("_")}, **extra,
            "agent": reply.agent, "tools": ctx.calls,
            "latency_ms": int((time.monotonic() - started) * 1000)}
    if ctx.order_intent:
        meta["order_intent"] = ctx.order_intent
    if not verdict.ok:
        log.warning("guardrails replaced a reply in conversation %s: %s", conv.id, verdict.problems)
        meta.setdefault("guardrail", {"problems": verdict.problems, "replaced": reply.text})
        reply = Reply(SAFE_REPLY, agent=reply.agent)
    reply.meta = meta
    return reply


def _with_groq(conv: Conversation, ctx: ToolContext, text: str, rules: dict,
               content: Content, turns: list[dict]) -> tuple[Reply, dict]:
    """Ask the model; if its answer breaks a guardrail, let it correct itself once."""
    cfg = current_app.config
    # Half the job's time for the model, the rest for tools, guardrails and sending.
    agent = GroqAgent(make_client(cfg["GROQ_API_KEY"], cfg.get("GROQ_BASE_URL")), cfg["GROQ_MODEL"],
                      budget_s=cfg["JOB_TIMEOUT"] * 0.5)
    messages = [{"role": "system", "content": system_prompt(conv, text, content)}, *turns]
    reply = agent.reply(ctx, messages)
    verdict = guardrails.check(reply.text, ctx, **rules)
    if verdict.ok:
        return reply, {}
    event = {"problems": verdict.problems, "replaced": reply.text, "regenerated": True}
    convo = reply.meta["_convo"] + [
        {"role": "assistant", "content": reply.text},
        {"role": "system", "content": "That reply broke the rules: " + "; ".join(verdict.problems) +
         ". Rewrite it using only facts from tool results."}]
    second = agent.reply(ctx, convo)
    for key in ("prompt_tokens", "completion_tokens"):
        second.meta[key] = second.meta.get(key, 0) + reply.meta.get(key, 0)
    return second, {"guardrail": event}


def _links(profile) -> set[str]:
    base = current_app.config.get("PUBLIC_BASE_URL") or ""
    return {x for x in (profile.website if profile else None, base) if x}


def _discounts(campaign) -> bool:
    """Only a campaign that itself talks about a discount lets the agent mention one."""
    blob = " ".join(filter(None, (campaign.greeting, campaign.objection_handling, campaign.closing))) if campaign else ""
    return bool(guardrails.DISCOUNT.search(blob))


def _vocabulary(conv: Conversation, content: Content) -> list[str]:
    """Names a reply may use: this tenant's products, categories, campaigns, itself and the
    customer's own name."""
    return [*content.names, conv.customer.name] if conv.customer.name else list(content.names)


