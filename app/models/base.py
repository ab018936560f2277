"""What every table module shares: the naming convention, UTC timestamps, portable enums,
the vocabularies (platforms, statuses) and TenantMixin.

Table modules import from here, never from the `app.models` package itself, and name other
tables by string in ForeignKey() and relationship(): so the package can import every table
module without an import cycle.
"""
from __future__ import annotations

import enum
from datetime import datetime, timezone

from flask_appbuilder import Model
from sqlalchemy import Column, Enum, ForeignKey, Integer
from sqlalchemy.orm import declared_attr, relationship

# Named constraints from day one, so SQLite batch migrations can drop them later.
Model.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def as_utc(value: datetime | None) -> datetime | None:
    """A stored time as an aware UTC datetime: SQLite hands back naive ones (UTC by convention),
    PostgreSQL aware ones, and the two can't be compared with each other."""
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value


def enum_column(enum_cls, name: str, default=None, nullable: bool = False) -> Column:
    """A portable enum: VARCHAR plus a CHECK, stored by value (no PostgreSQL ENUM type to migrate)."""
    return Column(
        Enum(
            enum_cls,
            name=name,
            native_enum=False,
            create_constraint=True,
            length=32,
            values_callable=lambda e: [m.value for m in e],
            validate_strings=True,
        ),
        nullable=nullable,
        default=default,
    )


def str_enum(name: str, *values: str) -> type[enum.StrEnum]:
    """A StrEnum whose member *names* are its values, plus UPPERCASE aliases for code.

    Flask-AppBuilder's EnumField looks members up by the stored string, so the canonical
    names must equal the values stored in the database ("pending_payment", not "PENDING_PAYMENT");
    the aliases keep call sites readable (OrderStatus.PAID is OrderStatus.paid).
    """
    members = [(v, v) for v in values] + [(v.upper(), v) for v in values]
    return enum.StrEnum(name, members, module=__name__)


Role = str_enum('Role', "owner", "staff")
Platform = str_enum('Platform', "messenger", "instagram", "whatsapp", "playground")
TargetPlatform = str_enum('TargetPlatform', "messenger", "instagram", "whatsapp", "all")
CampaignStatus = str_enum('CampaignStatus', "draft", "active", "paused", "ended")
ChannelStatus = str_enum('ChannelStatus', "active", "error", "disabled")
ConversationStatus = str_enum('ConversationStatus', "open", "converted", "closed")
ConversationMode = str_enum('ConversationMode', "ai", "human")
Direction = str_enum('Direction', "in", "out")
Sender = str_enum('Sender', "customer", "ai", "agent", "system")
MessageStatus = str_enum('MessageStatus', "received", "queued", "sent", "delivered", "read", "failed")
OrderStatus = str_enum('OrderStatus', "pending_payment", "paid", "fulfilled", "shipped", "delivered", "cancelled", "expired", "refunded")
TemplateStatus = str_enum('TemplateStatus', "draft", "pending", "approved", "rejected")
RuleTrigger = str_enum('RuleTrigger', "keyword", "new_conversation", "order_intent", "no_reply",
                       "order_paid", "order_shipped", "outside_hours")
RuleAction = str_enum('RuleAction', "reply", "ai_reply", "send_catalog", "tag", "assign",
                      "create_order", "follow_up", "handoff", "opt_out")


class TenantMixin:
    """Marks a business table: tenant_id NOT NULL + index; the ORM guard scopes these classes."""

    @declared_attr
    def tenant_id(cls):
        return Column(
            Integer, ForeignKey("tenant.id", ondelete="CASCADE"), nullable=False, index=True
        )

    @declared_attr
    def tenant(cls):
        return relationship("Tenant")

