"""Sign-up's onboarding wizard: where a new business is in it, and the files it uploaded.

A business walks four steps (profile, documents, first campaign, a channel); each can be done
or skipped and is resumed where it was left, so the progress is a row, not a session value.
Uploaded documents wait here (their bytes included) until the extraction job has turned them
into a knowledge document; the bytes are dropped as soon as the job is through with them.
"""
from __future__ import annotations

from flask_appbuilder import Model
from sqlalchemy import (
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import deferred, relationship

from app.models.base import TenantMixin, enum_column, str_enum, utcnow

StepStatus = str_enum("StepStatus", "pending", "done", "skipped")
DocumentKind = str_enum("DocumentKind", "pdf", "docx", "txt", "md")
UploadStatus = str_enum("UploadStatus", "queued", "processing", "done", "failed")

ONBOARDING_STEPS = ("profile", "documents", "campaign", "channel")


class OnboardingProgress(TenantMixin, Model):
    """One per tenant: the status of each wizard step."""

    __tablename__ = "onboarding_progress"
    __table_args__ = (UniqueConstraint("tenant_id"),)
    id = Column(Integer, primary_key=True)
    profile = enum_column(StepStatus, "onboarding_profile", default=StepStatus.PENDING)
    documents = enum_column(StepStatus, "onboarding_documents", default=StepStatus.PENDING)
    campaign = enum_column(StepStatus, "onboarding_campaign", default=StepStatus.PENDING)
    channel = enum_column(StepStatus, "onboarding_channel", default=StepStatus.PENDING)
    # The campaign the wizard made, so coming back to the step edits it instead of adding one.
    campaign_id = Column(Integer, ForeignKey("campaign.id", ondelete="SET NULL"), index=True)
    first_campaign = relationship("Campaign")
    completed_at = Column(DateTime(timezone=True))
    updated_at = Column(DateTime(timezone=True), nullable=False, default=utcnow, onupdate=utcnow)

    def status_of(self, step: str) -> StepStatus:
        return StepStatus(getattr(self, step) or StepStatus.PENDING)

    def __str__(self) -> str:
        return f"onboarding of tenant {self.tenant_id}"


class DocumentUpload(TenantMixin, Model):
    """An uploaded PDF/DOCX/TXT/Markdown file on its way to the agent's knowledge."""

    __tablename__ = "document_upload"
    __table_args__ = (
        CheckConstraint("progress >= 0 AND progress <= 100", name="progress_percent"),
    )
    id = Column(Integer, primary_key=True)
    filename = Column(String(255), nullable=False)
    kind = enum_column(DocumentKind, "document_kind")
    size_bytes = Column(Integer, nullable=False)
    status = enum_column(UploadStatus, "upload_status", default=UploadStatus.QUEUED)
    progress = Column(Integer, nullable=False, default=0)
    error = Column(Text)
    # The file itself, kept only until the extraction job has read it (never loaded in lists).
    data = deferred(Column(LargeBinary))
    document_id = Column(Integer, ForeignKey("knowledge_document.id", ondelete="SET NULL"), index=True)
    document = relationship("KnowledgeDocument")
    uploaded_by_id = Column(Integer, ForeignKey("ab_user.id", ondelete="SET NULL"))
    created_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)
    updated_at = Column(DateTime(timezone=True), nullable=False, default=utcnow, onupdate=utcnow)

    def __str__(self) -> str:
        return self.filename


__all__ = ["ONBOARDING_STEPS", "DocumentKind", "DocumentUpload", "OnboardingProgress",
           "StepStatus", "UploadStatus"]
