"""Workflow tables: a rule's further steps, the record of each run, scheduled follow-ups."""
from __future__ import annotations

from flask_appbuilder import Model
from flask_appbuilder.security.sqla.models import User
from sqlalchemy import JSON, Column, DateTime, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import backref, relationship

from app.models.base import RuleAction, TenantMixin, enum_column, str_enum, utcnow

FollowUpStatus = str_enum("FollowUpStatus", "scheduled", "sent", "dropped")


class RuleStep(TenantMixin, Model):
    """A further action of a rule, run after the rule's own action, in `position` order."""

    __tablename__ = "rule_step"
    id = Column(Integer, primary_key=True)
    rule_id = Column(Integer, ForeignKey("automation_rule.id", ondelete="CASCADE"), nullable=False,
                     index=True)
    rule = relationship("AutomationRule", backref=backref(
        "steps", order_by="RuleStep.position", cascade="all, delete-orphan", passive_deletes=True))
    position = Column(Integer, nullable=False, default=1)
    action = enum_column(RuleAction, "step_action", default=RuleAction.TAG)
    response = Column(Text)
    template_id = Column(Integer, ForeignKey("template.id", ondelete="SET NULL"), index=True)
    template = relationship("Template")
    assignee_id = Column(Integer, ForeignKey("ab_user.id", ondelete="SET NULL"))
    assignee = relationship(User)
    category_id = Column(Integer, ForeignKey("category.id", ondelete="SET NULL"), index=True)
    category = relationship("Category")
    delay_hours = Column(Float)

    def __str__(self) -> str:
        return f"{self.position}. {self.action}"


class RuleRun(TenantMixin, Model):
    """One rule firing on one conversation: what triggered it and what its actions did.

    `event` names what fired it (an inbound message, an order's payment, a quiet spell), so a
    job that runs twice finds the run recorded and does nothing again.
    """

    __tablename__ = "rule_run"
    __table_args__ = (UniqueConstraint("rule_id", "conversation_id", "event"),)
    id = Column(Integer, primary_key=True)
    rule_id = Column(Integer, ForeignKey("automation_rule.id", ondelete="SET NULL"), index=True)
    rule = relationship("AutomationRule")
    rule_name = Column(String(120), nullable=False)
    conversation_id = Column(Integer, ForeignKey("conversation.id", ondelete="CASCADE"), nullable=False,
                             index=True)
    conversation = relationship("Conversation", backref=backref("rule_runs", passive_deletes=True))
    trigger = Column(String(32), nullable=False)
    event = Column(String(64), nullable=False)
    message_id = Column(Integer, ForeignKey("message.id", ondelete="SET NULL"))
    order_id = Column(Integer, ForeignKey("orders.id", ondelete="SET NULL"))
    actions = Column(JSON, nullable=False, default=list)  # ["tag: vip", "reply", ...]
    created_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)

    def summary(self) -> str:
        return "; ".join(self.actions or [])

    def __str__(self) -> str:
        return f"{self.rule_name} ({self.trigger})"


class FollowUp(TenantMixin, Model):
    """A message to send later, if it still makes sense then (see app.services.followups)."""

    __tablename__ = "follow_up"
    __table_args__ = (Index("ix_follow_up_due", "status", "due_at"),)
    id = Column(Integer, primary_key=True)
    conversation_id = Column(Integer, ForeignKey("conversation.id", ondelete="CASCADE"), nullable=False,
                             index=True)
    conversation = relationship("Conversation", backref=backref("follow_ups", passive_deletes=True))
    rule_id = Column(Integer, ForeignKey("automation_rule.id", ondelete="SET NULL"), index=True)
    rule = relationship("AutomationRule")
    order_id = Column(Integer, ForeignKey("orders.id", ondelete="SET NULL"), index=True)
    order = relationship("Order")
    text = Column(Text)
    template_id = Column(Integer, ForeignKey("template.id", ondelete="SET NULL"))
    template = relationship("Template")
    status = enum_column(FollowUpStatus, "follow_up_status", default=FollowUpStatus.SCHEDULED)
    reason = Column(Text)
    # The customer's last message when it was scheduled: a newer one means they replied.
    basis_at = Column(DateTime(timezone=True))
    due_at = Column(DateTime(timezone=True), nullable=False)
    message_id = Column(Integer, ForeignKey("message.id", ondelete="SET NULL"))
    message = relationship("Message")
    created_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)
    done_at = Column(DateTime(timezone=True))

    def __str__(self) -> str:
        return f"follow-up #{self.id} ({self.status})"
