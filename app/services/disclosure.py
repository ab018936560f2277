"""Telling the customer they are talking to an automated assistant.

With the tenant's `ai_disclosure` on, the first automated text a conversation sends (the
agent's reply, or a rule's, such as a welcome message) begins with a short statement that it
is automated and how to reach a person (the tenant's own wording, or the default below). A
catalog card or a template can't carry it, and an opt-out confirmation shouldn't, so the next
automated text does. A person's reply is sent as theirs and never carries it.
"""
from __future__ import annotations

from sqlalchemy import select

from app.extensions import db
from app.models import Conversation, Direction, Message, Sender
from app.services.optout import NOTICE

DEFAULT_TEXT = ("You're chatting with {business}'s automated assistant. "
                "To reach a person, reply \"talk to a person\" at any time.")
MAX_TEXT = 500
CHECKED = 10


def statement(tenant, business: str | None = None) -> str | None:
    """The disclosure this tenant's agent opens with, or None when it is switched off.
    `business`: the name customers know it by (its profile's), else the tenant's name."""
    if tenant is None or not tenant.ai_disclosure:
        return None
    custom = (tenant.ai_disclosure_text or "").strip()
    if custom:
        return custom[:MAX_TEXT]
    return DEFAULT_TEXT.format(business=business or tenant.name)


def _disclosed(conv: Conversation) -> bool:
    """Has the conversation sent an automated text already (which carried the disclosure,
    or predates the setting)? Opt-out/opt-in confirmations don't count; the first few
    automated texts are enough to tell."""
    payloads = db.session.scalars(select(Message.payload).where(
        Message.conversation_id == conv.id, Message.tenant_id == conv.tenant_id,
        Message.direction == Direction.OUT, Message.sender.in_((Sender.AI, Sender.SYSTEM)),
        Message.kind == "text").order_by(Message.id).limit(CHECKED))
    return any(not (isinstance(p, dict) and p.get(NOTICE)) for p in payloads)


def opening(conv: Conversation, text: str, *, first: bool, kind: str = "text",
            notice: bool = False, business: str | None = None) -> str:
    """The automated reply as sent: prefixed with the disclosure when it is the
    conversation's first automated text. `first`: nothing at all had been sent in the
    conversation when this reply began (read before the model, so an order summary queued
    meanwhile doesn't count). `notice`: an opt-out/opt-in confirmation."""
    if kind != "text" or notice:
        return text
    said = statement(conv.tenant, business)
    if not said or (not first and _disclosed(conv)):
        return text
    return f"{said}\n\n{text}" if text else said
