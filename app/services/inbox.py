"""What staff do in a conversation: reply as a person, take over from the AI and hand back."""
from __future__ import annotations

from app.extensions import db
from app.models import Conversation, ConversationMode, Message, Sender
from app.services import outbound

MAX_REPLY = 2000


class InboxError(ValueError):
    """A staff action the rules refuse (message is shown to the user)."""


def staff_reply(conv: Conversation, author_id: int, text: str, *, take_over: bool = True) -> Message:
    """Queue a person's reply (sent by a job, never in the request); by default the AI stops
    answering this chat."""
    text = (text or "").strip()
    if not text:
        raise InboxError("Type a message first")
    if len(text) > MAX_REPLY:
        raise InboxError(f"Messages are limited to {MAX_REPLY} characters")
    msg = outbound.queue_message(conv, text, sender=Sender.AGENT, author_id=author_id)
    if take_over:
        conv.mode = ConversationMode.HUMAN
    db.session.commit()
    outbound.send_later([msg.id], conv.tenant_id)
    return msg
