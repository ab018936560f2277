"""The salesperson: builds the context, runs the agent, checks the reply, records why.

The offline agent answers when no GROQ_API_KEY is set (the embedded default). Whatever the
agent, the reply passes the guardrails before it is sent; a reply that fails them is replaced
by a safe answer and the event is recorded on the message.
"""
from __future__ import annotations

import logging
import time

from flask import current_app
from sqlalchemy import func, select

from app.ai import guardrails
from app.ai.offline import OfflineAgent
from app.ai.reply import Reply
from app.ai.tools import ToolContext
from app.extensions import db
from app.models import BusinessProfile, Conversation, Direction, Message, Order, Sender, Tenant

log = logging.getLogger(__name__)
SAFE_REPLY = ("Let me double-check that for you — someone from our team will confirm here "
              "shortly.")


def _profile(tenant_id: int) -> BusinessProfile | None:
    return db.session.scalar(select(BusinessProfile).where(BusinessProfile.tenant_id == tenant_id))


def respond(conv: Conversation, incoming: list[Message], *, first: bool) -> Reply:
    started = time.monotonic()
    tenant = db.session.get(Tenant, conv.tenant_id)
    ctx = ToolContext(tenant_id=conv.tenant_id, conversation_id=conv.id,
                      customer_id=conv.customer_id, currency=tenant.currency)
    profile = _profile(conv.tenant_id)
    business = profile.business_name if profile else tenant.name
    text = "\n".join(m.text for m in incoming if m.text)
    asked = db.session.scalar(select(func.count()).select_from(Message).where(
        Message.conversation_id == conv.id, Message.direction == Direction.OUT,
        Message.sender == Sender.AI)) or 0
    agent = OfflineAgent()
    reply = agent.reply(ctx, text=text, campaign=conv.campaign, business=business,
                        asked_questions=max(asked - 1, 0), first=first)
    verdict = guardrails.check(reply.text, ctx, allowed_links=_links(profile),
                               discount_allowed=_discounts(conv), known_orders=_orders(conv))
    meta = {"agent": reply.agent, "tools": ctx.calls, "latency_ms": int((time.monotonic() - started) * 1000)}
    if ctx.order_intent:
        meta["order_intent"] = ctx.order_intent
    if not verdict.ok:
        log.warning("guardrails replaced a reply in conversation %s: %s", conv.id, verdict.problems)
        meta["guardrail"] = {"problems": verdict.problems, "replaced": reply.text}
        reply = Reply(SAFE_REPLY, agent=reply.agent)
    reply.meta = {**reply.meta, **meta}
    return reply


def _links(profile: BusinessProfile | None) -> set[str]:
    base = current_app.config.get("PUBLIC_BASE_URL") or ""
    return {x for x in (profile.website if profile else None, base) if x}


def _discounts(conv: Conversation) -> bool:
    """Only a campaign that itself talks about a discount lets the agent mention one."""
    campaign = conv.campaign
    blob = " ".join(filter(None, (campaign.greeting, campaign.objection_handling, campaign.closing))) if campaign else ""
    return bool(guardrails.DISCOUNT.search(blob))


def _orders(conv: Conversation) -> set[str]:
    return set(db.session.scalars(select(Order.number).where(
        Order.tenant_id == conv.tenant_id, Order.customer_id == conv.customer_id)))
