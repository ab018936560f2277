"""What the inbox shows: the filtered conversation list with unread counts, and one thread.

Read-only and tenant-scoped: every query names the tenant explicitly (the ORM guard is a
second layer, not the first). Times go out as ISO 8601 UTC; the page shows them locally.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

from flask_appbuilder.security.sqla.models import User
from sqlalchemy import and_, func, literal, or_, select
from sqlalchemy.orm import joinedload

from app.extensions import db
from app.models import (
    as_utc,
    MAX_ID,
    Campaign,
    Channel,
    Conversation,
    ConversationMode,
    ConversationStatus,
    Customer,
    Direction,
    Message,
    Order,
    Platform,
    Sender,
    utcnow,
)
from app.money import format_money
from app.services import media
from app.services.inbox import InboxError

PAGE = 50
THREAD_LIMIT = 500
STATUS_WINDOW = 50  # outbound messages whose ticks each poll refreshes


@dataclass(frozen=True)
class ListFilters:
    status: str | None = None
    platform: str | None = None
    campaign_id: int | None = None
    assignee: str | None = None  # a user id, "me" or "none"
    tag: str | None = None
    needs_human: bool = False

    @classmethod
    def parse(cls, args) -> "ListFilters":
        """From query-string args; a value we can't use is the caller's 400, named."""
        status = (args.get("status") or "").strip() or None
        if status and status not in {s.value for s in ConversationStatus}:
            raise InboxError(f"status must be one of open, converted, closed (got {status[:20]!r})")
        platform = (args.get("platform") or "").strip() or None
        if platform and platform not in {p.value for p in Platform}:
            raise InboxError(f"platform must be one of {', '.join(p.value for p in Platform)}")
        campaign = (args.get("campaign_id") or "").strip() or None
        if campaign is not None and not _an_id(campaign):
            raise InboxError(f"campaign_id must be a number up to {MAX_ID}")
        assignee = (args.get("assignee") or "").strip() or None
        if assignee and assignee not in ("me", "none") and not _an_id(assignee):
            raise InboxError("assignee must be a user id, 'me' or 'none'")
        tag = (args.get("tag") or "").strip()[:40] or None
        needs = (args.get("needs_human") or "").strip().lower() in ("1", "true", "yes", "on")
        return cls(status, platform, int(campaign) if campaign else None, assignee, tag, needs)


def _an_id(raw: str) -> bool:
    """ASCII digits an id column can hold ("³" is a digit to str.isdigit, not to int())."""
    return raw.isascii() and raw.isdigit() and int(raw) <= MAX_ID


def needs_human_clause(now: datetime):
    """Open, with people (human mode or paused), and the customer spoke after any person."""
    return and_(
        Conversation.status == ConversationStatus.OPEN,
        or_(Conversation.mode == ConversationMode.HUMAN, Conversation.paused_until > now),
        Conversation.last_inbound_at.is_not(None),
        or_(Conversation.last_staff_at.is_(None), Conversation.last_staff_at < Conversation.last_inbound_at),
    )


def _escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def conversations(tenant_id: int, f: ListFilters, user_id: int | None, *, now=None,
                  limit: int = PAGE) -> list[dict]:
    """The inbox list, newest activity first, with each conversation's unread count."""
    now = now or utcnow()
    unread = select(func.count(Message.id)).where(
        Message.conversation_id == Conversation.id, Message.tenant_id == tenant_id,
        Message.direction == Direction.IN,
        or_(Conversation.agent_last_seen_at.is_(None), Message.created_at > Conversation.agent_last_seen_at),
    ).correlate(Conversation).scalar_subquery()
    preview = select(Message.text).where(
        Message.conversation_id == Conversation.id, Message.tenant_id == tenant_id,
    ).order_by(Message.created_at.desc(), Message.id.desc()).limit(1).correlate(Conversation).scalar_subquery()
    stmt = (select(Conversation, Channel.platform, Channel.name, Customer.name, Customer.external_id,
                   Customer.tags, Campaign.name, User.username, unread, preview)
            .join(Channel, Channel.id == Conversation.channel_id)
            .join(Customer, Customer.id == Conversation.customer_id)
            .outerjoin(Campaign, Campaign.id == Conversation.campaign_id)
            .outerjoin(User, User.id == Conversation.assignee_id)
            .where(Conversation.tenant_id == tenant_id))
    if f.status:
        stmt = stmt.where(Conversation.status == f.status)
    if f.platform:
        stmt = stmt.where(Channel.platform == f.platform)
    if f.campaign_id is not None:
        stmt = stmt.where(Conversation.campaign_id == f.campaign_id)
    if f.assignee == "me":
        stmt = stmt.where(Conversation.assignee_id == user_id)
    elif f.assignee == "none":
        stmt = stmt.where(Conversation.assignee_id.is_(None))
    elif f.assignee:
        stmt = stmt.where(Conversation.assignee_id == int(f.assignee))
    if f.tag:
        padded = literal(",") + func.lower(func.replace(func.coalesce(Customer.tags, ""), ", ", ",")) + literal(",")
        stmt = stmt.where(padded.like(f"%,{_escape_like(f.tag.lower())},%", escape="\\"))
    if f.needs_human:
        stmt = stmt.where(needs_human_clause(now))
    stmt = stmt.order_by(Conversation.last_message_at.desc().nulls_last(), Conversation.id.desc()).limit(limit)
    rows = []
    for conv, platform, channel, name, external, tags, campaign, assignee, unread_n, text in db.session.execute(stmt):
        rows.append({
            "id": conv.id, "customer": name or f"{platform}:{external}", "platform": str(platform),
            "channel": channel, "campaign": campaign, "status": str(conv.status), "mode": str(conv.mode),
            "paused_until": _iso(conv.paused_until) if _after(conv.paused_until, now) else None,
            "assignee": assignee, "tags": [t.strip() for t in (tags or "").split(",") if t.strip()],
            "last_message_at": _iso(conv.last_message_at), "preview": (text or "")[:140],
            "unread": int(unread_n or 0), "needs_human": _needs_human(conv, now),
        })
    return rows


def _needs_human(conv: Conversation, now: datetime) -> bool:
    if conv.status != ConversationStatus.OPEN or conv.last_inbound_at is None:
        return False
    if conv.mode != ConversationMode.HUMAN and not _after(conv.paused_until, now):
        return False
    staff = as_utc(conv.last_staff_at)
    return staff is None or staff < as_utc(conv.last_inbound_at)


def _after(value, now) -> bool:
    value = as_utc(value)
    return value is not None and value > now


def _iso(value: datetime | None) -> str | None:
    value = as_utc(value)
    return value.astimezone(timezone.utc).isoformat() if value else None


# ------------------------------------------------------------------------------ one thread


def conversation(tenant_id: int, conv_id) -> Conversation | None:
    """This tenant's conversation by id (None for anything else, including another tenant's)."""
    try:
        conv_id = int(conv_id)
    except (TypeError, ValueError):
        return None
    return db.session.scalar(select(Conversation).where(
        Conversation.id == conv_id, Conversation.tenant_id == tenant_id,
    ).options(joinedload(Conversation.customer), joinedload(Conversation.channel)))


def thread(conv: Conversation, after: int = 0) -> list[dict]:
    """Messages after id `after`, oldest first (the whole thread when 0)."""
    rows = db.session.scalars(select(Message).where(
        Message.tenant_id == conv.tenant_id, Message.conversation_id == conv.id, Message.id > after,
    ).options(joinedload(Message.author)).order_by(Message.created_at, Message.id).limit(THREAD_LIMIT))
    return [message_dict(m) for m in rows]


def statuses(conv: Conversation) -> dict[int, dict]:
    """The latest outbound messages' status (ticks move after the message is shown)."""
    rows = db.session.execute(select(Message.id, Message.status, Message.error).where(
        Message.tenant_id == conv.tenant_id, Message.conversation_id == conv.id,
        Message.direction == Direction.OUT,
    ).order_by(Message.id.desc()).limit(STATUS_WINDOW))
    return {mid: {"status": str(status), "error": error} for mid, status, error in rows}


def message_dict(m: Message) -> dict:
    payload = m.payload if isinstance(m.payload, dict) else {}
    by = "customer"
    if m.sender == Sender.AI:
        by = "AI"
    elif m.sender == Sender.SYSTEM:
        by = "automation"
    elif m.sender == Sender.AGENT:
        by = m.author.username if m.author else "a person (outside the inbox)"
    return {
        "id": m.id, "direction": str(m.direction), "sender": str(m.sender), "by": by,
        "kind": m.kind, "text": m.text or "", "status": str(m.status), "error": m.error,
        "created_at": _iso(m.created_at), "attachments": attachments(m),
        "postback": payload.get("payload") if m.kind == "postback" else None,
        "tag": payload.get("tag"), "template": (payload.get("template") or {}).get("name"),
        "reaction": payload.get("reaction"), "deleted": m.deleted_at is not None,
        "edited": m.edited_at is not None,
    }


def attachments(m: Message) -> list[dict]:
    """Media a message carries: `inline` ones the page shows as images through
    /inbox/media/<message id>/<position>, `download` ones it links there; the others link to
    their CDN URL, if any."""
    return [{"type": a.type, "url": a.url, "inline": media.inline(a), "download": media.downloadable(a)}
            for a in media.attachments(m)]


def orders(conv: Conversation) -> list[dict]:
    rows = db.session.scalars(select(Order).where(
        Order.tenant_id == conv.tenant_id, Order.conversation_id == conv.id,
    ).order_by(Order.created_at, Order.id))
    return [{"id": o.id, "number": o.number, "status": str(o.status),
             "total": format_money(o.total_minor, o.currency), "payment_link": o.payment_link_url,
             "paid_at": _iso(o.paid_at), "created_at": _iso(o.created_at),
             "items": [f"{i.quantity} x {i.name}" for i in o.items]} for o in rows]


def mark_seen(conv: Conversation) -> None:
    """Staff have the conversation open: its messages so far are read."""
    conv.agent_last_seen_at = utcnow()
    db.session.commit()


def state(conv: Conversation, now=None) -> dict:
    """Who answers this chat now, for the page's banner and countdown and the REST API:
    human mode or paused (until when, since when, by whom: null for a message sent from the
    platform's own app or a handover by the automation), the assignee, whether the customer
    waits for a person, and what a person may send (the messaging window)."""
    from app.services import inbox, takeover

    now = now or utcnow()
    steps_back = takeover.steps_back(conv, now)
    window = inbox.window(conv, now)
    return {"mode": str(conv.mode), "status": str(conv.status),
            "human_mode": conv.mode == ConversationMode.HUMAN,
            "paused_until": _iso(conv.paused_until) if takeover.paused(conv, now) else None,
            "ai_steps_back": steps_back,
            "taken_over_at": _iso(conv.taken_over_at) if steps_back else None,
            "taken_over_by": _person(conv.taken_over_by) if steps_back else None,
            "assignee": _person(conv.assignee), "needs_human": _needs_human(conv, now),
            "window_closes_at": window["closes_at"], "window": window}


def _person(user) -> dict | None:
    return {"id": user.id, "username": user.username} if user is not None else None


def states(tenant_id: int, ids, now=None) -> dict[int, dict]:
    """{conversation id: state} for these ids of this tenant's (others are left out), read
    with their channels and people in one query."""
    ids = [i for i in ids if isinstance(i, int) and not isinstance(i, bool)]
    if not ids:
        return {}
    now = now or utcnow()
    convs = db.session.scalars(select(Conversation).where(
        Conversation.tenant_id == tenant_id, Conversation.id.in_(ids),
    ).options(joinedload(Conversation.channel), joinedload(Conversation.assignee),
              joinedload(Conversation.taken_over_by)))
    return {conv.id: state(conv, now) for conv in convs}
