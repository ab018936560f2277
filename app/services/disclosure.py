"""Telling the customer they are talking to an automated assistant.

With the tenant's `ai_disclosure` on, the agent's first message in a conversation begins with
a short statement that it is automated and how to reach a person (the tenant's own wording, or
the default below). Only automated messages carry it: a person's reply is sent as theirs.
"""
from __future__ import annotations

from app.models import Conversation

DEFAULT_TEXT = ("You're chatting with {business}'s automated assistant. "
                "To reach a person, reply \"talk to a person\" at any time.")
MAX_TEXT = 500


def statement(tenant) -> str | None:
    """The disclosure this tenant's agent opens with, or None when it is switched off."""
    if tenant is None or not tenant.ai_disclosure:
        return None
    custom = (tenant.ai_disclosure_text or "").strip()
    if custom:
        return custom[:MAX_TEXT]
    return DEFAULT_TEXT.format(business=tenant.name)


def opening(conv: Conversation, text: str, *, first: bool) -> str:
    """The automated reply as sent: prefixed with the disclosure when it opens the chat."""
    if not first:
        return text
    said = statement(conv.tenant)
    if not said:
        return text
    return f"{said}\n\n{text}" if text else said
