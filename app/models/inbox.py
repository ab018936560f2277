"""Inbox tables: staff's private notes on a conversation, and canned replies."""
from __future__ import annotations

from flask_appbuilder import Model
from flask_appbuilder.security.sqla.models import User
from sqlalchemy import Column, DateTime, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import backref, relationship

from app.models.base import TenantMixin, utcnow


class ConversationNote(TenantMixin, Model):
    """A note staff leave for each other on a conversation; never sent to the customer."""

    __tablename__ = "conversation_note"
    id = Column(Integer, primary_key=True)
    conversation_id = Column(Integer, ForeignKey("conversation.id", ondelete="CASCADE"),
                             nullable=False, index=True)
    conversation = relationship("Conversation", backref=backref(
        "notes", cascade="all, delete-orphan", passive_deletes=True, order_by="ConversationNote.id"))
    author_id = Column(Integer, ForeignKey("ab_user.id", ondelete="SET NULL"))
    author = relationship(User)
    body = Column(Text, nullable=False)
    created_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)

    def __str__(self) -> str:
        return (self.body or "")[:40]


class CannedReply(TenantMixin, Model):
    """A ready answer staff insert in one click; placeholders such as {customer_name} or
    {price:SKU} are filled from the conversation when inserted (app.services.canned)."""

    __tablename__ = "canned_reply"
    __table_args__ = (UniqueConstraint("tenant_id", "shortcut"),)
    id = Column(Integer, primary_key=True)
    shortcut = Column(String(64), nullable=False)
    body = Column(Text, nullable=False)
    created_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)

    def __str__(self) -> str:
        return self.shortcut
