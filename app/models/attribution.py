"""Where customers came from.

A conversation keeps its first touch on its own row (Conversation.referral_source / ad_id /
referral_ref) so revenue per ad is one GROUP BY; every referral, first or later, is also kept
here with what the platform said about it, for the conversation page and for re-attribution.
"""
from __future__ import annotations

from flask_appbuilder import Model
from sqlalchemy import Boolean, Column, DateTime, ForeignKey, Integer, String
from sqlalchemy.orm import backref, relationship

from app.models.base import Platform, TenantMixin, enum_column, utcnow

__all__ = ["Referral"]


class Referral(TenantMixin, Model):
    """One ad click, link open or click-to-WhatsApp entry point that led into a conversation."""

    __tablename__ = "referral"
    id = Column(Integer, primary_key=True)
    conversation_id = Column(
        Integer, ForeignKey("conversation.id", ondelete="CASCADE"), nullable=False, index=True
    )
    conversation = relationship(
        "Conversation",
        backref=backref("referrals", order_by="Referral.id", passive_deletes=True),
    )
    # The message that carried it (none for a bare referral event).
    message_id = Column(Integer, ForeignKey("message.id", ondelete="SET NULL"), index=True)
    message = relationship("Message")
    platform = enum_column(Platform, "referral_platform")
    source = Column(String(32))       # ADS, SHORTLINK, CUSTOMER_CHAT_PLUGIN... / WhatsApp "ad", "post"
    type = Column(String(32))         # OPEN_THREAD...
    ad_id = Column(String(64))        # Messenger/Instagram ad_id, WhatsApp source_id
    ref = Column(String(255))
    headline = Column(String(255))    # ads_context_data.ad_title / WhatsApp headline
    source_url = Column(String(500))
    ctwa_clid = Column(String(255))   # WhatsApp click id (conversion reporting)
    first_touch = Column(Boolean, nullable=False, default=False)
    created_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)

    def __str__(self) -> str:
        return self.headline or self.ad_id or self.ref or self.source or "referral"
