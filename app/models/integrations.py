"""Connecting channels: how a channel was connected, and Meta's data-deletion requests."""
from __future__ import annotations

import enum
from datetime import datetime, timezone

from flask_appbuilder import Model
from sqlalchemy import Column, DateTime, Integer, String, Text

# Nothing from app.models here: app.models imports this module at its end, and an import back
# would be a cycle.
__all__ = ["ChannelConnection", "DeletionStatus", "DataDeletionRequest"]


class ChannelConnection(enum.StrEnum):
    """How a channel was connected (Channel.connected_via)."""

    FACEBOOK_LOGIN = "facebook_login"
    INSTAGRAM_LOGIN = "instagram_login"
    WHATSAPP = "whatsapp"
    MANUAL = "manual"


class DeletionStatus(enum.StrEnum):
    PENDING = "pending"
    DONE = "done"


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


class DataDeletionRequest(Model):
    """A person's request, through Meta, to delete their data (the data-deletion callback).

    It spans every tenant where the person appears, so it carries no tenant. The person's
    app-scoped id is kept only until the request is done; afterwards only its hash remains,
    enough to answer "was this done?" without keeping whom it was about.
    """

    __tablename__ = "data_deletion_request"
    id = Column(Integer, primary_key=True)
    confirmation_code = Column(String(32), nullable=False, unique=True)
    subject_id = Column(String(64))
    subject_hash = Column(String(64), nullable=False, index=True)
    status = Column(String(16), nullable=False, default=DeletionStatus.PENDING.value)
    customers = Column(Integer, nullable=False, default=0)
    tenants = Column(Integer, nullable=False, default=0)
    detail = Column(Text)
    created_at = Column(DateTime(timezone=True), nullable=False, default=_utcnow)
    completed_at = Column(DateTime(timezone=True))
