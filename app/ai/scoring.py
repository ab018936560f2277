"""Lead score and sentiment per conversation, updated as messages arrive.

Every reply updates them at once from signals: sentiment is VADER's compound score (a
maintained lexicon library) averaged over the customer's recent messages, -1..1, and the lead
score (0-100) adds up the buying signals the agent saw (engagement, product questions, an order
intent, an order). Where a Groq key is set, a job then asks a small model to rate the
conversation and its answer replaces the lexicon's (`rate_with_model`).
"""
from __future__ import annotations

from functools import lru_cache

from sqlalchemy import select
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from app.extensions import db
from app.models import PAID_STATUSES, Conversation, Direction, Message, Order

RECENT = 5
ENGAGED = 6  # inbound messages beyond this add nothing to the lead score


@lru_cache(maxsize=1)
def _analyzer() -> SentimentIntensityAnalyzer:
    return SentimentIntensityAnalyzer()


def sentiment(texts: list[str]) -> float | None:
    scores = [_analyzer().polarity_scores(t)["compound"] for t in texts if t and t.strip()]
    return round(sum(scores) / len(scores), 3) if scores else None


def recent_inbound(conversation_id: int) -> list:
    """The customer's latest messages, newest first: (id, text, handled_at) rows. The score
    counts inbound messages only up to ENGAGED, so these serve both the sentiment (the RECENT
    newest) and the count; the reply job also reads what arrived while it wrote from them."""
    # no autoflush: nothing pending (the customer's new name, say) changes these rows, and it
    # goes out with the reply's own flush instead of in one of its own
    with db.session.no_autoflush:
        return db.session.execute(select(Message.id, Message.text, Message.handled_at).where(
            Message.conversation_id == conversation_id, Message.direction == Direction.IN,
        ).order_by(Message.created_at.desc(), Message.id.desc()).limit(max(RECENT, ENGAGED))).all()


def update(conv: Conversation, reply_meta: dict | None = None, recent: list | None = None,
           statuses: set | None = None) -> None:
    """`recent`: `recent_inbound(conv.id)`, and `statuses`: those of the conversation's
    orders, if the caller has them already."""
    latest = [row.text for row in (recent if recent is not None else recent_inbound(conv.id))]
    if statuses is None:
        statuses = set(db.session.scalars(select(Order.status).where(Order.conversation_id == conv.id)))
    # read both before changing `conv`, so its changes are flushed once, with the rest
    conv.sentiment = sentiment(list(latest[:RECENT]))
    inbound = len(latest)
    meta = reply_meta or {}
    product_talk = any(c.get("tool") in ("product_details", "search_products", "recommend")
                       for c in meta.get("tools", []))
    score = max(conv.lead_score or 0, 10)
    score = max(score, 10 + min(inbound, ENGAGED) * 5)
    if product_talk:
        score = max(score, 45)
    if meta.get("order_intent"):
        score = max(score, 75)
    if statuses:
        score = max(score, 85)
    if not statuses.isdisjoint(PAID_STATUSES):
        score = 100
    if conv.sentiment is not None and conv.sentiment <= -0.5 and statuses.isdisjoint(PAID_STATUSES):
        score -= 10
    conv.lead_score = max(0, min(100, score))


RATE_PROMPT = ("Rate this sales chat. Reply with JSON only: {\"lead_score\": <0-100, how likely the "
               "customer is to buy soon>, \"sentiment\": <-1.0 to 1.0, the customer's mood>}.")


def rate_with_model(conv: Conversation, client, model: str) -> bool:
    """Ask the model for lead score and sentiment; keep the lexicon's values if it can't say."""
    import json

    from app.ai.prompt import history

    turns = history(conv, budget_tokens=1200)
    if not turns:
        return False
    transcript = "\n".join(f"{'Customer' if t['role'] == 'user' else 'Shop'}: {t['content']}" for t in turns)
    resp = client.chat.completions.create(
        model=model, temperature=0, max_completion_tokens=60, response_format={"type": "json_object"},
        messages=[{"role": "system", "content": RATE_PROMPT}, {"role": "user", "content": transcript}])
    try:
        data = json.loads(resp.choices[0].message.content or "{}")
        score, mood = int(data["lead_score"]), float(data["sentiment"])
    except (ValueError, KeyError, TypeError):
        return False
    conv.lead_score = max(0, min(100, score))
    conv.sentiment = round(max(-1.0, min(1.0, mood)), 3)
    return True
