"""Revenue attribution as one chain: the ad or link a conversation came from, the campaign it
credits, and the turn (the AI or a named person) that closed the sale.

Ingest calls `record_referral` for every referral it reads; the order service calls
`closing_turn` when an order is placed. Nothing here commits: both run inside their caller's
transaction, so a referral is stored exactly when its message is.
"""
from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import select, true

from app.extensions import db
from app.models import (Campaign, Conversation, ConversationMode, Direction, Message, MessageStatus, Referral,
                        Sender)

REPLY_SENDERS = (Sender.AI, Sender.AGENT)


def _listed(value: str | None) -> set[str]:
    return {part for part in re.split(r"[\s,;]+", value or "") if part}


def credited_campaign(tenant_id: int, ad_id: str | None, ref: str | None) -> int | None:
    """The tenant's campaign that lists this ad id (Campaign.ad_ids) or this link ref."""
    if not ad_id and not ref:
        return None
    rows = db.session.execute(select(Campaign.id, Campaign.ad_ids, Campaign.ref).where(
        Campaign.tenant_id == tenant_id,
        (Campaign.ad_ids.is_not(None)) | (Campaign.ref.is_not(None)),
    ).order_by(Campaign.id)).all()
    for campaign_id, ad_ids, campaign_ref in rows:
        if ad_id and ad_id in _listed(ad_ids):
            return campaign_id
    for campaign_id, _, campaign_ref in rows:
        if ref and campaign_ref and ref.strip().lower() == campaign_ref.strip().lower():
            return campaign_id
    return None


AD_ID = re.compile(r"[A-Za-z0-9_.-]{1,64}")


class CampaignSourceError(ValueError):
    """A campaign's ad ids or link ref can't be credited as given (shown to the person)."""


def check_campaign_sources(campaign: Campaign) -> None:
    """Before a campaign is saved: each ad id an id (as Meta's referral carries it, at most the
    64 characters a referral keeps), written back as "id, id"; no ad id and no link ref (any
    case) that another campaign of the tenant already claims, since a click credits one
    campaign only and a second listing would silently get nothing."""
    ids = [part for part in re.split(r"[\s,;]+", campaign.ad_ids or "") if part]
    bad = [part for part in ids if not AD_ID.fullmatch(part)]
    if bad:
        raise CampaignSourceError(f"Ad ids are Meta's ids, separated by commas: {bad[0][:70]!r} is not one")
    ids = list(dict.fromkeys(ids))
    campaign.ad_ids = ", ".join(ids) or None
    ref = (campaign.ref or "").strip() or None
    campaign.ref = ref
    if not ids and not ref:
        return
    with db.session.no_autoflush:
        others = db.session.execute(select(Campaign.name, Campaign.ad_ids, Campaign.ref).where(
            Campaign.tenant_id == campaign.tenant_id,
            Campaign.id != campaign.id if campaign.id is not None else true(),
            (Campaign.ad_ids.is_not(None)) | (Campaign.ref.is_not(None)))).all()
    for name, their_ids, their_ref in others:
        taken = [ad for ad in ids if ad in _listed(their_ids)]
        if taken:
            raise CampaignSourceError(f"Ad {taken[0]} is already credited to campaign {name!r}: "
                                      "remove it there first")
        if ref and their_ref and ref.lower() == their_ref.strip().lower():
            raise CampaignSourceError(f"The link ref {ref!r} is already credited to campaign {name!r}")


def _already_recorded(conv: Conversation, referral: dict, at: datetime) -> bool:
    """A bare referral event Meta delivers twice is one referral (it has no message id)."""
    if conv.id is None:
        return False
    return db.session.scalar(select(Referral.id).where(
        Referral.tenant_id == conv.tenant_id, Referral.conversation_id == conv.id,
        Referral.message_id.is_(None), Referral.created_at == at,
        Referral.ad_id.is_(None) if referral.get("ad_id") is None else Referral.ad_id == referral["ad_id"],
        Referral.ref.is_(None) if referral.get("ref") is None else Referral.ref == referral["ref"],
    ).limit(1)) is not None


def record_referral(conv: Conversation, platform: str, referral: dict, at: datetime,
                    message: Message | None = None) -> Referral | None:
    """Keep the referral; the conversation's first one is its first touch and credits the
    campaign that lists its ad or ref (later ones are kept but change no attribution)."""
    if message is None and _already_recorded(conv, referral, at):
        return None
    first = conv.referral_source is None and conv.ad_id is None and conv.referral_ref is None
    row = Referral(tenant_id=conv.tenant_id, conversation=conv, message=message, platform=platform,
                   source=referral.get("source"), type=referral.get("type"),
                   ad_id=referral.get("ad_id"), ref=referral.get("ref"),
                   headline=referral.get("headline"), source_url=referral.get("source_url"),
                   ctwa_clid=referral.get("ctwa_clid"), first_touch=first, created_at=at)
    db.session.add(row)
    if first:
        conv.referral_source = referral.get("source") or "unknown"
        conv.ad_id = referral.get("ad_id")
        conv.referral_ref = referral.get("ref")
        campaign_id = credited_campaign(conv.tenant_id, conv.ad_id, conv.referral_ref)
        if campaign_id is not None:
            conv.campaign_id = campaign_id
    return row


def closing_turn(conversation_id: int | None, tenant_id: int, *, source: str,
                 actor_id: int | None) -> tuple[str | None, int | None]:
    """(sender, user id) of the turn that closed the sale.

    A person who places the order (the admin or the API: `actor_id`, any source but the
    agent's tool) closed it: the order and its payment link are theirs, whoever wrote last.
    Otherwise a person who took the chat over holds it, so the close is theirs; else it is
    whoever wrote the last message we sent before the order (the AI, or the staff member who
    wrote it); with no such message, the agent's tool placing it means the AI closed it."""
    if actor_id is not None and source != "agent":
        return str(Sender.AGENT), actor_id
    if conversation_id is not None:
        taken = db.session.execute(select(Conversation.mode, Conversation.taken_over_by_id).where(
            Conversation.id == conversation_id, Conversation.tenant_id == tenant_id)).first()
        if taken is not None and taken.mode == ConversationMode.HUMAN and taken.taken_over_by_id is not None:
            return str(Sender.AGENT), taken.taken_over_by_id
        last = db.session.execute(select(Message.sender, Message.author_id).where(
            Message.tenant_id == tenant_id, Message.conversation_id == conversation_id,
            Message.direction == Direction.OUT, Message.sender.in_(REPLY_SENDERS),
            Message.status != MessageStatus.FAILED,
        ).order_by(Message.created_at.desc(), Message.id.desc()).limit(1)).first()
        if last is not None:
            return str(last.sender), (last.author_id if last.sender == Sender.AGENT else None)
    if source == "agent":
        return str(Sender.AI), None
    return None, None


def credit_order(order, *, source: str, actor_id: int | None) -> None:
    """A new order made in the admin or the API gets what an order placed in the chat gets:
    its conversation's campaign (unless one was chosen for it) and who closed the sale. The
    conversation may be set as a relationship not yet flushed, so it is read from either."""
    with db.session.no_autoflush:  # the half-built order must not be flushed by these reads
        conv = order.conversation
        conversation_id = conv.id if conv is not None else order.conversation_id
        if conv is None and conversation_id is not None:
            conv = db.session.get(Conversation, conversation_id)
        if conv is not None and conv.tenant_id != order.tenant_id:
            conv, conversation_id = None, None
        if conv is not None and order.campaign_id is None and order.campaign is None:
            order.campaign_id = conv.campaign_id
        order.closed_by_sender, order.closed_by_user_id = closing_turn(
            conversation_id, order.tenant_id, source=source, actor_id=actor_id)
