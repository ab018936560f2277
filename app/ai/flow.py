"""The campaign chat-flow responder (the answer until the AI salesperson lands).

It walks the conversation's campaign flow: greeting first, then each qualification question in
turn, then the closing line; with no campaign it uses a tenant default built from the business
profile. It reads the database only; it never sends.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import func, select

from app.extensions import db
from app.models import BusinessProfile, Conversation, Direction, Message, Sender


@dataclass
class Reply:
    text: str
    quick_replies: list[str] = field(default_factory=list)
    agent: str = "flow"


def _lines(text: str | None) -> list[str]:
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


def reply_for(conversation: Conversation, incoming: list[Message]) -> Reply:
    answered = db.session.scalar(
        select(func.count()).select_from(Message).where(
            Message.conversation_id == conversation.id, Message.direction == Direction.OUT,
            Message.sender == Sender.AI)
    ) or 0
    campaign = conversation.campaign
    profile = db.session.scalar(
        select(BusinessProfile).where(BusinessProfile.tenant_id == conversation.tenant_id))
    business = profile.business_name if profile else "us"
    if campaign is None:
        if answered == 0:
            return Reply(f"Hi! Thanks for messaging {business}. How can we help you today?")
        return Reply("Thanks! We've noted that and will get back to you shortly.")
    steps = [campaign.greeting or f"Hi! Thanks for messaging {business}."]
    steps += _lines(campaign.qualification_questions)
    steps.append(campaign.closing or "Would you like to place an order?")
    if answered < len(steps):
        return Reply(steps[answered])
    return Reply("Thanks! A member of our team will follow up with you here shortly.")
