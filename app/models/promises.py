"""What automated replies promised customers: one row per stated price, discount, delivery
promise or order number, with the value it was checked against.

The row is written in the same transaction as the reply it comes from, so a reply that is
never stored leaves no promise behind and a re-run of the reply job writes none twice.
"""
from __future__ import annotations

from flask_appbuilder import Model
from sqlalchemy import Boolean, Column, DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import backref, relationship

from app.models.base import TenantMixin, enum_column, str_enum, utcnow
from app.money import format_money

PromiseKind = str_enum("PromiseKind", "price", "discount", "delivery", "order_number")


class AiPromise(TenantMixin, Model):
    """One claim of one automated reply.

    `matches` is True when the claim agrees with what the business has on record (catalog
    price, an order total, the campaign's offer, the delivery policy, the customer's own
    order), False when it contradicts it or names something that isn't there, and NULL when
    the business has nothing on record to check it against (a delivery promise with no
    delivery policy written down). `checked_against` says in words what it was compared with.
    """

    __tablename__ = "ai_promise"
    __table_args__ = (
        Index("ix_ai_promise_tenant_created", "tenant_id", "created_at"),
    )
    id = Column(Integer, primary_key=True)
    conversation_id = Column(Integer, ForeignKey("conversation.id", ondelete="CASCADE"),
                             nullable=False, index=True)
    conversation = relationship("Conversation")
    message_id = Column(Integer, ForeignKey("message.id", ondelete="CASCADE"), nullable=False,
                        index=True)
    message = relationship("Message", backref=backref("promises", passive_deletes=True))
    kind = enum_column(PromiseKind, "promise_kind")
    text = Column(Text, nullable=False)  # the sentence the claim was made in
    value = Column(String(64))  # the claim as stated: "₹799.00", "10%", "3-5 days", "ORD-1001"
    value_minor = Column(Integer)  # a stated amount, in minor units
    catalog_value_minor = Column(Integer)  # what the business has on record for it
    product_id = Column(Integer, ForeignKey("product.id", ondelete="SET NULL"), index=True)
    product = relationship("Product")
    matches = Column(Boolean)
    checked_against = Column(String(255))
    created_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)

    def stated(self) -> str:
        """The claim for lists: an amount formatted, anything else as said."""
        if self.value_minor is not None:
            return format_money(self.value_minor, self.tenant.currency if self.tenant else "INR")
        return self.value or ""

    def on_record(self) -> str:
        if self.catalog_value_minor is not None:
            return format_money(self.catalog_value_minor, self.tenant.currency if self.tenant else "INR")
        return self.checked_against or ""

    def __str__(self) -> str:
        return f"{self.kind}: {self.value or ''}"
