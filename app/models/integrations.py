"""Connecting channels: how a channel was connected, and Meta's data-deletion requests."""
from __future__ import annotations

from flask_appbuilder import Model
from sqlalchemy import Column, DateTime, Integer, String, Text

from app.models import str_enum, utcnow

__all__ = ["ChannelConnection", "DeletionStatus", "DataDeletionRequest"]

# Channel.connected_via
ChannelConnection = str_enum("ChannelConnection", "facebook_login", "instagram_login",
                             "whatsapp", "manual")
DeletionStatus = str_enum("DeletionStatus", "pending", "done")


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
    created_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)
    completed_at = Column(DateTime(timezone=True))
