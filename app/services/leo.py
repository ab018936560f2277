"""Asking Leo: one question about the active tenant's sales, one answer with its figures.

With GROQ_API_KEY the model answers through tools over the analytics functions; without one
(or when Groq fails) the offline answerer does, from the same functions. Either way the
answer comes with the figures it used, and only ever the given tenant's.
"""
from __future__ import annotations

import logging
import re

import groq
from flask import current_app

from app.ai.leo import figures as fig
from app.ai.leo import tools
from app.ai.leo.groq_leo import GroqLeo
from app.ai.leo.offline import OfflineLeo
from app.clients.groq_client import make_client

log = logging.getLogger(__name__)
FALLBACK_NOTICE = "The AI model could not answer just now, so this is Leo's built-in answer from the same figures."


class LeoError(ValueError):
    """A question that can't be asked (empty, too long, not text)."""


def clean_question(question) -> str:
    if not isinstance(question, str):
        raise LeoError("question must be text")
    question = " ".join(question.split())
    if not question:
        raise LeoError("question is empty")
    limit = current_app.config.get("LEO_MAX_QUESTION_CHARS", 500)
    if len(question) > limit:
        raise LeoError(f"question is longer than {limit} characters")
    return question


def _answered_calls(calls: list[dict]) -> list[dict]:
    return [c for c in calls if isinstance(c.get("result"), dict) and "error" not in c["result"]]


def ask(tenant_id: int, question) -> dict:
    """{"answer": text, "figures": {...}} for `tenant_id`; raises LeoError for a bad question."""
    question = clean_question(question)
    ctx = tools.context_for(tenant_id)
    cfg = current_app.config
    figures: dict = {}
    answer = None
    if cfg.get("GROQ_API_KEY"):
        leo = GroqLeo(make_client(cfg["GROQ_API_KEY"], cfg.get("GROQ_BASE_URL")),
                      cfg.get("LEO_MODEL") or cfg["GROQ_MODEL"], outside_model=cfg.get("LEO_OUTSIDE_MODEL") or None)
        try:
            answer, meta = leo.answer(ctx, question)
        except groq.APIError as exc:  # after the SDK's retries: the offline answerer steps in
            log.warning("leo: groq unavailable (%s); answering offline", exc)
            figures["fallback"] = type(exc).__name__
        else:
            if answer and re.search(r"\d", meta.get("model_text", answer)) and not _answered_calls(ctx.calls):
                # figures stated without one tool result behind them: not from this tenant's data
                log.warning("leo: the model stated figures without a tool result; answering offline")
                answer = None
                figures["fallback"] = "figures without a tool result"
            elif answer:
                figures.update(source="groq", model=meta["model"],
                               values=fig.values_for_calls(ctx.calls, ctx.currency))
                if meta.get("outside"):
                    figures["outside"] = meta["outside"]
                periods = [c["result"]["period"] for c in ctx.calls
                           if isinstance(c.get("result"), dict) and "period" in c["result"]]
                if periods:
                    figures["period"] = periods[0]
            else:  # the model said nothing: the offline answer, from scratch
                answer = None
                figures["fallback"] = "empty answer"
        if answer is None:
            ctx.calls.clear()
            figures["notice"] = FALLBACK_NOTICE
    if answer is None:
        answer, found = OfflineLeo().answer(ctx, question)
        figures.update(source="offline", **found)
    figures["currency"] = ctx.currency
    figures["calls"] = ctx.calls
    return {"answer": answer, "figures": figures}
