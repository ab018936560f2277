"""Audiences: saved customer segments and the WhatsApp broadcasts sent to them.

A segment stores its filters, not its members: who is in it is decided when it is read (a
customer who spends more tomorrow joins it then). A broadcast freezes its recipients when it
starts, one row each, so its per-recipient outcome can be shown and a restart never sends twice.
"""
from __future__ import annotations

from flask_appbuilder import Model
from sqlalchemy import JSON, Column, DateTime, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import relationship

from app.models.base import TenantMixin, enum_column, str_enum, utcnow

BroadcastStatus = str_enum("BroadcastStatus", "sending", "done", "cancelled")
RecipientStatus = str_enum("RecipientStatus", "pending", "queued", "skipped")


class Segment(TenantMixin, Model):
    __tablename__ = "segment"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)
    id = Column(Integer, primary_key=True)
    name = Column(String(120), nullable=False)
    filters = Column(JSON, nullable=False, default=dict)
    created_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)
    updated_at = Column(DateTime(timezone=True), nullable=False, default=utcnow, onupdate=utcnow)

    def __str__(self) -> str:
        return self.name


class Broadcast(TenantMixin, Model):
    __tablename__ = "broadcast"
    id = Column(Integer, primary_key=True)
    name = Column(String(120), nullable=False)
    segment_id = Column(Integer, ForeignKey("segment.id", ondelete="SET NULL"), index=True)
    segment = relationship("Segment")
    channel_id = Column(Integer, ForeignKey("channel.id", ondelete="CASCADE"), nullable=False, index=True)
    channel = relationship("Channel")
    template_id = Column(Integer, ForeignKey("template.id", ondelete="SET NULL"), index=True)
    template = relationship("Template")
    variables = Column(JSON, nullable=False, default=list)  # one text per {{n}}, may hold {name}
    per_second = Column(Integer, nullable=False, default=20)
    status = enum_column(BroadcastStatus, "broadcast_status", default=BroadcastStatus.SENDING)
    created_by_id = Column(Integer, ForeignKey("ab_user.id", ondelete="SET NULL"))
    created_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)
    finished_at = Column(DateTime(timezone=True))

    def __str__(self) -> str:
        return self.name


class BroadcastRecipient(TenantMixin, Model):
    """One customer of a broadcast. Once its message exists, the message's own status (sent,
    delivered, read, failed, kept current by the platform's status webhooks) is the outcome."""

    __tablename__ = "broadcast_recipient"
    __table_args__ = (UniqueConstraint("broadcast_id", "customer_id"),)
    id = Column(Integer, primary_key=True)
    broadcast_id = Column(Integer, ForeignKey("broadcast.id", ondelete="CASCADE"), nullable=False, index=True)
    customer_id = Column(Integer, ForeignKey("customer.id", ondelete="CASCADE"), nullable=False, index=True)
    customer = relationship("Customer")
    message_id = Column(Integer, ForeignKey("message.id", ondelete="SET NULL"))
    message = relationship("Message")
    status = enum_column(RecipientStatus, "recipient_status", default=RecipientStatus.PENDING)
    reason = Column(Text)

    def outcome(self) -> str:
        if self.message is not None:
            return str(self.message.status)
        return str(self.status)
