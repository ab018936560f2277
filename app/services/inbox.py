"""What staff do in a conversation: reply as a person (free text, or an approved WhatsApp
template outside the 24-hour window), take over from the agent and hand back, assign, leave
private notes, tag the customer, close or mark converted.

Every message a person sends is written with sender=agent and its author, through the same
send path as the agent's (app.services.outbound), and pauses the agent in that chat
(app.services.takeover). Sending happens in a job, never in the request.
"""
from __future__ import annotations

import logging
import re
from datetime import datetime, timedelta

from sqlalchemy import func, inspect, or_, select
from sqlalchemy.orm import aliased

from app.extensions import db
from app.models import (
    as_utc,
    Conversation,
    ConversationMode,
    ConversationStatus,
    Customer,
    Direction,
    Message,
    Platform,
    Sender,
    TargetPlatform,
    Template,
    TemplateStatus,
    TenantMembership,
    utcnow,
)
from app.models.inbox import ConversationNote
from app.jobs.queueing import queue_answers, queue_pause_end, requeue_pause_end
from app.services import outbound, takeover, templates

log = logging.getLogger(__name__)

MAX_REPLY = 2000
MAX_NOTE = 4000
MAX_TAG = 40
MAX_TAGS_TEXT = 500  # Customer.tags
MAX_VARIABLE = 1024
TEMPLATE_VARIABLE = re.compile(r"\{\{\s*(\d{1,2})\s*\}\}")
TAG_TEXT = re.compile(r"^[\w][\w .&/+-]*$", re.UNICODE)


class InboxError(ValueError):
    """A staff action the rules refuse (message is shown to the user; `field` names the input
    at fault, for the API's 422)."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


class NotFound(InboxError):
    """An id that names nothing of this tenant's (the view answers 404, revealing nothing)."""


# ------------------------------------------------------------------------------ sending


def window(conv: Conversation, now: datetime | None = None) -> dict:
    """What a person may send now: free text (`open`), text tagged HUMAN_AGENT (Messenger
    and Instagram up to 7 days), only a template (WhatsApp after 24 h), or nothing."""
    now = now or utcnow()
    platform = str(conv.channel.platform)
    last = as_utc(conv.last_inbound_at)
    state = {"platform": platform, "closes_at": None, "human_agent_until": None,
             "mode": "open", "reason": None}
    if platform == Platform.PLAYGROUND:
        return state
    if last is not None:
        state["closes_at"] = (last + outbound.STANDARD_WINDOW).isoformat()
        if platform != Platform.WHATSAPP:
            state["human_agent_until"] = (last + outbound.HUMAN_AGENT_WINDOW).isoformat()
    probe = Message(sender=Sender.AGENT, kind="text")
    reason, tag = outbound.window_refusal(conv, probe, now)
    if tag:
        state["mode"] = "human_agent"
    elif reason and platform == Platform.WHATSAPP:
        state["mode"], state["reason"] = "template", reason
    elif reason:
        state["mode"], state["reason"] = "closed", reason
    return state


def staff_reply(conv: Conversation, author_id: int, text: str, *, take_over: bool = False) -> Message:
    """Queue a person's reply and pause the agent in this chat (`take_over`: hand the chat
    to people until handed back)."""
    text = (text or "").strip()
    if not text:
        raise InboxError("Type a message first", "text")
    if len(text) > MAX_REPLY:
        raise InboxError(f"Messages are limited to {MAX_REPLY} characters", "text")
    state = window(conv)
    if state["mode"] == "template":
        raise InboxError("More than 24 hours since the customer's last message: WhatsApp allows "
                         "only an approved template now (choose one below)")
    if state["mode"] == "closed":
        raise InboxError(state["reason"])
    msg = outbound.queue_message(conv, text, sender=Sender.AGENT, author_id=author_id)
    _spoke(conv, take_over, author_id)
    db.session.commit()
    outbound.send_later([msg.id], conv.tenant_id)
    return msg


def usable_templates(conv: Conversation) -> list[Template]:
    """Approved templates this conversation's channel can send (WhatsApp only)."""
    if str(conv.channel.platform) != Platform.WHATSAPP:
        return []
    return list(db.session.scalars(select(Template).where(
        Template.tenant_id == conv.tenant_id, Template.status == TemplateStatus.APPROVED,
        Template.platform.in_([TargetPlatform.WHATSAPP, TargetPlatform.ALL]),
    ).order_by(Template.name)))


def variable_count(body: str) -> int:
    """How many numbered variables ({{1}}, {{2}}, ...) a WhatsApp template body has."""
    numbers = {int(n) for n in TEMPLATE_VARIABLE.findall(body or "")}
    return max(numbers) if numbers else 0


def send_template(conv: Conversation, author_id: int, template_id, variables: list[str], *,
                  take_over: bool = False) -> Message:
    """Queue an approved WhatsApp template with its variables filled, as this person."""
    try:
        template_id = int(template_id)
    except (TypeError, ValueError):
        raise InboxError("Choose a template", "template_id") from None
    exists = db.session.scalar(select(Template.id).where(
        Template.id == template_id, Template.tenant_id == conv.tenant_id))
    if exists is None:
        raise NotFound(f"template {template_id}")
    template = next((t for t in usable_templates(conv) if t.id == template_id), None)
    if template is None:
        raise InboxError("That template is not approved for WhatsApp yet", "template_id")
    if templates.is_marketing(template) and conv.customer.marketing_opted_out:
        raise InboxError(f"{conv.customer} stopped marketing messages in WhatsApp's settings: choose a "
                         f"utility template, or wait for them to write", "template_id")
    values = [(v or "").strip() for v in variables or []]
    needed = variable_count(template.body)
    values = values[:needed] if len(values) >= needed else values
    if len(values) != needed or any(not v for v in values):
        raise InboxError(f"The template {template.name} needs {needed} value(s), each filled in",
                         "variables")
    if any(len(v) > MAX_VARIABLE for v in values):
        raise InboxError(f"Template values are limited to {MAX_VARIABLE} characters", "variables")
    body = {"name": template.name, "language": {"code": template.language or "en"}}
    if needed:
        body["components"] = [{"type": "body",
                               "parameters": [{"type": "text", "text": v} for v in values]}]
    shown = TEMPLATE_VARIABLE.sub(lambda m: values[int(m.group(1)) - 1] if 0 < int(m.group(1)) <= needed
                                  else m.group(0), template.body)
    msg = outbound.queue_message(conv, shown, sender=Sender.AGENT, kind="template",
                                 payload={"template": body, "template_id": template.id},
                                 author_id=author_id)
    _spoke(conv, take_over, author_id)
    db.session.commit()
    outbound.send_later([msg.id], conv.tenant_id)
    return msg


def _spoke(conv: Conversation, take_over: bool, author_id: int | None) -> None:
    takeover.person_spoke(conv, by=author_id)
    if take_over:
        takeover.take_over(conv, by=author_id)


# ------------------------------------------------------------------------------ handling

MAX_PAUSE_MINUTES = 10080  # a week, as the store's setting


def take_over(conv: Conversation, by: int | None = None) -> None:
    takeover.take_over(conv, by)
    db.session.commit()


def pause(conv: Conversation, minutes, by: int | None = None) -> None:
    """Pause the agent here for `minutes` (a whole number, 1 to a week) without replying."""
    if isinstance(minutes, bool) or not isinstance(minutes, int):
        raise InboxError("minutes must be a whole number", "minutes")
    if not 1 <= minutes <= MAX_PAUSE_MINUTES:
        raise InboxError(f"minutes must be between 1 and {MAX_PAUSE_MINUTES} (a week)", "minutes")
    takeover.pause(conv, minutes, by)
    db.session.commit()


def hand_back(conv: Conversation) -> None:
    takeover.hand_back(conv)
    answer_waiting(conv)


def resume(conv: Conversation) -> None:
    takeover.resume(conv)
    answer_waiting(conv)


def take_over_all(convs: list[Conversation], by: int | None) -> int:
    """Take over each conversation not already with people; returns how many changed."""
    changed = [c for c in convs if c.mode != ConversationMode.HUMAN]
    for conv in changed:
        takeover.take_over(conv, by)
    db.session.commit()
    return len(changed)


def hand_back_all(convs: list[Conversation]) -> int:
    """Hand each conversation back (pauses lifted, what waited answered); returns how many
    were with people."""
    changed = [c for c in convs if takeover.steps_back(c)]
    for conv in convs:
        hand_back(conv)
    return len(changed)


def mode_edited(conv: Conversation, by: int | None) -> bool:
    """An edit (the admin's form, the API's PUT) changed the mode: do what taking over or
    handing back does, so the reply job's compare-and-set sees it. The caller commits; True
    when handed back (the caller then calls `answer_waiting` after its commit)."""
    history = inspect(conv).attrs.mode.history
    before = history.deleted[0] if history.deleted else None
    if not history.has_changes() or before is None or str(before) == str(conv.mode):
        return False
    if conv.mode == ConversationMode.HUMAN:
        takeover.take_over(conv, by)
        return False
    takeover.hand_back(conv)
    return True


def answer_after_pause(conversation_id: int, tenant_id: int) -> str:
    """A person's pause has run out (the job queued when a customer message was set aside
    for them): if no person answered what the customer wrote meanwhile, the AI does, so a
    customer is never left waiting on a person who didn't come. A chat taken over stays with
    people, a closed one is done; a pause extended since is looked at again when it ends."""
    conv = db.session.scalar(select(Conversation).where(
        Conversation.id == conversation_id, Conversation.tenant_id == tenant_id)
        .execution_options(populate_existing=True))
    if conv is None:
        return "missing"
    if conv.mode == ConversationMode.HUMAN:
        db.session.commit()
        return "with people"
    if conv.status == ConversationStatus.CLOSED:  # a person closed it: nothing is left to say
        db.session.commit()
        return "closed"
    if takeover.paused(conv):
        until = conv.paused_until
        db.session.commit()
        queue_pause_end(conv.id, tenant_id, at=until)
        return "still paused"
    return "answered" if answer_waiting(conv) else "nothing waits"


# A pause that ended longer ago than this is not made up by the sweep: a customer who asked a
# day ago and heard nothing is better served by a person than by an AI answer out of the blue.
PAUSE_CATCH_UP = timedelta(hours=24)


def requeue_ended_pauses(cutoff: datetime, limit: int = 500) -> int:
    """The sweep: a pause that ended before `cutoff` (within PAUSE_CATCH_UP) with a customer
    message still set aside for the person who never answered gets its pause-end job again.

    The job at a pause's end lives in RQ's scheduler only; a queue that restarts (the embedded
    in-memory one) or a flushed Redis loses it, and the customer would wait for good. Set
    aside for that pause = handled while it ran (between the person stepping in and its end),
    not answered since (no message of ours after it): once the job hands it to the agent its
    handled_at is cleared and then set again after the pause's end, so a pause is made up
    once, however often the sweep runs; the same job id as the scheduled job's keeps one still
    waiting from being doubled, and the job itself re-checks everything (taken over, closed,
    paused again). Conversations with people, closed ones and opted-out customers are left
    alone, as the scheduled job would have been never queued or done nothing for them.
    Returns how many were queued."""
    since = utcnow() - PAUSE_CATCH_UP
    waiting, ours = aliased(Message), aliased(Message)
    answered = select(ours.id).where(
        ours.conversation_id == waiting.conversation_id, ours.direction == Direction.OUT,
        ours.created_at > waiting.created_at).exists()
    set_aside = select(waiting.id).where(
        waiting.conversation_id == Conversation.id, waiting.tenant_id == Conversation.tenant_id,
        waiting.direction == Direction.IN, waiting.handled_at.is_not(None),
        waiting.handled_at <= Conversation.paused_until,
        or_(Conversation.taken_over_at.is_(None), waiting.handled_at >= Conversation.taken_over_at),
        ~answered).exists()
    due = db.session.execute(select(Conversation.id, Conversation.tenant_id, Conversation.paused_until)
                             .join(Customer, Customer.id == Conversation.customer_id).where(
        Conversation.paused_until >= since, Conversation.paused_until < cutoff,
        Conversation.mode == ConversationMode.AI, Conversation.status != ConversationStatus.CLOSED,
        Customer.opted_out.is_(False), set_aside).order_by(Conversation.paused_until).limit(limit)).all()
    db.session.commit()
    queued = sum(1 for conv_id, tenant_id, until in due if requeue_pause_end(conv_id, tenant_id, at=until))
    if queued:
        log.info("sweep queued %d pause ends whose jobs were lost", queued)
    return queued


def answer_waiting(conv: Conversation) -> int:
    """Back with the AI: what the customer wrote after the last message sent to them waited
    for a person (set aside, handled, while paused); the agent answers it now, as one burst.
    Commits; returns how many messages it hands to the agent. Nothing waits when the chat is
    still with people."""
    if takeover.steps_back(conv):
        db.session.commit()
        return 0
    last_out = db.session.scalar(select(func.max(Message.created_at)).where(
        Message.conversation_id == conv.id, Message.tenant_id == conv.tenant_id,
        Message.direction == Direction.OUT))
    stmt = select(Message).where(
        Message.conversation_id == conv.id, Message.tenant_id == conv.tenant_id,
        Message.direction == Direction.IN, Message.handled_at.is_not(None))
    if last_out is not None:
        stmt = stmt.where(Message.created_at > last_out)
    waiting = list(db.session.scalars(stmt.order_by(Message.created_at, Message.id)))
    for msg in waiting:
        msg.handled_at = None
    db.session.commit()
    if waiting:
        queue_answers([(waiting[-1].id, conv.tenant_id)], conversations={waiting[-1].id: conv.id})
    return len(waiting)


def assign(conv: Conversation, user_id) -> None:
    """Assign to a teammate with a seat in this tenant ('' unassigns)."""
    if user_id in (None, ""):
        conv.assignee_id = None
        db.session.commit()
        return
    try:
        user_id = int(user_id)
    except (TypeError, ValueError):
        raise InboxError("Choose a teammate", "assignee_id") from None
    if user_id not in teammates(conv.tenant_id):
        raise InboxError("That person is not on this business's team", "assignee_id")
    conv.assignee_id = user_id
    db.session.commit()


def teammates(tenant_id: int) -> dict[int, str]:
    """{user id: username} of everyone with a seat in the tenant."""
    from flask_appbuilder.security.sqla.models import User

    rows = db.session.execute(select(User.id, User.username).join(
        TenantMembership, TenantMembership.user_id == User.id,
    ).where(TenantMembership.tenant_id == tenant_id, User.active.is_(True)).order_by(User.username))
    return {uid: name for uid, name in rows}


STATUSES = {"close": ConversationStatus.CLOSED, "converted": ConversationStatus.CONVERTED,
            "reopen": ConversationStatus.OPEN}


def set_status(conv: Conversation, action: str) -> None:
    status = STATUSES.get(action)
    if status is None:
        raise InboxError("Unknown status change")
    conv.status = status
    db.session.commit()


# ------------------------------------------------------------------------------ notes and tags


def add_note(conv: Conversation, author_id: int, body: str) -> ConversationNote:
    body = (body or "").strip()
    if not body:
        raise InboxError("Write the note first")
    if len(body) > MAX_NOTE:
        raise InboxError(f"Notes are limited to {MAX_NOTE} characters")
    note = ConversationNote(tenant_id=conv.tenant_id, conversation_id=conv.id,
                            author_id=author_id, body=body, created_at=utcnow())
    db.session.add(note)
    db.session.commit()
    return note


def tags_of(customer) -> list[str]:
    return [t.strip() for t in (customer.tags or "").split(",") if t.strip()]


def add_tag(customer, tag: str) -> None:
    tag = " ".join((tag or "").split())
    if not tag:
        raise InboxError("Type a tag first")
    if len(tag) > MAX_TAG or not TAG_TEXT.match(tag):
        raise InboxError(f"Tags are up to {MAX_TAG} letters, digits, spaces and . & / + - _")
    tags = tags_of(customer)
    if tag.lower() in {t.lower() for t in tags}:
        return
    joined = ", ".join(sorted([*tags, tag], key=str.lower))
    if len(joined) > MAX_TAGS_TEXT:
        raise InboxError("This customer has too many tags; remove one first")
    customer.tags = joined
    db.session.commit()


def remove_tag(customer, tag: str) -> None:
    tag = (tag or "").strip().lower()
    customer.tags = ", ".join(t for t in tags_of(customer) if t.lower() != tag) or None
    db.session.commit()
