"""Rating conversations with the model, off the reply path (no added reply latency)."""
from __future__ import annotations

import logging

import groq
from flask import current_app
from sqlalchemy import select

from app.ai.scoring import rate_with_model
from app.clients.groq_client import make_client
from app.extensions import db
from app.jobs.context import job
from app.models import Conversation

log = logging.getLogger(__name__)


@job
def rate_conversation(conversation_id: int, tenant_id: int) -> str:
    cfg = current_app.config
    if not cfg.get("GROQ_API_KEY"):
        return "no key"
    conv = db.session.scalar(select(Conversation).where(
        Conversation.id == conversation_id, Conversation.tenant_id == tenant_id))
    if conv is None:
        return "missing"
    try:
        rated = rate_with_model(conv, make_client(cfg["GROQ_API_KEY"], cfg.get("GROQ_BASE_URL")),
                                cfg["GROQ_SCORING_MODEL"])
    except groq.APIError as exc:  # the lexicon's values stay
        log.info("conversation %s not rated by the model: %s", conversation_id, exc)
        return "unavailable"
    db.session.commit()
    return "rated" if rated else "kept"
